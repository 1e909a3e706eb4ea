"""The engine cache: build an ONNX once per (model, precision, shapes, TensorRT, GPU, DLA core).

``Segmenter("model.onnx", backend="tensorrt")`` calls :func:`cached_engine`, which returns the path
of an engine built earlier with the same key, or builds it (once, even with several processes
asking at the same time: an fcntl lock guards each key). Engines live in
``$EDGESEG_CACHE/engines/<key>.engine`` (default ``~/.cache/edgeseg/engines``), each a raw plan with
its sidecar ``<key>.engine.meta.json`` (a pair whose sidecar is lost or belongs to another plan is
built again), beside one timing cache per TensorRT version and GPU, so later builds on that device
are faster.

>>> k = cache_key(onnx_sha256="ab" * 32, precision="fp16", shapes={"input": "1x3x64x64"},
...               tensorrt="10.3.0", gpu="Orin", compute_capability="8.7", dla_core=None)
>>> len(k), k == cache_key(onnx_sha256="ab" * 32, precision="fp16", shapes={"input": "1x3x64x64"},
...                        tensorrt="10.3.0", gpu="Orin", compute_capability="8.7", dla_core=0)
(16, False)
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import re

from ...errors import EdgesegError
from .shapes import _spec_triplet

KEY_VERSION = 2     # bump when the engine format or the build recipe changes (2: plan + sidecar)


def cache_dir() -> str:
    """``$EDGESEG_CACHE/engines`` or ``~/.cache/edgeseg/engines`` (created on use)."""
    root = os.environ.get("EDGESEG_CACHE") or os.path.join(os.path.expanduser("~"), ".cache", "edgeseg")
    return os.path.join(root, "engines")


def _norm_shapes(shapes) -> dict:
    if not shapes:
        return {}
    if not isinstance(shapes, dict):
        raise TypeError("cache_key wants shapes as {input name: spec}")
    out = {}
    for name, spec in shapes.items():
        mn, opt, mx = _spec_triplet(spec)
        out[str(name)] = {"min": list(mn), "opt": list(opt), "max": list(mx)}
    return out


def cache_key(*, onnx_sha256: str, precision: str, shapes, tensorrt: str, gpu: str,
              compute_capability: str, dla_core: int | None) -> str:
    """A stable 16-hex-digit key: every field changes it; dict order does not."""
    fields = {"v": KEY_VERSION, "onnx_sha256": onnx_sha256, "precision": precision,
              "shapes": _norm_shapes(shapes), "tensorrt": str(tensorrt), "gpu": gpu,
              "compute_capability": str(compute_capability), "dla_core": dla_core}
    blob = json.dumps(fields, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(blob.encode("utf-8")).hexdigest()[:16]


def timing_cache_path(folder: str, tensorrt: str, gpu: str, compute_capability: str) -> str:
    slug = re.sub(r"[^A-Za-z0-9.]+", "-", f"{gpu}-sm{compute_capability}-trt{tensorrt}").strip("-")
    return os.path.join(folder, f"timing-{slug}.cache")


@contextlib.contextmanager
def file_lock(path: str, log=None):
    """An exclusive fcntl lock on ``path`` (created); other processes wait. Where fcntl does not
    exist (Windows) the lock is a no-op."""
    try:
        import fcntl
    except ImportError:  # pragma: no cover - not on Linux/Jetson
        yield
        return
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    with open(path, "a+") as f:
        try:
            fcntl.flock(f.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            if log is not None:
                log(f"waiting for another process building the same engine ({path})")
            fcntl.flock(f.fileno(), fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(f.fileno(), fcntl.LOCK_UN)


def _usable(path: str, sha: str, trt_version: str, gpu, log) -> bool:
    from .header import check_compatible, read_header
    if not os.path.isfile(path):
        return False
    try:
        # verify: the plan's sha256 against its sidecar, so a damaged or mismatched pair is rebuilt
        # here rather than refused by the runner
        h = read_header(path, verify=True)
        check_compatible(h, trt_version, gpu.name, gpu.compute_capability, engine_path=path)
        if h.onnx_sha256 != sha:
            raise EdgesegError("cached engine was built from another ONNX")
        return True
    except EdgesegError as exc:
        if log is not None:
            log(f"rebuilding the cached engine {path}: {str(exc).splitlines()[0]}")
        return False


def cached_engine(onnx_path: str, *, precision: str = "fp16", shapes=None, dla_core=None, workspace=None,
                  log=print) -> str:
    """The path of an engine for ``onnx_path`` on this TensorRT and GPU, built on first use.

    ``shapes``: None (the ONNX's shape, or batch 1 at its meta size), ``"1x3x512x512"``,
    ``"MIN:OPT:MAX"``, or {input: spec}. Raises the builder's clear errors (no TensorRT, no GPU,
    int8 without Q/DQ ...)."""
    from .builder import build_engine, import_tensorrt
    from .cuda.device import gpu_info
    from .plan import validate_request
    from .source import load_source, resolve_profiles
    onnx_path = os.fspath(onnx_path)
    src = load_source(onnx_path)
    validate_request(precision, qdq=src.qdq, dla_core=dla_core)
    profiles = resolve_profiles(src, shapes)
    trt = import_tensorrt()
    gpu = gpu_info()
    key = cache_key(onnx_sha256=src.sha256, precision=precision, shapes=profiles, tensorrt=trt.__version__,
                    gpu=gpu.name, compute_capability=gpu.compute_capability, dla_core=dla_core)
    folder = cache_dir()
    path = os.path.join(folder, f"{key}.engine")
    if _usable(path, src.sha256, trt.__version__, gpu, log):
        return path
    with file_lock(path + ".lock", log):
        if _usable(path, src.sha256, trt.__version__, gpu, None):  # built while we waited
            return path
        if log is not None:
            log(f"building a {precision} TensorRT engine for {os.path.basename(onnx_path)} once; "
                f"cached as {path}")
        build_engine(onnx_path, path, precision=precision, shapes=profiles, workspace=workspace,
                     dla_core=dla_core, timing_cache=timing_cache_path(folder, trt.__version__, gpu.name,
                                                                        gpu.compute_capability),
                     # a build at run time is on the deploy side: AutoCast would import torch there
                     fp16_converter="edgeseg", log=log)
    return path
