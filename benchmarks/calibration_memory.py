"""Peak memory of INT8 calibration: 256 images at 512x512 must stay under 4 GB.

ONNX Runtime's own histogram calibrators held about 11 GB extra for only 32 images at 512x512;
edgeseg streams one image at a time into running histograms. Each method runs in a fresh
process so its peak RSS is its own.

    python benchmarks/calibration_memory.py                      # deeplabv3_mobilenet_v3_large
    python benchmarks/calibration_memory.py --model lraspp_mobilenet_v3_large --num 64

Prints one line per method and writes benchmarks/results/calibration-memory-<host>-<date>.json.
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import subprocess
import sys
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

CHILD = r"""
import json, resource, sys, time, warnings
sys.path.insert(0, {root!r})
from edgeseg.backends import load_backend
from edgeseg.quantize.calibration import build_calibration_set
from edgeseg.quantize.ort_quantizer import compute_ranges, prepare_model
from edgeseg.quantize.targets import TARGETS
meta = load_backend({onnx!r}, device="cpu").meta
with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    calib = build_calibration_set("synthetic", meta, {num}, file=None)
prepared = prepare_model({onnx!r}, {onnx!r} + ".prep.onnx")
before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
t = time.perf_counter()
ranges = compute_ranges(prepared, calib, meta, {method!r}, TARGETS["tensorrt"], file=sys.stderr)
print(json.dumps({{"method": {method!r}, "seconds": time.perf_counter() - t, "tensors": len(ranges.data),
                  "peak_rss_gb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20,
                  "rss_before_calibration_gb": before / 2**20}}))
"""


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--model", default="deeplabv3_mobilenet_v3_large")
    p.add_argument("--size", type=int, default=512)
    p.add_argument("--num", type=int, default=256)
    p.add_argument("--methods", default="entropy,percentile,minmax")
    p.add_argument("--limit-gb", type=float, default=4.0)
    a = p.parse_args(argv)
    import torch
    from edgeseg.backends.onnx_meta import set_onnx_meta
    from edgeseg.data import SYNTHETIC_CLASSES
    from edgeseg.export import export_onnx
    from edgeseg.meta import ModelMeta
    from edgeseg.models import build_model
    work = tempfile.mkdtemp(prefix="edgeseg-calibmem-")
    onnx_path = os.path.join(work, "model.onnx")
    # Weights do not change activation memory: an untrained model of the right shape will do.
    model = build_model(a.model, num_classes=len(SYNTHETIC_CLASSES)).eval()
    meta = ModelMeta(model=a.model, classes=SYNTHETIC_CLASSES, input_size=(a.size, a.size))
    export_onnx(model, onnx_path, meta=meta, parity=False, log=lambda *x: None)
    del torch, set_onnx_meta
    rows = []
    for method in a.methods.split(","):
        code = CHILD.format(root=ROOT, onnx=onnx_path, num=a.num, method=method)
        proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
        if proc.returncode != 0:
            print(proc.stderr[-2000:], file=sys.stderr)
            return 1
        row = json.loads(proc.stdout.strip().splitlines()[-1])
        rows.append(row)
        ok = "ok" if row["peak_rss_gb"] < a.limit_gb else "OVER"
        print(f"{a.model} {a.size}x{a.size}, {a.num} images, {method:<10} peak RSS "
              f"{row['peak_rss_gb']:.2f} GB ({ok}, limit {a.limit_gb} GB), {row['tensors']} tensors, "
              f"{row['seconds']:.0f} s")
    result = {"machine": platform.node(), "date": datetime.date.today().isoformat(), "model": a.model,
              "size": a.size, "num": a.num, "limit_gb": a.limit_gb, "rows": rows}
    out = os.path.join(ROOT, "benchmarks", "results",
                       f"calibration-memory-{platform.node()}-{result['date']}.json")
    from edgeseg.utils.atomic import atomic_write_text
    atomic_write_text(out, json.dumps(result, indent=2))
    print(f"wrote {out}")
    return 0 if all(r["peak_rss_gb"] < a.limit_gb for r in rows) else 1


if __name__ == "__main__":
    raise SystemExit(main())
