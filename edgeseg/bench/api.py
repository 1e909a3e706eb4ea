"""``bench(cfg)``: run a benchmark, print its table, write its JSON document (and charts).

What ``edgeseg bench`` calls; a Python user calls it the same way.

>>> # from edgeseg.bench.api import bench; from edgeseg.bench.runner import BenchConfig
>>> # bench(BenchConfig(models=("model.onnx",), runs=50), out="results/vm.json", plot=True)
>>> # bench(BenchConfig(models=("segformer.onnx",)), meta="segformer.meta.json")  # a foreign model
"""

from __future__ import annotations

import dataclasses
import sys

from .device import device_info
from .report import default_path, make_document, table, write_document
from .runner import run_bench


def bench(cfg, out: str | None = None, plot: bool = False, command: str | None = None, log=None,
          meta=None) -> int:
    """Run ``cfg`` (a BenchConfig), print the table, write the JSON (and charts). ``meta``: the
    models' meta where their files have none, or an override (as ``BenchConfig.meta``; it
    replaces the config's)."""
    if meta is not None:
        cfg = dataclasses.replace(cfg, meta=meta)
    log = log or (lambda m: print(m, file=sys.stderr, flush=True))
    device = device_info()
    results = run_bench(cfg, log=log)
    settings = {"runs": cfg.runs, "warmup": cfg.warmup, "threads": cfg.threads, "data": cfg.data,
                "stream": cfg.stream, "command": command}
    doc = make_document(results, device, settings)
    path = write_document(doc, out or default_path(device))
    print(table(doc))
    print(f"wrote {path}")
    if plot:
        from .plot import write_plots
        for p in write_plots(doc, path.removesuffix(".json")):
            print(f"wrote {p}")
    return 0
