"""The trainer: AdamW/SGD, poly LR with warm-up, AMP on CUDA, gradient clipping, DDP through
torchrun, atomic checkpoints every epoch plus the best by val mIoU, exact resume.

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
from ..utils.atomic import atomic_write_text
from ..utils.progress import Progress, STDERR, format_seconds
from .checkpoint import build_from_checkpoint, load_checkpoint, rng_state, save_checkpoint, set_rng_state
from .config import TrainConfig
from .datasets import MaterializedDataset, TorchSegDataset, epoch_indices, make_loader
from .distributed import DistContext
from .losses import build_loss
from .predictor import TorchPredictor
from .schedule import poly_warmup


class TrainingDiverged(EdgesegError):
    """The loss became NaN or infinite; the last good checkpoint is kept."""


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
    def _data(self):
        cfg = self.cfg
        kw = {"size": cfg.size} if cfg.data.split(":")[0] == "synthetic" else {}
        train = self._train_data or open_dataset(cfg.data, split="train",
                                                 **({**kw, "num": cfg.num_train} if cfg.num_train else kw))
        val = self._val_data or open_dataset(cfg.data, split="val",
                                             **({**kw, "num": cfg.num_val} if cfg.num_val else kw))
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
        train, val = self._data()
        meta = ModelMeta(model=cfg.model, classes=train.classes, palette=train.palette,
                         input_size=cfg.size,
                         provenance={"data": cfg.data, "epochs": cfg.epochs, "seed": cfg.seed,
                                     "trainer": "edgeseg train", "optimizer": cfg.optimizer})
        model = build_model(cfg.model, num_classes=meta.num_classes, **self._model_args())
        if cfg.pretrained:
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
        if cfg.resume:
            ck = load_checkpoint(cfg.resume)
            if ck.get("meta", {}).get("model") != cfg.model:
                raise ConfigError("--resume checkpoint is of another model", path=cfg.resume,
                                  expected=cfg.model, got=ck.get("meta", {}).get("model"))
            model.load_state_dict(ck["model"])
            opt.load_state_dict(ck["optimizer"])
            sched.load_state_dict(ck["scheduler"])
            # The saved LR belongs to the saved schedule; with a changed --epochs the schedule is
            # this run's, so recompute the current LR from it (identical when nothing changed).
            for g, base in zip(opt.param_groups, sched.base_lrs):
                g["lr"] = base * lr_factor(sched.last_epoch)
            scaler.load_state_dict(ck["scaler"])
            start_epoch, best, history = ck["epoch"], ck["best_miou"], list(ck.get("history", []))
            set_rng_state(ck["rng"])
            self.log(f"resumed from {cfg.resume} at epoch {start_epoch}, best mIoU {best:.4f}")

        self.log(f"training {cfg.model} ({sum(p.numel() for p in model.parameters()):,} params) on "
                 f"{cfg.data}: {len(train)} train / {len(val)} val images, {cfg.epochs} epochs x "
                 f"{steps} steps, batch {cfg.batch} x {self.dist.world_size} process(es), "
                 f"{cfg.optimizer} lr {cfg.effective_lr:g}, device {dev}")
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
                loss_sum, n = 0.0, 0
                for x, y in make_loader(ds, idx, cfg.batch, cfg.workers):
                    x = x.to(dev, non_blocking=True).contiguous(memory_format=mf)
                    y = y.to(dev, non_blocking=True)
                    with torch.autocast(dev.type, enabled=cfg.amp):
                        loss = loss_fn(net(x), y)
                    if not torch.isfinite(loss):
                        kept = last_path if epoch > start_epoch or cfg.resume else "(none yet)"
                        bad = float(loss.detach())
                        raise TrainingDiverged(
                            f"the loss became {bad} at epoch {epoch + 1}, step {n + 1}",
                            expected="a finite loss",
                            got=f"{bad} (lr {sched.get_last_lr()[0]:.3g})",
                            fix=f"the last good checkpoint is kept at {kept}; lower --lr, keep "
                                "--grad-clip on, or check the data for bad masks")
                    opt.zero_grad(set_to_none=True)
                    scaler.scale(loss).backward()
                    if cfg.grad_clip:
                        scaler.unscale_(opt)
                        torch.nn.utils.clip_grad_norm_(model.parameters(), cfg.grad_clip)
                    scaler.step(opt)
                    scaler.update()
                    sched.step()
                    loss_sum, n = loss_sum + float(loss.detach()), n + 1
                    bar.update(1, epoch=f"{epoch + 1}/{cfg.epochs}", loss=loss_sum / n,
                               lr=sched.get_last_lr()[0])
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
                self.dist.barrier()
                if cfg.max_minutes and time.perf_counter() - t_start > cfg.max_minutes * 60 \
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


def train(config: TrainConfig, **kw) -> TrainResult:
    """Functional form: ``train(TrainConfig(model=..., data="synthetic"))``."""
    return Trainer(config, **kw).fit()


__all__ = ["Trainer", "TrainResult", "TrainingDiverged", "train", "resolve_device",
           "build_from_checkpoint"]
