"""Read and write ModelMeta in an ONNX file's ``metadata_props``, without importing onnx.

ONNX Runtime exposes the props as ``custom_metadata_map``; the ``onnx`` package is only needed
by the build side, which writes them (see :func:`set_onnx_meta`).
"""

from __future__ import annotations

import os

from ..errors import ModelError
from ..meta import META_KEY, ModelMeta


def meta_from_props(props: dict, path: str) -> ModelMeta:
    """The meta in ``props`` or in a sidecar JSON beside ``path``; else a clear ModelError."""
    if META_KEY in props:
        return ModelMeta.from_json(props[META_KEY], path)
    side = ModelMeta.read_sidecar(path)
    if side is not None:
        return side
    raise ModelError("the ONNX file carries no edgeseg meta", path=path,
                     expected=f"metadata_props['{META_KEY}'] or {os.path.basename(path)}.meta.json",
                     got=f"metadata keys {sorted(props)[:8]}",
                     fix="export it with `edgeseg export`, or write a sidecar: "
                         "ModelMeta(model=..., classes=..., input_size=...).write_sidecar(path)")


def set_onnx_meta(model_proto, meta: ModelMeta) -> None:
    """Store ``meta`` in an ``onnx.ModelProto`` (replacing an older copy)."""
    for p in list(model_proto.metadata_props):
        if p.key == META_KEY:
            model_proto.metadata_props.remove(p)
    entry = model_proto.metadata_props.add()
    entry.key, entry.value = META_KEY, meta.to_json()


def get_onnx_meta(model_proto, path: str = "<onnx>") -> ModelMeta:
    return meta_from_props({p.key: p.value for p in model_proto.metadata_props}, path)
