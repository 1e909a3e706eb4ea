"""``edgeseg eval``: score any model file on a data set (mIoU, per-class IoU, accuracy, Dice).

    edgeseg eval runs/train/best.pt --data synthetic
    edgeseg eval model.int8.onnx --data voc:/data/VOCdevkit --scales 0.75,1,1.25 --flip --json e.json

>>> import argparse
>>> p = argparse.ArgumentParser(prog="edgeseg eval"); add_args(p)
>>> a = p.parse_args(["model.onnx", "--scales", "0.75,1"])
>>> a.scales, a.batch, a.backend
((0.75, 1.0), 8, 'auto')
"""

from __future__ import annotations

import argparse
import json
import os
import sys

from ._common import data_spec, int_at_least, output_file, positive_floats


def add_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("model", help="any model file: checkpoint (.pt), .onnx (FP32 or INT8), .engine")
    p.add_argument("--data", default="synthetic", type=data_spec,
                   help="data spec: synthetic[:N] | folder:PATH | voc:PATH | cityscapes:PATH, or as a URI "
                        "(synthetic://?num=N, voc:///PATH?mask_dir=...) (default: synthetic)")
    p.add_argument("--split", default="val", help="split to score (default val)")
    p.add_argument("--num", type=int_at_least(1), help="synthetic data: number of scenes (>= 1)")
    p.add_argument("--batch", type=int_at_least(1), default=8,
                   help="images per call, >= 1 (static-batch graphs: their batch)")
    p.add_argument("--scales", type=positive_floats, default=(1.0,),
                   help="test-time scales, e.g. 0.75,1,1.25 (default 1; ONNX needs --dynamic export)")
    p.add_argument("--flip", action="store_true", help="add horizontal-flip test-time augmentation")
    p.add_argument("--backend", default="auto", help="auto (from the file kind) | onnxruntime | tensorrt | torch")
    p.add_argument("--device", default="auto")
    p.add_argument("--json", type=output_file, help="also write the report as JSON here (a file path)")


def run(a: argparse.Namespace) -> int:
    from ..backends import load_backend
    from ..data import open_dataset
    from ..data.spec import check_data_spec
    from ..errors import ConfigError
    from ..evaluate import evaluate
    from ..uri import parse_data_spec
    # Before the model loads (a TensorRT engine takes seconds): options that do not fit the data.
    if a.num is not None and parse_data_spec(a.data).scheme != "synthetic":
        raise ConfigError("--num applies to synthetic data only", expected="--data synthetic[:N]",
                          got=f"--num {a.num} with --data {a.data}", fix="drop --num")
    check_data_spec(a.data, num=a.num)
    with load_backend(a.model, a.backend, device=a.device) as backend:
        meta = backend.meta
        kw = {"size": meta.input_size} if parse_data_spec(a.data).scheme == "synthetic" else {}
        if a.num is not None:
            kw["num"] = a.num
        data = open_dataset(a.data, split=a.split, **kw)
        static = backend.inputs[0].shape[0]
        batch = static if isinstance(static, int) and static > 0 else a.batch
        report = evaluate(backend, data, meta, batch=batch, scales=a.scales, flip=a.flip,
                          desc=f"eval {os.path.basename(a.model)}", progress_file=sys.stderr)
    print(f"{meta.model} ({meta.precision}, {backend.kind}) on {a.data} ({a.split}, {len(data)} images)")
    print(report.table())
    if a.json:
        from ..utils.atomic import atomic_write_text
        atomic_write_text(a.json, json.dumps({"model": a.model, "backend": backend.kind, "data": a.data,
                                              "split": a.split, **report.to_dict()}, indent=2))
    return 0
