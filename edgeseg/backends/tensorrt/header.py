"""The engine file: ``b"ESEGTRT1"`` + uint32 LE header length N + N bytes of UTF-8 JSON + the plan.

Pure Python (no TensorRT, no onnx): the deploy-side TensorRT backend reads the header before it
touches TensorRT, so an engine from another JetPack or GPU gets an explanation and the exact
rebuild command instead of TensorRT's "engine plan file is not compatible" (or a crash).

JSON keys: ``header_version`` (1), ``meta`` (ModelMeta.to_dict()), ``tensorrt`` ("10.3.0"),
``gpu`` (name), ``compute_capability`` ("8.7"), ``precision`` (as requested: fp32|fp16|int8|best),
``shapes`` ({input: {"min", "opt", "max"}}), ``onnx_sha256``, ``onnx`` (the source file name),
``dla_core`` (null or int), ``version_compatible`` (bool), ``created`` (ISO time), ``edgeseg``,
``plan_sha256``, ``plan_size``.

Compatibility (:func:`check_compatible`): the runtime's TensorRT must equal the builder's
major.minor.patch, unless the engine was built version-compatible (``BuilderFlag.VERSION_COMPATIBLE``):
then any runtime of the same major that is as new or newer loads it, with
``runtime.engine_host_code_allowed = True`` set before deserializing (the plan embeds the lean
runtime it runs on). The compute capability must match (fatal); the same compute capability on a
differently named GPU only warns (tactics were timed on the other board).

>>> import os, tempfile
>>> from edgeseg.meta import ModelMeta
>>> meta = ModelMeta(model="m", classes=("road", "car"), input_size=(64, 64))
>>> h = EngineHeader(meta=meta, tensorrt="10.3.0", gpu="Orin", compute_capability="8.7",
...                  precision="fp16", shapes={"input": {"min": [1, 3, 64, 64], "opt": [1, 3, 64, 64],
...                  "max": [1, 3, 64, 64]}}, onnx_sha256="ab" * 32, onnx="model.onnx")
>>> path = os.path.join(tempfile.mkdtemp(), "model.engine")
>>> written = write_engine(path, h, b"ftrt-plan-bytes")
>>> read_header(path) == written, read_engine(path)[1]
(True, b'ftrt-plan-bytes')
>>> check_compatible(written, "10.3.0", "Orin", "8.7")
>>> check_compatible(written, "10.4.0", "Orin", "8.7")
Traceback (most recent call last):
...
edgeseg.errors.ModelError: the engine was built with another TensorRT: ...
  expected: TensorRT 10.3.0 (as built: Orin, compute capability 8.7)
  got:      TensorRT 10.4.0 on Orin (compute capability 8.7)
  fix:      rebuild it here: edgeseg build <model.onnx> --precision fp16 --shape 1x3x64x64 --out ...model.engine
>>> import shutil; shutil.rmtree(os.path.dirname(path))
"""

from __future__ import annotations

import dataclasses
import datetime as _dt
import hashlib
import json
import os
import struct
import warnings
from dataclasses import dataclass, field
from typing import Any, Mapping

from ...errors import ModelError
from ...meta import ModelMeta

MAGIC = b"ESEGTRT1"
HEADER_VERSION = 1
RAW_PLAN_MAGIC = b"ftrt"        # TensorRT's own serialized engines (trtexec, Polygraphy) start so
_LEN = struct.Struct("<I")
_PREFIX = len(MAGIC) + _LEN.size
MAX_HEADER_BYTES = 16 << 20     # a header is a few KB; more means a foreign or corrupt file

_REQUIRED = ("meta", "tensorrt", "gpu", "compute_capability", "precision", "shapes", "onnx_sha256",
             "plan_sha256", "plan_size")


class EngineCompatibilityWarning(UserWarning):
    """The engine loads, but was tuned on a different board (same compute capability)."""


def _now() -> str:
    return _dt.datetime.now(_dt.timezone.utc).replace(microsecond=0).isoformat()


def _edgeseg_version() -> str:
    from ... import __version__
    return __version__


@dataclass(frozen=True)
class EngineHeader:
    """What an engine file says about itself (see the module docstring for the JSON keys)."""

    meta: ModelMeta
    tensorrt: str
    gpu: str
    compute_capability: str
    precision: str
    shapes: Mapping[str, Mapping[str, list]]
    onnx_sha256: str
    dla_core: int | None = None
    version_compatible: bool = False
    onnx: str | None = None                 # the source ONNX's file name (for the rebuild command)
    created: str = field(default_factory=_now)
    edgeseg: str = field(default_factory=_edgeseg_version)
    plan_sha256: str = ""                   # filled by write_engine
    plan_size: int = 0
    header_version: int = HEADER_VERSION

    def __post_init__(self):
        shapes = {str(n): {k: [int(d) for d in p[k]] for k in ("min", "opt", "max")}
                  for n, p in dict(self.shapes).items()}
        object.__setattr__(self, "shapes", shapes)
        object.__setattr__(self, "compute_capability", str(self.compute_capability))
        object.__setattr__(self, "tensorrt", str(self.tensorrt))
        from .plan import parse_trt_version
        parse_trt_version(self.tensorrt)   # a header must name a readable version

    def replace(self, **changes) -> "EngineHeader":
        return dataclasses.replace(self, **changes)

    def to_dict(self) -> dict:
        return {"header_version": self.header_version, "meta": self.meta.to_dict(),
                "tensorrt": self.tensorrt, "gpu": self.gpu, "compute_capability": self.compute_capability,
                "precision": self.precision, "shapes": self.shapes, "onnx_sha256": self.onnx_sha256,
                "onnx": self.onnx, "dla_core": self.dla_core, "version_compatible": self.version_compatible,
                "created": self.created, "edgeseg": self.edgeseg, "plan_sha256": self.plan_sha256,
                "plan_size": self.plan_size}

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), sort_keys=True, separators=(",", ":"))

    @classmethod
    def from_dict(cls, d: Mapping[str, Any], source: str = "<header>") -> "EngineHeader":
        if not isinstance(d, Mapping):
            raise ModelError("the engine header is not a JSON object", path=source, got=type(d).__name__)
        version = d.get("header_version", HEADER_VERSION)
        if not isinstance(version, int) or version > HEADER_VERSION:
            raise ModelError("the engine header was written by a newer edgeseg", path=source,
                             expected=f"header_version <= {HEADER_VERSION}", got=version,
                             fix="pip install -U edgeseg, or rebuild the engine with this edgeseg")
        missing = [k for k in _REQUIRED if k not in d]
        if missing:
            raise ModelError("the engine header is incomplete", path=source,
                             expected=", ".join(_REQUIRED), got=f"missing {missing}",
                             fix="rebuild the engine with edgeseg build")
        try:
            return cls(meta=ModelMeta.from_dict(d["meta"], source), tensorrt=d["tensorrt"], gpu=d["gpu"],
                       compute_capability=d["compute_capability"], precision=d["precision"],
                       shapes=d["shapes"], onnx_sha256=d["onnx_sha256"], dla_core=d.get("dla_core"),
                       version_compatible=bool(d.get("version_compatible", False)), onnx=d.get("onnx"),
                       created=d.get("created", ""), edgeseg=d.get("edgeseg", ""),
                       plan_sha256=d["plan_sha256"], plan_size=int(d["plan_size"]), header_version=version)
        except ModelError:
            raise
        except Exception as exc:  # wrong types inside the JSON: a foreign or damaged header
            raise ModelError("the engine header has malformed fields", path=source,
                             got=f"{type(exc).__name__}: {exc}", fix="rebuild the engine with edgeseg build") from exc

    @classmethod
    def from_json(cls, text, source: str = "<header>") -> "EngineHeader":
        try:
            d = json.loads(text)
        except (json.JSONDecodeError, UnicodeDecodeError) as exc:
            raise ModelError("the engine header is not valid JSON", path=source, got=str(exc)[:200],
                             fix="the file is damaged: copy it again or rebuild it with edgeseg build") from exc
        return cls.from_dict(d, source)


def pack_engine(header: EngineHeader, plan: bytes) -> tuple[EngineHeader, bytes]:
    """(the header with plan_sha256/plan_size filled, the file's bytes)."""
    plan = bytes(plan)
    header = header.replace(plan_sha256=hashlib.sha256(plan).hexdigest(), plan_size=len(plan))
    blob = header.to_json().encode("utf-8")
    return header, MAGIC + _LEN.pack(len(blob)) + blob + plan


def write_engine(path, header: EngineHeader, plan: bytes) -> EngineHeader:
    """Write header + plan atomically (temp file + rename); returns the header as written."""
    from ...utils.atomic import atomic_write_bytes
    header, data = pack_engine(header, plan)
    atomic_write_bytes(path, data)
    return header


def _foreign(path: str, head: bytes, size: int, f) -> ModelError:
    """Name what the file is, when it is not ours."""
    rebuild = ("rebuild it: edgeseg build model.onnx --precision fp16 --out model.engine; or, on the "
               "machine that built this plan, wrap it: edgeseg build model.onnx --wrap PLAN --precision P "
               "--out model.engine")
    if head.startswith(RAW_PLAN_MAGIC):
        return ModelError("this is a raw TensorRT plan without edgeseg's header (e.g. from trtexec)",
                          path=path, expected=f"an engine written by edgeseg build (starts with {MAGIC!r})",
                          got=f"TensorRT's own plan (starts with {RAW_PLAN_MAGIC!r}): no class names, "
                              "input size or normalisation travel with it", fix=rebuild)
    if len(head) >= 4:
        n = int.from_bytes(head[:4], "little")
        if 0 < n < min(size, MAX_HEADER_BYTES):
            f.seek(4 + n)
            if f.read(4) == RAW_PLAN_MAGIC:
                return ModelError("this engine has another tool's header (JSON length + JSON + plan, "
                                  "e.g. Ultralytics), not edgeseg's", path=path,
                                  expected=f"an engine written by edgeseg build (starts with {MAGIC!r})",
                                  got=f"a {n}-byte foreign header before a TensorRT plan", fix=rebuild)
    if head[:7] == MAGIC[:7]:
        return ModelError("the engine was written by a newer edgeseg (unknown header format)", path=path,
                          expected=MAGIC, got=head[:8], fix="pip install -U edgeseg, or rebuild the engine")
    return ModelError("not an engine file written by edgeseg", path=path,
                      expected=f"a file starting with {MAGIC!r}", got=f"first bytes {head[:8]!r}",
                      fix="pass the .engine written by edgeseg build, or an .onnx")


def _read_prefix(f, path: str) -> tuple[EngineHeader, int]:
    size = os.fstat(f.fileno()).st_size
    head = f.read(_PREFIX)
    if not head.startswith(MAGIC):
        if len(head) < len(MAGIC) and MAGIC.startswith(head):
            raise ModelError("the engine file is truncated", path=path, expected=f"at least {_PREFIX} bytes",
                             got=f"{size} bytes", fix="copy it again or rebuild it with edgeseg build")
        raise _foreign(path, head, size, f)
    if len(head) < _PREFIX:
        raise ModelError("the engine file is truncated", path=path, expected=f"at least {_PREFIX} bytes",
                         got=f"{size} bytes", fix="copy it again or rebuild it with edgeseg build")
    (n,) = _LEN.unpack(head[len(MAGIC):])
    if n == 0 or n > MAX_HEADER_BYTES:
        raise ModelError("the engine header length is implausible", path=path,
                         expected=f"1 .. {MAX_HEADER_BYTES} bytes", got=n, fix="rebuild the engine")
    if _PREFIX + n > size:
        raise ModelError("the engine file is truncated inside its header", path=path,
                         expected=f"{_PREFIX + n} bytes or more", got=f"{size} bytes",
                         fix="copy it again or rebuild it with edgeseg build")
    header = EngineHeader.from_json(f.read(n), path)
    return header, size - _PREFIX - n


def read_header(path) -> EngineHeader:
    """The header alone (reads only its bytes, never the plan)."""
    path = os.fspath(path)
    if not os.path.isfile(path):
        raise ModelError("engine file not found", path=path, fix="build one: edgeseg build model.onnx")
    with open(path, "rb") as f:
        return _read_prefix(f, path)[0]


def read_engine(path) -> tuple[EngineHeader, bytes]:
    """(header, plan); a short or altered plan is a ModelError, never handed to TensorRT."""
    path = os.fspath(path)
    if not os.path.isfile(path):
        raise ModelError("engine file not found", path=path, fix="build one: edgeseg build model.onnx")
    with open(path, "rb") as f:
        header, remaining = _read_prefix(f, path)
        plan = f.read()
    if len(plan) != header.plan_size:
        raise ModelError("the engine file is truncated" if len(plan) < header.plan_size
                         else "the engine file has bytes after its plan", path=path,
                         expected=f"a {header.plan_size}-byte plan", got=f"{len(plan)} bytes",
                         fix="copy it again (an interrupted copy?) or rebuild it with edgeseg build")
    if hashlib.sha256(plan).hexdigest() != header.plan_sha256:
        raise ModelError("the engine plan is damaged (checksum mismatch)", path=path,
                         expected=f"sha256 {header.plan_sha256[:16]}...",
                         got=f"sha256 {hashlib.sha256(plan).hexdigest()[:16]}...",
                         fix="copy it again or rebuild it with edgeseg build")
    return header, plan


def rebuild_command(header: EngineHeader, engine_path=None) -> str:
    """The ``edgeseg build`` line that makes this engine again, on the machine that runs it.

    The ONNX path is used when the source file still sits beside the engine; else ``<model.onnx>``.
    """
    onnx = "<model.onnx>"
    if engine_path is not None and header.onnx:
        candidate = os.path.join(os.path.dirname(os.fspath(engine_path)), header.onnx)
        if os.path.isfile(candidate):
            onnx = candidate
    parts = ["edgeseg build", onnx, "--precision", header.precision]
    if len(header.shapes) == 1:
        from .shapes import ProfileShape
        name, p = next(iter(header.shapes.items()))
        parts.append(ProfileShape.from_dict(name, p).cli())
    if header.dla_core is not None:
        parts += ["--dla", str(header.dla_core)]
    if header.version_compatible:
        parts.append("--version-compatible")
    parts += ["--out", os.fspath(engine_path) if engine_path is not None else "model.engine"]
    return " ".join(parts)


def _version(text) -> tuple[int, int, int]:
    from .plan import parse_trt_version
    return parse_trt_version(text)


def check_compatible(header: EngineHeader, trt_version, gpu_name: str, compute_capability, *,
                     engine_path=None) -> None:
    """Raise ModelError (naming both sides and the rebuild command) if this runtime cannot load
    the engine; warn (EngineCompatibilityWarning) for the same compute capability on another GPU."""
    built, here = _version(header.tensorrt), _version(trt_version)
    cc_built, cc_here = str(header.compute_capability), str(compute_capability)
    as_built = f"TensorRT {header.tensorrt} (as built: {header.gpu}, compute capability {cc_built})"
    running = f"TensorRT {trt_version} on {gpu_name} (compute capability {cc_here})"
    fix = "rebuild it here: " + rebuild_command(header, engine_path)
    if header.version_compatible:
        if built[0] != here[0] or here < built:
            raise ModelError("the engine was built with another TensorRT: version-compatible engines load "
                             "on the same major version, as new or newer", path=engine_path,
                             expected=f"TensorRT {built[0]}.x >= {header.tensorrt} (built version-compatible "
                                      f"on {header.gpu}, compute capability {cc_built})",
                             got=running, fix=fix)
    elif built != here:
        raise ModelError("the engine was built with another TensorRT: a plan only loads on the exact "
                         "TensorRT version that built it (JetPack upgrades change it)", path=engine_path,
                         expected=as_built, got=running, fix=fix)
    if cc_built != cc_here:
        raise ModelError("the engine was built for another GPU architecture", path=engine_path,
                         expected=f"compute capability {cc_built} ({header.gpu}, TensorRT {header.tensorrt})",
                         got=f"compute capability {cc_here} ({gpu_name}, TensorRT {trt_version})", fix=fix)
    if header.gpu != gpu_name:
        warnings.warn(f"{engine_path or 'the engine'} was built on {header.gpu}, this is {gpu_name} "
                      f"(both compute capability {cc_here}): it loads, but its kernels were timed on the "
                      f"other GPU; for best speed {fix}", EngineCompatibilityWarning, stacklevel=2)
