"""The segmentation model shell: a backbone, named feature levels, a head and an optional aux head.

It generalises torchvision's ``_SimpleSegmentationModel`` / ``LRASPP``: attribute names
(``backbone``, ``classifier``, ``aux_classifier``) are theirs so state_dict keys match, and
``forward`` returns the same dict: ``{"out": logits}`` plus ``"aux"`` when there is an aux head,
each upsampled bilinearly (align_corners=False) to the input size.

>>> import torch
>>> from edgeseg.models import build_model
>>> model = build_model("fcn_mobilenet_v3_small", num_classes=3, aux=True).eval()
>>> out = model(torch.zeros(1, 3, 64, 64))
>>> sorted(out), out["out"].shape, model.output_stride, model.has_aux
(['aux', 'out'], torch.Size([1, 3, 64, 64]), 16, True)
"""

from __future__ import annotations

from typing import Mapping

import torch
from torch import nn
from torch.nn import functional as F

from .backbone import MobileNetBackbone


def upsample_like(x: torch.Tensor, size) -> torch.Tensor:
    """Bilinear resize to ``size`` with align_corners=False, the one resize every head uses.

    >>> upsample_like(torch.zeros(1, 2, 4, 4), (8, 8)).shape
    torch.Size([1, 2, 8, 8])
    """
    return F.interpolate(x, size=size, mode="bilinear", align_corners=False)


class SegmentationModel(nn.Module):
    """Backbone + head (+ aux head); heads read the features named in ``return_layers`` (name -> block).

    Attributes every caller may rely on: ``name``, ``num_classes``, ``output_stride`` (the stride
    of the logits before the final upsample: it bounds how fine a boundary can be),
    ``backbone_stride`` (the backbone's output stride) and ``has_aux``.

    >>> from edgeseg.models.mobilenet_v3 import mobilenet_v3_small
    >>> from edgeseg.models.fcn import FCNHead
    >>> bb = mobilenet_v3_small(output_stride=32)
    >>> m = SegmentationModel(bb, FCNHead(576, 2), return_layers={"high": 12},
    ...                       name="demo", num_classes=2, output_stride=32)
    >>> m(torch.zeros(1, 3, 64, 64))["out"].shape
    torch.Size([1, 2, 64, 64])
    """

    def __init__(self, backbone: MobileNetBackbone, classifier: nn.Module,
                 aux_classifier: nn.Module | None = None, *, return_layers: Mapping[str, int],
                 name: str, num_classes: int, output_stride: int):
        super().__init__()
        # registration order = state_dict order = torchvision's
        self.backbone = backbone
        self.classifier = classifier
        self.aux_classifier = aux_classifier
        self.return_layers = dict(return_layers)
        self.name = name
        self.num_classes = num_classes
        self.output_stride = output_stride
        self.backbone_stride = backbone.output_stride

    @property
    def has_aux(self) -> bool:
        """True when the model has an aux head and ``forward`` returns ``"aux"``."""
        return self.aux_classifier is not None

    def forward(self, x: torch.Tensor) -> dict[str, torch.Tensor]:
        size = x.shape[-2:]
        features = self.backbone.extract(x, self.return_layers)
        result = {"out": upsample_like(self.classifier(features), size)}
        if self.aux_classifier is not None:
            result["aux"] = upsample_like(self.aux_classifier(features), size)
        return result

    def extra_repr(self) -> str:
        return (f"name={self.name!r}, num_classes={self.num_classes}, "
                f"output_stride={self.output_stride}, backbone_stride={self.backbone_stride}")
