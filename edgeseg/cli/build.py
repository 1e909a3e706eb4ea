"""``edgeseg build``: arguments and runner for the CLI (no tensorrt/onnx import until it runs).

    edgeseg build model.onnx --precision fp16                       # -> model.engine
    edgeseg build model.int8.onnx --precision int8 --workspace 2G
    edgeseg build model.onnx --dynamic 1x3x256x256:1x3x512x512:4x3x1024x1024
    edgeseg build model.onnx --precision fp16 --dla 0               # Jetson AGX Orin / Orin NX
    edgeseg build model.onnx --wrap trtexec.plan --precision fp16   # give a raw plan our header

>>> import argparse
>>> p = argparse.ArgumentParser(prog="edgeseg build"); add_args(p)
>>> a = p.parse_args(["model.onnx", "--precision", "int8", "--workspace", "512M", "--shape", "1x3x64x64"])
>>> options_from_args(a)
{'precision': 'int8', 'shapes': '1x3x64x64', 'workspace': 536870912, 'dla_core': None, 'timing_cache': None, 'version_compatible': False}
"""

from __future__ import annotations

import argparse
import os
import sys

from ..backends.tensorrt.plan import PRECISIONS
from ..backends.tensorrt.shapes import parse_dynamic, parse_shape, parse_workspace
from ..errors import ConfigError

EXAMPLES = """examples:
  edgeseg build model.onnx --precision fp16 --out model.engine
  edgeseg build model.tensorrt.int8.onnx --precision int8      # Q/DQ model from edgeseg quantize
  edgeseg build model.onnx --dynamic 1x3x256x256:1x3x512x512:4x3x1024x1024
  edgeseg build model.onnx --precision fp16 --dla 0            # Jetson DLA, GPU fallback on
precisions (TensorRT 10: builder flags; TensorRT 11: strongly typed):
  fp32 | fp16 | int8 (needs a Q/DQ model: edgeseg quantize --target tensorrt) | best (fp16 + int8 if Q/DQ)
"""


def add_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("onnx", help=".onnx written by edgeseg export or edgeseg quantize --target tensorrt")
    p.add_argument("--precision", default="fp16", choices=PRECISIONS,
                   help="fp32 | fp16 (default) | int8 (Q/DQ model) | best (fp16 + int8 where quantized)")
    p.add_argument("--out", help="engine file to write (default: the ONNX's name with .engine)")
    p.add_argument("--workspace", help="TensorRT workspace limit, e.g. 2G or 512M (default: TensorRT's)")
    shape = p.add_mutually_exclusive_group()
    shape.add_argument("--shape", help="static input shape for a dynamic model, e.g. 1x3x512x512")
    shape.add_argument("--dynamic", metavar="MIN:OPT:MAX",
                       help="optimisation profile, e.g. 1x3x256x256:1x3x512x512:4x3x1024x1024")
    p.add_argument("--dla", type=int, metavar="CORE", help="run on DLA core CORE (Jetson), GPU fallback on")
    p.add_argument("--timing-cache", metavar="PATH",
                   help="tactic timing cache: loaded if present, saved after the build (faster rebuilds)")
    p.add_argument("--version-compatible", action="store_true",
                   help="engine loads on newer TensorRT of the same major (runtime must allow host code)")
    p.add_argument("--wrap", metavar="PLAN",
                   help="instead of building, give a raw TensorRT plan (e.g. from trtexec, built on this "
                        "machine) edgeseg's header with the ONNX's meta")
    p.add_argument("--verbose", action="store_true", help="TensorRT's verbose log")
    p.add_argument("--no-progress", dest="progress", action="store_false", help="no progress bar")
    if p.epilog is None:
        p.epilog = EXAMPLES
        p.formatter_class = argparse.RawDescriptionHelpFormatter


def options_from_args(a: argparse.Namespace) -> dict:
    """Validate the options before onnx or tensorrt is imported: a typo fails fast."""
    shapes = None
    if a.shape:
        parse_shape(a.shape)
        shapes = a.shape
    if a.dynamic:
        parse_dynamic(a.dynamic)
        shapes = a.dynamic
    if a.dla is not None and a.dla < 0:
        raise ConfigError("the DLA core must be >= 0", got=a.dla, expected="--dla 0 or --dla 1")
    return {"precision": a.precision, "shapes": shapes,
            "workspace": parse_workspace(a.workspace) if a.workspace else None,
            "dla_core": a.dla, "timing_cache": a.timing_cache, "version_compatible": a.version_compatible}


def run(a: argparse.Namespace) -> int:
    o = options_from_args(a)
    if a.wrap:
        from ..backends.tensorrt.builder import default_engine_path, wrap_plan
        out = a.out or default_engine_path(a.onnx)
        wrap_plan(a.wrap, a.onnx, out, precision=o["precision"], shapes=o["shapes"], dla_core=o["dla_core"],
                  version_compatible=o["version_compatible"], log=print)
        return 0
    from ..backends.tensorrt.builder import build_engine  # imports onnx here, tensorrt inside
    r = build_engine(a.onnx, a.out, verbose=a.verbose, progress=sys.stderr if a.progress else None,
                     log=print, **o)
    h, m = r.header, r.header.meta
    shapes = ", ".join(f"{n} {'x'.join(map(str, s['opt']))}" for n, s in h.shapes.items())
    print(f"{os.fspath(r.path)}: {m.model}, {m.num_classes} classes, {h.precision} ({m.precision}), {shapes}, "
          f"TensorRT {h.tensorrt} on {h.gpu} (sm {h.compute_capability})")
    return 0
