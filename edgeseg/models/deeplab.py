"""DeepLabV3 (Chen et al. 2017) and DeepLabV3+ (Chen et al. 2018) heads on a MobileNet backbone.

``ASPP`` and ``DeepLabHead`` mirror torchvision module for module (``classifier.0.convs.0.0.weight``
...), so torchvision's ``deeplabv3_mobilenet_v3_large`` checkpoint loads. Atrous rates default to
torchvision's (12, 24, 36) at every output stride, so that checkpoint sees what it was trained
with; the paper's output-stride-16 setting is ``atrous_rates=(6, 12, 18)``. ``separable=True``
swaps the 3x3 convs for depthwise-separable ones (DeepLabV3+'s choice, ~8x fewer weights there).

>>> import torch
>>> from edgeseg.models import build_model
>>> m = build_model("deeplabv3plus_mobilenet_v2", num_classes=4, separable=True).eval()
>>> m(torch.zeros(1, 3, 64, 64))["out"].shape, m.output_stride
(torch.Size([1, 4, 64, 64]), 4)
"""

from __future__ import annotations

from typing import Sequence

import torch
from torch import Tensor, nn

from ._utils import NormLayer
from .backbone import MobileNetBackbone
from .fcn import aux_head
from .model import SegmentationModel, upsample_like

ATROUS_RATES = (12, 24, 36)  # torchvision's DeepLabHead default
ASPP_CHANNELS = 256
LOW_LEVEL_STRIDE = 4         # DeepLabV3+ decoder input
LOW_LEVEL_CHANNELS = 48      # the paper's projection of the low-level feature


class SeparableConv2d(nn.Sequential):
    """Depthwise kxk (dilated) conv then pointwise 1x1 conv, both without bias (BN follows).

    >>> SeparableConv2d(8, 16, dilation=2)(torch.zeros(1, 8, 9, 9)).shape
    torch.Size([1, 16, 9, 9])
    """

    def __init__(self, in_channels: int, out_channels: int, kernel_size: int = 3, dilation: int = 1):
        super().__init__(
            nn.Conv2d(in_channels, in_channels, kernel_size, padding=(kernel_size - 1) // 2 * dilation,
                      dilation=dilation, groups=in_channels, bias=False),
            nn.Conv2d(in_channels, out_channels, 1, bias=False),
        )


def _conv3x3(in_channels: int, out_channels: int, dilation: int, separable: bool) -> nn.Module:
    if separable:
        return SeparableConv2d(in_channels, out_channels, 3, dilation)
    return nn.Conv2d(in_channels, out_channels, 3, padding=dilation, dilation=dilation, bias=False)


class ASPPConv(nn.Sequential):
    """One atrous branch: 3x3 conv at ``dilation`` -> BN -> ReLU.

    >>> ASPPConv(8, 4, dilation=6)(torch.zeros(2, 8, 5, 5)).shape
    torch.Size([2, 4, 5, 5])
    """

    def __init__(self, in_channels: int, out_channels: int, dilation: int, *,
                 separable: bool = False, norm_layer: NormLayer = nn.BatchNorm2d):
        super().__init__(_conv3x3(in_channels, out_channels, dilation, separable),
                         norm_layer(out_channels), nn.ReLU())


class ASPPPooling(nn.Sequential):
    """Image-level branch: global average pool -> 1x1 conv -> BN -> ReLU -> broadcast back.

    Its BatchNorm sees one value per channel and image, so training needs batches of 2 or more
    (as in torchvision).

    >>> ASPPPooling(8, 4).eval()(torch.zeros(1, 8, 5, 7)).shape
    torch.Size([1, 4, 5, 7])
    """

    def __init__(self, in_channels: int, out_channels: int, *, norm_layer: NormLayer = nn.BatchNorm2d):
        super().__init__(nn.AdaptiveAvgPool2d(1), nn.Conv2d(in_channels, out_channels, 1, bias=False),
                         norm_layer(out_channels), nn.ReLU())

    def forward(self, x: Tensor) -> Tensor:
        return upsample_like(super().forward(x), x.shape[-2:])


class ASPP(nn.Module):
    """Atrous spatial pyramid pooling: 1x1, three atrous 3x3 and an image-pooling branch, fused by 1x1.

    >>> aspp = ASPP(40, (1, 2, 3), out_channels=16).eval()
    >>> aspp(torch.zeros(1, 40, 8, 8)).shape
    torch.Size([1, 16, 8, 8])
    """

    def __init__(self, in_channels: int, atrous_rates: Sequence[int], out_channels: int = ASPP_CHANNELS,
                 *, separable: bool = False, norm_layer: NormLayer = nn.BatchNorm2d):
        super().__init__()
        branches: list[nn.Module] = [nn.Sequential(
            nn.Conv2d(in_channels, out_channels, 1, bias=False), norm_layer(out_channels), nn.ReLU())]
        branches += [ASPPConv(in_channels, out_channels, rate, separable=separable, norm_layer=norm_layer)
                     for rate in atrous_rates]
        branches.append(ASPPPooling(in_channels, out_channels, norm_layer=norm_layer))
        self.convs = nn.ModuleList(branches)
        self.project = nn.Sequential(
            nn.Conv2d(len(branches) * out_channels, out_channels, 1, bias=False),
            norm_layer(out_channels), nn.ReLU(), nn.Dropout(0.5))

    def forward(self, x: Tensor) -> Tensor:
        return self.project(torch.cat([branch(x) for branch in self.convs], dim=1))


class DeepLabHead(nn.Sequential):
    """ASPP -> 3x3 conv -> BN -> ReLU -> 1x1 conv to classes, on the ``"high"`` feature.

    >>> head = DeepLabHead(40, 3, atrous_rates=(1, 2, 3)).eval()
    >>> head({"high": torch.zeros(1, 40, 8, 8)}).shape
    torch.Size([1, 3, 8, 8])
    """

    def __init__(self, in_channels: int, num_classes: int, atrous_rates: Sequence[int] = ATROUS_RATES,
                 *, separable: bool = False, norm_layer: NormLayer = nn.BatchNorm2d):
        super().__init__(
            ASPP(in_channels, atrous_rates, separable=separable, norm_layer=norm_layer),
            _conv3x3(ASPP_CHANNELS, ASPP_CHANNELS, 1, separable),
            norm_layer(ASPP_CHANNELS),
            nn.ReLU(),
            nn.Conv2d(ASPP_CHANNELS, num_classes, 1),
        )

    def forward(self, features: dict[str, Tensor]) -> Tensor:
        return super().forward(features["high"])


class DeepLabV3PlusHead(nn.Module):
    """ASPP on ``"high"``, upsampled onto the projected stride-4 ``"low"`` feature, then 3x3 + 1x1.

    >>> head = DeepLabV3PlusHead(24, 40, 3, atrous_rates=(1, 2, 3)).eval()
    >>> head({"low": torch.zeros(1, 24, 16, 16), "high": torch.zeros(1, 40, 4, 4)}).shape
    torch.Size([1, 3, 16, 16])
    """

    def __init__(self, low_channels: int, high_channels: int, num_classes: int,
                 atrous_rates: Sequence[int] = ATROUS_RATES, *, separable: bool = False,
                 norm_layer: NormLayer = nn.BatchNorm2d):
        super().__init__()
        self.project = nn.Sequential(nn.Conv2d(low_channels, LOW_LEVEL_CHANNELS, 1, bias=False),
                                     norm_layer(LOW_LEVEL_CHANNELS), nn.ReLU())
        self.aspp = ASPP(high_channels, atrous_rates, separable=separable, norm_layer=norm_layer)
        self.classifier = nn.Sequential(
            _conv3x3(LOW_LEVEL_CHANNELS + ASPP_CHANNELS, ASPP_CHANNELS, 1, separable),
            norm_layer(ASPP_CHANNELS), nn.ReLU(),
            nn.Conv2d(ASPP_CHANNELS, num_classes, 1))

    def forward(self, features: dict[str, Tensor]) -> Tensor:
        low = self.project(features["low"])
        high = upsample_like(self.aspp(features["high"]), low.shape[-2:])
        return self.classifier(torch.cat([high, low], dim=1))


def deeplabv3(backbone: MobileNetBackbone, num_classes: int, *, aux: bool, norm_layer: NormLayer,
              atrous_rates: Sequence[int] = ATROUS_RATES, separable: bool = False) -> SegmentationModel:
    """Assemble DeepLabV3 as torchvision's ``_deeplabv3_mobilenetv3`` does.

    ASPP on the last feature; the optional aux FCN head on the stride-8 level.

    >>> from edgeseg.models.mobilenet_v3 import mobilenet_v3_small
    >>> m = deeplabv3(mobilenet_v3_small(output_stride=16), 2, aux=True, norm_layer=nn.BatchNorm2d)
    >>> m.return_layers, m.output_stride
    ({'high': 12, 'aux': 2}, 16)
    """
    last = len(backbone) - 1
    layers = {"high": last}
    aux_classifier = aux_head(backbone, num_classes, layers, norm_layer) if aux else None
    classifier = DeepLabHead(backbone.channels[last], num_classes, tuple(atrous_rates),
                             separable=separable, norm_layer=norm_layer)
    return SegmentationModel(backbone, classifier, aux_classifier, return_layers=layers,
                             name="deeplabv3", num_classes=num_classes,
                             output_stride=backbone.output_stride)


def deeplabv3plus(backbone: MobileNetBackbone, num_classes: int, *, aux: bool, norm_layer: NormLayer,
                  atrous_rates: Sequence[int] = ATROUS_RATES,
                  separable: bool = False) -> SegmentationModel:
    """Assemble DeepLabV3+: ASPP on the last feature, decoder on the end of the stride-4 stage.

    Logits come out at stride 4 whatever the backbone's output stride.

    >>> from edgeseg.models.mobilenet_v2 import mobilenet_v2
    >>> m = deeplabv3plus(mobilenet_v2(output_stride=16), 2, aux=False, norm_layer=nn.BatchNorm2d)
    >>> m.return_layers, m.output_stride
    ({'high': 18, 'low': 3}, 4)
    """
    last = len(backbone) - 1
    low = backbone.feature_index(LOW_LEVEL_STRIDE, "last")
    layers = {"high": last, "low": low}
    aux_classifier = aux_head(backbone, num_classes, layers, norm_layer) if aux else None
    classifier = DeepLabV3PlusHead(backbone.channels[low], backbone.channels[last], num_classes,
                                   tuple(atrous_rates), separable=separable, norm_layer=norm_layer)
    return SegmentationModel(backbone, classifier, aux_classifier, return_layers=layers,
                             name="deeplabv3plus", num_classes=num_classes,
                             output_stride=LOW_LEVEL_STRIDE)
