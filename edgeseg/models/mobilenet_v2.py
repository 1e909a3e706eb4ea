"""MobileNetV2 feature extractor ("Inverted Residuals and Linear Bottlenecks", Sandler et al. 2018).

Module for module the ``features`` of torchvision's ``mobilenet_v2`` (same children, same
attribute names, BatchNorm eps 1e-5), so its ImageNet checkpoints load; dilation for output
stride 8/16 is our addition and changes no weight shape.

>>> import torch
>>> net = mobilenet_v2(output_stride=16)
>>> net(torch.zeros(1, 3, 64, 64)).shape
torch.Size([1, 1280, 4, 4])
>>> sum(p.numel() for p in net.parameters())
2223872
"""

from __future__ import annotations

from torch import Tensor, nn

from ._utils import ConvBNAct, NormLayer, batch_norm, make_divisible
from .backbone import MobileNetBackbone, check_output_stride, dilation_plan

# One row per stage, as in the paper's Table 2 and torchvision:
# expand ratio t, output channels c, repeats n, stride s of the stage's first block.
# The comment is the stride of the stage's output; rows with s=2 hold the reducing blocks.
STAGES = (
    # t,   c, n, s
    (1, 16, 1, 1),    # stride 2  (after the stem conv)
    (6, 24, 2, 2),    # stride 4  <- low-level feature for DeepLabV3+
    (6, 32, 3, 2),    # stride 8
    (6, 64, 4, 2),    # stride 16
    (6, 96, 3, 1),    # stride 16
    (6, 160, 3, 2),   # stride 32
    (6, 320, 1, 1),   # stride 32
)
STEM_CHANNELS = 32
LAST_CHANNELS = 1280
BN_EPS = 1e-5  # torchvision's MobileNetV2 uses BatchNorm2d defaults


class InvertedResidual(nn.Module):
    """1x1 expand -> 3x3 depthwise (strided, or dilated instead) -> 1x1 linear project (+ residual).

    >>> import torch
    >>> block = InvertedResidual(16, 24, stride=2, expand_ratio=6)
    >>> block(torch.zeros(1, 16, 8, 8)).shape
    torch.Size([1, 24, 4, 4])
    """

    def __init__(self, inp: int, oup: int, stride: int, expand_ratio: int, *, dilation: int = 1,
                 norm_layer: NormLayer = nn.BatchNorm2d):
        super().__init__()
        hidden = int(round(inp * expand_ratio))
        # ``stride`` is the configured one: a reducing block that dilation turned into stride 1
        # stays residual-free (its channels change anyway), as in torchvision's MobileNetV3
        self.use_res_connect = stride == 1 and inp == oup
        layers: list[nn.Module] = []
        if expand_ratio != 1:
            layers.append(ConvBNAct(inp, hidden, 1, norm_layer=norm_layer, activation=nn.ReLU6))
        layers += [
            ConvBNAct(hidden, hidden, 3, 1 if dilation > 1 else stride, groups=hidden, dilation=dilation,
                      norm_layer=norm_layer, activation=nn.ReLU6),
            nn.Conv2d(hidden, oup, 1, bias=False),  # linear bottleneck: no activation
            norm_layer(oup),
        ]
        self.conv = nn.Sequential(*layers)
        self.out_channels = oup

    def forward(self, x: Tensor) -> Tensor:
        return x + self.conv(x) if self.use_res_connect else self.conv(x)


def mobilenet_v2(*, output_stride: int = 32, width_mult: float = 1.0,
                 bn_momentum: float = 0.1) -> MobileNetBackbone:
    """Build the MobileNetV2 feature extractor at output stride 8, 16 or 32.

    >>> net = mobilenet_v2(output_stride=8)
    >>> net.feature_index(8), net.stride_of(len(net) - 1), net.channels[-1]
    (4, 8, 1280)
    """
    check_output_stride(output_stride, what="mobilenet_v2")
    norm = batch_norm(BN_EPS, bn_momentum)
    rows = []  # (in, out, config stride, expand ratio), one per block
    channels = make_divisible(STEM_CHANNELS * width_mult)
    for t, c, n, s in STAGES:
        out = make_divisible(c * width_mult)
        for i in range(n):
            rows.append((channels, out, s if i == 0 else 1, t))
            channels = out
    last = make_divisible(LAST_CHANNELS * max(1.0, width_mult))

    # stem (stride 2), the inverted residual blocks, the final 1x1 conv (no stride)
    config_strides = [2] + [row[2] for row in rows] + [1]
    plan = dilation_plan(config_strides, output_stride)
    blocks: list[nn.Module] = [ConvBNAct(3, rows[0][0], 3, plan[0][0], norm_layer=norm,
                                         activation=nn.ReLU6)]
    for (inp, oup, stride, t), (_, dilation, _) in zip(rows, plan[1:-1]):
        blocks.append(InvertedResidual(inp, oup, stride, t, dilation=dilation, norm_layer=norm))
    blocks.append(ConvBNAct(channels, last, 1, norm_layer=norm, activation=nn.ReLU6))
    return MobileNetBackbone(blocks, nominal_strides=[p[2] for p in plan],
                             reduces=[s > 1 for s in config_strides],
                             output_stride=output_stride, name="mobilenet_v2")
