"""The mIoU a model's output stride allows on the synthetic scenes: each ground-truth mask
shrunk to the logits' resolution and scaled back up the way the heads do (bilinear), then
scored against itself. Read a trained model's mIoU against this ceiling.

    python benchmarks/stride_ceiling.py --size 256x256 --num 200 --strides 4,8,16
"""

from __future__ import annotations

import argparse
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from edgeseg.data import open_dataset  # noqa: E402
from edgeseg.metrics import stride_ceiling  # noqa: E402


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--size", default="256x256")
    p.add_argument("--num", type=int, default=200)
    p.add_argument("--split", default="val")
    p.add_argument("--strides", default="4,8,16")
    a = p.parse_args(argv)
    h, w = (int(v) for v in a.size.lower().split("x"))
    data = open_dataset("synthetic", split=a.split, size=(h, w), num=a.num)
    masks = [s.mask for s in data]
    print(f"synthetic {a.split}, {a.num} scenes at {h}x{w}")
    print(f"{'stride':>6}  {'mIoU':>6}  " + "  ".join(f"{c:>10}" for c in data.classes))
    for s in (int(v) for v in a.strides.split(",")):
        r = stride_ceiling(masks, s, data.num_classes)
        print(f"{s:>6}  {100 * r.miou:6.2f}  " + "  ".join(f"{100 * x:10.2f}" for x in r.iou))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
