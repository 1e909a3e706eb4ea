"""MobileNetV3-Large and -Small feature extractors ("Searching for MobileNetV3", Howard et al. 2019).

Module for module the ``features`` of torchvision's ``mobilenet_v3_large`` / ``_small`` (same
children and attribute names, BatchNorm eps 0.001), so ImageNet and COCO-VOC checkpoints load.
One difference on purpose: BatchNorm momentum defaults to 0.1, not torchvision's 0.01, whose
slow running statistics made eval-mode predictions useless after short training runs.

>>> import torch
>>> net = mobilenet_v3_large(output_stride=16)
>>> net(torch.zeros(1, 3, 64, 64)).shape
torch.Size([1, 960, 4, 4])
>>> sum(p.numel() for p in mobilenet_v3_small().parameters())
927008
"""

from __future__ import annotations

from typing import NamedTuple

from torch import Tensor, nn

from ._utils import ConvBNAct, NormLayer, SqueezeExcitation, batch_norm, make_divisible
from .backbone import MobileNetBackbone, check_output_stride, dilation_plan

BN_EPS = 0.001  # torchvision's MobileNetV3 value; checkpoints were trained with it


class BlockSetting(NamedTuple):
    """One inverted-residual block: a row of Tables 1 and 2 of the paper.

    >>> LARGE[3].stride, LARGE[3].out_channels, sum(row.stride == 2 for row in LARGE)
    (2, 40, 4)
    """

    in_channels: int
    kernel: int
    expanded: int
    out_channels: int
    use_se: bool
    activation: str  # "RE" (ReLU) or "HS" (hard-swish)
    stride: int      # 2 = this block reduces resolution; a feature level starts here


# The stride comments give each block's output stride in the undilated network.
LARGE = (
    BlockSetting(16, 3, 16, 16, False, "RE", 1),    # stride 2
    BlockSetting(16, 3, 64, 24, False, "RE", 2),    # stride 4   (C1)
    BlockSetting(24, 3, 72, 24, False, "RE", 1),    # stride 4   <- DeepLabV3+ low level
    BlockSetting(24, 5, 72, 40, True, "RE", 2),     # stride 8   (C2) <- LR-ASPP low, aux head
    BlockSetting(40, 5, 120, 40, True, "RE", 1),    # stride 8
    BlockSetting(40, 5, 120, 40, True, "RE", 1),    # stride 8
    BlockSetting(40, 3, 240, 80, False, "HS", 2),   # stride 16  (C3), dilated at output stride 8
    BlockSetting(80, 3, 200, 80, False, "HS", 1),   # stride 16
    BlockSetting(80, 3, 184, 80, False, "HS", 1),   # stride 16
    BlockSetting(80, 3, 184, 80, False, "HS", 1),   # stride 16
    BlockSetting(80, 3, 480, 112, True, "HS", 1),   # stride 16
    BlockSetting(112, 3, 672, 112, True, "HS", 1),  # stride 16
    BlockSetting(112, 5, 672, 160, True, "HS", 2),  # stride 32  (C4), dilated at output stride 16
    BlockSetting(160, 5, 960, 160, True, "HS", 1),  # stride 32
    BlockSetting(160, 5, 960, 160, True, "HS", 1),  # stride 32  -> last 1x1 conv to 960 (C5)
)

SMALL = (
    BlockSetting(16, 3, 16, 16, True, "RE", 2),     # stride 4   (C1)
    BlockSetting(16, 3, 72, 24, False, "RE", 2),    # stride 8   (C2) <- LR-ASPP low, aux head
    BlockSetting(24, 3, 88, 24, False, "RE", 1),    # stride 8
    BlockSetting(24, 5, 96, 40, True, "HS", 2),     # stride 16  (C3), dilated at output stride 8
    BlockSetting(40, 5, 240, 40, True, "HS", 1),    # stride 16
    BlockSetting(40, 5, 240, 40, True, "HS", 1),    # stride 16
    BlockSetting(40, 5, 120, 48, True, "HS", 1),    # stride 16
    BlockSetting(48, 5, 144, 48, True, "HS", 1),    # stride 16
    BlockSetting(48, 5, 288, 96, True, "HS", 2),    # stride 32  (C4), dilated at output stride 16
    BlockSetting(96, 5, 576, 96, True, "HS", 1),    # stride 32
    BlockSetting(96, 5, 576, 96, True, "HS", 1),    # stride 32  -> last 1x1 conv to 576 (C5)
)

_ACTIVATIONS = {"RE": nn.ReLU, "HS": nn.Hardswish}


class InvertedResidual(nn.Module):
    """[1x1 expand] -> kxk depthwise (strided, or dilated instead) -> [SE] -> 1x1 project.

    >>> import torch
    >>> block = InvertedResidual(BlockSetting(24, 5, 72, 40, True, "RE", 2))
    >>> block(torch.zeros(1, 24, 8, 8)).shape
    torch.Size([1, 40, 4, 4])
    """

    def __init__(self, cfg: BlockSetting, *, dilation: int = 1,
                 norm_layer: NormLayer = nn.BatchNorm2d):
        super().__init__()
        # the configured stride decides the residual, so a dilated reducing block stays plain
        self.use_res_connect = cfg.stride == 1 and cfg.in_channels == cfg.out_channels
        act = _ACTIVATIONS[cfg.activation]
        layers: list[nn.Module] = []
        if cfg.expanded != cfg.in_channels:
            layers.append(ConvBNAct(cfg.in_channels, cfg.expanded, 1, norm_layer=norm_layer,
                                    activation=act))
        layers.append(ConvBNAct(cfg.expanded, cfg.expanded, cfg.kernel,
                                1 if dilation > 1 else cfg.stride, groups=cfg.expanded,
                                dilation=dilation, norm_layer=norm_layer, activation=act))
        if cfg.use_se:
            layers.append(SqueezeExcitation(cfg.expanded, make_divisible(cfg.expanded // 4, 8),
                                            scale_activation=nn.Hardsigmoid))
        layers.append(ConvBNAct(cfg.expanded, cfg.out_channels, 1, norm_layer=norm_layer,
                                activation=None))
        self.block = nn.Sequential(*layers)
        self.out_channels = cfg.out_channels

    def forward(self, x: Tensor) -> Tensor:
        out = self.block(x)
        return out + x if self.use_res_connect else out


def _scaled(cfg: BlockSetting, width_mult: float) -> BlockSetting:
    def scale(channels: int) -> int:
        return make_divisible(channels * width_mult, 8)
    return cfg._replace(in_channels=scale(cfg.in_channels), expanded=scale(cfg.expanded),
                        out_channels=scale(cfg.out_channels))


def _mobilenet_v3(settings: tuple[BlockSetting, ...], name: str, output_stride: int,
                  width_mult: float, bn_momentum: float) -> MobileNetBackbone:
    check_output_stride(output_stride, what=name)
    norm = batch_norm(BN_EPS, bn_momentum)
    settings = tuple(_scaled(cfg, width_mult) for cfg in settings)
    # stem conv (stride 2), one block per row, the last 1x1 conv to 6x channels (stride 1)
    config_strides = [2] + [cfg.stride for cfg in settings] + [1]
    plan = dilation_plan(config_strides, output_stride)
    blocks: list[nn.Module] = [ConvBNAct(3, settings[0].in_channels, 3, 2, norm_layer=norm,
                                         activation=nn.Hardswish)]
    for cfg, (_, dilation, _) in zip(settings, plan[1:-1]):
        blocks.append(InvertedResidual(cfg, dilation=dilation, norm_layer=norm))
    last_in = settings[-1].out_channels
    blocks.append(ConvBNAct(last_in, 6 * last_in, 1, norm_layer=norm, activation=nn.Hardswish))
    return MobileNetBackbone(blocks, nominal_strides=[p[2] for p in plan],
                             reduces=[s > 1 for s in config_strides],
                             output_stride=output_stride, name=name)


def mobilenet_v3_large(*, output_stride: int = 32, width_mult: float = 1.0,
                       bn_momentum: float = 0.1) -> MobileNetBackbone:
    """Build the MobileNetV3-Large feature extractor at output stride 8, 16 or 32.

    ``output_stride=16`` is torchvision's ``mobilenet_v3_large(dilated=True)``.

    >>> net = mobilenet_v3_large(output_stride=8)
    >>> [net.stride_of(i) for i in (3, 4, 7, 16)]
    [4, 8, 8, 8]
    """
    return _mobilenet_v3(LARGE, "mobilenet_v3_large", output_stride, width_mult, bn_momentum)


def mobilenet_v3_small(*, output_stride: int = 32, width_mult: float = 1.0,
                       bn_momentum: float = 0.1) -> MobileNetBackbone:
    """Build the MobileNetV3-Small feature extractor at output stride 8, 16 or 32.

    >>> net = mobilenet_v3_small(output_stride=16)
    >>> net.feature_index(8), net.channels[net.feature_index(8)], net.channels[-1]
    (2, 24, 576)
    """
    return _mobilenet_v3(SMALL, "mobilenet_v3_small", output_stride, width_mult, bn_momentum)
