"""``edgeseg quantize``: an INT8 Q/DQ ONNX for TensorRT or ONNX Runtime CPU, inside an accuracy budget.

    edgeseg quantize model.onnx --calib calib.npz --target tensorrt
    edgeseg quantize model.onnx --calib frames/ --target cpu --val synthetic --max-miou-drop 1.0
    edgeseg quantize deeplabv3.onnx --calib frames/ --target cpu --classes voc --output out   (a foreign ONNX)

Exit status: 1 when the Q/DQ check fails, 3 when the accuracy budget is not met.
"""

from __future__ import annotations

import argparse
import json
import sys

from ._common import int_at_least, output_file
from ._meta_args import add_meta_args, meta_from_args


def miou_points(text: str) -> float:
    """An argparse type: mIoU points, a finite number from 0 (no loss allowed) to 100."""
    try:
        value = float(text)
    except ValueError:
        value = float("nan")
    if not 0 <= value <= 100:  # nan fails both comparisons
        raise argparse.ArgumentTypeError(f"expected mIoU points, a finite number from 0 to 100, got {text!r}")
    return value


def add_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("model", help="FP32 .onnx with logits or probabilities out: written by edgeseg export, or "
                                 "another exporter's with its meta (edgeseg meta, or the options below)")
    p.add_argument("--calib", required=True,
                   help="calib.npz from edgeseg calibrate, or an image folder / video / data spec")
    p.add_argument("--method", choices=("minmax", "entropy", "percentile"), default="percentile",
                   help="activation range calibration: percentile (default, 99.99%% of |x|), "
                        "entropy (TensorRT's KL search, 2048 bins) or minmax")
    p.add_argument("--target", choices=("tensorrt", "cpu"), default="tensorrt",
                   help="tensorrt: symmetric int8 Q/DQ, zero point 0, per-channel weights (TensorRT "
                        "10 and 11); cpu: uint8 activations / int8 weights, fast on ONNX Runtime CPU")
    p.add_argument("--quantizer", choices=("ort", "modelopt"), default="ort",
                   help="ort (default, works everywhere) or NVIDIA modelopt where installed")
    p.add_argument("--num", type=int_at_least(1), default=256,
                   help="calibration frames when --calib is not an .npz (>= 1, default 256)")
    p.add_argument("--val", help="validation data spec (synthetic[:N], voc:PATH, ... or synthetic://?num=N, "
                                 "voc:///PATH): score FP32 vs INT8")
    p.add_argument("--val-num", type=int_at_least(1), help="synthetic validation: number of scenes (>= 1)")
    p.add_argument("--max-miou-drop", type=miou_points,
                   help="accuracy budget in mIoU points (0..100): keep sensitive layers float until it fits")
    p.add_argument("--keep-float", default="", help="comma-separated node names to keep float")
    p.add_argument("--threads", type=int_at_least(1), help="ONNX Runtime threads for scoring and latency (>= 1)")
    p.add_argument("--bench-runs", type=int_at_least(0), default=20, help="latency runs per variant, FP32 and INT8 interleaved on this machine (0: skip); with --target cpu the plain Q/DQ graph is timed against the cpu passes too and the faster written")
    p.add_argument("--out", type=output_file, help="output .onnx (default <model>.<target>.int8.onnx)")
    add_meta_args(p)


def run(a: argparse.Namespace) -> int:
    from ..quantize.api import quantize_model
    meta = meta_from_args(a, a.model)   # None: the file's own meta
    r = quantize_model(a.model, a.calib, a.out, method=a.method, target=a.target,
                       quantizer=a.quantizer, num=a.num, val=a.val, val_num=a.val_num,
                       max_miou_drop=a.max_miou_drop,
                       keep_float=[n for n in a.keep_float.split(",") if n],
                       threads=a.threads, bench_runs=a.bench_runs, meta=meta)
    rep = r.report
    print(f"wrote {r.path} ({r.meta.precision})")
    if r.report_paths:
        print(f"report: {r.report_paths[1]}")
        with open(r.report_paths[1], encoding="utf-8") as f:
            print(f.read())
    if "qdq_check" in rep and not rep["qdq_check"]["ok"]:
        print("Q/DQ check FAILED:\n  " + "\n  ".join(rep["qdq_check"]["problems"][:10]), file=sys.stderr)
        return 1
    budget = rep.get("budget")
    if budget and not budget["within"]:
        print(json.dumps({"warning": "accuracy budget not met", **budget}, default=float)[:2000],
              file=sys.stderr)
        return 3
    return 0
