"""INT8 that pays on the CPU: FP32 against INT8 (``--target cpu``) on ONNX Runtime's CPU kernels
for every LR-ASPP, DeepLabV3 and DeepLabV3+ model of the zoo, the profile's top ops of each, and
(``--accuracy``) the mIoU that INT8 costs on two trained models.

    python benchmarks/int8_cpu.py                      # 9 models x 256x256, 512x512 (~9 min on 2 cores)
    python benchmarks/int8_cpu.py --models lraspp_mobilenet_v3_small --sizes 512
    python benchmarks/int8_cpu.py --accuracy           # + two short training runs (tens of minutes)
    python benchmarks/int8_cpu.py --quick              # smoke run: one model at 64x64, seconds

Method (issue 15). Each model is built with untrained weights and its BatchNorm statistics
re-estimated on 16 synthetic scenes: torchvision's initialisation with unit running statistics
makes MobileNetV3's activations shrink to 1e-8 by the last block, which no trained model has and
which would make the data-dependent int8 hard-swish (edgeseg/quantize/hardswish.py) never apply.
It is exported (``export_onnx``), calibrated on ``--calib-num`` synthetic training scenes
(percentile) and quantized twice: ``INT8`` is what ``edgeseg quantize --target cpu`` writes, ``plain``
the same Q/DQ graph without the cpu target's graph passes (what that command wrote before them).
``fp32_rewritten`` is the FP32 graph with the cpu target's exact float rewrites (dilated taps that
only read padding dropped, an upsampling moved after its class-score conv), which FP32 could have
too: INT8 against it separates what int8 buys from what the rewrites buy.
FP32, plain, INT8 and rewritten FP32 sessions, with the same ``--threads``, are timed in turn in one
process for ``--rounds`` rounds; in a round the sessions run in turn, then in reverse turn, each
time one block of half the ``--calls`` calls after 0.1 s idle and an untimed call (``edgeseg.quantize.speed.interleaved_times``: call by call, the
other sessions' spinning ONNX Runtime worker threads ran against each call on 2 cores and
doubled both latencies). A round's ratio is FP32's median over the variant's median, and the
figure is the median of the rounds' ratios. ONNX Runtime's profiler, each session in its own
block, gives the top ops of each. The CPU model and its int8 instructions (VNNI
or not) are named with every figure.

``--accuracy`` trains lraspp_mobilenet_v3_small and deeplabv3_mobilenet_v3_large at 256x256 with
the short recipes in ACCURACY_RECIPES (checkpoints cached in ``--workdir``), quantizes each with
128 calibration scenes and scores FP32, plain and INT8 on 200 held-out synthetic val scenes.

Writes benchmarks/results/int8-cpu-<device>-<date>.json (``--no-speed --accuracy``:
int8-cpu-accuracy-<device>-<date>.json; ``--out`` to choose).
"""

from __future__ import annotations

import argparse
import dataclasses
import datetime
import json
import os
import sys
import tempfile
import time
import warnings

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import numpy as np

from edgeseg.bench.device import device_info, device_slug
from edgeseg.bench.latency import stats_from_times
from edgeseg.quantize.speed import MIN_SPEEDUP, cpu_flags, int8_isa, interleaved_times
from edgeseg.utils.atomic import atomic_write_text
from edgeseg.utils.progress import Progress, format_seconds

FAMILIES = ("lraspp_*", "deeplabv3_*", "deeplabv3plus_*")
# The targets at 512x512 (INT8 / FP32, by the method above). At 256x256 every model must
# reach MIN_SPEEDUP, or the tools recommend FP32 for it (quantize's report, the demo).
TARGETS_512 = {"deeplabv3_mobilenet_v3_large": 1.8, "deeplabv3plus_mobilenet_v2": 1.8,
               "deeplabv3plus_mobilenet_v3_large": 1.8, "deeplabv3plus_mobilenet_v3_small": 1.8,
               "lraspp_mobilenet_v3_large": 1.3, "lraspp_mobilenet_v2": 1.3, "lraspp_mobilenet_v3_small": 1.0}
# Short training runs for --accuracy (2 shared CPU cores): about 5 and 15 minutes on a quiet machine.
ACCURACY_RECIPES = {
    "lraspp_mobilenet_v3_small": {"epochs": 6, "batch": 16, "num_train": 1000, "num_val": 100, "lr": 5e-3,
                                  "loss": "ce+dice"},
    "deeplabv3_mobilenet_v3_large": {"epochs": 3, "batch": 8, "num_train": 600, "num_val": 100, "lr": 5e-3,
                                     "loss": "ce+dice"},
}
VARIANTS = ("fp32", "plain", "int8")


def zoo_models() -> list[str]:
    from edgeseg.models.registry import list_models
    return [m for pattern in FAMILIES for m in list_models(pattern)
            if not (pattern == "deeplabv3_*" and m.startswith("deeplabv3plus"))]


def _untrained(name: str, size, bn_scenes: int = 16):
    """The zoo model with its BatchNorm statistics estimated on synthetic scenes (see the docstring)."""
    import torch

    from edgeseg.data import SYNTHETIC_CLASSES, open_dataset
    from edgeseg.meta import ModelMeta
    from edgeseg.models import build_model
    from edgeseg.preprocess import preprocess
    torch.manual_seed(0)
    model = build_model(name, num_classes=len(SYNTHETIC_CLASSES))
    meta = ModelMeta(model=name, classes=SYNTHETIC_CLASSES, input_size=tuple(size))
    data = open_dataset("synthetic", split="train", size=tuple(size), num=bn_scenes)
    x = torch.from_numpy(np.concatenate([preprocess(data[i].image, meta) for i in range(len(data))]))
    for m in model.modules():
        if isinstance(m, torch.nn.modules.batchnorm._BatchNorm):
            m.reset_running_stats()
            m.momentum = None  # a plain average over the batches below
    model.train()
    with torch.no_grad():
        for i in range(0, len(x), 4):
            model(x[i:i + 4])
    return model.eval(), meta


def quantize_pair(fp32: str, calib, meta, work: str, stem: str, threads) -> tuple[str, str, dict, str]:
    """(plain INT8, cpu INT8, the cpu graph's description, the FP32 graph with the cpu target's
    exact rewrites) for an FP32 ONNX."""
    from edgeseg.quantize.api import quantize_model
    from edgeseg.quantize.cpu_graph import target_graph
    from edgeseg.quantize.ort_quantizer import compute_ranges, prepare_model, quantize_with_ranges
    from edgeseg.quantize.targets import TARGETS
    int8 = os.path.join(work, f"{stem}.cpu.int8.onnx")
    r = quantize_model(fp32, calib, int8, target="cpu", method="percentile", bench_runs=0, write_reports=False,
                       threads=threads, log=lambda *a: None, file=None)
    plain_target = dataclasses.replace(TARGETS["cpu"], passes=())
    prepared = prepare_model(fp32, os.path.join(work, f"{stem}.prepared.onnx"))
    ranges = compute_ranges(prepared, calib, meta, "percentile", plain_target, file=None)
    plain = quantize_with_ranges(prepared, os.path.join(work, f"{stem}.plain.int8.onnx"), ranges, "percentile",
                                 plain_target)
    rewritten = target_graph(prepared, TARGETS["cpu"], os.path.join(work, f"{stem}.fp32-rewritten.onnx"))
    return plain, int8, r.report.get("graph", {}), rewritten


def time_variants(paths: dict, threads, rounds: int, calls: int, warmup: int, gap: float) -> dict:
    """FP32 and the INT8 variants timed in alternating blocks; ratios against FP32 per round."""
    from edgeseg.backends import load_backend
    from edgeseg.quantize.speed import example_input
    names = list(paths)
    backends = [load_backend(paths[k], device="cpu", threads=threads) for k in names]
    try:
        x = example_input(backends[0].inputs[0])
        per_round = interleaved_times(backends, x, rounds, calls, warmup, gap)
    finally:
        for b in backends:
            b.close()
    med = np.array([[np.median(t) for t in r] for r in per_round])
    out = {}
    for i, k in enumerate(names):
        ratios = (med[:, 0] / med[:, i]).tolist()
        out[k] = {**stats_from_times([t for r in per_round for t in r[i]]).to_dict(),
                  "round_medians_ms": [round(v, 3) for v in med[:, i]],
                  "speedup": float(np.median(ratios)), "round_speedups": [round(v, 3) for v in ratios]}
    return out


def profile_variants(paths: dict, threads, runs: int, top: int) -> dict:
    from edgeseg.quantize.ort_profile import profile_models, top_ops
    profs = profile_models(list(paths.values()), runs=runs, threads=threads)
    return {k: {"run_ms": p["run_ms"], "top_ops": top_ops(p, top), "ops": p["ops"]} for k, p in zip(paths, profs)}


def depthwise_cost(profile: dict) -> dict:
    """Depthwise convolution time in each variant's profile (ms per run), and INT8 over FP32."""
    def dw(v):
        return sum(o["ms"] for k, o in profile[v]["ops"].items() if " depthwise" in k)
    out = {v: round(dw(v), 3) for v in ("fp32", "plain", "int8")}
    out["int8_over_fp32"] = round(out["int8"] / out["fp32"], 3) if out.get("fp32") else None
    share = sum(o["ms"] for o in profile["int8"]["ops"].values())
    out["int8_share"] = round(out["int8"] / share, 3) if share else None
    return out


def verdict(name: str, size, speedup: float) -> dict:
    target = TARGETS_512.get(name) if tuple(size) == (512, 512) else MIN_SPEEDUP
    recommended = "int8" if speedup >= MIN_SPEEDUP else "fp32"
    met = None if target is None else bool(speedup >= target)
    if met is False and tuple(size) != (512, 512) and recommended == "fp32":
        met = "fp32 picked"  # at 256 the tools pick FP32 for it, which the issue accepts
    return {"target": target, "met": met, "recommended": recommended}


def run_speed(a, work: str, log) -> list:
    import torch

    from edgeseg.export import export_onnx
    from edgeseg.quantize.calibration import build_calibration_set
    torch.set_num_threads(a.threads)
    jobs = [(m, s) for s in a.sizes for m in a.models]
    rows = []
    t0 = time.perf_counter()
    with Progress(len(jobs), "models", unit="model", log_every=1.0) as bar:
        for i, (name, size) in enumerate(jobs):
            log(f"[{i + 1}/{len(jobs)}] {name} {size[0]}x{size[1]}")
            model, meta = _untrained(name, size)
            stem = f"{name}-{size[0]}x{size[1]}"
            fp32 = os.path.join(work, f"{stem}.onnx")
            export_onnx(model, fp32, meta=meta, log=None, parity=False)
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")  # a small calibration set warns; speed does not need more
                calib = build_calibration_set("synthetic", meta, a.calib_num, file=None)
            plain, int8, graph, rewritten = quantize_pair(fp32, calib, meta, work, stem, a.threads)
            paths = {"fp32": fp32, "plain": plain, "int8": int8}
            if a.fp32_rewritten:
                paths["fp32_rewritten"] = rewritten
            timing = time_variants(paths, a.threads, a.rounds, a.calls, a.warmup, a.gap)
            prof = profile_variants({k: paths[k] for k in VARIANTS}, a.threads, a.profile_runs, a.top)
            row = {"model": name, "size": list(size), "graph": graph, "latency": timing, "profile": prof,
                   "fp32_ms": timing["fp32"]["p50_ms"], "int8_ms": timing["int8"]["p50_ms"],
                   "plain_ms": timing["plain"]["p50_ms"], "speedup": timing["int8"]["speedup"],
                   "plain_speedup": timing["plain"]["speedup"], "depthwise_ms": depthwise_cost(prof),
                   "model_bytes": {k: os.path.getsize(p) for k, p in paths.items()}}
            if a.fp32_rewritten:
                row["fp32_rewritten_ms"] = timing["fp32_rewritten"]["p50_ms"]
                rw, q = (np.array(timing[k]["round_medians_ms"]) for k in ("fp32_rewritten", "int8"))
                row["speedup_vs_fp32_rewritten"] = float(np.median(rw / q))
            row.update(verdict(name, size, row["speedup"]))
            rows.append(row)
            log(f"    FP32 {row['fp32_ms']:.2f} ms, INT8 {row['int8_ms']:.2f} ms ({row['speedup']:.2f}x; plain Q/DQ "
                f"{row['plain_ms']:.2f} ms, {row['plain_speedup']:.2f}x)  target {row['target']}: {row['met']}")
            bar.update(1)
    log(f"speed part: {format_seconds(time.perf_counter() - t0)}")
    return rows


def run_accuracy(a, work: str, log) -> list:
    """Train (or reuse) the two models, quantize, and score on 200 held-out scenes."""
    import torch

    from edgeseg.backends import load_backend
    from edgeseg.data import open_dataset
    from edgeseg.evaluate import evaluate
    from edgeseg.export import export_onnx
    from edgeseg.quantize.calibration import build_calibration_set
    from edgeseg.train import TrainConfig, train
    torch.set_num_threads(a.train_threads)
    out = []
    with Progress(len(ACCURACY_RECIPES), "accuracy", unit="model", log_every=1.0) as bar:
        for name, recipe in ACCURACY_RECIPES.items():
            t0 = time.perf_counter()
            run_dir = os.path.join(a.workdir, f"train-{name}-256")
            ckpt = os.path.join(run_dir, "best.pt")
            if not os.path.isfile(ckpt):
                log(f"training {name} at 256x256: {recipe}")
                cfg = TrainConfig(model=name, data="synthetic", size=(256, 256), seed=0, out=run_dir, **recipe)
                result = train(cfg, log=log)
                ckpt = result.best_checkpoint or result.last_checkpoint
            train_s = time.perf_counter() - t0
            fp32 = os.path.join(work, f"{name}-trained-256.onnx")
            export_onnx(ckpt, fp32, log=None)
            with load_backend(fp32, device="cpu") as b:
                meta = b.meta
            calib = build_calibration_set("synthetic", meta, a.accuracy_calib, file=None)
            plain, int8, graph, _ = quantize_pair(fp32, calib, meta, work, f"{name}-trained-256", a.threads)
            val = open_dataset("synthetic", split="val", size=(256, 256), num=a.val_num)
            miou = {}
            for k, p in (("fp32", fp32), ("plain", plain), ("int8", int8)):
                with load_backend(p, device="cpu", threads=a.threads) as b:
                    miou[k] = float(evaluate(b, val, meta, batch=1).miou)
            row = {"model": name, "size": [256, 256], "recipe": recipe, "checkpoint": ckpt, "graph": graph,
                   "val_scenes": len(val), "calibration_scenes": len(calib), "miou": miou,
                   "drop_points": {k: 100 * (miou["fp32"] - miou[k]) for k in ("plain", "int8")},
                   "within_0.5": bool(100 * (miou["fp32"] - miou["int8"]) <= 0.5),
                   "train_seconds": round(train_s, 1), "seconds": round(time.perf_counter() - t0, 1)}
            out.append(row)
            log(f"    {name}: mIoU FP32 {100 * miou['fp32']:.2f}, INT8 {100 * miou['int8']:.2f} "
                f"(drop {row['drop_points']['int8']:.2f}; plain {row['drop_points']['plain']:.2f}), "
                f"{format_seconds(row['seconds'])}")
            bar.update(1)
    return out


def _x(v) -> str:
    return "-" if v is None else f"{v:.2f}x"


def table(rows, cpu: str) -> str:
    head = (f"{'model':<34} {'size':>7} {'FP32 ms':>9} {'INT8 ms':>9} {'ratio':>6} {'plain ms':>9} {'plain':>6}"
            f" {'FP32rw':>7}  target")
    lines = [f"ONNX Runtime CPU, {cpu}", head, "-" * len(head)]
    for r in rows:
        tgt = "-" if r["target"] is None else f">= {r['target']:.1f}x {'met' if r['met'] is True else r['met']}"
        lines.append(f"{r['model']:<34} {r['size'][0]:>3}x{r['size'][1]:<3} {r['fp32_ms']:>9.2f} {r['int8_ms']:>9.2f} "
                     f"{r['speedup']:>5.2f}x {r['plain_ms']:>9.2f} {r['plain_speedup']:>5.2f}x "
                     f"{_x(r.get('speedup_vs_fp32_rewritten')):>7}  {tgt}")
    lines.append("ratio = FP32 / INT8, median of per-round ratios (alternating blocks); plain = the Q/DQ graph before "
                 "the cpu target's graph passes; FP32rw = INT8 against FP32 with the same exact float rewrites")
    return "\n".join(lines)


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--models", default=None, help="comma-separated zoo names (default: every LR-ASPP, DeepLabV3(+))")
    p.add_argument("--sizes", default="256,512", help="square sizes or HxW, comma-separated (default 256,512)")
    p.add_argument("--threads", type=int, default=2, help="intra-op threads for every session (default 2)")
    p.add_argument("--rounds", type=int, default=5)
    p.add_argument("--calls", type=int, default=10, help="timed calls of each variant per round")
    p.add_argument("--warmup", type=int, default=3)
    p.add_argument("--gap", type=float, default=0.0, help="idle seconds before each timed call")
    p.add_argument("--calib-num", type=int, default=16, help="calibration scenes for the speed runs")
    p.add_argument("--profile-runs", type=int, default=10)
    p.add_argument("--top", type=int, default=8, help="top ops kept per profile")
    p.add_argument("--no-fp32-rewritten", dest="fp32_rewritten", action="store_false",
                   help="skip timing FP32 with the cpu target's exact float rewrites (trimmed taps, moved resize)")
    p.add_argument("--accuracy", action="store_true", help="also train two models and score FP32 vs INT8")
    p.add_argument("--accuracy-calib", type=int, default=128)
    p.add_argument("--train-threads", type=int, default=2,
                   help="torch threads for --accuracy training (1 is faster when other jobs share the cores)")
    p.add_argument("--val-num", type=int, default=200)
    p.add_argument("--no-speed", action="store_true", help="only the accuracy part")
    p.add_argument("--workdir", default=os.path.join(tempfile.gettempdir(), "edgeseg-int8-cpu"),
                   help="trained checkpoints are kept here and reused")
    p.add_argument("--quick", action="store_true", help="smoke run: lraspp_mobilenet_v3_small at 64x64, 2 rounds")
    p.add_argument("--out", default=None, help="JSON path (default benchmarks/results/int8-cpu-<device>-<date>.json)")
    a = p.parse_args(argv)
    if a.quick:
        a.models = a.models or "lraspp_mobilenet_v3_small"
        a.sizes, a.rounds, a.calls, a.warmup, a.calib_num, a.profile_runs = "64", 2, 2, 1, 4, 2
    from edgeseg.uri import parse_size
    a.sizes = [tuple(parse_size(s.strip())) for s in a.sizes.split(",")]
    a.models = a.models.split(",") if a.models else zoo_models()
    return a


def main(argv=None) -> int:
    a = parse_args(argv)
    dev = device_info()
    isa = int8_isa()
    cpu = f"{dev['cpu_model']} ({isa}), {dev['cpu_cores']} cores, {a.threads} threads"
    os.makedirs(a.workdir, exist_ok=True)
    work = tempfile.mkdtemp(prefix="edgeseg-int8-cpu-")

    def log(msg):
        print(msg, flush=True)
    log(f"INT8 on the CPU: {len(a.models)} model(s) x {len(a.sizes)} size(s) on {cpu}, "
        f"ONNX Runtime {dev['onnxruntime']}")
    rows = [] if a.no_speed else run_speed(a, work, log)
    accuracy = run_accuracy(a, work, log) if a.accuracy else None
    if rows:
        print()
        print(table(rows, cpu))
    flags = sorted(f for f in cpu_flags() if f.startswith(("avx", "amx", "fma", "sse4")))
    doc = {"benchmark": "int8_cpu", "created": datetime.datetime.now().isoformat(timespec="seconds"),
           "device": {**dev, "int8_isa": isa, "cpu_flags": flags}, "cpu": cpu,
           "settings": {"threads": a.threads, "rounds": a.rounds, "calls": a.calls, "warmup": a.warmup,
                        "gap_s": a.gap, "calib_num": a.calib_num, "profile_runs": a.profile_runs,
                        "weights": "untrained, BatchNorm statistics from 16 synthetic scenes",
                        "method": "percentile", "target": "cpu", "min_speedup": MIN_SPEEDUP},
           "command": " ".join(["python", *sys.argv]), "results": rows, "accuracy": accuracy}
    name = f"int8-cpu{'-accuracy' if a.no_speed else ''}-{device_slug(dev)}-{datetime.date.today()}.json"
    out = a.out or os.path.join(os.path.dirname(os.path.abspath(__file__)), "results", name)
    atomic_write_text(out, json.dumps(doc, indent=1))
    log(f"wrote {out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
