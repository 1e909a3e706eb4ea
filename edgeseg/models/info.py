"""Model size and cost: parameters and GFLOPs, counted the way torchvision publishes them.

**Convention**: ``gflops`` is billions of *multiply-adds* (GMACs) of every ``Conv2d`` and
``Linear`` in one forward pass at batch size 1, biases, norms, activations and resizes not
counted. That is the figure torchvision lists as "GFLOPS" (its ``_ops`` metadata), so numbers
compare directly: lraspp_mobilenet_v3_large at 520x520 is 2.086, deeplabv3_mobilenet_v3_large
(with its aux head, as published) 10.452. Double it for FLOPs in the two-ops-per-MAC sense.

>>> info = model_info("lraspp_mobilenet_v3_large", size=(520, 520))
>>> info["params"], round(info["gflops"], 3)
(3221538, 2.086)
"""

from __future__ import annotations

import torch
from torch import nn

from ..errors import ConfigError
from .registry import build_model


def count_params(module: nn.Module) -> int:
    """Number of parameters (trainable or not; buffers such as BN statistics excluded).

    >>> count_params(nn.Conv2d(3, 8, 3))
    224
    """
    return sum(p.numel() for p in module.parameters())


def count_gmacs(module: nn.Module, size: tuple[int, int], in_channels: int = 3) -> float:
    """Billions of multiply-adds of Conv2d/Linear layers for one ``1 x C x H x W`` forward pass.

    >>> count_gmacs(nn.Conv2d(3, 8, 3, padding=1), (100, 100))
    0.00216
    """
    total = 0

    def hook(layer: nn.Module, _inputs, output: torch.Tensor) -> None:
        nonlocal total
        if isinstance(layer, nn.Conv2d):
            kh, kw = layer.kernel_size
            total += output.numel() * (layer.in_channels // layer.groups) * kh * kw
        else:
            total += output.numel() * layer.in_features

    handles = [m.register_forward_hook(hook) for m in module.modules()
               if isinstance(m, (nn.Conv2d, nn.Linear))]
    was_training = module.training
    try:
        module.eval()  # BatchNorm in train mode would also update running statistics
        with torch.no_grad():
            module(torch.zeros(1, in_channels, *size))
    finally:
        module.train(was_training)
        for handle in handles:
            handle.remove()
    return total / 1e9


def model_info(name_or_module: str | nn.Module, size: tuple[int, int] = (512, 512),
               num_classes: int = 21, **build_kw) -> dict:
    """``{"params": int, "gflops": float}`` for a zoo model name or a built module.

    ``gflops`` is GMACs (torchvision's convention, see the module docstring). A name is built
    with ``num_classes`` and ``build_kw`` (``output_stride``, ``aux``, ...); for a module both
    are ignored and must be left at their defaults.

    >>> model_info("deeplabv3_mobilenet_v3_large", size=(520, 520), aux=True)["params"]
    11029328
    """
    if isinstance(name_or_module, nn.Module):
        if build_kw:
            raise ConfigError("build options given with a built module",
                              expected="model_info(module, size=...)", got=", ".join(sorted(build_kw)),
                              fix="pass a model name to build it with options, or drop them")
        model = name_or_module
    else:
        model = build_model(name_or_module, num_classes, **build_kw)
    height, width = size
    return {"params": count_params(model), "gflops": count_gmacs(model, (height, width))}
