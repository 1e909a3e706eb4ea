"""Arguments and runners of ``edgeseg calibrate`` and ``edgeseg quantize`` (imports on run)."""

from __future__ import annotations

import argparse
import json
import sys


def add_calibrate_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("sources", nargs="+", metavar="SOURCE",
                   help="image folder, video file(s), or data spec (synthetic, folder:PATH, voc:PATH ...)")
    p.add_argument("--model", required=True,
                   help="the FP32 .onnx to calibrate for (input size, normalisation, class histogram)")
    p.add_argument("--num", type=int, default=256, help="frames to keep (default 256)")
    p.add_argument("--video-mode", choices=("uniform", "diverse"), default="uniform",
                   help="video sampling: evenly spaced, or skipping near-duplicate frames")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--out", default="calib.npz", help="output file (default calib.npz)")


def run_calibrate(a: argparse.Namespace) -> int:
    from ..backends import load_backend
    from .calibration import build_calibration_set, class_histogram
    with load_backend(a.model, device="cpu") as b:
        calib = build_calibration_set(a.sources, b.meta, a.num, video_mode=a.video_mode, seed=a.seed)
        calib.save(a.out)
        hist = class_histogram(b, calib, b.meta, batch=1)
    print(f"wrote {a.out}: {len(calib)} frames at {calib.input_size[0]}x{calib.input_size[1]} "
          f"from {calib.source}")
    print("coverage (FP32 model's predicted classes over the set):")
    for c, v in zip(b.meta.classes, hist):
        print(f"  {c:<20} {100 * v:6.2f}%  {'#' * int(round(40 * v))}")
    missing = [c for c, v in zip(b.meta.classes, hist) if v == 0]
    if missing:
        print(f"warning: the set never shows {', '.join(missing)}: add frames with these classes",
              file=sys.stderr)
    return 0


def add_quantize_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("model", help="FP32 .onnx written by edgeseg export (logits output)")
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
    p.add_argument("--num", type=int, default=256, help="calibration frames when --calib is not an .npz")
    p.add_argument("--val", help="validation data spec: score FP32 vs INT8")
    p.add_argument("--val-num", type=int, help="synthetic validation: number of scenes")
    p.add_argument("--max-miou-drop", type=float,
                   help="accuracy budget in mIoU points: keep sensitive layers float until it fits")
    p.add_argument("--keep-float", default="", help="comma-separated node names to keep float")
    p.add_argument("--threads", type=int, help="ONNX Runtime threads for scoring and latency")
    p.add_argument("--bench-runs", type=int, default=20, help="latency runs per variant (0: skip)")
    p.add_argument("--out", help="output .onnx (default <model>.<target>.int8.onnx)")


def run_quantize(a: argparse.Namespace) -> int:
    from .api import quantize_model
    r = quantize_model(a.model, a.calib, a.out, method=a.method, target=a.target,
                       quantizer=a.quantizer, num=a.num, val=a.val, val_num=a.val_num,
                       max_miou_drop=a.max_miou_drop,
                       keep_float=[n for n in a.keep_float.split(",") if n],
                       threads=a.threads, bench_runs=a.bench_runs)
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
