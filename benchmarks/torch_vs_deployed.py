"""PyTorch eager vs our deployed path (ONNX Runtime FP32 and INT8), side by side on one machine.

For each model: build it (untrained weights: speed does not depend on them), export it with
``export_onnx``, quantize it for the ``cpu`` target (U8S8, percentile calibration on synthetic
scenes), then time torch eager, ORT FP32 and ORT INT8 *interleaved* in blocks of calls (each
block after an idle that lets the previous framework's threads stop spinning) so all three share
the machine's noise. Batch 1, the same thread count everywhere.

    python benchmarks/torch_vs_deployed.py                       # the three models at 512x512
    python benchmarks/torch_vs_deployed.py --models lraspp_mobilenet_v3_small --size 256x256 --runs 20

Prints a table with the speed-up over torch eager and writes
benchmarks/results/torch-vs-deployed-<host>-<date>.json. Target: deployed >= 2.5x torch eager.
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import numpy as np  # noqa: E402

from edgeseg.bench.device import device_info, device_slug  # noqa: E402
from edgeseg.bench.latency import stats_from_times  # noqa: E402
from edgeseg.quantize.speed import schedule  # noqa: E402
from edgeseg.utils.atomic import atomic_write_text  # noqa: E402

MODELS = ("lraspp_mobilenet_v3_small", "lraspp_mobilenet_v3_large", "deeplabv3_mobilenet_v3_large")
VARIANTS = ("torch eager", "ORT FP32", "ORT INT8")
TARGET_SPEEDUP = 2.5


def _prepare(name: str, size, threads: int, calib_num: int, work: str, log):
    """(torch callable, ORT FP32 backend, ORT INT8 backend, file sizes) for one zoo model."""
    import torch

    from edgeseg.backends import load_backend
    from edgeseg.data import SYNTHETIC_CLASSES
    from edgeseg.export import export_onnx
    from edgeseg.meta import ModelMeta
    from edgeseg.models import build_model
    from edgeseg.quantize.api import quantize_model
    from edgeseg.quantize.calibration import build_calibration_set

    torch.manual_seed(0)
    model = build_model(name, num_classes=len(SYNTHETIC_CLASSES)).eval()
    meta = ModelMeta(model=name, classes=SYNTHETIC_CLASSES, input_size=size)
    fp32 = os.path.join(work, f"{name}.onnx")
    t0 = time.perf_counter()
    export_onnx(model, fp32, meta=meta, log=None)
    log(f"  exported {name} in {time.perf_counter() - t0:.0f} s")
    t0 = time.perf_counter()
    calib = build_calibration_set("synthetic", meta, calib_num, file=None)
    int8 = quantize_model(fp32, calib, os.path.join(work, f"{name}.cpu.int8.onnx"), target="cpu",
                          method="percentile", bench_runs=0, write_reports=False, threads=threads,
                          log=lambda *a: None, file=None).path
    log(f"  quantized (cpu, percentile, {calib_num} frames) in {time.perf_counter() - t0:.0f} s")

    def torch_eager(x, _model=model):
        with torch.inference_mode():
            return _model(torch.from_numpy(x))["out"].numpy()

    ort32 = load_backend(fp32, device="cpu", threads=threads)
    ort8 = load_backend(int8, device="cpu", threads=threads)
    sizes = {"torch eager": None, "ORT FP32": os.path.getsize(fp32), "ORT INT8": os.path.getsize(int8)}
    return (torch_eager, ort32, ort8), sizes


def interleaved(fns, x, runs: int, warmup: int, settle: float = 0.25) -> list:
    """Per-call stats of each function: ``runs`` calls each, in 5 rounds of blocks in turn and in
    reverse turn (``edgeseg.quantize.speed.interleaved_times``), ``settle`` seconds idle before
    each block: ONNX Runtime's and torch's worker threads spin for a while after a call, and on 2
    cores that spinning starves the next framework (torch eager measured 1.9 s instead of ~45 ms
    when called right after ONNX Runtime)."""
    from edgeseg.quantize.speed import interleaved_times
    per_round = interleaved_times(fns, x, *schedule(runs), warmup, settle=settle, desc="torch vs deployed")
    return [stats_from_times([t for r in per_round for t in r[i]]) for i in range(len(fns))]


def table(rows) -> str:
    head = f"{'model':<30} {'torch eager':>12} {'ORT FP32':>10} {'ORT INT8':>10} {'FP32 x':>7} {'INT8 x':>7}  target"
    lines = [head, "-" * len(head)]
    for r in rows:
        ms = [r["variants"][v]["p50_ms"] for v in VARIANTS]
        ok = max(r["speedup_fp32"], r["speedup_int8"]) >= TARGET_SPEEDUP
        noisy = "*" if any(r["variants"][v]["noisy"] for v in VARIANTS) else ""
        lines.append(f"{r['model']:<30} {ms[0]:>10.1f}ms {ms[1]:>8.1f}ms {ms[2]:>8.1f}ms "
                     f"{r['speedup_fp32']:>6.2f}x {r['speedup_int8']:>6.2f}x  "
                     f"{'>= ' if ok else '< '}{TARGET_SPEEDUP}x{noisy}")
    lines.append("median of interleaved runs, batch 1; x = torch eager / deployed; * = noisy (p99 > 1.5 p50)")
    return "\n".join(lines)


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--models", default=",".join(MODELS))
    p.add_argument("--size", default="512x512", help="input HxW (default 512x512)")
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--runs", type=int, default=30, help="timed calls of each variant per model")
    p.add_argument("--warmup", type=int, default=3)
    p.add_argument("--calib-num", type=int, default=32)
    p.add_argument("--settle", type=float, default=0.25, help="idle seconds before each block of calls")
    p.add_argument("--out", default=None, help="JSON path (default benchmarks/results/...)")
    a = p.parse_args(argv)

    import torch
    torch.set_num_threads(a.threads)
    size = tuple(int(v) for v in a.size.lower().split("x"))
    dev = device_info()
    work = tempfile.mkdtemp(prefix="edgeseg-tvd-")
    rows = []
    for name in a.models.split(","):
        print(f"{name} at {a.size}, {a.threads} threads", flush=True)
        fns, sizes = _prepare(name, size, a.threads, a.calib_num, work, lambda m: print(m, flush=True))
        x = np.random.default_rng(0).standard_normal((1, 3, *size)).astype(np.float32)
        stats = interleaved(fns, x, a.runs, a.warmup, a.settle)
        for b in fns[1:]:
            b.close()
        v = {k: {**s.to_dict(), "model_bytes": sizes[k]} for k, s in zip(VARIANTS, stats)}
        rows.append({"model": name, "variants": v,
                     "speedup_fp32": v["torch eager"]["p50_ms"] / v["ORT FP32"]["p50_ms"],
                     "speedup_int8": v["torch eager"]["p50_ms"] / v["ORT INT8"]["p50_ms"]})
        print(f"  torch {v['torch eager']['p50_ms']:.1f} ms  FP32 {v['ORT FP32']['p50_ms']:.1f} ms  "
              f"INT8 {v['ORT INT8']['p50_ms']:.1f} ms", flush=True)
    print()
    print(table(rows))
    doc = {"benchmark": "torch_vs_deployed", "created": datetime.datetime.now().isoformat(timespec="seconds"),
           "device": dev, "size": list(size), "threads": a.threads, "batch": 1, "runs": a.runs, "rounds_and_calls": list(schedule(a.runs)),
           "warmup": a.warmup, "settle_s": a.settle, "int8": {"target": "cpu", "method": "percentile", "calibration": f"synthetic:{a.calib_num}"},
           "target_speedup": TARGET_SPEEDUP, "command": " ".join(["python", *sys.argv]), "results": rows}
    out = a.out or os.path.join(os.path.dirname(os.path.abspath(__file__)), "results",
                                f"torch-vs-deployed-{device_slug(dev)}-{datetime.date.today()}.json")
    atomic_write_text(out, json.dumps(doc, indent=2))
    print(f"wrote {out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
