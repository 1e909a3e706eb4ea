"""``edgeseg export``: arguments and runner for the CLI (no torch/onnx import until it runs).

    edgeseg export runs/train/best.pt --size 512x512 --input uint8 --output labels --out model.onnx
    edgeseg export best.pt --dynamic            # batch, height, width symbolic
    edgeseg export best.pt --batch 4            # static batch of 4

>>> import argparse
>>> p = argparse.ArgumentParser(prog="edgeseg export"); add_args(p)
>>> a = p.parse_args(["best.pt", "--input", "uint8", "--size", "256x320"])
>>> o = options_from_args(a)
>>> o.size, o.input_dtype, o.color_order, o.layout, o.output_kind
((256, 320), 'uint8', 'BGR', 'NHWC', 'logits')
"""

from __future__ import annotations

import argparse

from ..backends.tensorrt.onnx_ops import TARGETS
from ..errors import ConfigError
from ..export.options import ExportOptions, batch_dynamic_conflict
from ._common import output_file

EXAMPLES = """examples:
  edgeseg export runs/train/best.pt --size 512x512 --out model.onnx
  edgeseg export best.pt --input uint8 --color bgr --output labels   # device only resizes
  edgeseg export best.pt --dynamic                                   # any batch and size
"""


def add_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("checkpoint", help="checkpoint (.pt) written by edgeseg train")
    p.add_argument("--out", type=output_file, default="model.onnx", help="ONNX file to write (default model.onnx)")
    p.add_argument("--size", help="graph input HxW, e.g. 512x512 (default: the checkpoint's size)")
    p.add_argument("--batch", type=int, help="static batch size (default 1); conflicts with --dynamic")
    p.add_argument("--dynamic", action="store_true", help="dynamic batch, height and width")
    p.add_argument("--opset", type=int, default=17, help="ONNX opset (default 17: TensorRT 8.5+)")
    p.add_argument("--input", default="float", metavar="float|uint8",
                   help="float: normalised NCHW float32 (default); uint8: NHWC frames, the graph "
                        "casts and normalises")
    p.add_argument("--color", metavar="bgr|rgb",
                   help="channel order of the graph input (default: bgr for --input uint8, as "
                        "OpenCV delivers frames; else the network's)")
    p.add_argument("--output", default="logits", metavar="logits|labels",
                   help="logits: N,C,H,W float32 (default); labels: N,H,W int32 class ids (ArgMax in graph)")
    p.add_argument("--tensorrt", default="8.5", metavar="8.5|10|none",
                   help="TensorRT whose ONNX parser must take the graph (default 8.5, JetPack 5.1); "
                        "none: only report unsupported ops")
    p.add_argument("--no-simplify", dest="simplify", action="store_false", help="skip onnxsim")
    p.add_argument("--no-parity", dest="parity", action="store_false",
                   help="skip the ONNX Runtime vs torch comparison")
    if p.epilog is None:
        p.epilog = EXAMPLES
        p.formatter_class = argparse.RawDescriptionHelpFormatter


def options_from_args(a: argparse.Namespace) -> ExportOptions:
    """Validate the options before torch is imported: a typo fails fast."""
    if a.batch is not None and a.dynamic:
        raise batch_dynamic_conflict(a.batch)
    return ExportOptions(size=a.size, batch=1 if a.batch is None else a.batch, dynamic=a.dynamic,
                         opset=a.opset, input_dtype=a.input, color_order=a.color, output_kind=a.output)


def run(a: argparse.Namespace) -> int:
    o = options_from_args(a)
    tensorrt = None if str(a.tensorrt).lower() == "none" else a.tensorrt
    if tensorrt is not None and tensorrt not in TARGETS:
        raise ConfigError("unknown --tensorrt", expected=" | ".join(TARGETS) + " | none", got=a.tensorrt)
    from ..export.exporter import export_onnx  # imports torch and onnx
    r = export_onnx(a.checkpoint, a.out, size=o.size, batch=o.batch, dynamic=o.dynamic, opset=o.opset,
                    input_dtype=o.input_dtype, color_order=o.color_order, output_kind=o.output_kind,
                    simplify=a.simplify, parity=a.parity, tensorrt=tensorrt, log=print)
    m = r.meta
    print(f"{r.path}: {m.model}, {m.num_classes} classes, input {m.input_dtype} {m.layout} {m.color_order} "
          f"{m.input_size[0]}x{m.input_size[1]}, output {m.output_kind}, opset {r.opset}"
          + ("" if r.simplified else " (not simplified)"))
    return 0
