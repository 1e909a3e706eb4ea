"""The runtime (deploy side): :class:`Segmenter` for your own camera loop, :class:`Stream` for a
pipelined one, sources and sinks by URI, and the options objects that configure all three.

Needs only numpy, OpenCV and one inference backend (ONNX Runtime or TensorRT); never torch.
"""

from .options import SinkOptions, SourceOptions, StreamOptions
from .segmenter import Segmenter, SegResult
from .sinks import SINKS, Sink, SinkError, SinkSet, open_sink
from .sources import SOURCES, EndOfStream, Frame, Source, SourceError, open_source
from .stream import Stream, StreamResult

__all__ = ["SINKS", "SOURCES", "EndOfStream", "Frame", "SegResult", "Segmenter", "Sink", "SinkError", "SinkOptions",
           "SinkSet", "Source", "SourceError", "SourceOptions", "Stream", "StreamOptions", "StreamResult", "open_sink",
           "open_source"]
