"""Stream a video file through a model: end-to-end FPS and the time of each stage.

The streaming runtime's pipeline (:class:`~edgeseg.runtime.stream.Stream`), every frame in
order; stage times are its medians (ms) keyed ``<stage>_ms``.

>>> # stream_video("model.onnx", "clip.mp4", out="overlay.mp4")["fps"]
"""

from __future__ import annotations


def stream_video(model, video: str, out: str | None = None, *, max_frames: int | None = None,
                 threads: int | None = None) -> dict:
    """Run every frame of ``video`` through ``model`` (a path or a Segmenter); with ``out``, write
    the overlay video there. Returns ``{"frames", "fps", "stages_ms", "runtime"}``."""
    from ..runtime.options import StreamOptions
    from ..runtime.segmenter import Segmenter
    from ..runtime.stream import Stream

    if isinstance(model, Segmenter):
        seg = model
    else:  # ONNX Runtime on the CPU unless the file is an engine (TensorRT) or a checkpoint
        opts = {"device": "cpu", "threads": threads} if str(model).endswith(".onnx") else {}
        seg = Segmenter(model, **opts)
    try:
        sink = f"file://{out}" if out else "null://"
        st = Stream(video, seg, sink, StreamOptions(max_frames=max_frames, report_every=None), log=None).run()
    finally:
        if seg is not model:
            seg.close()
    stages = {f"{name}_ms": float(v["p50_ms"]) for name, v in st.get("stages", {}).items()
              if isinstance(v, dict) and "p50_ms" in v}
    return {"frames": int(st.get("frames_out", 0)), "fps": float(st.get("fps", 0.0)),
            "stages_ms": stages, "runtime": "edgeseg.runtime.stream"}
