"""A light U-Net decoder (Ronneberger et al. 2015) on a MobileNet encoder.

The encoder's last feature is squeezed by a 1x1 conv, then each decoder stage upsamples,
concatenates the skip from the end of the encoder stage at that stride (16, 8, 4, 2) and fuses
with one 3x3 conv-BN-ReLU. One conv per stage (not the original two) keeps it light for edge
devices; logits come out at stride 2. With a dilated encoder (output stride 8/16) the deep skips
share the bottleneck's resolution and their upsampling is a no-op, so every output stride works.

>>> import torch
>>> from edgeseg.models import build_model
>>> m = build_model("unet_mobilenet_v2", num_classes=3)
>>> m(torch.zeros(1, 3, 64, 64))["out"].shape, m.output_stride
(torch.Size([1, 3, 64, 64]), 2)
"""

from __future__ import annotations

from typing import Sequence

import torch
from torch import Tensor, nn

from ..errors import ConfigError
from ._utils import ConvBNAct, NormLayer
from .backbone import MobileNetBackbone
from .fcn import aux_head
from .model import SegmentationModel, upsample_like

SKIP_STRIDES = (16, 8, 4, 2)          # deep to shallow
DECODER_CHANNELS = (128, 64, 32, 16)  # output channels of the stage fusing each skip above


class UNetDecoder(nn.Module):
    """Bottleneck 1x1 conv, then per skip: upsample, concatenate, 3x3 conv-BN-ReLU; 1x1 to classes.

    ``skip_channels`` and ``decoder_channels`` run deep to shallow, one entry per skip; features
    are read as ``"high"`` and ``"skip<stride>"``.

    >>> head = UNetDecoder(64, [(8, 16), (4, 8)], [16, 8], 3).eval()
    >>> feats = {"high": torch.zeros(1, 64, 2, 2), "skip8": torch.zeros(1, 16, 4, 4),
    ...          "skip4": torch.zeros(1, 8, 8, 8)}
    >>> head(feats).shape
    torch.Size([1, 3, 8, 8])
    """

    def __init__(self, high_channels: int, skips: Sequence[tuple[int, int]],
                 decoder_channels: Sequence[int], num_classes: int, *,
                 norm_layer: NormLayer = nn.BatchNorm2d):
        super().__init__()
        if len(decoder_channels) != len(skips):
            raise ConfigError("decoder_channels must give one width per skip level",
                              expected=f"{len(skips)} values (strides {[s for s, _ in skips]})",
                              got=repr(tuple(decoder_channels)),
                              fix=f"pass decoder_channels={DECODER_CHANNELS}")
        self.skip_names = [f"skip{stride}" for stride, _ in skips]
        self.bottleneck = ConvBNAct(high_channels, decoder_channels[0], 1, norm_layer=norm_layer)
        stages, channels = [], decoder_channels[0]
        for (_, skip_channels), out in zip(skips, decoder_channels):
            stages.append(ConvBNAct(channels + skip_channels, out, 3, norm_layer=norm_layer))
            channels = out
        self.stages = nn.ModuleList(stages)
        self.classifier = nn.Conv2d(channels, num_classes, 1)

    def forward(self, features: dict[str, Tensor]) -> Tensor:
        x = self.bottleneck(features["high"])
        for name, stage in zip(self.skip_names, self.stages):
            skip = features[name]
            x = stage(torch.cat([upsample_like(x, skip.shape[-2:]), skip], dim=1))
        return self.classifier(x)


def unet(backbone: MobileNetBackbone, num_classes: int, *, aux: bool, norm_layer: NormLayer,
         decoder_channels: Sequence[int] = DECODER_CHANNELS) -> SegmentationModel:
    """Assemble the light U-Net: skips from the end of each encoder stage, logits at stride 2.

    >>> from edgeseg.models.mobilenet_v3 import mobilenet_v3_small
    >>> m = unet(mobilenet_v3_small(), 2, aux=False, norm_layer=nn.BatchNorm2d)
    >>> m.return_layers
    {'high': 12, 'skip16': 8, 'skip8': 3, 'skip4': 1, 'skip2': 0}
    """
    last = len(backbone) - 1
    layers = {"high": last}
    skips = []
    for stride in SKIP_STRIDES:
        index = backbone.feature_index(stride, "last")
        layers[f"skip{stride}"] = index
        skips.append((stride, backbone.channels[index]))
    aux_classifier = aux_head(backbone, num_classes, layers, norm_layer) if aux else None
    classifier = UNetDecoder(backbone.channels[last], skips, tuple(decoder_channels), num_classes,
                             norm_layer=norm_layer)
    return SegmentationModel(backbone, classifier, aux_classifier, return_layers=layers,
                             name="unet", num_classes=num_classes, output_stride=SKIP_STRIDES[-1])
