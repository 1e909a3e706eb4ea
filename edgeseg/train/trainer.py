"""The trainer: AdamW/SGD, poly LR with warm-up, AMP on CUDA, gradient clipping, DDP through
torchrun, atomic checkpoints every epoch plus the best by val mIoU, exact resume (:mod:`.resume`).
A run whose loss, weights or outputs turn NaN/inf stops without saving them (:class:`TrainingDiverged`).

>>> from edgeseg.train import TrainConfig, Trainer
>>> cfg = TrainConfig(model="lraspp_mobilenet_v3_small", data="synthetic", epochs=1, batch=2,
...                   size=(64, 64), num_train=4, num_val=2, out="/tmp/edgeseg-doctest")
>>> result = Trainer(cfg, log=lambda *a: None, progress_file=None).fit()
>>> result.last_checkpoint.endswith("last.pt")
True
"""

from __future__ import annotations

import json
import os
import time
from dataclasses import dataclass, field

import torch

from ..data import open_dataset
from ..data.augment import train_augment
from ..errors import ConfigError, EdgesegError
from ..evaluate import confusion
from ..meta import ModelMeta
from ..models import build_model
from ..models.registry import model_spec
from ..utils.atomic import atomic_write_text
from ..utils.progress import Progress, STDERR, format_seconds
from .checkpoint import build_from_checkpoint, nonfinite, rng_state, save_checkpoint
from .config import TrainConfig
from .datasets import MaterializedDataset, TorchSegDataset, epoch_indices, make_loader
from .distributed import DistContext
from .losses import build_loss
from .predictor import TorchPredictor
from .resume import check_classes, open_resume, restore
from .schedule import poly_warmup


class TrainingDiverged(EdgesegError):
    """The loss, the weights or the outputs became NaN or infinite. Nothing non-finite is saved;
    ``kept`` is the path of the last good checkpoint (None when there is none)."""

    kept: str | None = None


@dataclass
class TrainResult:
    best_miou: float
    best_checkpoint: str | None
    last_checkpoint: str
    epochs_run: int
    seconds: float
    history: list = field(default_factory=list)


def resolve_device(name: str) -> torch.device:
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    dev = torch.device(name)
    if dev.type == "cuda" and not torch.cuda.is_available():
        raise ConfigError("--device cuda asked for, but torch sees no CUDA device",
                          got=f"torch {torch.__version__}, cuda available: False",
                          fix="use --device cpu, or install a CUDA build of torch")
    return dev


def _param_groups(model: torch.nn.Module, weight_decay: float):
    """No weight decay on norms and biases: decaying them only hurts (standard practice)."""
    decay, no_decay = [], []
    for p in model.parameters():
        if p.requires_grad:
            (no_decay if p.ndim <= 1 else decay).append(p)
    return [{"params": decay, "weight_decay": weight_decay}, {"params": no_decay, "weight_decay": 0.0}]


class Trainer:
    """Trains ``config.model`` on ``config.data``; ``fit()`` returns a :class:`TrainResult`.

    ``train_data``/``val_data`` override the data spec with any numpy reader (tests use this).
    """

    def __init__(self, config: TrainConfig, *, train_data=None, val_data=None, log=print,
                 progress_file=STDERR):
        self.cfg = config
        self.dist = DistContext.from_env()
        self.device = resolve_device(config.device)
        if self.device.type == "cuda" and self.dist.enabled:
            torch.cuda.set_device(self.dist.local_rank)
            self.device = torch.device("cuda", self.dist.local_rank)
        if config.amp and self.device.type != "cuda":
            raise ConfigError("--amp conflicts with a CPU device", got=str(self.device),
                              fix="drop --amp, or train on a CUDA device")
        self.log = log if self.dist.is_main else (lambda *a, **k: None)
        self.progress_file = progress_file if self.dist.is_main else None
        self._train_data, self._val_data = train_data, val_data

    # -- setup -------------------------------------------------------------------------------
    def _data(self, check_classes=None):
        """The train and val readers; ``check_classes(classes)`` runs before scenes are rendered."""
        cfg = self.cfg
        kw = {"size": cfg.size} if cfg.data.split(":")[0] == "synthetic" else {}
        train, val = self._train_data, self._val_data  # a reader of no samples is still a reader
        if train is None:
            train = open_dataset(cfg.data, split="train",
                                 **(kw if cfg.num_train is None else {**kw, "num": cfg.num_train}))
        if val is None:
            val = open_dataset(cfg.data, split="val", **(kw if cfg.num_val is None else {**kw, "num": cfg.num_val}))
        if check_classes is not None:
            check_classes(train.classes)
        if cfg.data.startswith("synthetic") and self._train_data is None:
            train = MaterializedDataset(train, "render train scenes", self.progress_file)
            val = MaterializedDataset(val, "render val scenes", self.progress_file)
        if len(train) < cfg.batch * self.dist.world_size:
            raise ConfigError("fewer training images than one batch on every process",
                              expected=f">= {cfg.batch * self.dist.world_size}", got=len(train),
                              fix="lower --batch or add data")
        return train, val

    def _model_args(self) -> dict:
        args = {"bn_momentum": self.cfg.bn_momentum}
        if self.cfg.output_stride is not None:
            args["output_stride"] = self.cfg.output_stride
        if self.cfg.aux is not None:
            args["aux"] = self.cfg.aux
        return args

    # -- the loop ----------------------------------------------------------------------------
    def fit(self) -> TrainResult:
        cfg, dev = self.cfg, self.device
        torch.manual_seed(cfg.seed)
        self.dist.init(dev)
        try:
            return self._fit(cfg, dev)
        finally:
            self.dist.close()

    def _fit(self, cfg: TrainConfig, dev: torch.device) -> TrainResult:
        t_start = time.perf_counter()
        spec = model_spec(cfg.model)  # an unknown --model fails here, before any data is rendered
        ck = None
        if cfg.resume is not None:
            ck, cfg = open_resume(cfg, spec.default_output_stride)
            self.cfg = cfg
        train, val = self._data(None if ck is None else
                                (lambda classes: check_classes(ck, classes, cfg.data, cfg.resume)))
        meta = ModelMeta(model=cfg.model, classes=train.classes, palette=train.palette,
                         input_size=cfg.size,
                         provenance={"data": cfg.data, "epochs": cfg.epochs, "seed": cfg.seed,
                                     "trainer": "edgeseg train", "optimizer": cfg.optimizer})
        model = build_model(cfg.model, num_classes=meta.num_classes, **self._model_args())
        if cfg.pretrained is not None:
            from ..models import load_pretrained
            load_pretrained(model, cfg.pretrained)
        if cfg.sync_bn and self.dist.enabled:
            model = torch.nn.SyncBatchNorm.convert_sync_batchnorm(model)
        mf = torch.channels_last if cfg.channels_last else torch.contiguous_format
        model = model.to(dev, memory_format=mf)
        net = (torch.nn.parallel.DistributedDataParallel(
            model, device_ids=[dev.index] if dev.type == "cuda" else None) if self.dist.enabled else model)

        ds = TorchSegDataset(train, meta, train_augment(cfg.size), seed=cfg.seed)
        steps = len(epoch_indices(len(train), 0, cfg.seed, self.dist.rank, self.dist.world_size)) // cfg.batch
        total = steps * cfg.epochs
        groups = _param_groups(model, cfg.effective_weight_decay)
        opt = (torch.optim.SGD(groups, lr=cfg.effective_lr, momentum=cfg.momentum)
               if cfg.optimizer == "sgd" else torch.optim.AdamW(groups, lr=cfg.effective_lr))
        lr_factor = poly_warmup(total, int(cfg.warmup_epochs * steps), cfg.poly_power)
        sched = torch.optim.lr_scheduler.LambdaLR(opt, lr_factor)
        scaler = torch.amp.GradScaler("cuda", enabled=cfg.amp)
        loss_fn = build_loss(cfg.loss, meta.num_classes, ignore_index=meta.ignore_index,
                             class_weights=cfg.class_weights, aux_weight=cfg.aux_weight,
                             ohem_thresh=cfg.ohem_thresh, ohem_min_kept=cfg.ohem_min_kept).to(dev)

        start_epoch, best, history = 0, -1.0, []
        os.makedirs(cfg.out, exist_ok=True)
        last_path, best_path = os.path.join(cfg.out, "last.pt"), os.path.join(cfg.out, "best.pt")
        good = None  # (path, epoch) of the newest checkpoint known to hold usable weights
        if ck is not None:
            start_epoch, best, history = restore(ck, cfg.resume, model, opt, sched, scaler, lr_factor)
            good, ck = (cfg.resume, start_epoch), None
            self.log(f"resumed from {cfg.resume} at epoch {start_epoch} of {cfg.epochs}, best mIoU {best:.4f}, "
                     f"with the checkpoint's settings; writing to {cfg.out}")

        # printed from the optimiser itself: after a resume these are the checkpoint's values
        group = opt.param_groups[0]
        momentum = f" momentum {group['momentum']:g}" if "momentum" in group else ""
        self.log(f"training {cfg.model} ({sum(p.numel() for p in model.parameters()):,} params) on "
                 f"{cfg.data}: {len(train)} train / {len(val)} val images at {cfg.size[0]}x{cfg.size[1]}, "
                 f"{cfg.epochs} epochs x {steps} steps, batch {cfg.batch} x {self.dist.world_size} process(es), "
                 f"{cfg.optimizer} lr {sched.base_lrs[0]:g} weight decay {group['weight_decay']:g}{momentum}, "
                 f"warm-up {cfg.warmup_epochs:g} epochs, loss {cfg.loss}, seed {cfg.seed}, device {dev}")
        bar = Progress(total, "train", file=self.progress_file, unit="step", initial=start_epoch * steps)
        epoch = start_epoch
        ckpt_state = lambda e: {  # noqa: E731
            "model": model.state_dict(), "optimizer": opt.state_dict(),
            "scheduler": sched.state_dict(), "scaler": scaler.state_dict(), "epoch": e,
            "best_miou": best, "history": history, "rng": rng_state(), "meta": meta.to_dict(),
            "model_args": self._model_args(), "config": cfg.to_dict()}
        try:
            for epoch in range(start_epoch, cfg.epochs):
                ds.set_epoch(epoch)
                net.train()
                idx = epoch_indices(len(train), epoch, cfg.seed, self.dist.rank, self.dist.world_size)
                loss_sum, n, probe = 0.0, 0, None
                for x, y in make_loader(ds, idx, cfg.batch, cfg.workers):
                    x = x.to(dev, non_blocking=True).contiguous(memory_format=mf)
                    y = y.to(dev, non_blocking=True)
                    with torch.autocast(dev.type, enabled=cfg.amp):
                        loss = loss_fn(net(x), y)
                    if not torch.isfinite(loss):
                        bad = float(loss.detach())
                        raise self._diverged(f"the loss became {bad} at epoch {epoch + 1}, step {n + 1}",
                                             "a finite loss", f"{bad} (lr {opt.param_groups[0]['lr']:.3g})",
                                             good, last_path)
                    opt.zero_grad(set_to_none=True)
                    scaler.scale(loss).backward()
                    if cfg.grad_clip is not None and cfg.grad_clip > 0:  # 0 turns clipping off
                        scaler.unscale_(opt)
                        torch.nn.utils.clip_grad_norm_(model.parameters(), cfg.grad_clip)
                    scaler.step(opt)
                    scaler.update()
                    sched.step()
                    loss_sum, n, probe = loss_sum + float(loss.detach()), n + 1, x[:1]
                    bar.update(1, epoch=f"{epoch + 1}/{cfg.epochs}", loss=loss_sum / n,
                               lr=sched.get_last_lr()[0])
                problem = _divergence(model, opt, probe)
                if problem is not None:
                    raise self._diverged(f"{problem[0]} in epoch {epoch + 1}",
                                         "finite weights, optimizer state and outputs",
                                         f"{problem[1]} (lr {opt.param_groups[0]['lr']:.3g})", good, last_path)
                record = {"epoch": epoch + 1, "loss": loss_sum / max(1, n),
                          "seconds": time.perf_counter() - t_start}
                if (epoch + 1) % cfg.val_every == 0 or epoch + 1 == cfg.epochs:
                    report = self._validate(model, val, meta)
                    record.update(val_miou=report.miou, val_pixel_acc=report.pixel_acc,
                                  val_pixels=report.pixels,
                                  val_iou=dict(zip(meta.classes, report.iou)))
                    improved = report.miou > best
                    best = max(best, report.miou)
                    self.log(f"\nepoch {epoch + 1}/{cfg.epochs}: loss {record['loss']:.4f} "
                             f"val mIoU {report.miou:.4f} (best {best:.4f}) "
                             f"elapsed {format_seconds(record['seconds'])}")
                else:
                    improved = False
                if self.dist.enabled:
                    record["replicas_in_sync"] = self._replicas_in_sync(model)
                history.append(record)
                if self.dist.is_main:
                    save_checkpoint(last_path, ckpt_state(epoch + 1))
                    if improved:
                        save_checkpoint(best_path, ckpt_state(epoch + 1))
                    atomic_write_text(os.path.join(cfg.out, "history.json"), json.dumps(history, indent=2))
                good = (last_path, epoch + 1)
                self.dist.barrier()
                if cfg.max_minutes is not None and time.perf_counter() - t_start > cfg.max_minutes * 60 \
                        and epoch + 1 < cfg.epochs:
                    self.log(f"stopping after epoch {epoch + 1}: --max-minutes {cfg.max_minutes} reached")
                    epoch += 1
                    break
            else:
                epoch = cfg.epochs
        finally:
            bar.close()
        return TrainResult(best_miou=best, best_checkpoint=best_path if os.path.exists(best_path) else None,
                           last_checkpoint=last_path, epochs_run=epoch - start_epoch,
                           seconds=time.perf_counter() - t_start, history=history)

    def _diverged(self, what: str, expected: str, got: str, good, last_path: str) -> TrainingDiverged:
        """The error for a diverged run; its fix names the checkpoint that is really still good."""
        if good is not None:
            kept = f"the last good checkpoint is kept at {good[0]} (epoch {good[1]})"
        else:
            kept = "no checkpoint was written: no epoch of this run ended with usable weights"
            if os.path.exists(last_path):
                kept += f" ({last_path} is from an earlier run and was left as it was)"
        new_run = " in a new run (--resume keeps the checkpoint's)" if self.cfg.resume else ""
        err = TrainingDiverged(what, expected=expected, got=got,
                               fix=f"{kept}; lower --lr{new_run}, keep --grad-clip on, or check the data "
                                   "for bad masks")
        err.kept = good[0] if good is not None else None
        return err

    def _replicas_in_sync(self, model) -> bool:
        """DDP keeps every replica's weights equal; a cheap checksum proves it each epoch."""
        with torch.no_grad():
            s = torch.stack([p.detach().double().sum() for p in model.parameters()]).sum().cpu()
        lo, hi = s.clone(), s.clone()
        torch.distributed.all_reduce(lo, op=torch.distributed.ReduceOp.MIN)
        torch.distributed.all_reduce(hi, op=torch.distributed.ReduceOp.MAX)
        return bool(lo == hi)

    def _validate(self, model, val, meta: ModelMeta):
        """Each process scores its share of the val set; the confusion matrices are summed."""
        n = len(val)
        share = list(range(self.dist.rank, n, self.dist.world_size))
        predict = TorchPredictor(model, self.device, self.cfg.channels_last)
        cm = confusion(predict, val, meta, batch=max(1, self.cfg.batch), indices=share,
                       desc="val", progress_file=None)
        m = torch.from_numpy(cm.matrix)
        self.dist.all_reduce_(m)
        cm.matrix = m.numpy()
        return cm.report(meta.classes)


def _divergence(model: torch.nn.Module, opt, probe) -> tuple[str, str] | None:
    """Why the state after an epoch must not be saved, or None. Weights can stay finite yet be so
    large that the eval-mode network outputs NaN (one step at --lr 1e6 does it), so one eval
    forward of the epoch's last crop is checked as well as every weight, buffer and optimizer state."""
    bad = nonfinite({"model": model.state_dict(), "optimizer": opt.state_dict()["state"]})
    if bad:
        return "the weights became non-finite", f"{len(bad)} tensor(s) with NaN or inf: {', '.join(bad[:3])}"
    if probe is None:
        return None
    was_training = model.training
    model.eval()
    try:
        with torch.no_grad():
            out = model(probe)
    finally:
        model.train(was_training)
    out = out["out"] if isinstance(out, dict) else out
    if bool(torch.isfinite(out).all()):
        return None
    largest = max(float(p.detach().abs().max()) for p in model.parameters())
    return ("the model's outputs became non-finite",
            f"NaN/inf logits in eval mode from finite weights (largest |weight| {largest:.3g})")


def train(config: TrainConfig, **kw) -> TrainResult:
    """Functional form: ``train(TrainConfig(model=..., data="synthetic"))``."""
    return Trainer(config, **kw).fit()


__all__ = ["Trainer", "TrainResult", "TrainingDiverged", "train", "resolve_device",
           "build_from_checkpoint"]
