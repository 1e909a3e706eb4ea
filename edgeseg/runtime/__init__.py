"""The runtime (deploy side): :class:`Segmenter` for your own camera loop, :class:`Stream` for a
pipelined one, sources and sinks by URI.

Needs only numpy, OpenCV and one inference backend (ONNX Runtime or TensorRT); never torch.
"""

from .segmenter import Segmenter, SegResult
from .sinks import SINKS, Sink, SinkError, SinkSet, open_sink
from .sources import SOURCES, EndOfStream, Frame, Source, SourceError, SourceOptions, open_source
from .stream import Stream, StreamResult

__all__ = ["Segmenter", "SegResult", "Stream", "StreamResult", "Frame", "Source", "SourceOptions",
           "SourceError", "EndOfStream", "open_source", "SOURCES", "Sink", "SinkSet", "SinkError",
           "open_sink", "SINKS"]
