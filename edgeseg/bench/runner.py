"""Plan and run benchmark variants: (model, backend, precision, size, batch) -> one result dict.

A variant this machine cannot run is kept with the reason, never dropped: the table and the
JSON must show what was *not* measured as clearly as what was.

>>> plan = plan_variants(BenchConfig(models=("m.onnx",), precisions=("fp32", "fp16")))
>>> [(v.backend, v.precision) for v in plan]
[('onnxruntime', 'fp32'), ('onnxruntime', 'fp16'), ('tensorrt', 'fp32'), ('tensorrt', 'fp16')]
>>> skip_reason(Variant("m.onnx", "onnxruntime", "fp16", None, 1))
'fp16 on onnxruntime CPU: no fp16 kernels (use tensorrt)'
"""

from __future__ import annotations

import importlib.util
import os
import tempfile
import warnings
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from ..backends import ALIASES, BACKENDS, load_backend
from ..errors import ConfigError, EdgesegError
from ..meta import load_meta
from .latency import stats_from_times, time_calls
from .memory import MemoryProbe

PRECISIONS = ("fp32", "fp16", "int8")
# A variant that runs the file as it is (an INT8 .onnx as INT8); results record what ran.
OWN = "own"
# model file kind -> backends it is benchmarked on when --backends is not given.
DEFAULT_BACKENDS = {".onnx": ("onnxruntime", "tensorrt"), ".engine": ("tensorrt",),
                    ".plan": ("tensorrt",), ".pt": ("torch", "onnxruntime"), ".pth": ("torch", "onnxruntime")}
# (backend, precision) pairs that never run here, with why; checked before anything is loaded.
UNSUPPORTED = {
    ("onnxruntime", "fp16"): "fp16 on onnxruntime CPU: no fp16 kernels (use tensorrt)",
    ("torch", "fp16"): "fp16 on the torch backend: not benchmarked (reference backend, fp32)",
    ("torch", "int8"): "int8 on the torch backend: not supported (quantize to ONNX, run on onnxruntime)",
}
# backend -> (module to look for, reason when absent); find_spec never imports the package.
REQUIRES = {"onnxruntime": ("onnxruntime", "onnxruntime: not installed (pip install onnxruntime)"),
            "tensorrt": ("tensorrt", "tensorrt: not installed (JetPack / NVIDIA's wheels)"),
            "torch": ("torch", "torch: not installed (pip install \"edgeseg[train]\")")}
# backend -> model suffixes it can open directly (a .pt is exported for onnxruntime/tensorrt).
OPENS = {"onnxruntime": (".onnx", ".pt", ".pth"), "tensorrt": (".engine", ".plan", ".onnx", ".pt", ".pth"),
         "torch": (".pt", ".pth")}


@dataclass(frozen=True)
class Variant:
    model_path: str
    backend: str
    precision: str
    size: tuple | None   # (h, w); None: the model's own size
    batch: int

    @property
    def suffix(self) -> str:
        return os.path.splitext(self.model_path)[1].lower()


@dataclass(frozen=True)
class BenchConfig:
    models: tuple
    backends: tuple = ()          # empty: DEFAULT_BACKENDS per model kind
    precisions: tuple = ()        # empty: each model file at its own precision ("own")
    sizes: tuple = ()             # empty: each model's own size
    batches: tuple = (1,)
    runs: int = 50
    warmup: int = 5
    threads: int | None = None
    data: str | None = None       # data spec for mIoU, e.g. synthetic:100
    stream: str | None = None     # video file for the end-to-end mode
    calib_num: int = 16           # synthetic frames for on-the-fly INT8
    workdir: str | None = None
    keep_times: bool = True
    # The meta of models edgeseg did not export (or an override): a ModelMeta or a meta JSON path
    # for every model, or a mapping from model path to one; None: each file's own meta.
    meta: Any = None

    def __post_init__(self):
        object.__setattr__(self, "backends", tuple(ALIASES.get(b, b) for b in self.backends))
        object.__setattr__(self, "meta", _load_metas(self.meta, self.models))
        for b in self.backends:
            if b not in BACKENDS:
                raise ConfigError("unknown backend", expected=" | ".join(BACKENDS) + " (or ort, trt)", got=b)
        for p in self.precisions:
            if p not in PRECISIONS:
                raise ConfigError("unknown precision", expected=" | ".join(PRECISIONS), got=p)
        if not self.models:
            raise ConfigError("no model to benchmark", expected="one or more .onnx / .engine / .pt files")
        if self.runs < 1 or self.warmup < 0 or min(self.batches) < 1:
            raise ConfigError("runs and batch must be >= 1, warmup >= 0",
                              got=f"runs {self.runs}, warmup {self.warmup}, batch {self.batches}")


def _load_metas(meta, models):
    """``meta`` as given -> None, one ModelMeta, or {model path: ModelMeta}; paths are read now,
    so a missing or damaged meta fails when the config is built, not in the middle of a run."""
    if isinstance(meta, Mapping):
        unknown = sorted(set(map(str, meta)) - set(map(str, models)))
        if unknown:
            raise ConfigError("meta names models that are not benchmarked", got=", ".join(unknown),
                              expected="keys among: " + ", ".join(map(str, models)),
                              fix="key the mapping by the paths given in models=")
        return {str(k): load_meta(v) for k, v in meta.items()}
    return load_meta(meta)


def meta_for(cfg: BenchConfig, model_path: str):
    """The meta given for ``model_path`` (None: the file's own)."""
    if isinstance(cfg.meta, Mapping):
        return cfg.meta.get(str(model_path))
    return cfg.meta


def plan_variants(cfg: BenchConfig) -> list[Variant]:
    out = []
    for path in cfg.models:
        suffix = os.path.splitext(path)[1].lower()
        for backend in cfg.backends or DEFAULT_BACKENDS.get(suffix, ("onnxruntime",)):
            for precision in cfg.precisions or (OWN,):
                for size in cfg.sizes or (None,):
                    for batch in cfg.batches:
                        out.append(Variant(path, backend, precision, size, batch))
    return out


def skip_reason(v: Variant) -> str | None:
    """Why ``v`` cannot run on this machine, decided without loading anything; None if it may."""
    module, why = REQUIRES[v.backend]
    if importlib.util.find_spec(module) is None:
        return why
    if v.suffix not in OPENS[v.backend]:
        return f"{v.backend} cannot open a {v.suffix} file (it takes {', '.join(OPENS[v.backend])})"
    return UNSUPPORTED.get((v.backend, v.precision))


def result_stub(v: Variant, status: str = "ok", reason: str | None = None) -> dict:
    return {"model": os.path.basename(v.model_path), "model_path": v.model_path, "backend": v.backend,
            "precision": v.precision, "size": list(v.size) if v.size else [], "batch": v.batch,
            "status": status, "reason": reason, "notes": [], "model_bytes": None, "latency": None,
            "images_per_s": None, "memory": None, "miou": None, "stream": None}


class _Prepared:
    """Files made on the fly (ONNX from a checkpoint, INT8 from an FP32 ONNX), made once each."""

    def __init__(self, cfg: BenchConfig, log):
        self.cfg, self.log, self.cache = cfg, log, {}
        self.dir = cfg.workdir or tempfile.mkdtemp(prefix="edgeseg-bench-")

    def onnx_from_checkpoint(self, ckpt: str, size, batch: int) -> str:
        key = ("export", ckpt, size, batch)
        if key not in self.cache:
            from ..export import export_onnx
            out = os.path.join(self.dir, f"{os.path.basename(ckpt)}.{len(self.cache)}.onnx")
            self.log(f"exporting {ckpt} to ONNX for the benchmark (static size, batch {batch})")
            export_onnx(ckpt, out, size=size, batch=batch, parity=False, log=None)
            self.cache[key] = out
        return self.cache[key]

    def int8_from_fp32(self, path: str, meta, given=None) -> str:
        """``given``: the meta supplied for ``path``; the INT8 file carries it (as quantize writes it)."""
        key = ("int8", path)
        if key not in self.cache:
            from ..quantize.api import quantize_model
            from ..quantize.calibration import build_calibration_set
            self.log(f"quantizing {os.path.basename(path)} on the fly (cpu target, percentile, "
                     f"{self.cfg.calib_num} synthetic frames)")
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")  # the small-set warning is expected here
                calib = build_calibration_set("synthetic", meta, self.cfg.calib_num, file=None)
            out = os.path.join(self.dir, f"{os.path.basename(path)[:-5]}.{len(self.cache)}.cpu.int8.onnx")
            quantize_model(path, calib, out, target="cpu", method="percentile", bench_runs=0,
                           write_reports=False, threads=self.cfg.threads, log=lambda *a: None, file=None,
                           meta=given)
            self.cache[key] = out
        return self.cache[key]


def _backend_options(v: Variant, cfg: BenchConfig) -> dict:
    if v.backend in ("onnxruntime", "torch"):
        return {"device": "cpu", "threads": cfg.threads}
    return {"precision": v.precision} if v.suffix == ".onnx" and v.precision != OWN else {}


def _open(v: Variant, prep: _Prepared, notes: list):
    """(backend object, model file actually run, the meta given for that file or None) for ``v``;
    notes say what was derived."""
    path, opts = v.model_path, _backend_options(v, prep.cfg)
    given = meta_for(prep.cfg, v.model_path)
    if v.suffix in (".pt", ".pth") and v.backend != "torch":
        path = prep.onnx_from_checkpoint(path, v.size, v.batch)
        notes.append(f"exported on the fly from {os.path.basename(v.model_path)}")
        given = None   # the export carries the checkpoint's meta
    backend = load_backend(path, v.backend, **opts, **({} if given is None else {"meta": given}))
    if v.backend == "onnxruntime":
        own = "int8" if backend.meta.precision in ("int8", "mixed") else backend.meta.precision
        if v.precision == OWN:
            pass
        elif v.precision == "int8" and own == "fp32":
            backend.close()
            path = prep.int8_from_fp32(path, backend.meta, given)
            notes.append("int8 quantized on the fly (cpu target, percentile, "
                         f"{prep.cfg.calib_num} synthetic frames): not a tuned artefact")
            given = None   # the INT8 file carries the meta
            backend = load_backend(path, v.backend, **opts)
        elif v.precision != own:
            backend.close()
            raise _Skip(f"the model file is {own}; {v.precision} needs its own file")
    return backend, path, given


class _Skip(Exception):
    pass


def _input_shape(v: Variant, backend) -> tuple:
    """The batch to time, or _Skip when the model's static shape does not allow it."""
    spec, meta = backend.inputs[0], backend.meta
    h, w = v.size or meta.input_size
    shape = (v.batch, h, w, 3) if meta.layout == "NHWC" else (v.batch, 3, h, w)
    if len(spec.shape) == len(shape) and all(not isinstance(d, int) or d == s for d, s in zip(spec.shape, shape)):
        return shape
    what = f"size {h}x{w}" if (h, w) != tuple(meta.input_size) else f"batch {v.batch}"
    dims = "x".join(str(d) if isinstance(d, int) else "?" for d in spec.shape)
    raise _Skip(f"{what} needs a dynamic model (this one is static {dims}): export with --dynamic")


def run_variant(v: Variant, prep: _Prepared, log=print) -> dict:
    """Load, warm up, time; memory, file size, and mIoU / stream figures when asked for."""
    reason = skip_reason(v)
    if reason:
        return result_stub(v, "skipped", reason)
    res = result_stub(v)
    probe = MemoryProbe()
    try:
        backend, path, given = _open(v, prep, res["notes"])
    except _Skip as s:
        return {**result_stub(v, "skipped", str(s)), "notes": res["notes"]}
    except EdgesegError as e:
        return {**result_stub(v, "failed", str(e).splitlines()[0]), "notes": res["notes"]}
    if v.precision == OWN:
        p = backend.meta.precision
        res["precision"] = "int8" if p == "mixed" else p
    try:
        res["model_bytes"] = os.path.getsize(path) if os.path.isfile(path) else None
        try:
            shape = _input_shape(v, backend)
        except _Skip as s:
            return {**res, "status": "skipped", "reason": str(s)}
        x = np.zeros(shape, dtype=backend.inputs[0].dtype)
        times = time_calls(backend, x, runs=prep.cfg.runs, warmup=prep.cfg.warmup)
        stats = stats_from_times(times)
        res["latency"] = stats.to_dict()
        res["images_per_s"] = v.batch * stats.fps
        res["memory"] = probe.read()
        if prep.cfg.keep_times:
            res["times_ms"] = [round(t, 4) for t in times]
        if stats.noisy:
            res["notes"].append("noisy: p99 > 1.5x p50, quote the median only")
        if prep.cfg.data:
            _score(res, v, backend, prep.cfg, log)
        if prep.cfg.stream and v.batch == 1 and v.size in (None, tuple(backend.meta.input_size)):
            res["stream"] = _stream(path, v, given, prep.cfg) if v.backend != "torch" else None
    finally:
        backend.close()
    return res


def _stream(path: str, v: Variant, given, cfg: BenchConfig) -> dict:
    """The end-to-end stream of ``path`` on the variant's backend, with the meta it ran with (a
    foreign model's too)."""
    from ..runtime.segmenter import Segmenter
    from .streaming import stream_video
    with Segmenter(path, v.backend, meta=given, **_backend_options(v, cfg)) as seg:
        return stream_video(seg, cfg.stream)


def _score(res: dict, v: Variant, backend, cfg: BenchConfig, log) -> None:
    """mIoU at the model's own size (the variant's size only changes the timing)."""
    from ..data import open_dataset
    from ..evaluate import evaluate
    spec = cfg.data
    kw = {"size": backend.meta.input_size} if spec.startswith("synthetic") else {}
    data = open_dataset(spec, split="val", **kw)
    batch = backend.inputs[0].shape[0] if isinstance(backend.inputs[0].shape[0], int) else 4
    res["miou"] = float(evaluate(backend, data, backend.meta, batch=batch).miou)
    log(f"  mIoU {100 * res['miou']:.2f} on {spec} ({len(data)} images)")


def run_bench(cfg: BenchConfig, log=print) -> list[dict]:
    """Every planned variant, in order; a failure in one never stops the others."""
    return run_variants(cfg, plan_variants(cfg), log)


def run_variants(cfg: BenchConfig, variants, log=print) -> list[dict]:
    """The given variants under ``cfg``'s runs, threads and data, in order; the files a variant
    needs made first (an ONNX export, an INT8 model) are made once for all of them."""
    prep = _Prepared(cfg, log)
    out = []
    for v in variants:
        size = f"{v.size[0]}x{v.size[1]}" if v.size else "model size"
        log(f"{os.path.basename(v.model_path)} {v.backend} {v.precision} {size} batch {v.batch}")
        r = run_variant(v, prep, log)
        if r["status"] != "ok":
            log(f"  {r['status']}: {r['reason']}")
        else:
            log(f"  p50 {r['latency']['p50_ms']:.2f} ms, {r['images_per_s']:.1f} img/s")
        out.append(r)
    return out
