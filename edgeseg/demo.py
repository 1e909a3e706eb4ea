"""``edgeseg demo``: the whole pipeline on one machine, from nothing, in one command.

synthetic scenes -> train -> export ONNX -> calibrate + quantize INT8 -> (TensorRT engine where
TensorRT is installed) -> FP32 vs INT8 accuracy and latency table -> stream a synthetic clip with
an overlay through whichever variant was fastest here (INT8 is not always faster on a CPU) ->
snapshot PNG. Every step leaves its artefact in one folder, described in its
SUMMARY.md. Runs on a CPU-only machine (ONNX Runtime); ``quick=True`` is the test-sized run.

>>> DEMO_SETTINGS["quick"].size, DEMO_SETTINGS["full"].size
((64, 64), (256, 256))
>>> # r = run_demo("edgeseg-demo"); r.miou, r.paths["snapshot"]
"""

from __future__ import annotations

import json
import os
import sys
import time
from dataclasses import dataclass, field, replace

import cv2

from .errors import ConfigError
from .utils.atomic import atomic_path, atomic_write_text


@dataclass(frozen=True)
class DemoSettings:
    """Sizes and budgets of one demo run (the full one keeps the README's training recipe,
    with fewer scenes and epochs so the whole demo stays under ten minutes on 2 CPU cores)."""

    size: tuple = (256, 256)
    num_train: int = 1200
    num_val: int = 100
    epochs: int = 8
    batch: int = 16
    lr: float = 5e-3
    loss: str = "ce+dice"
    calib_num: int = 64
    clip_frames: int = 90
    bench_runs: int = 50
    minutes: float = 10.0     # whole-demo budget; training gets what the other steps leave


DEMO_SETTINGS = {
    "full": DemoSettings(),
    "quick": DemoSettings(size=(64, 64), num_train=32, num_val=8, epochs=1, batch=8, calib_num=8,
                          clip_frames=6, bench_runs=5, minutes=1.0),
}
MODEL = "lraspp_mobilenet_v3_small"
OTHER_STEPS_MINUTES = {"full": 2.0, "quick": 0.0}  # export, quantize, stream, bench (measured)


@dataclass
class DemoResult:
    out: str
    miou: float | None                    # best val mIoU of training
    table: list = field(default_factory=list)   # bench result dicts (FP32, INT8[, engine])
    paths: dict = field(default_factory=dict)   # step -> artefact path
    seconds: dict = field(default_factory=dict)  # step -> wall time
    notes: list = field(default_factory=list)
    deployed: dict = field(default_factory=dict)  # the variant streamed: model_path, precision, why

    @property
    def total_seconds(self) -> float:
        return sum(self.seconds.values())


class _Steps:
    """Numbered progress lines and per-step wall time."""

    def __init__(self, total: int, log, result: DemoResult):
        self.total, self.log, self.result, self.i = total, log, result, 0

    def run(self, name: str, what: str, fn):
        self.i += 1
        self.log(f"[{self.i}/{self.total}] {what} ...")
        t0 = time.perf_counter()
        value = fn()
        self.result.seconds[name] = round(time.perf_counter() - t0, 2)
        self.log(f"[{self.i}/{self.total}] {what}: done in {self.result.seconds[name]:.1f} s")
        return value


def run_demo(out: str = "edgeseg-demo", quick: bool = False, minutes: float | None = None,
             log=print, progress_file=sys.stderr) -> DemoResult:
    """Run every step into ``out``; ``minutes`` caps the whole demo (training absorbs the cut)."""
    mode = "quick" if quick else "full"
    s = DEMO_SETTINGS[mode]
    if minutes is not None:
        if minutes <= OTHER_STEPS_MINUTES[mode]:
            raise ConfigError("--minutes leaves no time to train", got=minutes,
                              expected=f"more than {OTHER_STEPS_MINUTES[mode]} minutes")
        s = replace(s, minutes=float(minutes))
    os.makedirs(out, exist_ok=True)
    from .backends.tensorrt import tensorrt_installed
    trt = tensorrt_installed()
    res = DemoResult(out=os.path.abspath(out), miou=None)
    steps = _Steps(8 if trt else 7, log, res)
    log(f"edgeseg demo ({mode}) into {res.out}: {MODEL} at {s.size[0]}x{s.size[1]}, "
        f"{'TensorRT' if trt else 'ONNX Runtime CPU (TensorRT not installed)'}")

    res.paths["scenes"] = steps.run("scenes", "render synthetic scene previews", lambda: _scenes(out, s))
    train_result = steps.run("train", f"train {MODEL} ({s.num_train} scenes, {s.epochs} epochs)",
                             lambda: _train(out, s, mode, log, progress_file))
    res.miou = float(train_result.best_miou)
    res.paths["checkpoint"] = train_result.best_checkpoint or train_result.last_checkpoint
    if train_result.epochs_run < s.epochs:
        res.notes.append(f"training stopped by the time budget after {train_result.epochs_run} of "
                         f"{s.epochs} epochs (--minutes {s.minutes:g})")
    log(f"    val mIoU {100 * res.miou:.2f} after {train_result.epochs_run} epoch(s)")
    res.paths["onnx"] = steps.run("export", "export to ONNX", lambda: _export(res.paths["checkpoint"], out))
    res.paths["calibration"], res.paths["int8"] = steps.run(
        "quantize", f"calibrate ({s.calib_num} frames) and quantize INT8 (cpu target)",
        lambda: _quantize(res.paths["onnx"], out, s, "cpu"))
    report = res.paths["int8"][:-5] + ".report.md"
    if os.path.isfile(report):
        res.paths["quantize_report"] = report
    if trt:
        res.paths["engine"] = steps.run("engine", "quantize for TensorRT and build an INT8 engine",
                                        lambda: _engine(res.paths["onnx"], out, s, res))
    # Benchmark first, then stream whichever variant is faster on this machine.
    res.table = steps.run("bench", "accuracy and latency: FP32 vs INT8",
                          lambda: _bench(res, s, log))
    res.deployed = choose_variant(res.table)
    deploy = res.deployed["model_path"]
    res.notes.append(res.deployed["why"])
    log("    " + res.deployed["why"])
    clip = os.path.join(out, "clip.mp4")
    res.paths["clip"], res.paths["overlay"] = clip, os.path.join(out, "overlay.mp4")
    stream = steps.run("stream", f"stream a synthetic clip ({s.clip_frames} frames) through "
                       f"{os.path.basename(deploy)}", lambda: _stream(deploy, clip, res.paths["overlay"], s))
    res.notes.append(f"stream: {stream['frames']} frames at {stream['fps']:.1f} FPS end to end "
                     f"({stream['runtime']})")
    log("    " + res.notes[-1])
    res.paths["snapshot"] = steps.run("snapshot", "snapshot PNG (frame | overlay | legend)",
                                      lambda: _snapshot(deploy, clip, out))
    res.paths["results"] = os.path.join(out, "demo.json")
    res.paths["summary"] = os.path.join(out, "SUMMARY.md")
    atomic_write_text(res.paths["results"], json.dumps(_to_dict(res, s, mode), indent=1))
    atomic_write_text(res.paths["summary"], summary_markdown(res, s, mode))
    log(f"done in {res.total_seconds / 60:.1f} min; see {res.paths['summary']}")
    return res


def _scenes(out: str, s: DemoSettings) -> str:
    from .data import open_dataset
    from .visualize import colorize, side_by_side
    ds = open_dataset("synthetic:4", size=s.size)
    tiles = [side_by_side(ds[i].image, colorize(ds[i].mask, ds.palette)) for i in range(4)]
    path = os.path.join(out, "scenes.png")
    with atomic_path(path, suffix=".png") as tmp:
        cv2.imwrite(tmp, cv2.vconcat(tiles))
    return path


def _train(out: str, s: DemoSettings, mode: str, log, progress_file):
    from .train import TrainConfig, train
    cfg = TrainConfig(model=MODEL, data="synthetic", size=s.size, epochs=s.epochs, batch=s.batch,
                      num_train=s.num_train, num_val=s.num_val, lr=s.lr, loss=s.loss, seed=0,
                      out=os.path.join(out, "train"),
                      max_minutes=max(0.1, s.minutes - OTHER_STEPS_MINUTES[mode]))
    quiet = mode == "quick"
    return train(cfg, log=(lambda *a, **k: None) if quiet else log,
                 progress_file=None if quiet else progress_file)


def _export(ckpt: str, out: str) -> str:
    from .export import export_onnx
    path = os.path.join(out, "model.onnx")
    export_onnx(ckpt, path, log=None)
    return path


def _quantize(onnx_path: str, out: str, s: DemoSettings, target: str) -> tuple[str, str]:
    import warnings

    from .backends import load_backend
    from .quantize import build_calibration_set, quantize_model
    with load_backend(onnx_path, device="cpu") as b:
        meta = b.meta
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the quick run's tiny set warns; the full one has 64+
        calib = build_calibration_set("synthetic", meta, s.calib_num, file=None)
    calib_path = calib.save(os.path.join(out, "calib.npz"))
    q = quantize_model(onnx_path, calib, os.path.join(out, f"model.{target}.int8.onnx"), target=target,
                       method="percentile", bench_runs=0, log=lambda *a: None, file=None)
    return calib_path, q.path


def _engine(onnx_path: str, out: str, s: DemoSettings, res: DemoResult) -> str | None:
    """TensorRT Q/DQ ONNX -> INT8 engine; a failure (no GPU) is noted, the demo goes on on ORT."""
    from .errors import EdgesegError
    try:
        _, qdq = _quantize(onnx_path, out, s, "tensorrt")
        from .backends.tensorrt import build_engine
        return build_engine(qdq, os.path.join(out, "model.int8.engine"), precision="int8",
                            progress=None, log=lambda *a: None).path
    except EdgesegError as e:
        res.notes.append("TensorRT engine not built: " + str(e).splitlines()[0])
        return None


def _stream(model: str, clip: str, overlay: str, s: DemoSettings) -> dict:
    from .bench.streaming import stream_video
    from .data import write_video
    write_video(clip, num_frames=s.clip_frames, size=s.size, seed=7)
    return stream_video(model, clip, out=overlay)


def _bench(res: DemoResult, s: DemoSettings, log) -> list:
    from .bench.device import device_info
    from .bench.report import make_document, table, write_document
    from .bench.runner import BenchConfig, Variant, run_variants
    cfg = BenchConfig(models=(res.paths["onnx"],), runs=s.bench_runs, warmup=max(2, s.bench_runs // 10),
                      data=f"synthetic:{s.num_val}", workdir=res.out, keep_times=False)
    variants = [Variant(res.paths["onnx"], "onnxruntime", "fp32", None, 1),
                Variant(res.paths["int8"], "onnxruntime", "int8", None, 1)]
    if res.paths.get("engine"):
        variants.append(Variant(res.paths["engine"], "tensorrt", "int8", None, 1))
    rows = run_variants(cfg, variants, log=lambda *a: None)
    doc = make_document(rows, device_info(), {"runs": cfg.runs, "warmup": cfg.warmup, "threads": None,
                                              "data": cfg.data, "stream": None, "command": "edgeseg demo"})
    res.paths["bench"] = write_document(doc, os.path.join(res.out, "bench.json"))
    log(table(doc))
    return rows


def _label(r: dict) -> str:
    return "TensorRT INT8 engine" if r["backend"] == "tensorrt" else r["precision"].upper()


def choose_variant(rows: list) -> dict:
    """The fastest benchmarked variant (by p50) and, in words, why it is the one to stream.

    >>> lat = lambda ms: {"p50_ms": ms}
    >>> rows = [{"model_path": "m.onnx", "backend": "onnxruntime", "precision": "fp32", "status": "ok",
    ...          "latency": lat(2.62)},
    ...         {"model_path": "m.cpu.int8.onnx", "backend": "onnxruntime", "precision": "int8", "status": "ok",
    ...          "latency": lat(3.36)}]
    >>> c = choose_variant(rows)
    >>> c["precision"], c["why"]
    ('fp32', 'streaming FP32 (m.onnx): INT8 is not faster on this machine (INT8 3.36 ms, FP32 2.62 ms p50: 0.78x)')
    """
    ok = [r for r in rows if r["status"] == "ok" and r.get("latency")]
    if not ok:
        raise ConfigError("no benchmarked variant ran", got="; ".join(f"{_label(r)}: {r['reason']}" for r in rows),
                          fix="see bench.json for each variant's reason")
    best = min(ok, key=lambda r: r["latency"]["p50_ms"])
    ms = {r["precision"]: r["latency"]["p50_ms"] for r in ok if r["backend"] == "onnxruntime"}
    name = os.path.basename(best["model_path"])
    if best["backend"] == "onnxruntime" and best["precision"] == "fp32" and "int8" in ms:
        why = (f"streaming FP32 ({name}): INT8 is not faster on this machine (INT8 {ms['int8']:.2f} ms, "
               f"FP32 {ms['fp32']:.2f} ms p50: {ms['fp32'] / ms['int8']:.2f}x)")
    else:
        others = ", ".join(f"{_label(r)} {r['latency']['p50_ms']:.2f} ms" for r in ok if r is not best)
        why = (f"streaming {_label(best)} ({name}): the fastest here, p50 {best['latency']['p50_ms']:.2f} ms"
               + (f" (against {others})" if others else ""))
    return {"model_path": best["model_path"], "backend": best["backend"], "precision": best["precision"],
            "p50_ms": best["latency"]["p50_ms"], "why": why}


def _snapshot(model: str, clip: str, out: str) -> str:
    from .runtime.segmenter import Segmenter
    from .visualize import side_by_side
    cap = cv2.VideoCapture(clip)
    ok, frame = cap.read()
    cap.release()
    if not ok:
        raise ConfigError("the demo clip has no frames", got=clip)
    opts = {"device": "cpu"} if model.endswith(".onnx") else {}
    with Segmenter(model, **opts) as seg:
        result = seg(frame)
        legend = seg.legend()
        # the legend is taller than a small frame: pad the frames rather than shrink the text.
        h = max(frame.shape[0], legend.shape[0])
        img = side_by_side(frame, seg.overlay(frame, result), height=h)
        legend = cv2.copyMakeBorder(legend, 0, h - legend.shape[0], 0, 0, cv2.BORDER_CONSTANT,
                                    value=(255, 255, 255))
        img = cv2.hconcat([img, legend])
    path = os.path.join(out, "snapshot.png")
    with atomic_path(path, suffix=".png") as tmp:
        cv2.imwrite(tmp, img)
    return path


def _to_dict(res: DemoResult, s: DemoSettings, mode: str) -> dict:
    return {"mode": mode, "settings": {**s.__dict__, "size": list(s.size)}, "model": MODEL,
            "val_miou": res.miou, "paths": {k: os.path.relpath(v, res.out) for k, v in res.paths.items() if v},
            "seconds": res.seconds, "total_seconds": res.total_seconds, "notes": res.notes,
            "deployed": {**res.deployed, "model_path": os.path.relpath(res.deployed["model_path"], res.out)}
            if res.deployed else None,
            "table": [{k: r.get(k) for k in ("model", "backend", "precision", "status", "reason",
                                              "latency", "miou", "model_bytes", "notes", "fastest")}
                      for r in res.table]}


def summary_markdown(res: DemoResult, s: DemoSettings, mode: str) -> str:
    """The folder's README: what each file is, the headline numbers, and how long each step took."""
    what = {"scenes": "four synthetic training scenes with their masks",
            "checkpoint": "best training checkpoint (PyTorch)", "onnx": "FP32 ONNX with its meta",
            "calibration": "calibration frames (.npz) used for INT8",
            "int8": "INT8 Q/DQ ONNX for ONNX Runtime CPU (U8S8)", "engine": "TensorRT INT8 engine",
            "clip": "synthetic street clip (input)", "overlay": "the clip with the segmentation overlaid",
            "bench": "accuracy/latency results (schema edgeseg-bench/1)",
            "snapshot": "frame \\| overlay \\| legend",
            "quantize_report": "INT8 report: calibration, ranges, FP32 vs INT8",
            "results": "this demo's numbers as JSON"}
    lines = [f"# edgeseg demo ({mode})", "",
             (f"{MODEL} at {s.size[0]}x{s.size[1]}, trained on {s.num_train} synthetic scenes for up to "
              f"{s.epochs} epochs: **val mIoU {100 * (res.miou or 0):.2f}**; "
              f"total {res.total_seconds / 60:.1f} min."), "", "| file | what |", "| --- | --- |"]
    lines += [f"| `{os.path.relpath(p, res.out)}` | {what.get(k, k)} |" for k, p in res.paths.items()
              if p and k != "summary"]
    if res.deployed:
        lines += ["", f"Streamed: **{_label(res.deployed)}**: {res.deployed['why']}."]
    lines += ["", "| variant | p50 ms | FPS | mIoU | file MB |", "| --- | ---: | ---: | ---: | ---: |"]
    for r in res.table:
        lat = r.get("latency") or {}
        star = " (fastest)" if r.get("fastest") else ""
        lines.append(f"| {r['backend']} {r['precision']}{star} | {lat.get('p50_ms', float('nan')):.2f} | "
                     f"{lat.get('fps', float('nan')):.1f} | "
                     f"{100 * r['miou'] if r.get('miou') is not None else float('nan'):.2f} | "
                     f"{(r.get('model_bytes') or 0) / 1e6:.2f} |")
    lines += ["", "Step times (s): " + ", ".join(f"{k} {v:.1f}" for k, v in res.seconds.items())]
    lines += [f"- {n}" for n in res.notes]
    return "\n".join(lines) + "\n"
