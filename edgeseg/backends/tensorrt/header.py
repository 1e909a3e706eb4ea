"""The engine file pair: ``model.engine`` is the raw TensorRT plan, byte for byte what TensorRT
serialised (so ``trtexec --loadEngine``, DeepStream's ``model-engine-file``, Triton and Polygraphy
load it), and ``model.engine.meta.json`` beside it is its sidecar.

The sidecar has the schema of every edgeseg sidecar (:mod:`edgeseg.meta`: the ModelMeta fields and
``meta_version`` >= 2) plus an ``engine`` object with the engine's facts: ``tensorrt`` ("10.3.0"),
``gpu`` (name), ``compute_capability`` ("8.7"), ``precision`` (as requested: fp32|fp16|int8|best),
``shapes`` ({input: {"min", "opt", "max"}}), ``onnx_sha256``, ``onnx`` (the source file name),
``dla_core`` (null or int), ``version_compatible`` (bool), ``created`` (ISO time), ``edgeseg``,
``plan_sha256``, ``plan_size``.

Pure Python (no TensorRT, no onnx): the deploy-side TensorRT backend reads the sidecar and checks
it against the plan (size, sha256) and against this TensorRT and GPU before the plan reaches
TensorRT, so an engine from another JetPack or GPU gets an explanation and the exact rebuild
command instead of TensorRT's "engine plan file is not compatible" (or a crash). A plan without
a sidecar (trtexec's) loads when the meta is given (:func:`open_engine` ``meta=``); TensorRT then
checks versions itself.

Files edgeseg wrote before (``b"ESEGTRT1"`` + uint32 LE length N + N bytes of JSON + the plan, still
on robots) are read as they are; :func:`unwrap_engine` (``edgeseg build --unwrap``) turns one into
the pair.

Compatibility (:func:`check_compatible`): the runtime's TensorRT must equal the builder's
major.minor.patch, unless the engine was built version-compatible (``BuilderFlag.VERSION_COMPATIBLE``):
then a runtime of the same major that is as new or newer loads it, and so does a TensorRT 11
runtime for a TensorRT 10 engine (and 10 for 8), with ``runtime.engine_host_code_allowed = True``
set before deserializing (the plan embeds the lean runtime it runs on). The compute capability
must match (fatal); the same compute capability on a differently named GPU only warns (tactics
were timed on the other board).

>>> import os, tempfile
>>> from edgeseg.meta import ModelMeta
>>> meta = ModelMeta(model="m", classes=("road", "car"), input_size=(64, 64))
>>> h = EngineHeader(meta=meta, tensorrt="10.3.0", gpu="Orin", compute_capability="8.7",
...                  precision="fp16", shapes={"input": {"min": [1, 3, 64, 64], "opt": [1, 3, 64, 64],
...                  "max": [1, 3, 64, 64]}}, onnx_sha256="ab" * 32, onnx="model.onnx")
>>> path = os.path.join(tempfile.mkdtemp(), "model.engine")
>>> written = write_engine(path, h, b"ftrt-plan-bytes")
>>> open(path, "rb").read(), sorted(os.listdir(os.path.dirname(path)))
(b'ftrt-plan-bytes', ['model.engine', 'model.engine.meta.json'])
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

import contextlib
import dataclasses
import datetime as _dt
import hashlib
import json
import os
import struct
import types
import warnings
from dataclasses import dataclass, field
from typing import Any, Mapping

from ...errors import ConfigError, ModelError
from ...meta import ModelMeta, read_sidecar_dict
from ...utils.files import existing_file

MAGIC = b"ESEGTRT1"             # the legacy headered file (read, never written)
HEADER_VERSION = 1
# An engine's sidecar is at least meta_version 2 (the "engine" object); 3 when its meta needs it.
ENGINE_META_VERSION = 2
RAW_PLAN_MAGIC = b"ftrt"        # TensorRT's own serialized engines (trtexec, Polygraphy) start so
_LEN = struct.Struct("<I")
_PREFIX = len(MAGIC) + _LEN.size
MAX_HEADER_BYTES = 16 << 20     # a header is a few KB; more means a foreign or corrupt file

_REQUIRED = ("tensorrt", "gpu", "compute_capability", "precision", "shapes", "onnx_sha256",
             "plan_sha256", "plan_size")

# Version-compatible engines across a major boundary, (built, runtime): NVIDIA supports exactly
# TensorRT 10 engines on an 11 runtime and 8 engines on a 10 runtime (TensorRT 11.4.0 support
# matrix, "Engine Portability":
# https://docs.nvidia.com/deeplearning/tensorrt/11.4.0/getting-started/support-matrix.html ; also
# https://docs.nvidia.com/deeplearning/tensorrt/11.1.0/inference-library/engine-compatibility.html).
_ACROSS_MAJORS = frozenset({(10, 11), (8, 10)})

_REBUILD = "rebuild it: edgeseg build model.onnx --precision fp16 --out model.engine"


class EngineCompatibilityWarning(UserWarning):
    """The engine loads, but was tuned on a different board (same compute capability)."""


def _now() -> str:
    return _dt.datetime.now(_dt.timezone.utc).replace(microsecond=0).isoformat()


def _edgeseg_version() -> str:
    from ... import __version__
    return __version__


def sidecar_path(engine_path) -> str:
    return ModelMeta.sidecar_path(engine_path)


@dataclass(frozen=True)
class EngineHeader:
    """What edgeseg knows about an engine: its meta and its facts (module docstring)."""

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

    def __post_init__(self):
        shapes = {str(n): {k: [int(d) for d in p[k]] for k in ("min", "opt", "max")}
                  for n, p in dict(self.shapes).items()}
        object.__setattr__(self, "shapes", shapes)
        object.__setattr__(self, "compute_capability", str(self.compute_capability))
        object.__setattr__(self, "tensorrt", str(self.tensorrt))
        from .plan import parse_trt_version
        parse_trt_version(self.tensorrt)   # the facts must name a readable version

    def replace(self, **changes) -> "EngineHeader":
        return dataclasses.replace(self, **changes)

    def facts(self) -> dict:
        """The sidecar's ``engine`` object."""
        return {"tensorrt": self.tensorrt, "gpu": self.gpu, "compute_capability": self.compute_capability,
                "precision": self.precision, "shapes": self.shapes, "onnx_sha256": self.onnx_sha256,
                "onnx": self.onnx, "dla_core": self.dla_core, "version_compatible": self.version_compatible,
                "created": self.created, "edgeseg": self.edgeseg, "plan_sha256": self.plan_sha256,
                "plan_size": self.plan_size}

    def to_sidecar(self) -> dict:
        return {**self.meta.to_dict(), "meta_version": max(ENGINE_META_VERSION, self.meta.needed_version()),
                "engine": self.facts()}

    def to_dict(self) -> dict:
        """The legacy header's JSON object (meta nested)."""
        return {"header_version": HEADER_VERSION, "meta": self.meta.to_dict(), **self.facts()}

    @classmethod
    def _from_facts(cls, meta: ModelMeta, d: Mapping[str, Any], source: str, what: str) -> "EngineHeader":
        missing = [k for k in _REQUIRED if k not in d]
        if missing:
            raise ModelError(f"the {what} is incomplete", path=source, expected=", ".join(_REQUIRED),
                             got=f"missing {missing}", fix="rebuild the engine with edgeseg build")
        try:
            return cls(meta=meta, tensorrt=d["tensorrt"], gpu=d["gpu"], compute_capability=d["compute_capability"],
                       precision=d["precision"], shapes=d["shapes"], onnx_sha256=d["onnx_sha256"],
                       dla_core=d.get("dla_core"), version_compatible=bool(d.get("version_compatible", False)),
                       onnx=d.get("onnx"), created=d.get("created", ""), edgeseg=d.get("edgeseg", ""),
                       plan_sha256=d["plan_sha256"], plan_size=int(d["plan_size"]))
        except ModelError:
            raise
        except Exception as exc:  # wrong types inside the JSON: a foreign or damaged file
            raise ModelError(f"the {what} has malformed fields", path=source,
                             got=f"{type(exc).__name__}: {exc}", fix="rebuild the engine with edgeseg build") from exc

    @classmethod
    def from_sidecar(cls, d: Mapping[str, Any], source: str = "<sidecar>") -> "EngineHeader":
        """From a sidecar dict (meta_version already checked by edgeseg.meta)."""
        facts = d.get("engine")
        if not isinstance(facts, Mapping):
            raise ModelError("the sidecar's engine facts are malformed", path=source,
                             expected='an "engine" JSON object', got=type(facts).__name__,
                             fix="rebuild the engine with edgeseg build")
        return cls._from_facts(ModelMeta.from_dict(d, source), facts, source, "sidecar's engine facts")

    @classmethod
    def from_dict(cls, d: Mapping[str, Any], source: str = "<header>") -> "EngineHeader":
        """From a legacy header's JSON object."""
        if not isinstance(d, Mapping):
            raise ModelError("the engine header is not a JSON object", path=source, got=type(d).__name__)
        version = d.get("header_version", HEADER_VERSION)
        if not isinstance(version, int) or version > HEADER_VERSION:
            raise ModelError("the engine header was written by a newer edgeseg", path=source,
                             expected=f"header_version <= {HEADER_VERSION}", got=version,
                             fix="pip install -U edgeseg, or rebuild the engine with this edgeseg")
        if "meta" not in d:
            raise ModelError("the engine header is incomplete", path=source, expected="meta, " + ", ".join(_REQUIRED),
                             got="missing ['meta']", fix="rebuild the engine with edgeseg build")
        meta = d["meta"]
        if not isinstance(meta, Mapping):
            raise ModelError("the engine header has malformed fields", path=source,
                             got=f"meta is {type(meta).__name__}", fix="rebuild the engine with edgeseg build")
        return cls._from_facts(ModelMeta.from_dict(meta, source), d, source, "engine header")

    @classmethod
    def from_json(cls, text, source: str = "<header>") -> "EngineHeader":
        try:
            d = json.loads(text)
        except (json.JSONDecodeError, UnicodeDecodeError) as exc:
            raise ModelError("the engine header is not valid JSON", path=source, got=str(exc)[:200],
                             fix="the file is damaged: copy it again or rebuild it with edgeseg build") from exc
        return cls.from_dict(d, source)


@dataclass(frozen=True)
class EngineFile:
    """An engine as loaded: the plan, the meta to run it with, and its facts (None for a plan
    that came without them, e.g. trtexec's with the meta given); ``legacy``: a headered file."""

    path: str
    plan: bytes
    meta: ModelMeta
    header: EngineHeader | None
    legacy: bool = False


# -- writing ---------------------------------------------------------------------------------------
def write_engine(path, header: EngineHeader, plan: bytes) -> EngineHeader:
    """Write the pair (``path`` = the plan, byte for byte; ``path.meta.json`` = its sidecar) and
    return the header as written (plan_sha256/plan_size filled).

    Both are written to temp files first; then the sidecar is renamed into place, then the plan.
    A crash between the two renames leaves the new sidecar beside the old plan (or beside none),
    which the loader refuses by its size/sha256 ("belongs to another plan"), never a plan that
    runs with another plan's meta. The other order could leave a new plan without its sidecar.
    """
    from ...utils.atomic import atomic_path
    plan = bytes(plan)
    header = header.replace(plan_sha256=hashlib.sha256(plan).hexdigest(), plan_size=len(plan))
    text = json.dumps(header.to_sidecar(), indent=2, sort_keys=True)
    path = os.fspath(path)
    # Context managers exit in reverse: the sidecar's rename runs first, the plan's second.
    with atomic_path(path) as plan_tmp, atomic_path(sidecar_path(path)) as side_tmp:
        with open(plan_tmp, "wb") as f:
            f.write(plan)
        with open(side_tmp, "w", encoding="utf-8") as f:
            f.write(text)
    return header


def unwrap_engine(path, out=None) -> tuple[EngineHeader, bool]:
    """Turn a legacy headered engine into the pair, in place or at ``out``: (header, changed).
    Nothing changes for a file that already is a plan with its sidecar, in place."""
    path = os.fspath(path)
    out = os.fspath(out) if out is not None else path
    if os.path.abspath(out) == os.path.abspath(sidecar_path(path)):
        raise ConfigError("the raw plan would overwrite its sidecar", got=out, fix="--out model.engine")
    src = open_engine(path)
    if src.header is None:
        raise _no_facts(path)
    if not src.legacy and os.path.abspath(out) == os.path.abspath(path):
        return src.header, False
    # In place, a crash between the renames leaves the headered file beside its new sidecar: the
    # loader reads a headered file by its own header, so it still loads.
    return write_engine(out, src.header, src.plan), True


# -- reading ---------------------------------------------------------------------------------------
def _no_sidecar(path: str) -> ModelError:
    side = sidecar_path(path)
    return ModelError("a TensorRT plan without its sidecar (e.g. from trtexec): nothing says its classes, "
                      "input size or normalisation", path=path,
                      expected=f"{side} beside it (edgeseg build writes both), or the meta given",
                      got=f"no {os.path.basename(side)}",
                      fix="give the meta: edgeseg run ... --meta FILE, or meta=ModelMeta(...) or "
                          "meta='model.meta.json' in Segmenter/TensorRTBackend; or write the sidecar once: "
                          "ModelMeta(model=..., classes=..., input_size=...).write_sidecar(path); or " + _REBUILD)


def _no_facts(path: str) -> ModelError:
    return ModelError("the sidecar has the model's meta but no engine facts (TensorRT version, GPU, "
                      "sha256)", path=sidecar_path(path), expected='an "engine" object, as edgeseg build writes',
                      got="a meta-only sidecar", fix="the plan still runs (TensorRT checks its own version); "
                      "to get the checks, " + _REBUILD)


def _foreign(path: str, head: bytes, size: int, f, known_only: bool = False) -> ModelError | None:
    """Name what the file is: another tool's header, a newer edgeseg, or no engine at all (None
    for the last with ``known_only``)."""
    if len(head) >= 4:
        n = int.from_bytes(head[:4], "little")
        if 0 < n < min(size, MAX_HEADER_BYTES):
            f.seek(4 + n)
            if f.read(4) == RAW_PLAN_MAGIC:
                return ModelError("this engine has another tool's header (JSON length + JSON + plan, "
                                  "e.g. Ultralytics), not a raw TensorRT plan", path=path,
                                  expected=f"a TensorRT plan (starts with {RAW_PLAN_MAGIC!r}) and its sidecar",
                                  got=f"a {n}-byte foreign header before a TensorRT plan", fix=_REBUILD)
    if head[:7] == MAGIC[:7]:
        return ModelError("the engine was written by a newer edgeseg (unknown header format)", path=path,
                          expected=MAGIC, got=head[:8], fix="pip install -U edgeseg, or rebuild the engine")
    if known_only:
        return None
    return ModelError("not a TensorRT engine: neither a plan with its sidecar nor an edgeseg engine", path=path,
                      expected=f"a TensorRT plan (starts with {RAW_PLAN_MAGIC!r}) and {os.path.basename(path)}"
                               ".meta.json", got=f"first bytes {head[:8]!r}, no sidecar",
                      fix="pass the .engine written by edgeseg build, or an .onnx")


def _read_legacy_prefix(f, path: str, size: int) -> EngineHeader:
    f.seek(0)
    head = f.read(_PREFIX)
    if not head.startswith(MAGIC) and len(head) >= len(MAGIC):
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
    return EngineHeader.from_json(f.read(n), path)


def _check_legacy_plan(path: str, header: EngineHeader, plan: bytes) -> None:
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


def _another_plan(path: str, why: str, expected: str, got: str) -> ModelError:
    return ModelError(f"the sidecar belongs to another plan ({why})", path=path,
                      expected=f"{expected}, as {sidecar_path(path)} says", got=got,
                      fix="copy both files again (model.engine and model.engine.meta.json travel as a "
                          "pair), or rebuild with edgeseg build")


@contextlib.contextmanager
def _opened(path):
    """The first look at an engine file: legacy or not, and a pair's sidecar (size checked)."""
    path = existing_file(os.fspath(path), "engine file", fix="build one: edgeseg build model.onnx")
    with open(path, "rb") as f:
        o = types.SimpleNamespace(path=path, f=f, size=os.fstat(f.fileno()).st_size, head=f.read(_PREFIX),
                                  side=None, meta=None, header=None)
        o.legacy = o.head[:7] == MAGIC[:7] or (len(o.head) < len(MAGIC) and MAGIC.startswith(o.head))
        o.side = None if o.legacy else read_sidecar_dict(path)
        if o.side is not None:
            o.meta = ModelMeta.from_dict(o.side, sidecar_path(path))
            if "engine" in o.side:
                o.header = EngineHeader.from_sidecar(o.side, sidecar_path(path))
                if o.size != o.header.plan_size:
                    raise _another_plan(path, "or the plan was cut off", f"a {o.header.plan_size}-byte plan",
                                        f"{o.size} bytes")
        yield o


def _unexplained(o) -> ModelError:
    return _no_sidecar(o.path) if o.head.startswith(RAW_PLAN_MAGIC) else _foreign(o.path, o.head, o.size, o.f)


def open_engine(path, meta: ModelMeta | None = None) -> EngineFile:
    """The plan and what it runs with, checked before TensorRT sees it: a legacy headered file
    (its checksum), or the pair (the sidecar's size and sha256 against the plan). Without a
    sidecar, ``meta`` must be given; a given ``meta`` wins over the file's."""
    with _opened(path) as o:
        if o.legacy:
            header = _read_legacy_prefix(o.f, o.path, o.size)
            plan = o.f.read()
            _check_legacy_plan(o.path, header, plan)
            return EngineFile(o.path, plan, meta or header.meta, header, legacy=True)
        if o.side is None:
            if meta is None:
                raise _unexplained(o)
            # A known foreign layout is refused here; anything else goes to TensorRT, which checks
            # its own magic and says what it found (the runner quotes it).
            if not o.head.startswith(RAW_PLAN_MAGIC) and (err := _foreign(o.path, o.head, o.size, o.f, True)):
                raise err
        o.f.seek(0)
        plan = o.f.read()
        sha = hashlib.sha256(plan).hexdigest()
        if o.header is not None and sha != o.header.plan_sha256:
            raise _another_plan(o.path, "its sha256 differs", f"sha256 {o.header.plan_sha256[:16]}...",
                                f"sha256 {sha[:16]}...")
        return EngineFile(o.path, plan, meta or o.meta, o.header)


def read_engine(path) -> tuple[EngineHeader, bytes]:
    """(header, plan) of an engine that carries its facts; a short or altered plan, a missing or
    mismatched sidecar is a ModelError, never handed to TensorRT."""
    f = open_engine(path)
    if f.header is None:
        raise _no_facts(f.path)
    return f.header, f.plan


def read_header(path, verify: bool = False) -> EngineHeader:
    """The facts, without reading the plan (a pair's plan size is checked); ``verify`` also
    checks the plan's sha256 (reading it)."""
    if verify:
        return read_engine(path)[0]
    with _opened(path) as o:
        if o.legacy:
            return _read_legacy_prefix(o.f, o.path, o.size)
        if o.side is None:
            raise _unexplained(o)
        if o.header is None:
            raise _no_facts(o.path)
        return o.header


# -- compatibility ---------------------------------------------------------------------------------
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


def version_compatible_loads(built, here) -> bool:
    """Whether a runtime of version ``here`` loads a version-compatible engine built by ``built``."""
    built, here = _version(built), _version(here)
    if built[0] == here[0]:
        return here >= built
    return (built[0], here[0]) in _ACROSS_MAJORS


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
        if not version_compatible_loads(built, here):
            later = [f"{b[1]}.x" for b in sorted(_ACROSS_MAJORS) if b[0] == built[0]]
            raise ModelError("the engine was built with another TensorRT: version-compatible engines load "
                             "on the same major version, as new or newer"
                             + (f", or on TensorRT {' or '.join(later)}" if later else ""), path=engine_path,
                             expected=f"TensorRT {built[0]}.x >= {header.tensorrt}"
                                      + "".join(f" or TensorRT {x}" for x in later)
                                      + f" (built version-compatible on {header.gpu}, compute capability {cc_built})",
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
