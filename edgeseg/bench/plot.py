"""Bench charts drawn with OpenCV (no matplotlib on a robot): latency vs mIoU, latency histograms.

>>> import numpy as np
>>> img = scatter_chart([("a", 2.0, 0.8), ("b", 1.0, None)])
>>> img.shape, img.dtype
((420, 640, 3), dtype('uint8'))
"""

from __future__ import annotations

import os

import cv2
import numpy as np

from ..utils.atomic import atomic_path
from .report import variant_name

W, H, M = 640, 420, 60  # canvas and margin (pixels)
COLORS = [(180, 119, 31), (14, 127, 255), (44, 160, 44), (40, 39, 214), (189, 103, 148),
          (75, 86, 140), (194, 119, 227), (127, 127, 127), (34, 189, 188), (207, 190, 23)]
FONT = cv2.FONT_HERSHEY_SIMPLEX


def _canvas(title: str, xlabel: str, ylabel: str) -> np.ndarray:
    img = np.full((H, W, 3), 255, np.uint8)
    cv2.putText(img, title, (M, 28), FONT, 0.55, (0, 0, 0), 1, cv2.LINE_AA)
    cv2.rectangle(img, (M, M - 20), (W - 20, H - M), (0, 0, 0), 1)
    cv2.putText(img, xlabel, (W // 2 - 60, H - 15), FONT, 0.45, (0, 0, 0), 1, cv2.LINE_AA)
    cv2.putText(img, ylabel, (5, M - 28), FONT, 0.45, (0, 0, 0), 1, cv2.LINE_AA)
    return img


def _ticks(img, lo, hi, axis: str, fmt: str = ".3g") -> None:
    for i in range(5):
        v = lo + (hi - lo) * i / 4
        if axis == "x":
            x = int(M + (W - 20 - M) * i / 4)
            cv2.putText(img, format(v, fmt), (x - 12, H - M + 18), FONT, 0.4, (60, 60, 60), 1, cv2.LINE_AA)
        else:
            y = int(H - M - (H - M - (M - 20)) * i / 4)
            cv2.putText(img, format(v, fmt), (8, y + 4), FONT, 0.4, (60, 60, 60), 1, cv2.LINE_AA)


def scatter_chart(points) -> np.ndarray:
    """``points``: (label, p50 ms, mIoU or None). Without any mIoU, the y axis is the label index."""
    img = _canvas("latency vs mIoU per variant", "p50 latency (ms)", "mIoU")
    if not points:
        return img
    xs = np.array([p[1] for p in points], float)
    have = [p[2] is not None for p in points]
    ys = np.array([p[2] if p[2] is not None else 0.0 for p in points], float)
    x0, x1 = 0.0, float(xs.max()) * 1.15 or 1.0
    y0, y1 = (float(ys[have].min()) - 0.05, float(ys[have].max()) + 0.05) if any(have) else (0.0, 1.0)
    _ticks(img, x0, x1, "x")
    _ticks(img, y0, y1, "y", ".2f")
    for i, (label, x, y) in enumerate(points):
        px = int(M + (W - 20 - M) * (x - x0) / (x1 - x0))
        yy = y if y is not None else y0
        py = int(H - M - (H - M - (M - 20)) * (yy - y0) / (y1 - y0 or 1))
        color = COLORS[i % len(COLORS)]
        cv2.circle(img, (px, py), 6, color, -1 if y is not None else 2, cv2.LINE_AA)
        cv2.putText(img, label[:40] + ("" if y is not None else " (no mIoU)"), (px + 8, py - 6 - 12 * (i % 2)),
                    FONT, 0.38, color, 1, cv2.LINE_AA)
    return img


def histogram_chart(series, bins: int = 30) -> np.ndarray:
    """``series``: (label, times in ms); one outlined histogram per variant on a shared x axis."""
    img = _canvas("latency histogram", "latency (ms)", "runs")
    series = [(n, np.asarray(t, float)) for n, t in series if len(t)]
    if not series:
        return img
    lo = min(t.min() for _, t in series)
    hi = max(np.percentile(t, 99.5) for _, t in series) * 1.02
    edges = np.linspace(lo, hi if hi > lo else lo + 1, bins + 1)
    counts = [np.histogram(np.clip(t, lo, edges[-1]), edges)[0] for _, t in series]
    top = max(int(c.max()) for c in counts) or 1
    _ticks(img, lo, edges[-1], "x")
    _ticks(img, 0, top, "y", ".0f")
    for i, ((label, _), c) in enumerate(zip(series, counts)):
        color = COLORS[i % len(COLORS)]
        pts = []
        for b, n in enumerate(c):
            xa = int(M + (W - 20 - M) * b / bins)
            xb = int(M + (W - 20 - M) * (b + 1) / bins)
            y = int(H - M - (H - M - (M - 20)) * n / top)
            pts += [(xa, y), (xb, y)]
        cv2.polylines(img, [np.array(pts, np.int32)], False, color, 2, cv2.LINE_AA)
        cv2.putText(img, label[:60], (M + 10, M + 16 * i), FONT, 0.4, color, 1, cv2.LINE_AA)
    return img


def write_plots(doc: dict, out_base: str) -> list[str]:
    """Write ``<out_base>-latency-miou.png`` and ``<out_base>-latency-hist.png``; return the paths."""
    ok = [r for r in doc["variants"] if r["status"] == "ok" and r.get("latency")]
    charts = {
        "latency-miou": scatter_chart([(variant_name(r) + (" FASTEST" if r.get("fastest") else ""),
                                        r["latency"]["p50_ms"], r.get("miou")) for r in ok]),
        "latency-hist": histogram_chart([(variant_name(r), r.get("times_ms", [])) for r in ok]),
    }
    paths = []
    for name, img in charts.items():
        path = f"{out_base}-{name}.png"
        os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
        with atomic_path(path, suffix=".png") as tmp:
            cv2.imwrite(tmp, img)
        paths.append(path)
    return paths
