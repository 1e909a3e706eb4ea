"""The ``edgeseg`` command: a table of commands, each a small module that parses its arguments
and calls the public Python API.

A command's module is imported only when that command runs (or shows its ``--help``), and each
imports the heavy parts of the library (torch, onnx, TensorRT) only inside its ``run``; so
``edgeseg --help`` and ``edgeseg run --help`` import none of them. User errors
(:class:`EdgesegError`) print as a short message with exit status 2, never a traceback.

>>> sorted(COMMANDS)[:4]
['bench', 'build', 'calibrate', 'compare']
>>> build_parser(only="models").parse_args(["models", "--size", "256x256"]).size
'256x256'
"""

from __future__ import annotations

import argparse
import sys

from .. import __version__
from ..errors import EdgesegError
from ..lazy import load_object

EPILOG = """pipeline:  train -> export -> quantize -> build -> run -> bench
examples:
  edgeseg demo                                  (all of it, on synthetic scenes)
  edgeseg train --model lraspp_mobilenet_v3_small --data synthetic --epochs 12 --size 256x256
  edgeseg eval runs/train/best.pt --data synthetic
  edgeseg export runs/train/best.pt --out model.onnx
  edgeseg calibrate synthetic --model model.onnx --num 256 --out calib.npz
  edgeseg quantize model.onnx --calib calib.npz --target cpu --val synthetic --max-miou-drop 1.0
  edgeseg build model.tensorrt.int8.onnx --precision int8          (needs TensorRT)
  edgeseg compare model.onnx model.engine --data synthetic
  edgeseg run video.mp4 --model model.onnx --sink file://out.mp4 --sink http://127.0.0.1:8080
  edgeseg models --size 512x512
data specs: synthetic | synthetic:N | folder:PATH | voc:PATH | cityscapes:PATH, or as URIs
  synthetic://?num=N&size=HxW&seed=S | folder:///PATH | voc:///PATH?mask_dir=D | cityscapes:///PATH"""

# command -> (module under edgeseg.cli with add_args(parser) and run(args), one-line help).
COMMANDS = {
    "demo": ("demo", "the whole pipeline on synthetic scenes in one command (< 10 min on 2 CPU cores)"),
    "train": ("train", "train a zoo model on a data set"),
    "eval": ("eval", "score a model: mIoU, per-class IoU, accuracy, Dice"),
    "models": ("models", "list the model zoo with parameters and GFLOPs"),
    "export": ("export", "checkpoint -> one self-contained ONNX with meta, onnxsim, parity check"),
    "calibrate": ("calibrate", "collect a calibration set (frames at the model's input size) into an .npz"),
    "quantize": ("quantize", "INT8 Q/DQ ONNX for TensorRT or ONNX Runtime CPU, inside an accuracy budget"),
    "build": ("build", "ONNX -> TensorRT engine (fp32/fp16/int8, profiles, DLA, timing cache) with a header"),
    "run": ("run", "stream a video/camera/URI through a model into file/display/http/mask sinks"),
    "bench": ("bench", "latency per backend/precision/size with device info, JSON report, --compare devices"),
    "compare": ("compare", "compare two models/backends: argmax agreement, logit difference, mIoU of each"),
}


def command_module(name: str):
    """The module of command ``name`` (imported now)."""
    return load_object(f"{__name__}.{COMMANDS[name][0]}")


def build_parser(only: str | None = None) -> argparse.ArgumentParser:
    """The whole parser; with ``only``, just that command gets its arguments (and its module is
    the only one imported): what :func:`main` does, so one command never loads another's."""
    parser = argparse.ArgumentParser(
        prog="edgeseg", description="Lightweight semantic segmentation, from a labelled image set "
        "to a real-time camera pipeline.", epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--version", action="version", version=f"edgeseg {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name, (_, help_) in COMMANDS.items():
        p = sub.add_parser(name, help=help_, description=help_)
        if only is None or name == only:
            module = command_module(name)
            module.add_args(p)
            p.set_defaults(_run=module.run)
    return parser


def _command_in(argv) -> str | None:
    """The command named on the line: the first argument that is not an option."""
    for arg in argv:
        if not arg.startswith("-"):
            return arg if arg in COMMANDS else None
    return None


def main(argv=None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    parser = build_parser(only=_command_in(argv) or "")
    args = parser.parse_args(argv)
    if not getattr(args, "_run", None):
        parser.print_help()
        return 2
    try:
        return int(args._run(args) or 0)
    except EdgesegError as exc:
        print(f"edgeseg {args.command}: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"\nedgeseg {args.command}: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    raise SystemExit(main())
