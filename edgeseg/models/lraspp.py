"""Lite R-ASPP head ("Searching for MobileNetV3", Howard et al. 2019), as torchvision's ``LRASPPHead``.

The high (last) feature is squeezed to 128 channels and gated by a global-pool attention branch,
upsampled onto the stride-8 level and added to a linear classifier of that low-level feature.
Logits are therefore at stride 8 whatever the backbone's output stride. No aux head (as in
torchvision: the model trains fine without one).

>>> import torch
>>> from edgeseg.models import build_model
>>> m = build_model("lraspp_mobilenet_v3_small", num_classes=2)
>>> m(torch.zeros(1, 3, 64, 64))["out"].shape, m.output_stride, m.backbone_stride
(torch.Size([1, 2, 64, 64]), 8, 16)
"""

from __future__ import annotations

from torch import Tensor, nn

from ._utils import NormLayer
from .backbone import MobileNetBackbone
from .model import SegmentationModel, upsample_like

LOW_STRIDE = 8        # torchvision's "C2" level
INTER_CHANNELS = 128  # torchvision's default and the paper's


class LRASPPHead(nn.Module):
    """``cbr`` (1x1 conv-BN-ReLU) times ``scale`` (pool-1x1-sigmoid) on ``"high"``, plus ``"low"``.

    >>> import torch
    >>> head = LRASPPHead(40, 960, 21, 128)
    >>> head({"low": torch.zeros(1, 40, 8, 8), "high": torch.zeros(1, 960, 4, 4)}).shape
    torch.Size([1, 21, 8, 8])
    """

    def __init__(self, low_channels: int, high_channels: int, num_classes: int,
                 inter_channels: int = INTER_CHANNELS, *, norm_layer: NormLayer = nn.BatchNorm2d):
        super().__init__()
        self.cbr = nn.Sequential(nn.Conv2d(high_channels, inter_channels, 1, bias=False),
                                 norm_layer(inter_channels), nn.ReLU(inplace=True))
        self.scale = nn.Sequential(nn.AdaptiveAvgPool2d(1),
                                   nn.Conv2d(high_channels, inter_channels, 1, bias=False),
                                   nn.Sigmoid())
        self.low_classifier = nn.Conv2d(low_channels, num_classes, 1)
        self.high_classifier = nn.Conv2d(inter_channels, num_classes, 1)

    def forward(self, features: dict[str, Tensor]) -> Tensor:
        low, high = features["low"], features["high"]
        x = upsample_like(self.cbr(high) * self.scale(high), low.shape[-2:])
        return self.low_classifier(low) + self.high_classifier(x)


def lraspp(backbone: MobileNetBackbone, num_classes: int, *, aux: bool, norm_layer: NormLayer,
           inter_channels: int = INTER_CHANNELS) -> SegmentationModel:
    """Assemble LR-ASPP as torchvision's ``_lraspp_mobilenetv3`` does (``aux`` must be False).

    >>> from edgeseg.models.mobilenet_v3 import mobilenet_v3_large
    >>> m = lraspp(mobilenet_v3_large(output_stride=16), 21, aux=False, norm_layer=nn.BatchNorm2d)
    >>> m.return_layers
    {'low': 4, 'high': 16}
    """
    del aux  # the registry refuses aux=True for this head before we get here
    low = backbone.feature_index(LOW_STRIDE, "first")
    last = len(backbone) - 1
    classifier = LRASPPHead(backbone.channels[low], backbone.channels[last], num_classes,
                            inter_channels, norm_layer=norm_layer)
    return SegmentationModel(backbone, classifier, return_layers={"low": low, "high": last},
                             name="lraspp", num_classes=num_classes, output_stride=LOW_STRIDE)
