"""Small building blocks shared by the backbones and heads.

They mirror torchvision's ``_make_divisible``, ``Conv2dNormActivation`` and ``SqueezeExcitation``
module for module (same child order and attribute names), so a torchvision checkpoint's
state_dict keys land on ours unchanged.

>>> import torch
>>> block = ConvBNAct(3, 8, stride=2)
>>> block(torch.zeros(1, 3, 16, 16)).shape
torch.Size([1, 8, 8, 8])
>>> [name for name, _ in block.named_children()]
['0', '1', '2']
"""

from __future__ import annotations

from functools import partial
from typing import Callable

import torch
from torch import nn

from ..errors import ConfigError

NormLayer = Callable[[int], nn.Module]


def make_divisible(value: float, divisor: int = 8, min_value: int | None = None) -> int:
    """Round a channel count to a multiple of ``divisor``, never more than 10% below ``value``.

    The rule from the TensorFlow MobileNet reference, kept bit-exact because channel counts
    decide whether ImageNet checkpoints fit.

    >>> make_divisible(16 * 0.75), make_divisible(37), make_divisible(3)
    (16, 40, 8)
    """
    min_value = divisor if min_value is None else min_value
    new_value = max(min_value, int(value + divisor / 2) // divisor * divisor)
    if new_value < 0.9 * value:  # rounding down must not lose more than 10% of the channels
        new_value += divisor
    return new_value


def batch_norm(eps: float = 1e-5, momentum: float = 0.1) -> NormLayer:
    """A BatchNorm2d factory with fixed ``eps`` / ``momentum``, validated once here.

    >>> bn = batch_norm(eps=1e-3, momentum=0.1)(8)
    >>> bn.eps, bn.momentum
    (0.001, 0.1)
    """
    if not isinstance(momentum, (int, float)) or isinstance(momentum, bool) or not 0.0 < momentum <= 1.0:
        raise ConfigError("bn_momentum out of range", expected="a float in (0, 1], e.g. 0.1",
                          got=repr(momentum),
                          fix="pass bn_momentum=0.1 (torchvision's MobileNetV3 uses 0.01, which "
                              "leaves running statistics stale after short training runs)")
    return partial(nn.BatchNorm2d, eps=eps, momentum=float(momentum))


class ConvBNAct(nn.Sequential):
    """Conv2d -> BatchNorm -> activation as children ``0``, ``1``, ``2`` (torchvision's layout).

    Padding keeps "same" spatial size for odd kernels at any dilation; the conv has a bias only
    when there is no norm layer, as in torchvision.

    >>> import torch
    >>> m = ConvBNAct(4, 4, kernel_size=3, dilation=2, groups=4, activation=nn.Hardswish)
    >>> m(torch.zeros(1, 4, 9, 9)).shape
    torch.Size([1, 4, 9, 9])
    """

    def __init__(self, in_channels: int, out_channels: int, kernel_size: int = 3, stride: int = 1,
                 *, groups: int = 1, dilation: int = 1,
                 norm_layer: NormLayer | None = nn.BatchNorm2d,
                 activation: Callable[..., nn.Module] | None = nn.ReLU):
        padding = (kernel_size - 1) // 2 * dilation
        layers: list[nn.Module] = [
            nn.Conv2d(in_channels, out_channels, kernel_size, stride, padding, dilation=dilation,
                      groups=groups, bias=norm_layer is None)
        ]
        if norm_layer is not None:
            layers.append(norm_layer(out_channels))
        if activation is not None:
            layers.append(activation(inplace=True))
        super().__init__(*layers)
        self.out_channels = out_channels


class SqueezeExcitation(nn.Module):
    """Channel attention: global pool -> fc1 -> act -> fc2 -> gate, multiplied onto the input.

    Attribute names (``fc1``, ``fc2``) follow torchvision so checkpoints load.

    >>> import torch
    >>> se = SqueezeExcitation(16, 8, scale_activation=nn.Hardsigmoid)
    >>> se(torch.ones(1, 16, 4, 4)).shape
    torch.Size([1, 16, 4, 4])
    """

    def __init__(self, input_channels: int, squeeze_channels: int,
                 activation: Callable[..., nn.Module] = nn.ReLU,
                 scale_activation: Callable[..., nn.Module] = nn.Sigmoid):
        super().__init__()
        self.avgpool = nn.AdaptiveAvgPool2d(1)
        self.fc1 = nn.Conv2d(input_channels, squeeze_channels, 1)
        self.fc2 = nn.Conv2d(squeeze_channels, input_channels, 1)
        self.activation = activation()
        self.scale_activation = scale_activation()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        scale = self.scale_activation(self.fc2(self.activation(self.fc1(self.avgpool(x)))))
        return scale * x
