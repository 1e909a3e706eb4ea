"""Segmentation losses: cross-entropy (ignore index, class weights), Dice, OHEM, and the
weighted sum over the main and auxiliary outputs.

>>> import torch
>>> loss = build_loss("ce+dice", num_classes=3)
>>> logits = torch.zeros(1, 3, 4, 4); target = torch.zeros(1, 4, 4, dtype=torch.long)
>>> round(float(loss({"out": logits}, target)), 4) > 0
True
"""

from __future__ import annotations

import torch
import torch.nn as nn
import torch.nn.functional as F


class DiceLoss(nn.Module):
    """Soft multi-class Dice over the classes present in the batch; ignored pixels excluded."""

    def __init__(self, num_classes: int, ignore_index: int = 255, smooth: float = 1.0):
        super().__init__()
        self.num_classes, self.ignore_index, self.smooth = num_classes, ignore_index, smooth

    def forward(self, logits: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        valid = (target != self.ignore_index).unsqueeze(1)
        probs = logits.float().softmax(1) * valid
        onehot = F.one_hot(target.clamp(0, self.num_classes - 1), self.num_classes)
        onehot = onehot.permute(0, 3, 1, 2).to(probs.dtype) * valid
        dims = (0, 2, 3)
        inter = (probs * onehot).sum(dims)
        denom = probs.sum(dims) + onehot.sum(dims)
        dice = (2 * inter + self.smooth) / (denom + self.smooth)
        present = onehot.sum(dims) > 0
        # Classes absent from the batch would reward predicting nothing; leave them out.
        return 1 - (dice[present].mean() if present.any() else dice.mean())


class OhemCrossEntropy(nn.Module):
    """Online hard example mining: average CE over pixels whose true-class probability is below
    ``thresh``, keeping at least ``min_kept`` of the hardest (as in mmseg's OHEMPixelSampler)."""

    def __init__(self, ignore_index: int = 255, thresh: float = 0.7, min_kept: int = 10000,
                 weight: torch.Tensor | None = None):
        super().__init__()
        self.ignore_index, self.thresh, self.min_kept = ignore_index, thresh, min_kept
        self.register_buffer("weight", weight if weight is not None else None, persistent=False)

    def forward(self, logits: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        pixel = F.cross_entropy(logits.float(), target, weight=self.weight,
                                ignore_index=self.ignore_index, reduction="none").flatten()
        valid = target.flatten() != self.ignore_index
        pixel = pixel[valid]
        if pixel.numel() == 0:
            return logits.sum() * 0
        with torch.no_grad():
            # CE = -log p, so "p < thresh" is "CE > -log thresh".
            hard = pixel > -torch.log(torch.tensor(self.thresh))
            k = min(self.min_kept, pixel.numel())
            if int(hard.sum()) < k:
                cutoff = pixel.topk(k).values[-1]
                hard = pixel >= cutoff
        return pixel[hard].mean()


class SegLoss(nn.Module):
    """The training objective: per-output loss terms, the aux output weighted by ``aux_weight``."""

    def __init__(self, terms: list[nn.Module], aux_weight: float = 0.4):
        super().__init__()
        self.terms = nn.ModuleList(terms)
        self.aux_weight = aux_weight

    def _one(self, logits, target):
        return sum(t(logits, target) for t in self.terms)

    def forward(self, outputs: dict, target: torch.Tensor) -> torch.Tensor:
        loss = self._one(outputs["out"], target)
        if "aux" in outputs and self.aux_weight > 0:
            loss = loss + self.aux_weight * self._one(outputs["aux"], target)
        return loss


class _CE(nn.Module):
    def __init__(self, ignore_index, weight):
        super().__init__()
        self.ignore_index = ignore_index
        self.register_buffer("weight", weight, persistent=False)

    def forward(self, logits, target):
        return F.cross_entropy(logits.float(), target, weight=self.weight, ignore_index=self.ignore_index)


def build_loss(name: str, num_classes: int, *, ignore_index: int = 255, class_weights=None,
               aux_weight: float = 0.4, ohem_thresh: float = 0.7, ohem_min_kept: int = 10000) -> SegLoss:
    """``name`` is ``ce``, ``dice``, ``ohem`` or a ``+`` sum such as ``ce+dice``."""
    weight = torch.tensor(class_weights, dtype=torch.float32) if class_weights else None
    if weight is not None and weight.numel() != num_classes:
        from ..errors import ConfigError
        raise ConfigError("--class-weights needs one weight per class",
                          expected=num_classes, got=weight.numel())
    table = {
        "ce": lambda: _CE(ignore_index, weight),
        "dice": lambda: DiceLoss(num_classes, ignore_index),
        "ohem": lambda: OhemCrossEntropy(ignore_index, ohem_thresh, ohem_min_kept, weight),
    }
    return SegLoss([table[part]() for part in name.split("+")], aux_weight)
