"""Per-frame host work of the runtime at 1280x720, each op against the plain numpy way of doing it.

What the stream's capture and render threads spend per frame besides inference (a 512x512
network with 6 classes by default). Medians of ``--repeat`` calls, interleaved per pair, so the
ratios hold on a noisy machine. Writes ``benchmarks/results/frame-ops-<host>-<date-time>.json``.

    python benchmarks/frame_ops.py
    python benchmarks/frame_ops.py --classes 19 --net 1024x512   # a Cityscapes-sized model
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import socket
import statistics
import sys
import time

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from edgeseg.meta import ModelMeta  # noqa: E402
from edgeseg.preprocess import (  # noqa: E402
    _affine,
    argmax_classes,
    labels_to_frame,
    normalize,
    preprocess,
    resize_to_input,
)
from edgeseg.utils.atomic import atomic_write_text  # noqa: E402
from edgeseg.visualize import colorize, overlay, palette_lut  # noqa: E402


def interleaved(fns: dict, repeat: int) -> dict:
    """Median ms of each callable, calling them in turn so drift hits all alike."""
    times = {k: [] for k in fns}
    for fn in fns.values():
        fn()
    for _ in range(repeat):
        for k, fn in fns.items():
            t = time.perf_counter()
            fn()
            times[k].append(time.perf_counter() - t)
    return {k: round(1e3 * statistics.median(v), 3) for k, v in times.items()}


def interleaved_normalize(image, meta):
    """The previous normalisation: one HxWx3 float pass, then a transposing copy."""
    scale, bias = _affine(meta.mean, meta.std, meta.color_order)
    x = image.astype(np.float32)
    x *= scale
    x += bias
    return np.ascontiguousarray(x[..., ::-1].transpose(2, 0, 1))


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--classes", type=int, default=6, help="network classes (default %(default)s)")
    p.add_argument("--net", default="512x512", help="network input HxW (default %(default)s)")
    p.add_argument("--repeat", type=int, default=100, help="calls per op (default %(default)s)")
    p.add_argument("--out", default=os.path.join(os.path.dirname(os.path.abspath(__file__)), "results"))
    a = p.parse_args(argv)
    h, w = (int(v) for v in a.net.lower().split("x"))
    rng = np.random.default_rng(0)
    classes = tuple(f"c{i}" for i in range(a.classes))
    meta = ModelMeta(model="m", classes=classes, input_size=(h, w))
    frame = rng.integers(0, 256, (720, 1280, 3), dtype=np.uint8)
    small = resize_to_input(frame, meta)
    logits = rng.standard_normal((a.classes, h, w)).astype(np.float32)
    labels = labels_to_frame(argmax_classes(logits), (720, 1280))
    palette = meta.palette
    lut = palette_lut(palette)

    pairs = {
        "normalize (network size)": {"edgeseg": lambda: normalize(small, meta),
                                     "interleaved numpy": lambda: interleaved_normalize(small, meta)},
        "argmax over classes": {"edgeseg": lambda: argmax_classes(logits), "numpy argmax(0)": lambda: logits.argmax(0)},
        "colorize 720p": {"edgeseg": lambda: colorize(labels, palette), "numpy lut[labels]": lambda: lut[labels]},
    }
    singles = {"preprocess 720p -> network": lambda: preprocess(frame, meta),
               "labels to 720p": lambda: labels_to_frame(argmax_classes(logits), (720, 1280)),
               "overlay 720p": lambda: overlay(frame, labels, palette)}
    result = {"host": socket.gethostname(), "date": datetime.datetime.now().isoformat(timespec="seconds"),
              "cpu_count": os.cpu_count(), "net": a.net, "classes": a.classes, "frame": "720x1280", "ops": {}}
    for name, fns in pairs.items():
        ms = interleaved(fns, a.repeat)
        (ours, ours_ms), (other, other_ms) = ms.items()
        result["ops"][name] = {**ms, "speedup": round(other_ms / ours_ms, 2)}
        print(f"{name:28s} {ours_ms:7.2f} ms  ({other} {other_ms:.2f} ms, {other_ms / ours_ms:.1f}x)")
    for name, ms in interleaved(singles, a.repeat).items():
        result["ops"][name] = {"edgeseg": ms}
        print(f"{name:28s} {ms:7.2f} ms")
    os.makedirs(a.out, exist_ok=True)
    path = os.path.join(a.out, f"frame-ops-{result['host']}-{datetime.datetime.now():%Y-%m-%d-%H%M%S}.json")
    atomic_write_text(path, json.dumps(result, indent=2) + "\n")
    print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
