"""``edgeseg calibrate``: a calibration set (frames at the model's input size) into an .npz, with
the classes the FP32 model sees in it.

    edgeseg calibrate frames/ drive1.mp4 --model model.onnx --num 256 --video-mode diverse --out calib.npz
    edgeseg calibrate synthetic --model model.onnx --num 64
"""

from __future__ import annotations

import argparse
import sys

from ._common import int_at_least, output_file


def add_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("sources", nargs="+", metavar="SOURCE",
                   help="image folder, video file(s), or data spec (synthetic, folder:PATH, voc:PATH ..., "
                        "or as a URI: synthetic://?seed=N, voc:///PATH)")
    p.add_argument("--model", required=True,
                   help="the FP32 .onnx to calibrate for (input size, normalisation, class histogram)")
    p.add_argument("--num", type=int_at_least(1), default=256, help="frames to keep (>= 1, default 256)")
    p.add_argument("--video-mode", choices=("uniform", "diverse"), default="uniform",
                   help="video sampling: evenly spaced, or skipping near-duplicate frames")
    p.add_argument("--seed", type=int_at_least(0), default=0, help="sampling seed (>= 0, default 0)")
    p.add_argument("--out", type=output_file, default="calib.npz", help="output file (default calib.npz)")


def run(a: argparse.Namespace) -> int:
    from ..backends import backend_kind, load_backend
    from ..quantize.calibration import build_calibration_set, class_histogram
    if backend_kind(a.model) == "onnxruntime":
        from ..backends.onnx_file import load_onnx
        load_onnx(a.model, load_external_data=False, what="model")  # a cut file: say so, not ORT's parse error
    with load_backend(a.model, device="cpu") as b:
        calib = build_calibration_set(a.sources, b.meta, a.num, video_mode=a.video_mode, seed=a.seed)
        hist = class_histogram(b, calib, b.meta, batch=1)  # first: a model that scores NaN writes no set
        calib.save(a.out)
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
