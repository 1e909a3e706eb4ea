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


@dataclass(frozen=True)
class TrainConfig:
    """Options of ``edgeseg train``; ``size`` is (height, width) of the training crops."""

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
        if self.optimizer not in OPTIMIZERS:
            raise ConfigError("unknown optimizer", expected=" | ".join(OPTIMIZERS), got=self.optimizer)
        if self.loss not in LOSSES:
            raise ConfigError("unknown loss", expected=" | ".join(LOSSES), got=self.loss)
        for name in ("epochs", "batch"):
            if getattr(self, name) <= 0:
                raise ConfigError(f"--{name} must be positive", got=getattr(self, name))
        if self.amp and self.device == "cpu":
            raise ConfigError("--amp conflicts with --device cpu",
                              expected="--amp only with a CUDA device",
                              got=f"amp={self.amp}, device={self.device}",
                              fix="drop --amp, or train on --device cuda")
        if self.output_stride not in (None, 8, 16, 32):
            raise ConfigError("unsupported output stride", expected="8 | 16 | 32", got=self.output_stride)
        if self.lr is not None and self.lr <= 0:
            raise ConfigError("--lr must be positive", got=self.lr)
        if self.class_weights is not None:
            object.__setattr__(self, "class_weights", tuple(float(w) for w in self.class_weights))

    @property
    def effective_lr(self) -> float:
        return self.lr if self.lr is not None else {"sgd": 1e-2, "adamw": 2e-3}[self.optimizer]

    @property
    def effective_weight_decay(self) -> float:
        if self.weight_decay is not None:
            return self.weight_decay
        return {"sgd": 1e-4, "adamw": 1e-2}[self.optimizer]

    def replace(self, **changes) -> "TrainConfig":
        return dataclasses.replace(self, **changes)

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, d: dict) -> "TrainConfig":
        known = {f.name for f in dataclasses.fields(cls)}
        return cls(**{k: (tuple(v) if isinstance(v, list) else v) for k, v in d.items() if k in known})
