"""The model zoo: one table from model name to builder, and ``build_model`` over it.

A name is ``<head>_<backbone>``; the builder makes the backbone at the requested output stride,
optionally loads ImageNet weights into it, then lets the head assemble the model.

>>> from edgeseg.models import build_model, list_models
>>> "lraspp_mobilenet_v3_large" in list_models()
True
>>> m = build_model("deeplabv3_mobilenet_v3_large", num_classes=21, aux=True)
>>> m.name, m.output_stride, m.has_aux, sum(p.numel() for p in m.parameters())
('deeplabv3_mobilenet_v3_large', 16, True, 11029328)
"""

from __future__ import annotations

import fnmatch
import inspect
import os
from dataclasses import dataclass
from functools import partial
from typing import Callable

from .. import uri
from ..errors import ConfigError
from ._utils import batch_norm
from .backbone import OUTPUT_STRIDES, MobileNetBackbone, check_output_stride
from .deeplab import deeplabv3, deeplabv3plus
from .fcn import fcn
from .lraspp import lraspp
from .mobilenet_v2 import mobilenet_v2
from .mobilenet_v3 import mobilenet_v3_large, mobilenet_v3_small
from .model import SegmentationModel
from .unet import unet
from .weights import load_pretrained

HEAD_BN_EPS = 1e-5  # torchvision's heads use BatchNorm2d defaults, whatever the backbone

BACKBONES: dict[str, Callable[..., MobileNetBackbone]] = {
    "mobilenet_v2": mobilenet_v2,
    "mobilenet_v3_large": mobilenet_v3_large,
    "mobilenet_v3_small": mobilenet_v3_small,
}


@dataclass(frozen=True)
class Head:
    """How one head family is assembled and what it supports.

    >>> LRASPP.aux, LRASPP.default_output_stride, DEEPLABV3.options
    (False, 16, ('atrous_rates', 'separable'))
    """

    assemble: Callable[..., SegmentationModel]
    default_output_stride: int = 16  # torchvision's dilated=True
    output_strides: tuple[int, ...] = OUTPUT_STRIDES
    aux: bool = True                 # whether an aux FCN head may be added

    @property
    def options(self) -> tuple[str, ...]:
        """Head-specific keyword options (``atrous_rates``, ``separable``, ...)."""
        params = inspect.signature(self.assemble).parameters.values()
        return tuple(p.name for p in params
                     if p.kind is p.KEYWORD_ONLY and p.name not in ("aux", "norm_layer"))


DEEPLABV3 = Head(deeplabv3)
DEEPLABV3PLUS = Head(deeplabv3plus)
LRASPP = Head(lraspp, aux=False)  # torchvision refuses aux_loss for LR-ASPP too
FCN = Head(fcn)
UNET = Head(unet, default_output_stride=32)  # a U-Net gets resolution back from its skips

BACKBONE_OPTIONS = ("width_mult",)


def _build(head: Head, backbone_name: str, name: str, num_classes: int, *, output_stride: int | None,
           aux: bool, pretrained_backbone, bn_momentum: float, width_mult: float = 1.0,
           **options) -> SegmentationModel:
    if isinstance(num_classes, bool) or not isinstance(num_classes, int) or num_classes < 1:
        raise ConfigError("num_classes must be a positive integer", expected="an int >= 1 (21 for VOC)",
                          got=repr(num_classes), fix="pass num_classes=<number of classes incl. background>")
    output_stride = head.default_output_stride if output_stride is None else output_stride
    check_output_stride(output_stride, head.output_strides, what=name)
    if aux and not head.aux:
        raise ConfigError(f"{name} has no aux head", expected="aux=False", got="aux=True",
                          fix="drop aux=True, or pick a deeplabv3*, fcn_* or unet_* model")
    unknown = sorted(set(options) - set(head.options))
    if unknown:
        accepted = ", ".join(head.options + BACKBONE_OPTIONS)
        raise ConfigError(f"unknown option for {name}", expected=f"one of: {accepted}",
                          got=", ".join(unknown), fix="check the spelling or drop the option")
    backbone = BACKBONES[backbone_name](output_stride=output_stride, width_mult=width_mult,
                                       bn_momentum=bn_momentum)
    if pretrained_backbone is not None and pretrained_backbone is not False:
        # True means "the ImageNet checkpoint torchvision publishes for this backbone"
        load_pretrained(backbone, backbone_name if pretrained_backbone is True else pretrained_backbone)
    model = head.assemble(backbone, num_classes, aux=bool(aux),
                          norm_layer=batch_norm(HEAD_BN_EPS, bn_momentum), **options)
    model.name = name
    return model


# The zoo. One row per model; the builder is called as builder(name, num_classes, **options).
MODELS: dict[str, Callable[..., SegmentationModel]] = {
    "deeplabv3_mobilenet_v2": partial(_build, DEEPLABV3, "mobilenet_v2"),
    "deeplabv3_mobilenet_v3_large": partial(_build, DEEPLABV3, "mobilenet_v3_large"),
    "deeplabv3_mobilenet_v3_small": partial(_build, DEEPLABV3, "mobilenet_v3_small"),
    "deeplabv3plus_mobilenet_v2": partial(_build, DEEPLABV3PLUS, "mobilenet_v2"),
    "deeplabv3plus_mobilenet_v3_large": partial(_build, DEEPLABV3PLUS, "mobilenet_v3_large"),
    "deeplabv3plus_mobilenet_v3_small": partial(_build, DEEPLABV3PLUS, "mobilenet_v3_small"),
    "lraspp_mobilenet_v2": partial(_build, LRASPP, "mobilenet_v2"),
    "lraspp_mobilenet_v3_large": partial(_build, LRASPP, "mobilenet_v3_large"),
    "lraspp_mobilenet_v3_small": partial(_build, LRASPP, "mobilenet_v3_small"),
    "fcn_mobilenet_v2": partial(_build, FCN, "mobilenet_v2"),
    "fcn_mobilenet_v3_large": partial(_build, FCN, "mobilenet_v3_large"),
    "fcn_mobilenet_v3_small": partial(_build, FCN, "mobilenet_v3_small"),
    "unet_mobilenet_v2": partial(_build, UNET, "mobilenet_v2"),
    "unet_mobilenet_v3_large": partial(_build, UNET, "mobilenet_v3_large"),
    "unet_mobilenet_v3_small": partial(_build, UNET, "mobilenet_v3_small"),
}


def list_models(pattern: str | None = None) -> list[str]:
    """Sorted model names, optionally filtered by a shell-style ``pattern``.

    >>> list_models("lraspp_*")
    ['lraspp_mobilenet_v2', 'lraspp_mobilenet_v3_large', 'lraspp_mobilenet_v3_small']
    """
    names = sorted(MODELS)
    return names if pattern is None else [n for n in names if fnmatch.fnmatchcase(n, pattern)]


def model_spec(name: str) -> Head:
    """The :class:`Head` behind a model name (its default/supported output strides, aux support).

    >>> spec = model_spec("unet_mobilenet_v2")
    >>> spec.default_output_stride, spec.output_strides, spec.aux
    (32, (8, 16, 32), True)
    """
    return _lookup(name).args[0]


def _lookup(name: str):
    try:
        return MODELS[name]
    except (KeyError, TypeError):
        close = uri.close_matches(str(name), MODELS, n=3, cutoff=0.5)
        hint = f"did you mean {' or '.join(repr(c) for c in close)}? " if close else ""
        raise ConfigError(f"unknown model {name!r}", expected="one of: " + ", ".join(sorted(MODELS)),
                          got=repr(name), fix=hint + "see edgeseg.models.list_models()") from None


def build_model(name: str, num_classes: int = 21, *, output_stride: int | None = None,
                aux: bool = False, pretrained_backbone: bool | str | os.PathLike | None = None,
                bn_momentum: float = 0.1, **kw) -> SegmentationModel:
    """Build a zoo model by name; ``forward(x)`` returns ``{"out": logits[, "aux": ...]}``.

    ``output_stride`` is the backbone's (8, 16 or 32; None = the head's default: 16, or 32 for
    U-Net). ``pretrained_backbone`` is None (random init), True (torchvision's ImageNet
    checkpoint for this backbone, via the torch hub cache), a checkpoint name from
    ``edgeseg.models.weights.CHECKPOINTS`` or the path of a local file. ``bn_momentum``
    applies to every BatchNorm. Extra keywords: ``width_mult`` (backbone) and the head's own
    (``atrous_rates``/``separable`` for DeepLab, ``inter_channels`` for LR-ASPP,
    ``decoder_channels`` for U-Net). To load a whole trained model, use
    :func:`edgeseg.models.load_pretrained` on the result.

    >>> import torch
    >>> m = build_model("lraspp_mobilenet_v3_large", num_classes=21)
    >>> m.eval()(torch.zeros(1, 3, 64, 64))["out"].shape
    torch.Size([1, 21, 64, 64])
    >>> build_model("lraspp_mobilenet_v3_lrage")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    edgeseg.errors.ConfigError: unknown model 'lraspp_mobilenet_v3_lrage'
    ...
      fix:      did you mean 'lraspp_mobilenet_v3_large' or ...
    """
    builder = _lookup(name)
    return builder(name, num_classes, output_stride=output_stride, aux=aux,
                   pretrained_backbone=pretrained_backbone, bn_momentum=bn_momentum, **kw)


__all__ = ["BACKBONES", "MODELS", "Head", "build_model", "list_models", "model_spec"]
