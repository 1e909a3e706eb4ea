"""The ONNX a build starts from: its meta, inputs, Q/DQ nodes and sha256, read once.

>>> # src = load_source("model.onnx"); src.meta.classes, src.inputs[0].dims, src.qdq
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import Any

from ...errors import ConfigError, EdgesegError, ModelError
from ...lazy import require
from ...meta import ModelMeta
from ...utils.files import file_sha256

_QDQ_OPS = ("QuantizeLinear", "DequantizeLinear")


@dataclass(frozen=True)
class InputSpec:
    name: str
    dims: tuple             # ints; None for a symbolic dimension
    dtype: str


@dataclass(frozen=True)
class OnnxSource:
    path: str
    sha256: str
    meta: ModelMeta
    inputs: tuple[InputSpec, ...]
    qdq: bool
    model: Any = field(default=None, compare=False, repr=False)   # the onnx.ModelProto


def has_qdq(model) -> bool:
    """True if the graph holds QuantizeLinear/DequantizeLinear nodes (explicit quantization)."""
    return any(n.op_type in _QDQ_OPS for n in model.graph.node)


def _inputs(model, onnx) -> tuple[InputSpec, ...]:
    inits = {i.name for i in model.graph.initializer}
    out = []
    for vi in model.graph.input:
        if vi.name in inits:
            continue
        tt = vi.type.tensor_type
        dims = tuple(d.dim_value if d.HasField("dim_value") and d.dim_value > 0 else None for d in tt.shape.dim)
        out.append(InputSpec(vi.name, dims, onnx.helper.tensor_dtype_to_np_dtype(tt.elem_type).name
                             if tt.elem_type else "unknown"))
    return tuple(out)


def load_source(path) -> OnnxSource:
    """Read ``path`` (an .onnx from edgeseg export/quantize); clear ModelError if it is missing,
    unreadable or carries no edgeseg meta, ConfigError if its Q/DQ nodes are not TensorRT's kind."""
    onnx = require("onnx", "reading the ONNX to build from")
    path = os.fspath(path)
    from ..onnx_file import load_onnx
    model = load_onnx(path)
    from ..onnx_meta import get_onnx_meta
    meta = get_onnx_meta(model, path)
    qdq = has_qdq(model)
    if qdq:
        from ...quantize.qdq_check import check_tensorrt_qdq
        report = check_tensorrt_qdq(model)
        if report.problems:
            raise ConfigError("this Q/DQ model is not the kind TensorRT takes", path=path,
                              expected="symmetric int8 Q/DQ (zero point 0, per-channel weights) from "
                                       "edgeseg quantize --target tensorrt",
                              got="; ".join(report.problems[:3]) + (" ..." if len(report.problems) > 3 else ""),
                              fix="quantize the float model again with --target tensorrt (--target cpu "
                                  "models are for ONNX Runtime)")
    try:
        sha = file_sha256(path)
    except OSError as exc:
        raise ModelError("cannot read the ONNX file", path=path, got=str(exc)) from exc
    inputs = _inputs(model, onnx)
    if not inputs:
        raise ModelError("the ONNX graph has no inputs", path=path, fix="export it again with edgeseg export")
    return OnnxSource(path=path, sha256=sha, meta=meta, inputs=inputs, qdq=qdq, model=model)


def resolve_profiles(source: OnnxSource, shapes=None) -> dict:
    """{input name: ProfileShape} for ``shapes``: None, one spec for the single input
    (``"1x3x512x512"``, ``"MIN:OPT:MAX"``, a triple), or {input name: spec}."""
    from .shapes import resolve_profile
    specs: dict = {}
    if isinstance(shapes, dict):
        unknown = sorted(set(shapes) - {i.name for i in source.inputs})
        if unknown:
            raise ConfigError("shapes name inputs the model does not have", path=source.path,
                              expected=", ".join(i.name for i in source.inputs), got=", ".join(unknown))
        specs = dict(shapes)
    elif shapes is not None:
        if len(source.inputs) != 1:
            raise ConfigError("the model has several inputs; name the one each shape is for", path=source.path,
                              expected="shapes={'input': '1x3x512x512', ...}",
                              got=", ".join(i.name for i in source.inputs))
        specs = {source.inputs[0].name: shapes}
    out = {}
    for spec in source.inputs:
        try:
            out[spec.name] = resolve_profile(spec.name, spec.dims, layout=source.meta.layout,
                                             spec=specs.get(spec.name), default_hw=source.meta.input_size)
        except EdgesegError as exc:  # name the file the shapes were checked against
            if exc.path is not None:
                raise
            raise type(exc)(exc.what, expected=exc.expected, got=exc.got, fix=exc.fix,
                            path=source.path) from exc
    return out
