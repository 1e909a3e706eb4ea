"""``--resume``: the checkpoint is checked before any data is rendered, then restored exactly.

A resumed run is the checkpoint's run: its settings are the checkpoint's saved config (the
optimiser's lr, weight decay and momentum read from its state), and only what the caller really
passed (:attr:`TrainConfig.given`) overrides them. A given setting that would change what is
optimised and differs from the checkpoint is refused, naming every such flag with both values.
``--epochs`` (more than the epochs done: the schedule is recomputed for the new total), ``--out``
and the per-invocation ones (:data:`FREE`) may differ. Without ``--epochs`` the run goes on to the
checkpoint's planned total, so a run cut short by ``--max-minutes`` or a crash finishes its plan.
"""

from __future__ import annotations

import dataclasses
import os

from ..errors import ConfigError, ModelError
from .checkpoint import check_finite, load_checkpoint, load_state_into, set_rng_state
from .config import TrainConfig

_NEEDED = ("model", "optimizer", "scheduler", "scaler", "epoch", "best_miou", "rng", "meta", "config")

# Where the run writes, how far it goes and how this invocation runs it: none changes what is optimised.
FREE = frozenset({"resume", "epochs", "out", "val_every", "max_minutes", "workers", "device", "channels_last"})
# A time budget and a machine's devices and cores belong to one invocation: unset, they are not inherited.
_PER_INVOCATION = ("max_minutes", "workers", "device")
# TrainConfig fields with no flag of their own in `edgeseg train` (the Python API sets them)
_NO_FLAG = ("momentum", "poly_power", "ohem_thresh", "ohem_min_kept", "extra")
_DEFAULTS = {f.name: f.default for f in dataclasses.fields(TrainConfig)}


def open_resume(cfg: TrainConfig, default_output_stride: int | None) -> tuple[dict, TrainConfig]:
    """Load and check ``cfg.resume``; return it and the config the resumed run really uses."""
    path = cfg.resume
    ck = load_checkpoint(path)
    missing = [k for k in _NEEDED if k not in ck]
    if missing:
        raise ModelError("--resume needs a last.pt written by edgeseg train", path=path,
                         expected="a training checkpoint (weights, optimizer, scheduler, RNG state and config)",
                         got=f"no {', '.join(missing)}",
                         fix="resume from <out>/last.pt; to start from weights only, use --pretrained PATH")
    saved_model = ck["meta"].get("model")
    if saved_model != cfg.model:
        raise ModelError("the --resume checkpoint is of another model", path=path,
                         expected=f"a checkpoint of {cfg.model} (--model)", got=f"a checkpoint of {saved_model}",
                         fix=f"pass --model {saved_model} to resume it, or drop --resume to train {cfg.model}")
    check_finite(ck["model"], path, what="weights")
    check_finite(ck["optimizer"].get("state", {}), path, what="optimizer state")
    saved = saved_config(ck, path)
    given = {n for n in cfg.given if not (getattr(cfg, n) is None and _DEFAULTS[n] is None)}  # None: the default
    _refuse_conflicts(cfg, saved, given - FREE, _normaliser(saved, default_output_stride), path)
    run = saved.replace(**{n: getattr(cfg, n) for n in given & FREE})
    done = ck["epoch"]
    if run.epochs <= done:
        if "epochs" in given:
            what, got = "nothing to resume: the checkpoint has already run --epochs", f"--epochs {cfg.epochs}"
        else:
            what = f"nothing to resume: the checkpoint's run has done all the {run.epochs} epochs it planned"
            got = f"no --epochs, so the checkpoint's planned {run.epochs}, all done"
        raise ConfigError(what, path=path, expected=f"--epochs > {done} (the epochs the checkpoint has done)",
                          got=got, fix=f"pass e.g. --epochs {done + 10} to train on")
    return ck, run


def _refuse_conflicts(cfg: TrainConfig, saved: TrainConfig, names, norm, path: str) -> None:
    """One error naming every given setting that differs from the checkpoint's, with both values."""
    conflicts = sorted(n for n in names if norm(n, getattr(cfg, n)) != norm(n, getattr(saved, n)))
    if not conflicts:
        return
    flags = [_flag(n) for n in conflicts]

    def values(c: TrainConfig) -> str:
        return ", ".join(f"{f} {_fmt(n, norm(n, getattr(c, n)))}" for f, n in zip(flags, conflicts))

    raise ConfigError(f"{', '.join(flags)} {'conflicts' if len(flags) == 1 else 'conflict'} with the --resume "
                      "checkpoint", path=path,
                      expected=values(saved) + " (the checkpoint's: a resumed run goes on exactly as it was trained)",
                      got=values(cfg),
                      fix=f"drop {' '.join(flags)} (or pass the checkpoint's values) to resume; to train with the "
                          f"new values, start a new run with --pretrained {path}")


def saved_config(ck: dict, path: str) -> TrainConfig:
    """The checkpoint's run as a config: its saved one, with the optimiser's settings read from the
    optimiser's state (what really ran, even where the config said "the default"), writing beside
    the checkpoint and with no per-invocation choice carried over."""
    known = {f.name for f in dataclasses.fields(TrainConfig)}
    config = {k: v for k, v in ck["config"].items() if k in known}
    decay_group = ck["optimizer"]["param_groups"][0]  # the trainer's first group is the decayed one
    config.update(optimizer=config.get("optimizer") or ("adamw" if "betas" in decay_group else "sgd"),
                  lr=ck["scheduler"].get("base_lrs", [decay_group.get("initial_lr")])[0],
                  weight_decay=decay_group["weight_decay"], resume=path, pretrained=None,
                  out=os.path.dirname(path) or ".", **{n: _DEFAULTS[n] for n in _PER_INVOCATION})
    if "momentum" in decay_group:
        config["momentum"] = decay_group["momentum"]
    args = ck.get("model_args", {})
    for name in ("output_stride", "aux", "bn_momentum"):  # what the model was really built with
        if name in args:
            config[name] = args[name]
    try:
        return TrainConfig.from_dict(config)
    except ConfigError as exc:
        raise ModelError("the --resume checkpoint's config does not read", path=path,
                         expected="the config an edgeseg train of this version writes", got=exc.what,
                         fix="resume with the edgeseg version that wrote it, or start a new run with "
                             f"--pretrained {path}") from None


def _normaliser(saved: TrainConfig, default_output_stride: int | None):
    """Map a setting to the value that decides the run, so spellings of the same run compare equal."""
    def norm(name, value):
        if name == "output_stride" and value is None:
            return default_output_stride
        if name == "aux":
            return bool(value)  # None: the model's default, no aux head
        if name == "grad_clip" and not value:
            return None  # 0 turns clipping off, as None does
        if name == "momentum" and saved.optimizer != "sgd":
            return None  # AdamW has none
        if isinstance(value, float):
            return float(f"{value:.12g}")
        if isinstance(value, (tuple, list)):
            return tuple(float(f"{v:.12g}") if isinstance(v, float) else v for v in value)
        return value
    return norm


def _flag(name: str) -> str:
    return name if name in _NO_FLAG else "--" + name.replace("_", "-")


def _fmt(name: str, v) -> str:
    if isinstance(v, bool):
        return "on" if v else "off"
    if v is None:
        return "off" if name == "grad_clip" else "none"
    if name == "size":
        return f"{v[0]}x{v[1]}"
    if isinstance(v, (tuple, list)):
        return ",".join(f"{x:g}" if isinstance(x, float) else str(x) for x in v)
    return f"{v:g}" if isinstance(v, float) else str(v)


def check_classes(ck: dict, classes, data: str, path: str) -> None:
    """The data must be labelled with the classes the checkpoint was trained on (count and names)."""
    saved = list(ck["meta"].get("classes", []))
    if saved != list(classes):
        raise ModelError("the --resume checkpoint was trained on other classes", path=path,
                         expected=f"{len(saved)} classes ({_names(saved)}) as in the checkpoint, "
                                  f"trained on {ck.get('config', {}).get('data', '?')}",
                         got=f"{len(classes)} classes ({_names(classes)}) in {data}",
                         fix="resume on the data the run was trained on; to fine-tune on this data, start a "
                             f"new run (--pretrained {path} fits only when the classes match)")


def _names(classes, n: int = 6) -> str:
    classes = list(classes)
    return ", ".join(classes[:n]) + (f", ... (+{len(classes) - n})" if len(classes) > n else "")


def restore(ck: dict, path: str, model, opt, sched, scaler, lr_factor) -> tuple[int, float, list]:
    """Load every state; returns (epoch to start at, best mIoU, history)."""
    load_state_into(model, ck["model"], path)
    opt.load_state_dict(ck["optimizer"])
    sched.load_state_dict(ck["scheduler"])
    # The saved LR belongs to the saved schedule; with a changed --epochs the schedule is this
    # run's, so recompute the current LR from it (identical when nothing changed).
    for g, base in zip(opt.param_groups, sched.base_lrs):
        g["lr"] = base * lr_factor(sched.last_epoch)
    scaler.load_state_dict(ck["scaler"])
    set_rng_state(ck["rng"])
    return ck["epoch"], ck["best_miou"], list(ck.get("history", []))


__all__ = ["FREE", "check_classes", "open_resume", "restore", "saved_config"]
