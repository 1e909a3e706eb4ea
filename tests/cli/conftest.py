"""The CLI tests reuse the fixtures of the stages they drive: the export tests' tiny checkpoint,
the TensorRT tests' fake TensorRT and small ONNX files (``edgeseg build``)."""

from ..backends.tensorrt.conftest import fake_trt, tiny_dynamic, tiny_static, zoo_checkpoint, zoo_labels_onnx  # noqa: F401
from ..export.conftest import checkpoint  # noqa: F401
