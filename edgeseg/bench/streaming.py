"""Stream a video file through a model: end-to-end FPS and the time of each stage.

Uses the streaming runtime (:mod:`edgeseg.runtime.stream`); where it is missing (a tree from
before it landed) :func:`_simple_loop` does the same job with a Segmenter and a cv2.VideoWriter.
The fallback is one function so it can be deleted once the runtime is everywhere. Stage times
are medians (ms) keyed ``<stage>_ms``.

>>> # stream_video("model.onnx", "clip.mp4", out="overlay.mp4")["fps"]
"""

from __future__ import annotations

import importlib
import time

import cv2
import numpy as np

from ..errors import DataError
from ..utils.atomic import atomic_path


def _runtime_stream():
    """The runtime's Stream class, or None while the module does not exist yet."""
    try:
        return importlib.import_module("edgeseg.runtime.stream").Stream
    except (ImportError, AttributeError):
        return None


def stream_video(model, video: str, out: str | None = None, *, max_frames: int | None = None,
                 threads: int | None = None) -> dict:
    """Run every frame of ``video`` through ``model`` (a path or a Segmenter); with ``out``, write
    the overlay video there. Returns ``{"frames", "fps", "stages_ms", "runtime"}``."""
    from ..runtime.segmenter import Segmenter
    if isinstance(model, Segmenter):
        seg = model
    else:  # ONNX Runtime on the CPU unless the file is an engine (TensorRT) or a checkpoint
        opts = {"device": "cpu", "threads": threads} if str(model).endswith(".onnx") else {}
        seg = Segmenter(model, **opts)
    stream_cls = _runtime_stream()
    try:
        if stream_cls is not None:
            return _with_runtime(stream_cls, seg, video, out, max_frames)
        return _simple_loop(seg, video, out, max_frames)
    finally:
        if seg is not model:
            seg.close()


def _with_runtime(stream_cls, seg, video: str, out: str | None, max_frames: int | None) -> dict:
    """The runtime's threaded pipeline; its per-stage medians become ``<stage>_ms``."""
    sink = f"file://{out}" if out else "null://"
    s = stream_cls(video, seg, sink=sink, max_frames=max_frames, report_every=None, log=None)
    s.run()
    st = s.stats()
    stages = {f"{name}_ms": float(v["p50_ms"]) for name, v in st.get("stages", {}).items()
              if isinstance(v, dict) and "p50_ms" in v}
    return {"frames": int(st.get("frames_out", 0)), "fps": float(st.get("fps", 0.0)),
            "stages_ms": stages, "runtime": "edgeseg.runtime.stream"}


def _simple_loop(seg, video: str, out: str | None, max_frames: int | None) -> dict:
    """read -> segment -> overlay -> write, one frame at a time; mean milliseconds per stage."""
    cap = cv2.VideoCapture(video)
    if not cap.isOpened():
        raise DataError("cannot open the video", path=video, expected="a file OpenCV can read (mp4, avi)")
    fps_in = cap.get(cv2.CAP_PROP_FPS) or 15.0
    stages = {k: [] for k in ("read_ms", "preprocess_ms", "infer_ms", "postprocess_ms", "render_ms", "write_ms")}
    writer, frames = None, 0
    t_start = time.perf_counter()
    with (atomic_path(out, suffix=".mp4") if out else _null()) as tmp:
        while max_frames is None or frames < max_frames:
            t0 = time.perf_counter()
            ok, frame = cap.read()
            if not ok:
                break
            t1 = time.perf_counter()
            result = seg(frame)
            t2 = time.perf_counter()
            if tmp:
                vis = seg.overlay(frame, result)
                t3 = time.perf_counter()
                if writer is None:
                    h, w = vis.shape[:2]
                    writer = cv2.VideoWriter(tmp, cv2.VideoWriter_fourcc(*"mp4v"), fps_in, (w, h))
                writer.write(vis)
            else:
                t3 = t2
            t4 = time.perf_counter()
            stages["read_ms"].append(1e3 * (t1 - t0))
            for k in ("preprocess_ms", "infer_ms", "postprocess_ms"):
                stages[k].append(result.timings[k])
            stages["render_ms"].append(1e3 * (t3 - t2))
            stages["write_ms"].append(1e3 * (t4 - t3))
            frames += 1
        if writer is not None:
            writer.release()
    cap.release()
    wall = time.perf_counter() - t_start
    if frames == 0:
        raise DataError("the video has no readable frames", path=video)
    return {"frames": frames, "fps": frames / wall,
            "stages_ms": {k: float(np.mean(v)) for k, v in stages.items()},
            "runtime": "simple loop (edgeseg.runtime.stream not installed)"}


class _null:
    def __enter__(self):
        return None

    def __exit__(self, *exc):
        return False
