"""INT8 vs FP32 on a model trained on synthetic scenes: mIoU drop and ONNX Runtime CPU speed-up
for the `cpu` and `tensorrt` targets, in one run on one machine (ratios, not absolute times).

    python benchmarks/quantize_synthetic.py runs/train/best.pt            # a checkpoint
    python benchmarks/quantize_synthetic.py model.onnx --methods entropy,percentile

Prints a table and writes benchmarks/results/quantize-<host>-<date>.json.
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from edgeseg.backends import load_backend  # noqa: E402
from edgeseg.bench.latency import measure_latency  # noqa: E402
from edgeseg.quantize.api import quantize_model  # noqa: E402
from edgeseg.quantize.calibration import build_calibration_set  # noqa: E402
from edgeseg.utils.atomic import atomic_write_text  # noqa: E402


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("model", help="checkpoint (.pt) or FP32 .onnx")
    p.add_argument("--methods", default="entropy,percentile,minmax")
    p.add_argument("--targets", default="cpu,tensorrt")
    p.add_argument("--calib-num", type=int, default=256)
    p.add_argument("--val-num", type=int, default=200)
    p.add_argument("--runs", type=int, default=60, help="latency runs per variant")
    p.add_argument("--threads", type=int, default=None)
    p.add_argument("--max-miou-drop", type=float, default=1.0)
    p.add_argument("--size", default=None, help="export a checkpoint at HxW (default: its training size)")
    p.add_argument("--out", default=None)
    a = p.parse_args(argv)

    work = tempfile.mkdtemp(prefix="edgeseg-qbench-")
    onnx_path = a.model
    if a.model.endswith((".pt", ".pth")):
        from edgeseg.export import export_onnx
        onnx_path = os.path.join(work, "model.onnx")
        size = tuple(int(v) for v in a.size.lower().split("x")) if a.size else None
        export_onnx(a.model, onnx_path, size=size)
    with load_backend(onnx_path, device="cpu") as b:
        meta = b.meta
    calib = build_calibration_set("synthetic", meta, a.calib_num)
    rows = []
    for target in a.targets.split(","):
        for method in a.methods.split(","):
            out = os.path.join(work, f"{target}-{method}.onnx")
            r = quantize_model(onnx_path, calib, out, method=method, target=target, val="synthetic",
                               val_num=a.val_num, max_miou_drop=a.max_miou_drop, bench_runs=0,
                               threads=a.threads)
            rows.append({"target": target, "method": method, "path": out, "report": r.report})
    # Latency last, interleaved FP32/INT8 per variant, so machine noise hits both alike.
    import numpy as np
    with load_backend(onnx_path, device="cpu", threads=a.threads) as fp:
        x = np.zeros([d if isinstance(d, int) else 1 for d in fp.inputs[0].shape], np.float32)
        for row in rows:
            with load_backend(row["path"], device="cpu", threads=a.threads, meta=meta) as q:
                f1 = measure_latency(fp, x, runs=a.runs // 2, warmup=5)
                q1 = measure_latency(q, x, runs=a.runs // 2, warmup=5)
                f2 = measure_latency(fp, x, runs=a.runs // 2, warmup=2)
                q2 = measure_latency(q, x, runs=a.runs // 2, warmup=2)
            row["fp32_p50_ms"] = (f1.p50_ms + f2.p50_ms) / 2
            row["int8_p50_ms"] = (q1.p50_ms + q2.p50_ms) / 2
            row["speedup"] = row["fp32_p50_ms"] / row["int8_p50_ms"]
    print(f"\nmodel {meta.model} at {meta.input_size[0]}x{meta.input_size[1]}, ONNX Runtime CPU, "
          f"{os.cpu_count()} cores, {a.val_num} held-out synthetic scenes")
    print(f"{'target':<9} {'method':<11} {'FP32 mIoU':>9} {'INT8 mIoU':>9} {'drop':>6} {'float':>5} "
          f"{'FP32 ms':>8} {'INT8 ms':>8} {'speed-up':>8} {'Q/DQ ok':>7}")
    for row in rows:
        rep = row["report"]
        qok = rep.get("qdq_check", {}).get("ok", "-")
        print(f"{row['target']:<9} {row['method']:<11} {100 * rep['fp32']['miou']:9.2f} "
              f"{100 * rep['int8']['miou']:9.2f} {rep['miou_drop_points']:6.2f} "
              f"{len(rep['float_nodes']):5d} {row['fp32_p50_ms']:8.2f} {row['int8_p50_ms']:8.2f} "
              f"{row['speedup']:7.2f}x {str(qok):>7}")
    result = {"machine": platform.node(), "cpu": platform.processor() or platform.machine(),
              "cores": os.cpu_count(), "date": datetime.date.today().isoformat(),
              "model": meta.model, "input_size": meta.input_size,
              "rows": [{k: v for k, v in r.items() if k != "path"} for r in rows]}
    out = a.out or os.path.join(os.path.dirname(os.path.abspath(__file__)), "results",
                                f"quantize-{platform.node()}-{result['date']}.json")
    atomic_write_text(out, json.dumps(result, indent=2, default=float))
    print(f"wrote {out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
