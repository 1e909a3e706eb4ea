"""``edgeseg train``: a zoo model on a data set (torch is imported when it runs).

    edgeseg train --model lraspp_mobilenet_v3_small --data synthetic --size 256x256 --epochs 9
    torchrun --nproc_per_node 2 -m edgeseg train --model deeplabv3_mobilenet_v3_large --data voc:/data/VOC

>>> import argparse
>>> p = argparse.ArgumentParser(prog="edgeseg train"); add_args(p)
>>> a = p.parse_args(["--model", "m", "--class-weights", "1,2.5", "--no-aux"])
>>> a.class_weights, a.aux, a.epochs, a.data, a.out
((1.0, 2.5), False, None, None, None)
"""

from __future__ import annotations

import argparse

from .. import uri
from ..errors import ConfigError
from ._common import data_spec, int_at_least, nonnegative_float, output_dir, positive_float, unit_interval


def _size(text: str) -> tuple[int, int]:
    try:
        return uri.parse_size(text, what="training size (--size)", example="512x256")
    except ConfigError as exc:
        raise argparse.ArgumentTypeError(f"expected {exc.expected or 'HxW, e.g. 512x256'}, got {text!r}") from None


def _class_weights(text: str) -> tuple[float, ...]:
    try:
        values = tuple(nonnegative_float(x.strip()) for x in text.split(",") if x.strip())
    except argparse.ArgumentTypeError:
        values = ()
    if not any(values):
        raise argparse.ArgumentTypeError(f"expected comma-separated finite numbers >= 0, one per class, "
                                         f"at least one > 0, got {text!r}")
    return values


def add_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--model", required=True, help="zoo name, see `edgeseg models`")
    # No option has an argparse default: run() passes only what was typed, so --resume can tell a
    # flag from a default and take every other setting from the checkpoint.
    p.add_argument("--data", type=data_spec,
                   help="data spec: synthetic | folder:PATH | voc:PATH | cityscapes:PATH, or as a URI "
                        "(folder:///PATH?num_classes=N, voc:///PATH?mask_dir=...) (default: synthetic)")
    p.add_argument("--out", type=output_dir,
                   help="folder for last.pt, best.pt, history.json (default runs/train; with --resume, "
                        "the checkpoint's folder)")
    p.add_argument("--epochs", type=int_at_least(1),
                   help="default 10; with --resume, the checkpoint's planned total (more extends the run)")
    p.add_argument("--batch", type=int_at_least(1), help="images per step per process (default 8)")
    p.add_argument("--size", type=_size, help="training crop HxW, e.g. 256x256 (default)")
    p.add_argument("--optimizer", choices=("sgd", "adamw"), help="default adamw")
    p.add_argument("--lr", type=positive_float, help="base LR (default 2e-3 AdamW, 1e-2 SGD)")
    p.add_argument("--weight-decay", type=nonnegative_float, help="default 1e-2 AdamW, 1e-4 SGD")
    p.add_argument("--warmup-epochs", type=nonnegative_float, help="linear LR warm-up (default 0.5)")
    p.add_argument("--loss", choices=("ce", "dice", "ce+dice", "ohem", "ohem+dice"), help="default ce")
    p.add_argument("--class-weights", type=_class_weights, help="comma-separated, one per class")
    p.add_argument("--aux-weight", type=nonnegative_float, help="weight of the aux head's loss (default 0.4)")
    p.add_argument("--grad-clip", type=nonnegative_float, help="max grad norm, 0 disables (default 5)")
    p.add_argument("--amp", action="store_true", default=None, help="mixed precision (CUDA only)")
    p.add_argument("--device", help="auto | cpu | cuda | cuda:N (default auto)")
    p.add_argument("--workers", type=int_at_least(0), help="data loader processes (default 0)")
    p.add_argument("--seed", type=int_at_least(0))
    p.add_argument("--output-stride", type=int, choices=(8, 16, 32))
    p.add_argument("--aux", action=argparse.BooleanOptionalAction, default=None,
                   help="train with the auxiliary head where the model has one")
    p.add_argument("--pretrained", help="torchvision checkpoint name or local .pth path")
    p.add_argument("--bn-momentum", type=unit_interval, help="BatchNorm momentum in [0, 1] (default 0.1)")
    p.add_argument("--channels-last", action=argparse.BooleanOptionalAction, default=None,
                   help="channels_last memory format (default on: ~1.5x faster CPU steps)")
    p.add_argument("--sync-bn", action="store_true", default=None, help="SyncBatchNorm under DDP")
    p.add_argument("--num-train", type=int_at_least(1), help="synthetic data: scenes to render for training")
    p.add_argument("--num-val", type=int_at_least(1), help="synthetic data: held-out scenes to render")
    p.add_argument("--val-every", type=int_at_least(1), help="validate every N epochs (default 1)")
    p.add_argument("--resume", help="continue exactly from a last.pt, with its settings: a flag that would "
                                    "change them is refused; --epochs, --out, --val-every, --workers, --device, "
                                    "--max-minutes and --channels-last may be given")
    p.add_argument("--max-minutes", type=positive_float, help="stop after the epoch that passes this time")


def run(a: argparse.Namespace) -> int:
    from ..train import TrainConfig, train
    names = ("model", "data", "out", "epochs", "batch", "size", "optimizer", "lr", "weight_decay",
             "warmup_epochs", "loss", "class_weights", "aux_weight", "grad_clip", "amp", "device",
             "workers", "seed", "output_stride", "aux", "pretrained", "bn_momentum", "channels_last",
             "sync_bn", "num_train", "num_val", "val_every", "resume", "max_minutes")
    kw = {n: getattr(a, n) for n in names if getattr(a, n) is not None}  # TrainConfig.given: only what was typed
    if kw.get("grad_clip") == 0:
        kw["grad_clip"] = None
    result = train(TrainConfig(**kw))
    print(f"best val mIoU {result.best_miou:.4f} -> {result.best_checkpoint}; "
          f"last -> {result.last_checkpoint} ({result.seconds / 60:.1f} min)")
    return 0
