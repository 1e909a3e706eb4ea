"""FCN head (Long et al. 2015), as torchvision's ``FCNHead``; also the aux head of every model.

>>> import torch
>>> from edgeseg.models import build_model
>>> m = build_model("fcn_mobilenet_v2", num_classes=5, output_stride=8)
>>> m(torch.zeros(1, 3, 64, 64))["out"].shape, m.output_stride
(torch.Size([1, 5, 64, 64]), 8)
"""

from __future__ import annotations

from torch import Tensor, nn

from ._utils import NormLayer
from .backbone import MobileNetBackbone
from .model import SegmentationModel

AUX_STRIDE = 8  # torchvision puts the aux head on the stride-8 level (its "C2")


class FCNHead(nn.Sequential):
    """3x3 conv to in/4 channels -> BN -> ReLU -> dropout 0.1 -> 1x1 conv to classes.

    Children ``0 .. 4`` as in torchvision, so ``aux_classifier.0.weight`` keys load. It reads
    the feature named ``feature`` from the dict the backbone returns.

    >>> import torch
    >>> head = FCNHead(40, 21, feature="aux")
    >>> head({"aux": torch.zeros(1, 40, 8, 8)}).shape
    torch.Size([1, 21, 8, 8])
    """

    def __init__(self, in_channels: int, channels: int, *, feature: str = "high",
                 norm_layer: NormLayer = nn.BatchNorm2d):
        inter = in_channels // 4
        super().__init__(
            nn.Conv2d(in_channels, inter, 3, padding=1, bias=False),
            norm_layer(inter),
            nn.ReLU(),
            nn.Dropout(0.1),
            nn.Conv2d(inter, channels, 1),
        )
        self.feature = feature

    def forward(self, features: dict[str, Tensor]) -> Tensor:
        return super().forward(features[self.feature])


def aux_head(backbone: MobileNetBackbone, num_classes: int, return_layers: dict[str, int],
             norm_layer: NormLayer) -> FCNHead:
    """Add the stride-8 level to ``return_layers`` as ``"aux"`` and return an FCN head on it.

    >>> from edgeseg.models.mobilenet_v3 import mobilenet_v3_large
    >>> layers = {"high": 16}
    >>> head = aux_head(mobilenet_v3_large(), 21, layers, nn.BatchNorm2d)
    >>> layers, head[0].in_channels
    ({'high': 16, 'aux': 4}, 40)
    """
    index = backbone.feature_index(AUX_STRIDE, "first")
    return_layers["aux"] = index
    return FCNHead(backbone.channels[index], num_classes, feature="aux", norm_layer=norm_layer)


def fcn(backbone: MobileNetBackbone, num_classes: int, *, aux: bool,
        norm_layer: NormLayer) -> SegmentationModel:
    """Assemble an FCN head on the backbone's last feature (logits at the backbone's stride).

    >>> from edgeseg.models.mobilenet_v3 import mobilenet_v3_small
    >>> m = fcn(mobilenet_v3_small(output_stride=16), 2, aux=False, norm_layer=nn.BatchNorm2d)
    >>> m.classifier[0].in_channels, m.output_stride
    (576, 16)
    """
    last = len(backbone) - 1
    layers = {"high": last}
    aux_classifier = aux_head(backbone, num_classes, layers, norm_layer) if aux else None
    classifier = FCNHead(backbone.channels[last], num_classes, norm_layer=norm_layer)
    return SegmentationModel(backbone, classifier, aux_classifier, return_layers=layers,
                             name="fcn", num_classes=num_classes,
                             output_stride=backbone.output_stride)
