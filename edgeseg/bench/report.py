"""Bench results as a document (JSON, schema-checked), a table on screen, and a cross-device
comparison (rows: variants, columns: devices).

>>> v = {"model": "m.onnx", "backend": "onnxruntime", "precision": "fp32", "size": [], "batch": 1,
...      "status": "ok", "reason": None, "notes": [], "latency": {"p50_ms": 2.0, "p90_ms": 2.5,
...      "p99_ms": 3.0, "mean_ms": 2.1, "noisy": False}, "images_per_s": 500.0}
>>> doc = {"device": {"host": "a", "board": "n/a", "gpu_name": "n/a"}, "variants": [v]}
>>> compare_table([doc, {**doc, "device": {"host": "b"}}]).splitlines()[0].split()
['variant', 'a', 'b']
>>> compare_table([doc, doc]).splitlines()[0].split()  # same machine twice: numbered columns
['variant', 'a#1', 'a#2']
"""

from __future__ import annotations

import datetime
import json
import os

from ..errors import DataError
from ..utils.atomic import atomic_write_text
from .device import describe, device_slug
from .schema import SCHEMA_ID, validate


def make_document(results: list, device: dict, settings: dict) -> dict:
    mark_fastest(results)
    return {"schema": SCHEMA_ID, "created": datetime.datetime.now().isoformat(timespec="seconds"),
            "device": device, "settings": settings, "variants": results}


_VARIANT_SUFFIXES = (".onnx", ".engine", ".plan", ".pt", ".pth", ".int8", ".fp16", ".fp32", ".cpu", ".tensorrt")


def model_family(name: str) -> str:
    """The model a file is a variant of: its name without the precision and target suffixes that
    ``edgeseg quantize`` and ``edgeseg build`` add.

    >>> model_family("model.onnx"), model_family("model.cpu.int8.onnx"), model_family("model.int8.engine")
    ('model', 'model', 'model')
    """
    base, changed = os.path.basename(name), True
    while changed:
        changed = False
        for suffix in _VARIANT_SUFFIXES:
            if base.endswith(suffix) and len(base) > len(suffix):
                base, changed = base[:-len(suffix)], True
    return base


def mark_fastest(results: list) -> None:
    """Set each result's ``fastest``: True for the lowest p50 among the variants of one model
    (same family, size and batch) that ran, False for the others; None where nothing was compared.

    >>> rows = [{"model": "m.onnx", "size": [], "batch": 1, "status": "ok", "latency": {"p50_ms": 3.0}},
    ...         {"model": "m.cpu.int8.onnx", "size": [], "batch": 1, "status": "ok", "latency": {"p50_ms": 2.0}},
    ...         {"model": "m.onnx", "size": [], "batch": 1, "status": "skipped", "latency": None}]
    >>> mark_fastest(rows); [r["fastest"] for r in rows]
    [False, True, None]
    """
    groups: dict = {}
    for r in results:
        r["fastest"] = None
        if r["status"] == "ok" and r.get("latency"):
            groups.setdefault((model_family(r["model"]), tuple(r["size"]), r["batch"]), []).append(r)
    for rows in groups.values():
        if len(rows) < 2:
            continue
        best = min(rows, key=lambda r: r["latency"]["p50_ms"])
        for r in rows:
            r["fastest"] = r is best


def default_path(device: dict, folder: str = "benchmarks/results") -> str:
    return os.path.join(folder, f"{device_slug(device)}-{datetime.date.today().isoformat()}.json")


def write_document(doc: dict, path: str) -> str:
    """Validate, then write atomically; a document that breaks the schema is a bug, not a file."""
    errors = validate(doc)
    if errors:
        raise DataError("bench result does not match edgeseg/bench/schema.json",
                        got="; ".join(errors[:5]), fix="report this as an edgeseg bug")
    atomic_write_text(path, json.dumps(doc, indent=1))
    return path


def read_document(path: str) -> dict:
    try:
        with open(path) as f:
            doc = json.load(f)
    except (OSError, ValueError) as e:
        raise DataError("cannot read bench result", path=path, got=str(e)) from e
    errors = validate(doc)
    if errors:
        raise DataError("not an edgeseg bench result", path=path, got="; ".join(errors[:3]),
                        expected=f"JSON matching schema {SCHEMA_ID}")
    return doc


def variant_name(r: dict) -> str:
    size = "x".join(str(s) for s in r["size"]) if r["size"] else "own"
    return f"{r['model']} {r['backend']} {r['precision']} {size} b{r['batch']}"


def _fmt(x, spec: str, na: str = "-") -> str:
    return na if x is None else format(x, spec)


def table(doc: dict) -> str:
    """One row per variant; skipped and failed ones show their reason in the last column."""
    head = (f"{'model':<22} {'backend':<11} {'prec':<4} {'size':>9} {'b':>2} {'p50 ms':>8} {'p90':>8} "
            f"{'p99':>8} {'img/s':>8} {'peak MB':>8} {'file MB':>7} {'mIoU':>6}  notes")
    lines = [describe(doc["device"]), head, "-" * len(head)]
    for r in doc["variants"]:
        size = "x".join(str(s) for s in r["size"]) if r["size"] else "own"
        lat, mem = r.get("latency") or {}, r.get("memory") or {}
        notes = list(r.get("notes") or [])
        if r["status"] != "ok":
            notes.insert(0, f"{r['status'].upper()}: {r['reason']}")
        if r.get("fastest"):
            notes.insert(0, "FASTEST")
        if r.get("stream"):
            s = r["stream"]
            notes.append(f"stream {s['fps']:.1f} FPS (" + ", ".join(
                f"{k.replace('_ms', '')} {v:.1f}" for k, v in s["stages_ms"].items()) + " ms)")
        lines.append(
            f"{r['model'][:22]:<22} {r['backend']:<11} {r['precision']:<4} {size:>9} {r['batch']:>2} "
            f"{_fmt(lat.get('p50_ms'), '8.2f'):>8} {_fmt(lat.get('p90_ms'), '8.2f'):>8} "
            f"{_fmt(lat.get('p99_ms'), '8.2f'):>8} {_fmt(r.get('images_per_s'), '8.1f'):>8} "
            f"{_fmt(mem.get('host_peak_mb'), '8.0f'):>8} "
            f"{_fmt(r['model_bytes'] / 1e6 if r.get('model_bytes') else None, '7.2f'):>7} "
            f"{_fmt(100 * r['miou'] if r.get('miou') is not None else None, '6.2f'):>6}  {'; '.join(notes)}")
    lines.append("p50 = median of the timed runs (the figure to quote); peak MB = process VmHWM; "
                 "FASTEST = lowest p50 among the variants of one model, size and batch")
    return "\n".join(lines)


def compare_table(docs: list) -> str:
    """Merge several devices' results: one row per variant, one column per device (p50 ms)."""
    devices = [device_slug(d["device"]) for d in docs]
    if len(set(devices)) < len(devices):  # e.g. before / after on one machine
        devices = [f"{dev}#{i + 1}" for i, dev in enumerate(devices)]
    seen = {}
    for col, d in enumerate(docs):
        for r in d["variants"]:
            cell = (f"{r['latency']['p50_ms']:.2f} ms{'*' if r['latency'].get('noisy') else ''}"
                    if r["status"] == "ok" and r.get("latency") else r["status"])
            seen.setdefault(variant_name(r), {})[col] = cell
    w = max([len("variant")] + [len(k) for k in seen])
    lines = [f"{'variant':<{w}}" + "".join(f" {dev:>20}" for dev in devices)]
    for name, cells in seen.items():
        lines.append(f"{name:<{w}}" + "".join(f" {cells.get(i, 'n/a'):>20}" for i in range(len(docs))))
    return "\n".join(lines)
