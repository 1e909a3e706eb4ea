"""``edgeseg bench``: arguments and runner for the CLI (nothing heavy imported until it runs).

    edgeseg bench model.onnx --precisions fp32,int8 --runs 100 --data synthetic:100
    edgeseg bench model.onnx best.pt --backends ort,trt,torch --sizes 512x256,1024x512 --batch 1,4
    edgeseg bench model.onnx --stream clip.mp4 --plot
    edgeseg bench --compare results/orin-2026-11-21.json results/vm-2026-11-21.json
    edgeseg bench end2end.onnx --classes ade20k --mean 123.675,116.28,103.53 --std 58.395,57.12,57.375

>>> import argparse
>>> p = argparse.ArgumentParser(prog="edgeseg bench"); add_args(p)
>>> c = config_from_args(p.parse_args(["m.onnx", "--backends", "ort,trt", "--sizes", "64x96", "--batch", "1,4"]))
>>> c.backends, c.sizes, c.batches
(('onnxruntime', 'tensorrt'), ((64, 96),), (1, 4))
"""

from __future__ import annotations

import argparse
import sys

from ..errors import ConfigError
from ..uri import parse_size
from ._common import data_spec, int_at_least, output_file
from ._meta_args import add_meta_args, meta_from_args


def _list(text: str) -> tuple:
    return tuple(x.strip() for x in text.split(",") if x.strip())


def _size(text: str) -> tuple:
    return parse_size(text, what="--sizes entry", example="512x256")


def add_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("models", nargs="*", metavar="MODEL", help=".onnx / .engine / .pt files")
    p.add_argument("--backends", help="comma list of ort, trt, torch (default: by file kind)")
    p.add_argument("--precisions", default="", help="comma list of fp32, fp16, int8 (default: each file "
                   "at its own precision, e.g. an INT8 .onnx as INT8); "
                   "int8 of an FP32 .onnx is quantized on the fly (cpu target, synthetic calibration)")
    p.add_argument("--sizes", help="comma list of HxW (default: each model's own); others need --dynamic models")
    p.add_argument("--batch", default="1", help="comma list of batch sizes (default 1)")
    p.add_argument("--runs", type=int_at_least(1), default=50, help="timed runs per variant (default 50)")
    p.add_argument("--warmup", type=int_at_least(0), default=5, help="untimed runs first (default 5)")
    p.add_argument("--threads", type=int_at_least(1), help="CPU threads for ONNX Runtime / torch")
    p.add_argument("--data", type=data_spec, help="data spec to score mIoU on, e.g. synthetic:100 or synthetic://?num=100")
    p.add_argument("--stream", metavar="VIDEO", help="also stream this video: end-to-end FPS per stage")
    p.add_argument("--plot", action="store_true", help="write PNG charts beside the JSON")
    p.add_argument("--out", type=output_file, help="JSON path (default benchmarks/results/<device>-<date>.json)")
    p.add_argument("--compare", nargs="+", metavar="JSON", help="merge result files into one table")
    add_meta_args(p, title="model meta (applies to every .onnx/.engine MODEL, each checked against its own graph; "
                           "for models without edgeseg's meta, or to override it)")


def config_from_args(a: argparse.Namespace):
    from ..bench.runner import BenchConfig
    from ..uri import model_kind
    # One meta per model, each built over its own file's meta and graph; a checkpoint keeps its own.
    metas = {m: meta for m in a.models if model_kind(m) in ("onnx", "engine")
             and (meta := meta_from_args(a, m)) is not None}
    return BenchConfig(models=tuple(a.models), backends=_list(a.backends) if a.backends else (),
                       precisions=_list(a.precisions), sizes=tuple(_size(s) for s in _list(a.sizes or "")),
                       batches=tuple(int(b) for b in _list(a.batch)), runs=a.runs, warmup=a.warmup,
                       threads=a.threads, data=a.data, stream=a.stream, meta=metas or None)


def run(a: argparse.Namespace) -> int:
    from ..bench.report import compare_table, read_document
    if a.compare:
        if a.models:
            raise ConfigError("--compare conflicts with MODEL arguments", got=" ".join(a.models),
                              fix="run the benchmark and the comparison as two commands")
        print(compare_table([read_document(p) for p in a.compare]))
        return 0
    from ..bench.api import bench
    return bench(config_from_args(a), out=a.out, plot=a.plot,
                 command=" ".join(["edgeseg", "bench", *sys.argv[2:]]))
