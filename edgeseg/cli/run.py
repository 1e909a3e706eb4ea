"""``edgeseg run``: segment a live source or a video into one or more sinks (arguments + runner).

Only argparse here at import time; the runtime is imported when the command runs.

    edgeseg run 0 --model model.onnx --sink http://127.0.0.1:8080          # USB camera, browser preview
    edgeseg run csi://0 --model model.engine --sink display://               # Jetson CSI camera
    edgeseg run clip.mp4 --model model.onnx --sink file://out.mp4 --policy all
    edgeseg run rtsp://cam/live --model model.onnx --latency-ms 100 --smooth 3

>>> import argparse
>>> p = argparse.ArgumentParser(prog="edgeseg run"); add_args(p)
>>> a = p.parse_args(["0", "--model", "m.onnx", "--sink", "null://", "--sink", "out.mp4", "--smooth", "3"])
>>> a.source, a.sink, a.policy, a.smooth
('0', ['null://', 'out.mp4'], 'auto', 3)
"""

from __future__ import annotations

import argparse

EXAMPLES = """sources: FILE | file://FILE | images://DIR | 0 | /dev/video0 | csi://0 | rtsp://HOST/PATH |
         gst://PIPELINE | synthetic://?size=480x640&fps=30&seed=0
sinks:   file://out.mp4 | display:// | http://127.0.0.1:8080 (0.0.0.0 to share) | masks://DIR | null://
examples:
  edgeseg run 0 --model model.onnx --sink http://127.0.0.1:8080
  edgeseg run clip.mp4 --model model.onnx --sink file://out.mp4 --policy all
  edgeseg run synthetic:// --model model.onnx --sink http://127.0.0.1:8080 --smooth 3
"""


def add_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("source", help="source URI (see below)")
    p.add_argument("--model", required=True, help=".onnx or .engine written by edgeseg")
    p.add_argument("--sink", action="append", help="sink URI; repeat for several (default null://)")
    p.add_argument("--policy", default="auto", choices=("auto", "latest", "all"),
                   help="latest: newest frame only (live default); all: every frame (file default)")
    p.add_argument("--smooth", type=int, default=0, metavar="N", help="temporal smoothing over ~N frames")
    p.add_argument("--max-frames", type=int, metavar="N", help="stop after N frames")
    p.add_argument("--backend", default="auto", help="auto | onnxruntime | tensorrt")
    p.add_argument("--device", default="auto", help="auto | cpu | cuda | cuda:N")
    p.add_argument("--render", default="overlay", choices=("overlay", "color", "none"))
    p.add_argument("--alpha", type=float, default=0.5, help="overlay opacity")
    p.add_argument("--width", type=int, help="ask a camera for this width")
    p.add_argument("--height", type=int, help="ask a camera for this height")
    p.add_argument("--fps", type=float, help="ask a camera for this frame rate")
    p.add_argument("--latency-ms", type=int, default=200, help="RTSP jitter buffer (default 200)")
    p.add_argument("--transport", default="tcp", choices=("tcp", "udp"), help="RTSP transport")
    p.add_argument("--report-every", type=float, default=5.0, help="seconds between stats lines (0: off)")
    p.add_argument("--stats-json", metavar="PATH", help="write the final statistics here")
    if p.epilog is None:
        p.epilog = EXAMPLES
        p.formatter_class = argparse.RawDescriptionHelpFormatter


def run(args: argparse.Namespace) -> int:
    import json

    from ..utils.atomic import atomic_write_text
    from ..utils.signals import stop_signals_interrupt
    from ..runtime.stream import Stream

    options = {k: getattr(args, k) for k in ("width", "height", "fps") if getattr(args, k) is not None}
    options.update(latency_ms=args.latency_ms, transport=args.transport)
    stream = Stream(args.source, args.model, args.sink or ["null://"], policy=args.policy, smooth=args.smooth,
                    render=args.render, alpha=args.alpha, max_frames=args.max_frames,
                    report_every=args.report_every or None, source_options=options,
                    device=args.device, backend=args.backend)
    # docker/systemd stop (SIGTERM) and a closed terminal (SIGHUP) drain like Ctrl-C, so the video
    # being written gets its index and the final statistics still print
    with stop_signals_interrupt() as got:
        stats = stream.run()
    if args.stats_json:
        atomic_write_text(args.stats_json, json.dumps(stats, indent=2, default=str))
    return got.exit_status if stream.interrupted else 0
