"""``edgeseg run``: segment a live source or a video into one or more sinks (arguments + runner).

Only argparse here at import time; the runtime is imported when the command runs.

    edgeseg run 0 --model model.onnx --sink http://127.0.0.1:8080          # USB camera, browser preview
    edgeseg run csi://0 --model model.engine --sink display://               # Jetson CSI camera
    edgeseg run clip.mp4 --model model.onnx --sink file://out.mp4 --policy all
    edgeseg run rtsp://cam/live --model model.onnx --latency-ms 100 --smooth 3
    edgeseg run clip.mp4 --model model.onnx --sink file://out.avi --codec XVID --sink-fps 10
    edgeseg run 0 --model model.onnx --motion flow --sink http://127.0.0.1:8080   # labels at camera rate

The arguments become the runtime's three options objects (:func:`options_from_args`), so a
Python user writes the same stream with ``Stream(source, model, sinks, StreamOptions(...),
source_options=SourceOptions(...), sink_options=SinkOptions(...))``.

>>> import argparse
>>> p = argparse.ArgumentParser(prog="edgeseg run"); add_args(p)
>>> a = p.parse_args(["0", "--model", "m.onnx", "--sink", "null://", "--sink", "out.mp4", "--smooth", "3"])
>>> a.source, a.sink, a.policy, a.smooth, a.jpeg_quality, a.codec, a.sink_fps
('0', ['null://', 'out.mp4'], 'auto', 3, 80, None, None)
"""

from __future__ import annotations

import argparse

from ._common import int_at_least, nonnegative_float, output_file, positive_float, unit_interval
from ._meta_args import add_meta_args, meta_from_args

EXAMPLES = """sources: FILE | file://FILE | images://DIR | 0 | /dev/video0 | csi://0 | rtsp://HOST/PATH |
         gst://PIPELINE | synthetic://?size=480x640&fps=30&seed=0 | file://clip.mp4?live=1 (a file as a camera)
         synthetic://?size=720x1280&fps=60&speed=8&turn=0.1&loop=600 (a drive: forward px/frame, yaw deg/frame)
sinks:   file://out.mp4 | display:// | http://127.0.0.1:8080 (0.0.0.0 to share) | masks://DIR | null://
         (--codec and --sink-fps apply to file:// videos, --jpeg-quality to the http:// preview)
examples:
  edgeseg run 0 --model model.onnx --sink http://127.0.0.1:8080
  edgeseg run clip.mp4 --model model.onnx --sink file://out.mp4 --policy all
  edgeseg run synthetic:// --model model.onnx --sink http://127.0.0.1:8080 --smooth 3
  edgeseg run 0 --model model.onnx --sink http://127.0.0.1:8080 --motion flow

motion-compensated output (--motion flow, off by default): the network keeps running on the newest
frame while EVERY camera frame is output, in order, with the latest network result warped onto it
along optical flow from the frame the network saw. Output then runs at the camera's rate and each
frame's labels describe that frame, not one captured an inference earlier. Turn it on when the
camera is faster than the network (CPU or Jetson Nano models at 5-20 fps, a robot that moves) and
labels must follow the scene between inferences. It costs a low-resolution flow and a warp per
frame: about 6 ms of one CPU core per 720p frame with the default dis-fast at 256 px (4 ms flow with
its forward-backward check, 2 ms warp; dis-ultrafast 5 ms, dis-medium 13 ms), CPU the network then
lacks on a small machine (on 2 cores it ran at about 2/3 of its rate alone); flow:nvof or flow:vpi use
the GPU's or Jetson's optical-flow engine instead. Regions the motion uncovers or hides can be wrong
until the next result (they are marked; the stats give the fraction warped). A network faster than
the camera still labels each frame it takes itself. PROVIDER: auto (default: hardware where present,
else dis-fast) | dis-ultrafast | dis-fast | dis-medium | nvof[-slow|-medium|-fast] | vpi[-low|-medium|-high].
"""



def sink_uri(text: str) -> str:
    """An argparse type: a sink URI whose address can be read (an http:// port from 1 to 65535,
    or 0 for any free one), checked before the model is opened."""
    from ..errors import ConfigError
    from ..uri import parse_host_port, split_uri

    if split_uri(text)[0] == "http":
        try:
            parse_host_port(text, default_port=8080, what="http:// preview sink")
        except ConfigError as exc:
            raise argparse.ArgumentTypeError(str(exc)) from None
    return text


def add_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("source", help="source URI (see below)")
    p.add_argument("--model", required=True, help=".onnx or .engine (with its .meta.json sidecar)")
    p.add_argument("--sink", action="append", type=sink_uri, help="sink URI; repeat for several (default null://)")
    p.add_argument("--policy", default="auto", choices=("auto", "latest", "all"),
                   help="latest: newest frame only (live default); all: every frame (file default)")
    p.add_argument("--smooth", type=int_at_least(0), default=0, metavar="N", help="temporal smoothing over ~N frames")
    p.add_argument("--max-frames", type=int_at_least(1), metavar="N", help="stop after N frames")
    p.add_argument("--backend", default="auto", help="auto | onnxruntime | tensorrt")
    p.add_argument("--device", default="auto", help="auto | cpu | cuda | cuda:N")
    p.add_argument("--render", default="overlay", choices=("overlay", "color", "none"))
    p.add_argument("--alpha", type=unit_interval, default=0.5, help="overlay opacity")
    p.add_argument("--width", type=int_at_least(1), help="ask a camera for this width")
    p.add_argument("--height", type=int_at_least(1), help="ask a camera for this height")
    p.add_argument("--fps", type=positive_float, help="ask a camera for this frame rate")
    p.add_argument("--latency-ms", type=int_at_least(0), default=200, help="RTSP jitter buffer (default 200)")
    p.add_argument("--transport", default="tcp", choices=("tcp", "udp"), help="RTSP transport")
    p.add_argument("--realtime", action="store_true",
                   help="play a recording (a video file, an image folder) as a live camera at its own frame rate: "
                        "the newest frame kept, the ones the stream misses dropped (a drive replayed as the robot "
                        "saw it; with --motion, every frame still gets labels)")
    p.add_argument("--jpeg-quality", type=int, default=80, metavar="Q",
                   help="JPEG quality of the http:// preview, 1-100 (default 80; lower: less bandwidth)")
    p.add_argument("--codec", metavar="FOURCC",
                   help="codec of file:// videos, a FourCC such as mp4v, MJPG or XVID (default per container: "
                        "mp4v for .mp4/.mkv/.mov, MJPG for .avi)")
    p.add_argument("--sink-fps", type=positive_float, metavar="FPS",
                   help="frame rate written into file:// videos (default: the source's)")
    p.add_argument("--report-every", type=nonnegative_float, default=5.0, help="seconds between stats lines (0: off)")
    p.add_argument("--stats-json", metavar="PATH", type=output_file, help="write the final statistics here")
    p.add_argument("--motion", metavar="flow[:PROVIDER]",
                   help="motion-compensated output (off by default; see below): every camera frame is output "
                        "with the latest network result warped onto it along optical flow")
    p.add_argument("--flow-size", type=int_at_least(16), default=256, metavar="PX",
                   help="with --motion: the long side the optical flow works at (default 256; larger: finer "
                        "motion, more CPU)")
    p.add_argument("--motion-warp", default="labels", choices=("labels", "scores"),
                   help="with --motion: warp the class ids (labels, nearest: ~2 ms at 720p) or the class scores "
                        "(scores, bilinear then argmax: ~1.2 ms per class at 512x512)")
    add_meta_args(p)
    if p.epilog is None:
        p.epilog = EXAMPLES
        p.formatter_class = argparse.RawDescriptionHelpFormatter


def options_from_args(args: argparse.Namespace):
    """(StreamOptions, SourceOptions, SinkOptions) from the parsed arguments; each validates
    itself, so a bad value is a ConfigError naming the option.

    >>> p = argparse.ArgumentParser(); add_args(p)
    >>> stream, source, sink = options_from_args(p.parse_args(["0", "--model", "m.onnx", "--codec", "MJPG"]))
    >>> stream.report_every, source.latency_ms, sink.codec
    (5.0, 200, 'MJPG')
    """
    from ..runtime.options import SinkOptions, SourceOptions, StreamOptions

    stream = StreamOptions(policy=args.policy, smooth=args.smooth, render=args.render, alpha=args.alpha,
                           max_frames=args.max_frames, report_every=args.report_every or None,
                           motion=args.motion, flow_size=args.flow_size, motion_warp=args.motion_warp)
    source = SourceOptions(width=args.width, height=args.height, fps=args.fps, latency_ms=args.latency_ms,
                           transport=args.transport, realtime=args.realtime)
    sink = SinkOptions(jpeg_quality=args.jpeg_quality, codec=args.codec, fps=args.sink_fps)
    return stream, source, sink


def run(args: argparse.Namespace) -> int:
    import json

    from ..runtime.stream import Stream
    from ..utils.atomic import atomic_write_text
    from ..utils.signals import stop_signals_interrupt

    options, source_options, sink_options = options_from_args(args)
    stream = Stream(args.source, args.model, args.sink or ["null://"], options, source_options=source_options,
                    sink_options=sink_options, device=args.device, backend=args.backend, meta=meta_from_args(args, args.model))
    # docker/systemd stop (SIGTERM) and a closed terminal (SIGHUP) drain like Ctrl-C, so the video
    # being written gets its index and the final statistics still print
    with stop_signals_interrupt() as got:
        stats = stream.run()
    if args.stats_json:
        atomic_write_text(args.stats_json, json.dumps(stats, indent=2, default=str))
    return got.exit_status if stream.interrupted else 0
