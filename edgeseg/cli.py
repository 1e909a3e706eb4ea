"""The ``edgeseg`` command: a thin argparse layer over the Python API.

Each subcommand is one row of ``COMMANDS`` (arguments + the function that runs it); heavy
modules are imported inside the run functions so ``edgeseg --help`` never imports torch.
User errors (:class:`EdgesegError`) print as a short message, never a traceback.
"""

from __future__ import annotations

import argparse
import json
import os
import sys

from . import __version__
from .errors import EdgesegError

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
data specs: synthetic | synthetic:N | folder:PATH | voc:PATH | cityscapes:PATH"""


def _floats(text: str) -> tuple[float, ...]:
    return tuple(float(x) for x in text.split(",") if x.strip())


# -- train -------------------------------------------------------------------------------------
def add_train(p: argparse.ArgumentParser) -> None:
    p.add_argument("--model", required=True, help="zoo name, see `edgeseg models`")
    p.add_argument("--data", default="synthetic", help="data spec (default: synthetic)")
    p.add_argument("--out", default="runs/train", help="folder for last.pt, best.pt, history.json")
    p.add_argument("--epochs", type=int, help="default 10")
    p.add_argument("--batch", type=int, help="images per step per process (default 8)")
    p.add_argument("--size", help="training crop HxW, e.g. 256x256 (default)")
    p.add_argument("--optimizer", choices=("sgd", "adamw"), help="default adamw")
    p.add_argument("--lr", type=float, help="base LR (default 2e-3 AdamW, 1e-2 SGD)")
    p.add_argument("--weight-decay", type=float)
    p.add_argument("--warmup-epochs", type=float, help="linear LR warm-up (default 0.5)")
    p.add_argument("--loss", choices=("ce", "dice", "ce+dice", "ohem", "ohem+dice"), help="default ce")
    p.add_argument("--class-weights", type=_floats, help="comma-separated, one per class")
    p.add_argument("--aux-weight", type=float, help="weight of the aux head's loss (default 0.4)")
    p.add_argument("--grad-clip", type=float, help="max grad norm, 0 disables (default 5)")
    p.add_argument("--amp", action="store_true", default=None, help="mixed precision (CUDA only)")
    p.add_argument("--device", help="auto | cpu | cuda | cuda:N (default auto)")
    p.add_argument("--workers", type=int, help="data loader processes (default 0)")
    p.add_argument("--seed", type=int)
    p.add_argument("--output-stride", type=int, choices=(8, 16, 32))
    p.add_argument("--aux", action=argparse.BooleanOptionalAction, default=None,
                   help="train with the auxiliary head where the model has one")
    p.add_argument("--pretrained", help="torchvision checkpoint name or local .pth path")
    p.add_argument("--bn-momentum", type=float, help="BatchNorm momentum (default 0.1)")
    p.add_argument("--channels-last", action=argparse.BooleanOptionalAction, default=None,
                   help="channels_last memory format (default on: ~1.5x faster CPU steps)")
    p.add_argument("--sync-bn", action="store_true", default=None, help="SyncBatchNorm under DDP")
    p.add_argument("--num-train", type=int, help="synthetic data: scenes to render for training")
    p.add_argument("--num-val", type=int, help="synthetic data: held-out scenes to render")
    p.add_argument("--val-every", type=int, help="validate every N epochs (default 1)")
    p.add_argument("--resume", help="continue exactly from a last.pt")
    p.add_argument("--max-minutes", type=float, help="stop after the epoch that passes this time")


def run_train(a: argparse.Namespace) -> int:
    from .train import TrainConfig, train
    names = ("model", "data", "out", "epochs", "batch", "size", "optimizer", "lr", "weight_decay",
             "warmup_epochs", "loss", "class_weights", "aux_weight", "grad_clip", "amp", "device",
             "workers", "seed", "output_stride", "aux", "pretrained", "bn_momentum", "channels_last",
             "sync_bn", "num_train", "num_val", "val_every", "resume", "max_minutes")
    kw = {n: getattr(a, n) for n in names if getattr(a, n) is not None}
    if kw.get("grad_clip") == 0:
        kw["grad_clip"] = None
    result = train(TrainConfig(**kw))
    print(f"best val mIoU {result.best_miou:.4f} -> {result.best_checkpoint}; "
          f"last -> {result.last_checkpoint} ({result.seconds / 60:.1f} min)")
    return 0


# -- eval --------------------------------------------------------------------------------------
def add_eval(p: argparse.ArgumentParser) -> None:
    p.add_argument("model", help="any model file: checkpoint (.pt), .onnx (FP32 or INT8), .engine")
    p.add_argument("--data", default="synthetic", help="data spec (default: synthetic)")
    p.add_argument("--split", default="val", help="split to score (default val)")
    p.add_argument("--num", type=int, help="synthetic data: number of scenes")
    p.add_argument("--batch", type=int, default=8, help="images per call (static-batch graphs: their batch)")
    p.add_argument("--scales", type=_floats, default=(1.0,),
                   help="test-time scales, e.g. 0.75,1,1.25 (default 1; ONNX needs --dynamic export)")
    p.add_argument("--flip", action="store_true", help="add horizontal-flip test-time augmentation")
    p.add_argument("--backend", default="auto", help="auto (from the file kind) | onnxruntime | tensorrt | torch")
    p.add_argument("--device", default="auto")
    p.add_argument("--json", help="also write the report as JSON here")


def run_eval(a: argparse.Namespace) -> int:
    from .backends import load_backend
    from .data import open_dataset
    from .evaluate import evaluate
    with load_backend(a.model, a.backend, device=a.device) as backend:
        meta = backend.meta
        kw = {"size": meta.input_size} if a.data.startswith("synthetic") else {}
        if a.num:
            kw["num"] = a.num
        data = open_dataset(a.data, split=a.split, **kw)
        static = backend.inputs[0].shape[0]
        batch = static if isinstance(static, int) and static > 0 else a.batch
        report = evaluate(backend, data, meta, batch=batch, scales=a.scales, flip=a.flip,
                          desc=f"eval {os.path.basename(a.model)}", progress_file=sys.stderr)
    print(f"{meta.model} ({meta.precision}, {backend.kind}) on {a.data} ({a.split}, {len(data)} images)")
    print(report.table())
    if a.json:
        from .utils.atomic import atomic_write_text
        atomic_write_text(a.json, json.dumps({"model": a.model, "backend": backend.kind, "data": a.data,
                                              "split": a.split, **report.to_dict()}, indent=2))
    return 0


# -- models ------------------------------------------------------------------------------------
def add_models(p: argparse.ArgumentParser) -> None:
    p.add_argument("--size", default="512x512", help="input HxW for GFLOPs (default 512x512)")
    p.add_argument("--classes", type=int, default=21, help="number of classes (default 21)")
    p.add_argument("--json", action="store_true", help="print JSON instead of a table")


def run_models(a: argparse.Namespace) -> int:
    from .models import list_models, model_info
    from .train.config import parse_size
    size = parse_size(a.size)
    rows = [{"name": n, **model_info(n, size=size, num_classes=a.classes)} for n in list_models()]
    if a.json:
        print(json.dumps(rows, indent=2))
        return 0
    w = max(len(r["name"]) for r in rows)
    print(f"{'model':<{w}}  {'params':>12}  {'GFLOPs@' + a.size:>14}")
    for r in rows:
        print(f"{r['name']:<{w}}  {r['params']:>12,}  {r['gflops']:>14.2f}")
    return 0


def _lazy(module: str, func: str):
    """A runner that imports its module only when the command runs."""
    def run(a: argparse.Namespace) -> int:
        import importlib
        return getattr(importlib.import_module(module, __package__), func)(a)
    return run


from . import compare_command as _compare_cmd  # noqa: E402  (argument definitions only)
from . import demo_command as _demo_cmd  # noqa: E402
from .bench import command as _bench_cmd  # noqa: E402
from .build import command as _build_cmd  # noqa: E402
from .export import command as _export_cmd  # noqa: E402
from .quantize import command as _quantize_cmd  # noqa: E402
from .runtime import command as _run_cmd  # noqa: E402

COMMANDS = {
    "demo": (_demo_cmd.add_args, _demo_cmd.run,
             "the whole pipeline on synthetic scenes in one command (< 10 min on 2 CPU cores)"),
    "train": (add_train, run_train, "train a zoo model on a data set"),
    "eval": (add_eval, run_eval, "score a model: mIoU, per-class IoU, accuracy, Dice"),
    "models": (add_models, run_models, "list the model zoo with parameters and GFLOPs"),
    "export": (_export_cmd.add_args, _export_cmd.run,
               "checkpoint -> one self-contained ONNX with meta, onnxsim, parity check"),
    "calibrate": (_quantize_cmd.add_calibrate_args, _lazy(".quantize.command", "run_calibrate"),
                  "collect a calibration set (frames at the model's input size) into an .npz"),
    "quantize": (_quantize_cmd.add_quantize_args, _lazy(".quantize.command", "run_quantize"),
                 "INT8 Q/DQ ONNX for TensorRT or ONNX Runtime CPU, inside an accuracy budget"),
    "build": (_build_cmd.add_args, _build_cmd.run,
              "ONNX -> TensorRT engine (fp32/fp16/int8, profiles, DLA, timing cache) with a header"),
    "run": (_run_cmd.add_args, _lazy(".runtime.command", "run"),
            "stream a video/camera/URI through a model into file/display/http/mask sinks"),
    "bench": (_bench_cmd.add_args, _bench_cmd.run,
              "latency per backend/precision/size with device info, JSON report, --compare devices"),
    "compare": (_compare_cmd.add_args, _compare_cmd.run,
                "compare two models/backends: argmax agreement, logit difference, mIoU of each"),
}


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="edgeseg", description="Lightweight semantic segmentation, from a labelled image set "
        "to a real-time camera pipeline.", epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--version", action="version", version=f"edgeseg {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name, (add, run, help_) in COMMANDS.items():
        p = sub.add_parser(name, help=help_, description=help_)
        add(p)
        p.set_defaults(_run=run)
    return parser


def main(argv=None) -> int:
    parser = build_parser()
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
