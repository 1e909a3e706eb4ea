"""Engine files written from the contract (independently of edgeseg.backends.tensorrt.header,
which reads them). The plan is whatever the test needs (fake_tensorrt.fake_plan()).

Today's format (:func:`write_engine`): ``model.engine`` is the raw plan, byte for byte, and
``model.engine.meta.json`` beside it holds the ModelMeta fields (``meta_version`` 2) plus an
``engine`` object with the engine's facts.

The legacy format (:func:`engine_bytes`, files already on robots): MAGIC b"ESEGTRT1" + uint32
little-endian N + N bytes of UTF-8 JSON header + the plan.
"""

from __future__ import annotations

import hashlib
import json
import struct

from edgeseg.meta import ModelMeta

from .fake_cuda import ORIN
from .fake_tensorrt import DEFAULT_VERSION

MAGIC = b"ESEGTRT1"
SIDECAR_META_VERSION = 2
META = ModelMeta(model="tiny", classes=("road", "car", "sky"), input_size=(8, 8))


def header_dict(plan: bytes, meta: ModelMeta = META, **changes) -> dict:
    """Every key of the legacy header, matching the fake TensorRT and GPU of these tests."""
    meta = meta.to_dict() if isinstance(meta, ModelMeta) else meta
    head = {"header_version": 1, "meta": meta, "tensorrt": DEFAULT_VERSION, "gpu": ORIN.name,
            "compute_capability": ORIN.compute_capability, "precision": "fp16",
            "shapes": {"input": {"min": [1, 3, 8, 8], "opt": [1, 3, 8, 8], "max": [1, 3, 8, 8]}},
            "onnx_sha256": "0" * 64, "dla_core": None, "version_compatible": False,
            "created": "2026-01-01T00:00:00Z", "edgeseg": "test",
            "plan_sha256": hashlib.sha256(plan).hexdigest(), "plan_size": len(plan)}
    head.update(changes)
    return head


def engine_bytes(plan: bytes, header: dict | None = None, **changes) -> bytes:
    """A legacy headered engine file's bytes."""
    text = json.dumps(header or header_dict(plan, **changes)).encode()
    return MAGIC + struct.pack("<I", len(text)) + text + plan


def write_legacy_engine(path, plan: bytes, **changes) -> str:
    with open(path, "wb") as f:
        f.write(engine_bytes(plan, **changes))
    return str(path)


def sidecar_dict(plan: bytes, meta: ModelMeta = META, **changes) -> dict:
    """The sidecar of ``plan``: the meta's fields at the top, the engine's facts under "engine"."""
    head = header_dict(plan, meta, **changes)
    head.pop("header_version")
    meta = head.pop("meta")
    return {**meta, "meta_version": SIDECAR_META_VERSION, "engine": head}


def write_engine(path, plan: bytes, **changes) -> str:
    """``path`` = the raw plan, ``path.meta.json`` = its sidecar (``changes`` as in header_dict)."""
    with open(path, "wb") as f:
        f.write(plan)
    with open(f"{path}.meta.json", "w", encoding="utf-8") as f:
        json.dump(sidecar_dict(plan, **changes), f)
    return str(path)
