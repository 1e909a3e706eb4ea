"""Storing a model's meta: inside an ONNX, or in the sidecar beside an engine (``edgeseg meta``).

:func:`write_model_meta` stores a meta: into an ONNX's ``metadata_props`` (key ``edgeseg.meta``,
the file replaced atomically, the graph untouched; external data files stay where they are), or in
the sidecar ``<file>.meta.json`` for an engine (an existing sidecar's ``engine`` facts kept, so the
pair still checks) or for an ONNX with ``sidecar=True`` (a read-only model folder...).
:mod:`edgeseg.meta_author` builds the meta this writes.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

from .errors import ConfigError, ModelError
from .meta import ModelMeta


@dataclass(frozen=True)
class WrittenMeta:
    """Where a meta went: ``path`` (the model itself, or its sidecar), ``where`` (onnx | sidecar)."""

    path: str
    where: str
    meta_version: int
    notes: tuple[str, ...] = ()


def write_model_meta(path, meta: ModelMeta, *, sidecar: bool = False) -> WrittenMeta:
    """Store ``meta`` with the model at ``path``: inside an ONNX (``metadata_props``, nothing else
    changed, replaced atomically), or in ``<path>.meta.json`` for an engine/plan (its ``engine``
    facts kept) or, with ``sidecar``, for an ONNX whose folder should stay as it is.

    >>> import os, tempfile
    >>> plan = os.path.join(tempfile.mkdtemp(), "model.plan"); _ = open(plan, "wb").write(b"ftrt" + bytes(16))
    >>> w = write_model_meta(plan, ModelMeta(model="m", classes=("a", "b"), input_size=(64, 64)))
    >>> w.where, os.path.basename(w.path), w.meta_version
    ('sidecar', 'model.plan.meta.json', 1)
    """
    from .uri import model_kind
    path = os.fspath(path)
    if not isinstance(meta, ModelMeta):
        raise ConfigError("write_model_meta needs a ModelMeta", got=type(meta).__name__,
                          fix="meta_for_model(path, ...) builds one")
    kind = model_kind(path)
    if kind == "onnx":
        return _write_onnx_sidecar(path, meta) if sidecar else _write_onnx(path, meta)
    if kind == "engine":
        return _write_engine_sidecar(path, meta)
    raise ModelError("edgeseg meta writes the meta of an ONNX or a TensorRT engine", path=path,
                     expected=".onnx, .engine or .plan", got=os.path.splitext(path)[1] or "no suffix",
                     fix="a checkpoint carries its meta from training: edgeseg export it to an ONNX")


def _shadowing_note(path: str) -> tuple[str, ...]:
    side = ModelMeta.sidecar_path(path)
    if os.path.exists(side):
        return ((f"{os.path.basename(side)} is beside it too: the meta inside the ONNX wins over it, so the "
                 "sidecar is ignored (remove it to avoid confusion)"),)
    return ()


def _write_onnx(path: str, meta: ModelMeta) -> WrittenMeta:
    from .lazy import available
    if not available("onnx"):   # a robot with ONNX Runtime only: the sidecar needs no onnx
        from .errors import MissingDependencyError
        raise MissingDependencyError("writing the meta into an ONNX file needs the onnx package", path=path,
                                     fix='pip install "edgeseg[onnx]", or write it beside the file: --sidecar '
                                         "(write_model_meta(..., sidecar=True))")
    from .backends.onnx_file import load_onnx
    from .backends.onnx_meta import get_onnx_meta, set_onnx_meta
    from .utils.atomic import atomic_write_bytes
    # External data stays in its files: the tensors keep their relative locations, and the new file
    # lands in the same folder, so the references still resolve.
    proto = load_onnx(path, load_external_data=False)
    set_onnx_meta(proto, meta)
    try:
        data = proto.SerializeToString()
    except ValueError as exc:   # protobuf's 2 GB limit: a model saved without external data
        raise ModelError("the ONNX is too large to rewrite in one piece", path=path, got=str(exc)[:200],
                         fix="write the meta beside it instead: edgeseg meta MODEL ... --sidecar") from exc
    atomic_write_bytes(path, data)
    if get_onnx_meta(load_onnx(path, load_external_data=False), path) != meta:
        raise ModelError("the meta read back differs from the meta written", path=path,
                         fix="report this with the model file; meanwhile use --sidecar")
    return WrittenMeta(path, "onnx", meta.needed_version(), _shadowing_note(path))


def _write_onnx_sidecar(path: str, meta: ModelMeta) -> WrittenMeta:
    from .meta import META_KEY
    from .utils.files import existing_file
    existing_file(path, "ONNX file")
    from .inspect import onnx_metadata
    if META_KEY in onnx_metadata(path):
        raise ModelError("the ONNX carries its own edgeseg meta, which wins over a sidecar", path=path,
                         got=f"metadata_props['{META_KEY}']",
                         fix="write into the file (leave out --sidecar), or give the meta for one run: --meta FILE")
    side = meta.write_sidecar(path)
    return WrittenMeta(side, "sidecar", meta.needed_version())


def _write_engine_sidecar(path: str, meta: ModelMeta) -> WrittenMeta:
    import json

    from .backends.tensorrt.header import MAGIC, RAW_PLAN_MAGIC, read_header, sidecar_path
    from .meta import read_sidecar_dict
    from .utils.atomic import atomic_write_text
    from .utils.files import existing_file
    existing_file(path, "engine file", fix="build one: edgeseg build model.onnx")
    with open(path, "rb") as f:
        head = f.read(len(MAGIC))
    if head == MAGIC:
        raise ModelError("an engine in edgeseg's older headered format keeps its meta inside the file", path=path,
                         got="a file starting with ESEGTRT1 (a sidecar beside it would be ignored)",
                         fix=f"edgeseg build --unwrap {path} (the raw plan + its sidecar), then edgeseg meta it")
    notes = []
    side = read_sidecar_dict(path)
    if side is not None and "engine" in side:
        read_header(path)   # the pair must match before: then only the meta changes, the facts stay verbatim
        version = max(2, meta.needed_version())
        text = json.dumps({**meta.to_dict(), "meta_version": version, "engine": side["engine"]}, indent=2,
                          sort_keys=True)
        atomic_write_text(sidecar_path(path), text)
        if read_header(path).meta != meta:
            raise ModelError("the meta read back differs from the meta written", path=sidecar_path(path))
        notes.append("the sidecar's engine facts (TensorRT, GPU, shapes, sha256) are kept: the pair still checks")
    else:
        meta.write_sidecar(path)
        version = meta.needed_version()
        notes.append("a meta-only sidecar: the plan runs with it, and TensorRT checks its own version and GPU")
    if not head.startswith(RAW_PLAN_MAGIC):
        notes.append(f"the file does not start with TensorRT's {RAW_PLAN_MAGIC!r}: TensorRT will say whether it "
                     "is a plan it can load")
    return WrittenMeta(sidecar_path(path), "sidecar", version, tuple(notes))
