"""The quantization report: FP32 vs INT8 mIoU, per-class IoU deltas, latency, sizes, the
calibration method and set, and which nodes stayed float. Written as JSON and a markdown table.

With latency measured (``bench_runs``), the ``cpu`` target's report says which file to deploy on
this machine, and why (``recommended``: INT8 only when it is at least as fast as FP32 here).

>>> rep = {"output": "m.cpu.int8.onnx", "model": "m.onnx", "target": "cpu", "quantizer": "ort",
...        "method": "percentile", "float_nodes": [], "float_groups": [],
...        "calibration": {"num": 8, "source": "synthetic", "fingerprint": "ab12"},
...        "fp32": {"size_bytes": 4e6}, "int8": {"size_bytes": 1e6},
...        "recommended": {"precision": "fp32", "model": "m.onnx", "why": "INT8 is not faster on this machine"}}
>>> [line for line in markdown(rep).splitlines() if line.startswith("- deploy")]
['- deploy here: **FP32** `m.onnx`: INT8 is not faster on this machine']
"""

from __future__ import annotations

import json
import math
import os

from ..utils.atomic import atomic_write_text


def _pct(x):
    return "n/a" if x is None or math.isnan(x) else f"{100 * x:.2f}"


def markdown(report: dict) -> str:
    fp, q = report["fp32"], report["int8"]
    lines = [f"# Quantization report: {os.path.basename(report['output'])}", "",
             f"- source: `{report['model']}`",
             (f"- target: **{report['target']}**, quantizer {report['quantizer']}, "
              f"calibration **{report['method']}** on {report['calibration']['num']} frames from "
              f"`{report['calibration']['source']}` (set {report['calibration']['fingerprint']})"),
             f"- float nodes kept: {len(report['float_nodes'])}"
             + (f" ({', '.join(report['float_groups'])})" if report["float_groups"] else "")]
    graph = report.get("graph")
    if graph:
        lines.append(f"- graph for ONNX Runtime CPU: {len(graph['float_convs'])} FP32 conv(s) (stem, its residual "
                     f"block if any, class scores), {len(graph['float_resizes'])} FP32 resize(s), {graph['int8_hardswish']} int8 "
                     f"hard-swish, {graph['trimmed_convs']} dilated conv(s) trimmed to their live taps, "
                     f"{graph.get('split_convs', 0)} split into blocks that skip the padding")
    choice = report.get("graph_choice")
    if choice:
        which = "the plain Q/DQ graph" if choice["chosen"] == "plain" else "the cpu target's passes"
        lines.append(f"- graph written: {which} (plain {choice['plain_ms']:.2f} ms, cpu passes "
                     f"{choice['cpu_ms']:.2f} ms here, {choice['plain_speedup']:.2f}x)")
    rec = report.get("recommended")
    if rec:
        lines.append(f"- deploy here: **{rec['precision'].upper()}** `{rec['model']}`: {rec['why']}")
    lines.append("")
    lines += ["| | FP32 | INT8 |", "| --- | ---: | ---: |"]
    if fp.get("miou") is not None:
        lines.append(f"| mIoU (%) | {_pct(fp['miou'])} | {_pct(q['miou'])} |")
    for key, label in (("p50_ms", "latency p50 (ms, interleaved)"), ("p99_ms", "latency p99 (ms)")):
        if fp.get("latency") and q.get("latency"):
            lines.append(f"| {label} | {fp['latency'][key]:.2f} | {q['latency'][key]:.2f} |")
    if report.get("speedup"):
        lines.append(f"| speed-up (median of rounds) | 1.00x | {report['speedup']:.2f}x |")
    lines.append(f"| size (MB) | {fp['size_bytes'] / 1e6:.2f} | {q['size_bytes'] / 1e6:.2f} |")
    if report.get("per_class"):
        lines += ["", "| class | FP32 IoU | INT8 IoU | delta |", "| --- | ---: | ---: | ---: |"]
        for c, row in report["per_class"].items():
            d = row["delta"]
            lines.append(f"| {c} | {_pct(row['fp32'])} | {_pct(row['int8'])} | "
                         f"{'n/a' if d is None else f'{100 * d:+.2f}'} |")
    if report.get("calibration", {}).get("class_histogram"):
        hist = report["calibration"]["class_histogram"]
        lines += ["", "Calibration coverage (FP32 predictions): "
                  + ", ".join(f"{c} {100 * v:.1f}%" for c, v in hist.items())]
    return "\n".join(lines) + "\n"


def write_report(report: dict, base_path: str) -> tuple[str, str]:
    """``<base>.report.json`` and ``<base>.report.md``, written atomically."""
    js, md = base_path + ".report.json", base_path + ".report.md"
    atomic_write_text(js, json.dumps(report, indent=2, default=float))
    atomic_write_text(md, markdown(report))
    return js, md
