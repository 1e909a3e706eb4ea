"""TrainConfig: every training option in one frozen, validated dataclass.

>>> c = TrainConfig(model="lraspp_mobilenet_v3_small", data="synthetic", size=(128, 128))
>>> c.replace(epochs=3).epochs
3
>>> TrainConfig(model="x", data="synthetic", amp=True, device="cpu")
Traceback (most recent call last):
...
edgeseg.errors.ConfigError: --amp conflicts with --device cpu
  expected: --amp only with a CUDA device
  got:      amp=True, device=cpu
  fix:      drop --amp, or train on --device cuda
"""

from __future__ import annotations

import dataclasses
import functools
import math
import numbers
import os
from dataclasses import dataclass, field

from .. import uri
from ..errors import ConfigError

OPTIMIZERS = ("sgd", "adamw")
LOSSES = ("ce", "dice", "ce+dice", "ohem", "ohem+dice")


def parse_size(text: str | tuple | list) -> tuple[int, int]:
    """'512x256' (height x width), '256' or (h, w) -> (h, w): :func:`edgeseg.uri.parse_size`
    with the training crop's wording.

    >>> parse_size("512x256"), parse_size("256"), parse_size([128, 96])
    ((512, 256), (256, 256), (128, 96))
    """
    return uri.parse_size(text, what="training size (--size)", example="512x256")


def _records_given(cls):
    """Wrap the dataclass ``__init__``, which cannot tell a value passed from a default, to keep the
    names of the arguments passed as ``_given`` (its signature stays the dataclass's)."""
    init, names = cls.__init__, [f.name for f in dataclasses.fields(cls)]

    @functools.wraps(init)
    def __init__(self, *args, **kw):
        object.__setattr__(self, "_given", frozenset(names[:len(args)]) | frozenset(kw))
        init(self, *args, **kw)

    cls.__init__ = __init__
    return cls


@_records_given
@dataclass(frozen=True)
class TrainConfig:
    """Options of ``edgeseg train``; ``size`` is (height, width) of the training crops.

    :attr:`given` records which fields were passed rather than defaulted, so ``--resume`` can
    take every other one from the checkpoint (a default is not a choice the user made).
    """

    model: str
    data: str = "synthetic"
    out: str = "runs/train"
    epochs: int = 10
    batch: int = 8
    size: tuple[int, int] = (256, 256)
    optimizer: str = "adamw"
    lr: float | None = None           # None: 1e-2 for SGD, 2e-3 for AdamW
    weight_decay: float | None = None  # None: 1e-4 for SGD, 1e-2 for AdamW
    momentum: float = 0.9
    warmup_epochs: float = 0.5
    poly_power: float = 0.9
    loss: str = "ce"
    class_weights: tuple[float, ...] | None = None
    aux_weight: float = 0.4
    ohem_thresh: float = 0.7
    ohem_min_kept: int = 10000
    grad_clip: float | None = 5.0
    amp: bool = False
    device: str = "auto"
    workers: int = 0
    seed: int = 0
    output_stride: int | None = None
    aux: bool | None = None           # None: the model's default
    pretrained: str | None = None     # torchvision checkpoint name or path
    bn_momentum: float = 0.1
    channels_last: bool = True
    sync_bn: bool = False
    num_train: int | None = None      # synthetic data only: scenes to generate
    num_val: int | None = None
    val_every: int = 1
    resume: str | None = None
    max_minutes: float | None = None  # stop cleanly after this wall time (keeps the best)
    extra: dict = field(default_factory=dict)

    def __post_init__(self):
        object.__setattr__(self, "size", parse_size(self.size))
        for name in ("out", "resume", "pretrained"):  # a Path pickled into a checkpoint would not load safely
            if isinstance(getattr(self, name), os.PathLike):
                object.__setattr__(self, name, os.fspath(getattr(self, name)))
        if self.optimizer not in OPTIMIZERS:
            raise ConfigError("unknown optimizer", expected=" | ".join(OPTIMIZERS), got=self.optimizer)
        if self.loss not in LOSSES:
            raise ConfigError("unknown loss", expected=" | ".join(LOSSES), got=self.loss)
        for name, low in INT_RANGES.items():
            _check_int(name, getattr(self, name), low)
        for name, (low, high, optional) in FLOAT_RANGES.items():
            _check_float(name, getattr(self, name), low, high, optional)
        if self.amp and self.device == "cpu":
            raise ConfigError("--amp conflicts with --device cpu",
                              expected="--amp only with a CUDA device",
                              got=f"amp={self.amp}, device={self.device}",
                              fix="drop --amp, or train on --device cuda")
        if self.output_stride not in (None, 8, 16, 32):
            raise ConfigError("unsupported output stride", expected="8 | 16 | 32", got=self.output_stride)
        if self.class_weights is not None:
            object.__setattr__(self, "class_weights", _class_weights(self.class_weights))
        if not isinstance(self.out, str) or not self.out or os.path.isfile(self.out):
            raise ConfigError("out (--out) must be a folder to write into",
                              expected="a folder path (created if missing)",
                              got=f"an existing file {self.out!r}" if self.out else repr(self.out),
                              fix="pass another --out, e.g. runs/train")
        if self.resume is not None and self.pretrained is not None:
            raise ConfigError("--resume conflicts with --pretrained",
                              expected="--resume PATH (continue a run) or --pretrained SRC (start from weights)",
                              got=f"resume={self.resume!r}, pretrained={self.pretrained!r}",
                              fix="drop --pretrained: a resumed run takes its weights from the checkpoint")

    @property
    def effective_lr(self) -> float:
        return self.lr if self.lr is not None else {"sgd": 1e-2, "adamw": 2e-3}[self.optimizer]

    @property
    def effective_weight_decay(self) -> float:
        if self.weight_decay is not None:
            return self.weight_decay
        return {"sgd": 1e-4, "adamw": 1e-2}[self.optimizer]

    @property
    def given(self) -> frozenset[str]:
        """The fields passed to the constructor (or to :meth:`replace`), not left at their default."""
        return self.__dict__.get("_given", frozenset(f.name for f in dataclasses.fields(self)))

    def replace(self, **changes) -> TrainConfig:
        new = dataclasses.replace(self, **changes)
        object.__setattr__(new, "_given", self.given | frozenset(changes))
        return new

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, d: dict) -> TrainConfig:
        known = {f.name for f in dataclasses.fields(cls)}
        return cls(**{k: (tuple(v) if isinstance(v, list) else v) for k, v in d.items() if k in known})


# field -> lowest valid integer; None is allowed where the field's default is None
INT_RANGES = {"epochs": 1, "batch": 1, "workers": 0, "seed": 0, "val_every": 1, "num_train": 1,
              "num_val": 1, "ohem_min_kept": 1}
# field -> (low, high, optional); a bound in a list is exclusive: [0] means "> 0"
FLOAT_RANGES = {"lr": ([0.0], None, True), "weight_decay": (0.0, None, True), "momentum": (0.0, [1.0], False),
                "warmup_epochs": (0.0, None, False), "poly_power": (0.0, None, False),
                "aux_weight": (0.0, None, False), "ohem_thresh": ([0.0], 1.0, False),
                "grad_clip": (0.0, None, True), "bn_momentum": (0.0, 1.0, False),
                "max_minutes": ([0.0], None, True)}


def _flag(name: str) -> str:
    return f"{name} (--{name.replace('_', '-')})"


def _check_int(name: str, value, low: int) -> None:
    if value is None and name in ("num_train", "num_val"):
        return
    ok = isinstance(value, numbers.Integral) and not isinstance(value, bool)
    if not ok or value < low:
        raise ConfigError(f"{_flag(name)} out of range", expected=f"an integer >= {low}", got=repr(value))


def _range_text(low, high) -> str:
    parts = [f"{'>' if isinstance(low, list) else '>='} {_bound(low):g}"]
    if high is not None:
        parts.append(f"{'<' if isinstance(high, list) else '<='} {_bound(high):g}")
    return "a finite number " + " and ".join(parts)


def _bound(b) -> float:
    return b[0] if isinstance(b, list) else b


def _check_float(name: str, value, low, high, optional: bool) -> None:
    if value is None and optional:
        return
    ok = isinstance(value, numbers.Real) and not isinstance(value, bool) and math.isfinite(value)
    if ok:
        ok = value > _bound(low) if isinstance(low, list) else value >= low
    if ok and high is not None:
        ok = value < _bound(high) if isinstance(high, list) else value <= high
    if not ok:
        fix = {"lr": "e.g. --lr 2e-3 (AdamW) or 1e-2 (SGD)", "grad_clip": "0 turns clipping off"}.get(name)
        raise ConfigError(f"{_flag(name)} out of range", expected=_range_text(low, high), got=repr(value), fix=fix)


def _class_weights(weights) -> tuple[float, ...]:
    try:
        values = tuple(float(w) for w in weights)
    except (TypeError, ValueError):
        values = None
    if values is None or not all(math.isfinite(w) and w >= 0 for w in values) or not any(values):
        raise ConfigError(f"{_flag('class_weights')} out of range",
                          expected="one finite number >= 0 per class, at least one > 0",
                          got=repr(weights), fix="e.g. --class-weights 1,2.5,1 (0 ignores a class)")
    return values
