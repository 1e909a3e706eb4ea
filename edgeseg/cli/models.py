"""``edgeseg models``: the zoo with parameter counts and GFLOPs at a size.

    edgeseg models --size 512x512 --classes 19
"""

from __future__ import annotations

import argparse
import json

from ._common import int_at_least


def add_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--size", default="512x512", help="input HxW for GFLOPs (default 512x512)")
    p.add_argument("--classes", type=int_at_least(1), default=21, help="number of classes (default 21)")
    p.add_argument("--json", action="store_true", help="print JSON instead of a table")


def run(a: argparse.Namespace) -> int:
    from ..models import list_models, model_info
    from ..uri import parse_size
    size = parse_size(a.size, what="--size", example="512x512")
    rows = [{"name": n, **model_info(n, size=size, num_classes=a.classes)} for n in list_models()]
    if a.json:
        print(json.dumps(rows, indent=2))
        return 0
    w = max(len(r["name"]) for r in rows)
    print(f"{'model':<{w}}  {'params':>12}  {'GFLOPs@' + a.size:>14}")
    for r in rows:
        print(f"{r['name']:<{w}}  {r['params']:>12,}  {r['gflops']:>14.2f}")
    return 0
