"""The runtime (deploy side): :class:`Segmenter` for your own camera loop.

Needs only numpy, OpenCV and one inference backend (ONNX Runtime or TensorRT); never torch.
"""

from .segmenter import Segmenter, SegResult

__all__ = ["Segmenter", "SegResult"]
