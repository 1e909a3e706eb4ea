"""Arguments and runner of ``edgeseg compare A B`` (imports the comparison on run).

Exit status: 0 when the argmax agreement reaches ``--min-agreement``, 1 when it does not (so a
CI job or a deployment script can gate an INT8 model or a TensorRT engine on it).
"""

from __future__ import annotations

import argparse
import json
import sys

from ._common import data_spec, int_at_least, output_file, unit_interval
from ._meta_args import add_meta_args, meta_from_args, meta_json

EXAMPLES = """examples:
  edgeseg compare model.onnx model.tensorrt.int8.onnx --data synthetic --num 32
  edgeseg compare model.onnx model.onnx --backend-b tensorrt       (ONNX Runtime vs TensorRT)
  edgeseg compare runs/train/best.pt model.engine --images frames/ --min-agreement 0.98
  edgeseg compare deeplabv3.onnx deeplabv3.cpu.int8.onnx --classes voc --output out
      (the meta options describe A; B here carries the meta quantize wrote)
  edgeseg compare model.onnx trtexec.plan --meta-b model.onnx.meta.json
      (B without edgeseg's meta: --meta-b FILE)"""


def add_args(p: argparse.ArgumentParser) -> None:
    p.formatter_class = argparse.RawDescriptionHelpFormatter
    p.epilog = EXAMPLES
    p.add_argument("a", help="reference model: .onnx, .engine/.plan or .pt checkpoint")
    p.add_argument("b", help="model to check against it (any kind)")
    src = p.add_mutually_exclusive_group()
    src.add_argument("--data", type=data_spec, help="data spec, with masks for mIoU: synthetic | synthetic:N | folder:PATH | "
                                    "voc:PATH | cityscapes:PATH, or as a URI (synthetic://?num=N, "
                                    "folder:///PATH) (default: synthetic)")
    src.add_argument("--images", metavar="DIR", help="a folder of images instead (no masks: no mIoU)")
    p.add_argument("--split", default="val", help="data set split (default val)")
    p.add_argument("--num", type=int_at_least(1), help="compare the first N inputs (default: all; synthetic: 32)")
    p.add_argument("--backend-a", default="auto", help="backend for A: auto (by suffix) | onnxruntime | tensorrt | torch")
    p.add_argument("--backend-b", default="auto", help="backend for B (e.g. tensorrt for the same .onnx)")
    p.add_argument("--device", default="auto", help="auto | cpu | cuda | cuda:N (for both models)")
    p.add_argument("--threads", type=int_at_least(1), help="CPU threads for ONNX Runtime / torch")
    p.add_argument("--min-agreement", type=unit_interval, default=0.99,
                   help="exit 1 when argmax agreement is below this fraction (default 0.99)")
    p.add_argument("--json", type=output_file, help="also write the report as JSON here")
    g = add_meta_args(p, title="model meta of A (for a model without edgeseg's meta, or to override the file's)")
    g.add_argument("--meta-b", metavar="FILE", type=meta_json,
                   help="a meta JSON for B (e.g. a trtexec plan's); the options above apply to A only")


def run(a: argparse.Namespace) -> int:
    from ..compare import compare_models
    if not 0.0 <= a.min_agreement <= 1.0:
        from ..errors import ConfigError
        raise ConfigError("--min-agreement is a fraction", expected="0..1, e.g. 0.99", got=a.min_agreement)
    data = a.data if a.data or a.images else "synthetic"
    meta_a = meta_from_args(a, a.a)                                    # None: A's own meta
    meta_b = meta_from_args(argparse.Namespace(meta=a.meta_b), a.b)   # checked against B's graph; None: its own
    report = compare_models(a.a, a.b, data if a.images is None else None, images=a.images,
                            backend_a=a.backend_a, backend_b=a.backend_b, device=a.device,
                            threads=a.threads, num=a.num, split=a.split, meta_a=meta_a, meta_b=meta_b)
    print(report.table())
    if a.json:
        from ..utils.atomic import atomic_write_text
        atomic_write_text(a.json, json.dumps({"min_agreement": a.min_agreement,
                                              "passed": report.passed(a.min_agreement),
                                              **report.to_dict()}, indent=2))
    if not report.passed(a.min_agreement):
        print(f"edgeseg compare: argmax agreement {100 * report.agreement:.2f} % is below "
              f"--min-agreement {100 * a.min_agreement:.2f} %", file=sys.stderr)
        return 1
    return 0
