"""``edgeseg inspect``: a model file's inputs, outputs, layout and meta, and what edgeseg would
assume for an ONNX that carries no meta.

    edgeseg inspect model.onnx
    edgeseg inspect model.engine --json

>>> import argparse
>>> p = argparse.ArgumentParser(prog="edgeseg inspect"); add_args(p)
>>> p.parse_args(["model.onnx", "--json"]).json
True
"""

from __future__ import annotations

import argparse
import json


def add_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("model", help="an .onnx (from edgeseg or another exporter) or an .engine/.plan")
    p.add_argument("--json", action="store_true", help="print the report as JSON")


def run(a: argparse.Namespace) -> int:
    from ..inspect import inspect_model
    report = inspect_model(a.model)
    print(json.dumps(report.to_dict(), indent=2) if a.json else report.text())
    return 0
