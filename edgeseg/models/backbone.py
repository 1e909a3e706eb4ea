"""The feature-extractor base shared by MobileNetV2 and MobileNetV3.

A backbone is an ``nn.Sequential`` of blocks named ``0 .. N`` — exactly torchvision's
``features`` — so ImageNet checkpoints map by renaming ``features.`` to ``backbone.``. On top it
records, per block, the stride its output would have in the undilated network (its *nominal*
stride) and whether it is one of the blocks that reduce resolution. Heads ask for a feature
level by stride (:meth:`MobileNetBackbone.feature_index`) instead of hard-coding block indices.

Output stride 8/16/32 is reached the way torchvision's ``dilated=True`` does it: every block of a
stage whose nominal stride exceeds the output stride runs at stride 1 with dilation
``nominal // output_stride`` (the stage's reducing block included).

>>> from edgeseg.models.mobilenet_v3 import mobilenet_v3_large
>>> net = mobilenet_v3_large(output_stride=16)
>>> net.feature_index(8), net.feature_index(32), net.feature_index(32, "last")
(4, 13, 16)
>>> net.channels[16]
960
>>> net.stride_of(16)
16
"""

from __future__ import annotations

from typing import Iterable, Mapping, Sequence

import torch
from torch import nn

from ..errors import ConfigError

OUTPUT_STRIDES = (8, 16, 32)
FEATURE_WHERE = ("first", "last")


def check_output_stride(output_stride: int, supported: Sequence[int] = OUTPUT_STRIDES,
                        what: str = "the backbone") -> int:
    """Validate an output stride against what a model supports; return it.

    >>> check_output_stride(16)
    16
    """
    if output_stride not in supported:
        raise ConfigError(f"output_stride {output_stride!r} is not supported by {what}",
                          expected=" or ".join(str(s) for s in supported), got=repr(output_stride),
                          fix=f"pass output_stride={supported[-1]} (or leave it None for the default)")
    return output_stride


def dilation_plan(config_strides: Iterable[int], output_stride: int) -> list[tuple[int, int, int]]:
    """Per block ``(stride, dilation, nominal_stride)`` for a target output stride.

    ``config_strides`` are the blocks' strides in the undilated network (1 or 2). A block whose
    nominal output stride exceeds ``output_stride`` keeps resolution (stride 1) and dilates by
    ``nominal // output_stride`` so its receptive field matches the undilated network.

    >>> dilation_plan([2, 2, 1, 2, 1], 4)
    [(2, 1, 2), (2, 1, 4), (1, 1, 4), (1, 2, 8), (1, 2, 8)]
    """
    plan, nominal = [], 1
    for stride in config_strides:
        nominal *= stride
        if nominal > output_stride:
            plan.append((1, nominal // output_stride, nominal))
        else:
            plan.append((stride, 1, nominal))
    return plan


class MobileNetBackbone(nn.Sequential):
    """Blocks ``0 .. N`` plus the metadata heads need to pick feature levels.

    ``forward(x)`` returns the last block's output; :meth:`extract` returns several named levels
    in one pass.

    >>> import torch
    >>> from edgeseg.models.mobilenet_v2 import mobilenet_v2
    >>> net = mobilenet_v2(output_stride=8)
    >>> feats = net.extract(torch.zeros(1, 3, 64, 64), {"low": net.feature_index(4), "high": len(net) - 1})
    >>> feats["low"].shape, feats["high"].shape
    (torch.Size([1, 24, 16, 16]), torch.Size([1, 1280, 8, 8]))
    """

    def __init__(self, blocks: Sequence[nn.Module], *, nominal_strides: Sequence[int],
                 reduces: Sequence[bool], output_stride: int, name: str):
        super().__init__(*blocks)
        self.name = name
        self.output_stride = output_stride
        # stride of each block's output in the undilated network: the key heads look levels up by
        self.nominal_strides = tuple(nominal_strides)
        # True for the blocks that reduce resolution (torchvision's "C_n" blocks)
        self.reduces = tuple(reduces)
        self.channels = tuple(block.out_channels for block in blocks)

    def stride_of(self, index: int) -> int:
        """The real stride of block ``index``'s output, once dilation caps it at the output stride."""
        return min(self.nominal_strides[index], self.output_stride)

    def feature_index(self, stride: int, where: str = "first") -> int:
        """Index of the block giving the feature level at nominal ``stride``.

        ``where="first"`` is the block that reduces resolution to ``stride`` (torchvision's choice
        for LR-ASPP and the DeepLabV3 aux head); ``"last"`` is the last block at that stride,
        the end of the stage (what U-Net skips and the DeepLabV3+ decoder use).
        """
        if where not in FEATURE_WHERE:
            raise ConfigError("unknown feature position", expected=" or ".join(FEATURE_WHERE),
                              got=repr(where), fix='pass where="first" or where="last"')
        indices = [i for i, s in enumerate(self.nominal_strides) if s == stride]
        if not indices:
            levels = sorted(set(self.nominal_strides))
            raise ConfigError(f"{self.name} has no feature level at stride {stride}",
                              expected=f"one of {levels}", got=repr(stride),
                              fix="ask for a stride the backbone produces")
        return indices[0] if where == "first" else indices[-1]

    def extract(self, x: torch.Tensor, return_layers: Mapping[str, int]) -> dict[str, torch.Tensor]:
        """Run the blocks up to the deepest requested one; return ``{name: output of its block}``.

        Several names may share a block (an aux head and a skip reading the same level).
        """
        names_at: dict[int, list[str]] = {}
        for name, index in return_layers.items():
            names_at.setdefault(index, []).append(name)
        out: dict[str, torch.Tensor] = {}
        last = max(names_at)
        for index, block in enumerate(self):
            x = block(x)
            for name in names_at.get(index, ()):
                out[name] = x
            if index == last:  # blocks past the deepest level cost time and give nothing
                break
        return out
