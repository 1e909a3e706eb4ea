"""Open an ONNX file a user named, with one clear error for a missing, empty or truncated file.

``onnx.load`` of a file cut short (a copy or download that stopped early) raises protobuf's
``DecodeError`` with no hint of what happened, and a file cut at a field boundary even parses
into a model without its graph or its meta; both are caught here and named as what they are.

>>> import os, tempfile
>>> p = os.path.join(tempfile.mkdtemp(), "cut.onnx")
>>> open(p, "wb").write(b"\\x08\\x08\\x12\\x07edge") and None
>>> load_onnx(p)  # doctest: +ELLIPSIS
Traceback (most recent call last):
edgeseg.errors.ModelError: not a readable ONNX file (it looks truncated): ...cut.onnx
  expected: a complete .onnx, as edgeseg export or edgeseg quantize writes it
  got:      8 bytes; DecodeError: ...
...
"""

from __future__ import annotations

import os

from ..errors import ModelError
from ..lazy import require
from ..meta import META_KEY, ModelMeta
from ..utils.files import existing_file

PRODUCER = "edgeseg"


def _unreadable(path: str, size: int, got: str) -> ModelError:
    return ModelError("not a readable ONNX file (it looks truncated)", path=path,
                      expected="a complete .onnx, as edgeseg export or edgeseg quantize writes it",
                      got=f"{size} bytes; {got}",
                      fix="copy the file again and compare its size with the original, or write it again "
                          "(edgeseg export CHECKPOINT --out model.onnx)")


def load_onnx(path, *, load_external_data: bool = True, what: str = "ONNX"):
    """``onnx.load(path)``, or a ModelError that names the file, its size and what to do."""
    onnx = require("onnx", "reading ONNX files")
    path = os.fspath(path)
    if os.path.isfile(path) and os.path.getsize(path) == 0:
        raise _unreadable(path, 0, "the file is empty")
    existing_file(path, f"{what} file", fix="check the path; edgeseg export writes model.onnx")
    size = os.path.getsize(path)
    try:
        proto = onnx.load(path, load_external_data=load_external_data)
    except Exception as exc:  # protobuf's DecodeError and friends: the bytes are not a whole model
        raise _unreadable(path, size, f"{type(exc).__name__}: {str(exc)[:200]}") from exc
    if not proto.graph.node or not proto.graph.output:
        raise _unreadable(path, size, "it parses, but holds no graph")
    # Our files write the meta after the graph: an edgeseg file without it was cut in between.
    if (proto.producer_name == PRODUCER and META_KEY not in {p.key for p in proto.metadata_props}
            and not os.path.exists(ModelMeta.sidecar_path(path))):
        raise _unreadable(path, size, f"written by {PRODUCER} but its meta (the file's last part) is missing")
    return proto
