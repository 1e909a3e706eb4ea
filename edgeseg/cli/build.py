"""``edgeseg build``: arguments and runner for the CLI (no tensorrt/onnx import until it runs).

    edgeseg build model.onnx --precision fp16                       # -> model.engine
    edgeseg build model.int8.onnx --precision int8 --workspace 2G
    edgeseg build model.onnx --dynamic 1x3x256x256:1x3x512x512:4x3x1024x1024
    edgeseg build model.onnx --precision fp16 --dla 0               # Jetson AGX Orin / Orin NX
    edgeseg build --unwrap old.engine                               # old headered file -> plan + sidecar

The engine is the raw TensorRT plan (``trtexec --loadEngine=model.engine`` and DeepStream load it);
what edgeseg needs to run it sits beside it in ``model.engine.meta.json``.

>>> import argparse
>>> p = argparse.ArgumentParser(prog="edgeseg build"); add_args(p)
>>> a = p.parse_args(["model.onnx", "--precision", "int8", "--workspace", "512M", "--shape", "1x3x64x64"])
>>> options_from_args(a)
{'precision': 'int8', 'shapes': '1x3x64x64', 'workspace': 536870912, 'dla_core': None, 'timing_cache': None, 'version_compatible': False, 'calib': None, 'fp16_converter': 'auto'}
"""

from __future__ import annotations

import argparse
import os
import sys

from ..backends.tensorrt.plan import PRECISIONS
from ..backends.tensorrt.shapes import parse_dynamic, parse_shape, parse_workspace
from ..errors import ConfigError
from ._common import output_dir, output_file

EXAMPLES = """examples:
  edgeseg build model.onnx --precision fp16 --out model.engine
  edgeseg build model.tensorrt.int8.onnx --precision int8      # Q/DQ model from edgeseg quantize
  edgeseg build model.onnx --dynamic 1x3x256x256:1x3x512x512:4x3x1024x1024
  edgeseg build model.onnx --precision fp16 --dla 0            # Jetson DLA, GPU fallback on
  edgeseg build model.onnx --deepstream    # + config_infer_model.txt, labels for DeepStream and segNet
  edgeseg build --unwrap old.engine        # an older edgeseg's engine (header + plan) -> plan + sidecar
output: model.engine, the raw TensorRT plan (trtexec --loadEngine=model.engine, DeepStream's model-engine-file),
  and model.engine.meta.json beside it (classes, normalisation, TensorRT version, GPU, sha256): keep them together
precisions (TensorRT 10: builder flags; TensorRT 11: strongly typed):
  fp32 | fp16 | int8 (needs a Q/DQ model: edgeseg quantize --target tensorrt) | best (fp16 + int8 if Q/DQ)
"""


def add_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("onnx", nargs="?",
                   help=".onnx written by edgeseg export or edgeseg quantize --target tensorrt")
    p.add_argument("--precision", default="fp16", choices=PRECISIONS,
                   help="fp32 | fp16 (default) | int8 (Q/DQ model) | best (fp16 + int8 where quantized)")
    p.add_argument("--out", type=output_file,
                   help="engine file to write (default: the ONNX's name with .engine); its sidecar goes beside it")
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
    p.add_argument("--unwrap", metavar="ENGINE",
                   help="instead of building, turn an engine with edgeseg's old header into the raw plan + "
                        "its .meta.json sidecar (in place, or at --out)")
    p.add_argument("--calib", metavar="FRAMES",
                   help="frames for TensorRT 11's fp16 range check: a calib.npz (edgeseg calibrate), an image "
                        "folder, a video or a data spec; nodes whose activations pass float16's range stay "
                        "float32 (without it no range check is made)")
    p.add_argument("--fp16-converter", choices=("auto", "autocast", "edgeseg"), default="auto",
                   help="TensorRT 11 fp16: ModelOpt AutoCast where it imports (auto), or edgeseg's to_float16")
    p.add_argument("--deepstream", nargs="?", const="", type=output_dir, metavar="DIR",
                   help="also write a DeepStream nvinfer config, its labels file and segNet labels/colors "
                        "beside the engine (or in DIR)")
    p.add_argument("--verbose", action="store_true", help="TensorRT's verbose log")
    p.add_argument("--no-progress", dest="progress", action="store_false", help="no progress bar")
    if p.epilog is None:
        p.epilog = EXAMPLES
        p.formatter_class = argparse.RawDescriptionHelpFormatter


_BUILD_ONLY = {"shape": "--shape", "dynamic": "--dynamic", "workspace": "--workspace", "dla": "--dla",
               "timing_cache": "--timing-cache", "version_compatible": "--version-compatible", "calib": "--calib"}


def _check_inputs(a: argparse.Namespace) -> None:
    """One of: an ONNX to build, or --unwrap ENGINE (then no build option)."""
    unwrap = getattr(a, "unwrap", None)
    if unwrap and a.onnx:
        raise ConfigError("give either an ONNX to build or --unwrap ENGINE, not both", got=f"{a.onnx} and --unwrap",
                          fix=f"edgeseg build {a.onnx}, or edgeseg build --unwrap {unwrap}")
    if not unwrap and not a.onnx:
        raise ConfigError("edgeseg build needs an ONNX file", expected="edgeseg build model.onnx",
                          got="no ONNX", fix="edgeseg build model.onnx, or edgeseg build --unwrap old.engine")
    given = [flag for name, flag in _BUILD_ONLY.items() if getattr(a, name, None) is not None
             and getattr(a, name) is not False]  # not `in (None, False)`: --dla 0 == False
    if unwrap and given:
        raise ConfigError(f"{', '.join(given)}: build options, which only apply when building from ONNX",
                          got=f"--unwrap {unwrap}",
                          fix="--unwrap keeps the engine as it was built; drop the options")


def options_from_args(a: argparse.Namespace) -> dict:
    """Validate the options before onnx or tensorrt is imported: a typo fails fast."""
    _check_inputs(a)
    shapes = None
    if a.shape:
        parse_shape(a.shape)
        shapes = a.shape
    if a.dynamic:
        parse_dynamic(a.dynamic)
        shapes = a.dynamic
    if a.dla is not None and a.dla < 0:
        raise ConfigError("the DLA core must be >= 0", got=a.dla, expected="--dla 0 or --dla 1")
    calib = getattr(a, "calib", None)
    if calib is not None:
        from ..backends.tensorrt.fp16 import check_calib  # no TensorRT: a missing file fails now
        check_calib(calib)
    return {"precision": a.precision, "shapes": shapes,
            "workspace": parse_workspace(a.workspace) if a.workspace else None,
            "dla_core": a.dla, "timing_cache": a.timing_cache, "version_compatible": a.version_compatible,
            "calib": calib, "fp16_converter": getattr(a, "fp16_converter", "auto")}


def _unwrap(a: argparse.Namespace) -> int:
    from ..backends.tensorrt.header import sidecar_path, unwrap_engine  # pure Python: no tensorrt, no onnx
    out = a.out or a.unwrap
    h, changed = unwrap_engine(a.unwrap, out)
    if not changed:
        print(f"{out}: already a raw TensorRT plan with its sidecar {sidecar_path(out)}; nothing to do")
        return 0
    print(f"{out}: raw TensorRT plan ({h.plan_size} bytes, TensorRT {h.tensorrt} on {h.gpu}) + "
          f"{sidecar_path(out)}; trtexec --loadEngine={out} loads it")
    return 0


def run(a: argparse.Namespace) -> int:
    o = options_from_args(a)
    if a.unwrap:
        return _unwrap(a)
    deepstream = _deepstream_plan(a) if a.deepstream is not None else None  # refuse misfits before the build
    from ..backends.tensorrt.builder import build_engine  # imports onnx here, tensorrt inside
    r = build_engine(a.onnx, a.out, verbose=a.verbose, progress=sys.stderr if a.progress else None,
                     log=print, **o)
    h, m = r.header, r.header.meta
    shapes = ", ".join(f"{n} {'x'.join(map(str, s['opt']))}" for n, s in h.shapes.items())
    path = os.fspath(r.path)
    print(f"{path}: {m.model}, {m.num_classes} classes, {h.precision} ({m.precision}), {shapes}, "
          f"TensorRT {h.tensorrt} on {h.gpu} (sm {h.compute_capability})")
    print(f"  raw TensorRT plan: trtexec --loadEngine={path}; edgeseg's meta beside it: {path}.meta.json")
    if deepstream is not None:
        from ..backends.tensorrt.deepstream import write_deepstream
        opt = tuple(next(iter(h.shapes.values()))["opt"]) if h.shapes else None
        paths = write_deepstream(path, m, a.onnx, a.deepstream or None, precision=h.precision, input_shape=opt,
                                 output_name=deepstream, log=print)
        print(f"  DeepStream: {paths['config']} (nvinfer config-file-path); segNet: {paths['labels']}, "
              f"{paths['colors']}")
    return 0


def _deepstream_plan(a: argparse.Namespace) -> str:
    """The output nvinfer reads (the meta's ``output_name``, else the graph's first), after checking
    the meta fits nvinfer (float input, scores out)."""
    from ..backends.onnx_file import load_onnx
    from ..backends.onnx_meta import get_onnx_meta
    from ..backends.tensorrt.deepstream import check_fits_nvinfer
    model = load_onnx(a.onnx, load_external_data=False)
    meta = get_onnx_meta(model, a.onnx)
    check_fits_nvinfer(meta, a.onnx)
    return meta.output_name or model.graph.output[0].name
