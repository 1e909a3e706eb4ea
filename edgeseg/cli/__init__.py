"""The ``edgeseg`` command: a table of commands, each a small module that parses its arguments
and calls the public Python API.

A command's module is imported only when that command runs (or shows its ``--help``), and each
imports the heavy parts of the library (torch, onnx, TensorRT) only inside its ``run``; so
``edgeseg --help`` and ``edgeseg run --help`` import none of them.

Exit status: 0 done; 2 a user error (a bad option, or an :class:`EdgesegError`: a short message
saying what was expected, what was found and what to do, never a traceback) or the machine's
(an OSError: disk full, permission denied, named with its path); 70 an unexpected
error inside edgeseg (one line naming the command and the error, and where to report it; the
traceback only with ``--debug`` or ``EDGESEG_DEBUG=1``); 130 interrupted.

>>> sorted(COMMANDS)[:4]
['bench', 'build', 'calibrate', 'compare']
>>> build_parser(only="models").parse_args(["models", "--size", "256x256"]).size
'256x256'
"""

from __future__ import annotations

import argparse
import faulthandler
import os
import signal
import sys
import traceback

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
  edgeseg inspect model.onnx                    (inputs, outputs, meta; guesses for a foreign ONNX)
  edgeseg meta end2end.onnx --classes ade20k --mean 123.675,116.28,103.53 --std 58.395,57.12,57.375
data specs: synthetic | synthetic:N | folder:PATH | voc:PATH | cityscapes:PATH, or as URIs
  synthetic://?num=N&size=HxW&seed=S | folder:///PATH | voc:///PATH?mask_dir=D | cityscapes:///PATH"""

EXIT_USAGE, EXIT_INTERNAL, EXIT_INTERRUPTED = 2, 70, 130  # 70 is EX_SOFTWARE in sysexits.h

# command -> (module under edgeseg.cli with add_args(parser) and run(args), one-line help).
COMMANDS = {
    "demo": ("demo", "the whole pipeline on synthetic scenes in one command (< 10 min on 2 CPU cores)"),
    "train": ("train", "train a zoo model on a data set"),
    "eval": ("eval", "score a model: mIoU, per-class IoU, accuracy, Dice"),
    "models": ("models", "list the model zoo with parameters and GFLOPs"),
    "inspect": ("inspect", "a model's inputs, outputs, layout and meta; what edgeseg assumes for a foreign ONNX"),
    "meta": ("meta", "write the meta of a model edgeseg did not export: classes, normalisation, size, output"),
    "export": ("export", "checkpoint -> one self-contained ONNX with meta, onnxsim, parity check"),
    "calibrate": ("calibrate", "collect a calibration set (frames at the model's input size) into an .npz"),
    "quantize": ("quantize", "INT8 Q/DQ ONNX for TensorRT or ONNX Runtime CPU, inside an accuracy budget"),
    "build": ("build", "ONNX -> TensorRT engine (fp32/fp16/int8, profiles, DLA, timing cache), plan + sidecar"),
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
    parser.add_argument("--debug", action="store_true",
                        help="print the full traceback of an unexpected error (or set EDGESEG_DEBUG=1)")
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


def _debug_wanted(argv: list[str]) -> tuple[bool, list[str]]:
    """``--debug`` anywhere on the line (before or after the command), or EDGESEG_DEBUG=1."""
    wanted = "--debug" in argv
    env = os.environ.get("EDGESEG_DEBUG", "").strip().lower() not in ("", "0", "false", "no")
    return wanted or env, [a for a in argv if a != "--debug"]


def _stacks_on_sigusr1() -> None:
    """``kill -USR1 PID`` prints every thread's stack to stderr and the command goes on: a stream
    stuck on a camera driver or a full disk can be asked where it waits without being killed."""
    if not hasattr(signal, "SIGUSR1"):  # Windows
        return
    try:
        faulthandler.register(signal.SIGUSR1, all_threads=True)
    except (AttributeError, ValueError, OSError, RuntimeError):
        pass  # stderr without a file descriptor (an embedding host, a captured test): nothing to print to


def console_main() -> int:
    """The ``edgeseg`` program (console script, ``python -m edgeseg``): :func:`main` plus what only a
    whole process should set up. A host that calls main() keeps its own signals and stderr."""
    _stacks_on_sigusr1()
    return main()


def main(argv=None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    debug, argv = _debug_wanted(argv)
    parser = build_parser(only=_command_in(argv) or "")
    args = parser.parse_args(argv)
    if not getattr(args, "_run", None):
        parser.print_help()
        return EXIT_USAGE
    try:
        return int(args._run(args) or 0)
    except EdgesegError as exc:
        print(f"edgeseg {args.command}: error: {exc}", file=sys.stderr)
        if debug:
            traceback.print_exc()
        return EXIT_USAGE
    except KeyboardInterrupt:
        print(f"\nedgeseg {args.command}: interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
    except OSError as exc:
        # The machine, not edgeseg: a full disk, a permission, a path that went away mid-run.
        what = exc.strerror or str(exc)
        where = f": {exc.filename}" if getattr(exc, "filename", None) else ""
        print(f"edgeseg {args.command}: error: {what}{where}\n  fix:      check the path, its permissions and "
              f"the free space, then run the command again", file=sys.stderr)
        if debug:
            traceback.print_exc()
        return EXIT_USAGE
    except Exception as exc:  # noqa: BLE001 - the last resort: one line, not a traceback
        if debug:
            traceback.print_exc()
        where = _where(exc)
        print(f"edgeseg {args.command}: internal error: {type(exc).__name__}: {exc}{where}\n"
              "  this is a bug in edgeseg, not in your input: please report it on the edgeseg issue tracker "
              "with the command line" + ("" if debug else " and the output of the same command with --debug"),
              file=sys.stderr)
        return EXIT_INTERNAL


def _where(exc: BaseException) -> str:
    """`` (at module.py:123)``: the innermost frame, so a one-line report still points somewhere."""
    tb = traceback.extract_tb(exc.__traceback__)
    if not tb:
        return ""
    frame = tb[-1]
    return f" (at {os.path.basename(frame.filename)}:{frame.lineno})"


if __name__ == "__main__":
    raise SystemExit(main())
