"""``edgeseg demo``: arguments and runner for the CLI (torch is imported only when it runs).

    edgeseg demo                      # ~10 min on 2 CPU cores, into ./edgeseg-demo
    edgeseg demo --quick --out /tmp/d # test-sized: 64x64, one epoch, well under a minute

>>> import argparse
>>> p = argparse.ArgumentParser(prog="edgeseg demo"); add_args(p)
>>> a = p.parse_args(["--quick", "--minutes", "3"])
>>> a.out, a.quick, a.minutes
('edgeseg-demo', True, 3.0)
"""

from __future__ import annotations

import argparse

from ._common import output_dir, positive_float


def add_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--out", default="edgeseg-demo", type=output_dir, help="folder for every artefact (default edgeseg-demo)")
    p.add_argument("--quick", action="store_true", help="tiny sizes: 64x64, one epoch, a few frames")
    p.add_argument("--minutes", type=positive_float, help="cap the whole demo (training gets what is left; "
                   "default 10)")


def run(a: argparse.Namespace) -> int:
    from ..demo import run_demo
    r = run_demo(a.out, quick=a.quick, minutes=a.minutes)
    print(f"val mIoU {100 * r.miou:.2f}; {r.total_seconds / 60:.1f} min; summary: {r.paths['summary']}")
    return 0
