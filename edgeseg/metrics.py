"""Segmentation metrics from one confusion matrix, in numpy: used by training, evaluation,
quantization budgets and benchmarks alike, so every mIoU in edgeseg means the same thing.

>>> import numpy as np
>>> cm = ConfusionMatrix(2)
>>> cm.update(np.array([[0, 1], [1, 1]]), np.array([[0, 1], [0, 1]]))
>>> r = cm.report(("bg", "fg"))
>>> round(r.miou, 4), r.iou
(0.5833, (0.5, 0.6666666666666666))
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from .errors import ConfigError, DataError


@dataclass(frozen=True)
class MetricReport:
    """Per-class and mean scores. Classes absent from both prediction and ground truth are
    NaN per class and left out of the means (the usual convention of mmseg and torchvision)."""

    classes: tuple[str, ...]
    iou: tuple[float, ...]
    acc: tuple[float, ...]
    dice: tuple[float, ...]
    miou: float
    pixel_acc: float
    mean_acc: float
    mdice: float
    pixels: int
    extra: dict = field(default_factory=dict)

    def to_dict(self) -> dict:
        clean = lambda xs: [None if x != x else float(x) for x in xs]  # noqa: E731 NaN -> null
        return {"miou": self.miou, "pixel_acc": self.pixel_acc, "mean_acc": self.mean_acc,
                "mdice": self.mdice, "pixels": self.pixels,
                "per_class": {c: {"iou": i, "acc": a, "dice": d} for c, i, a, d in
                              zip(self.classes, clean(self.iou), clean(self.acc), clean(self.dice))},
                **self.extra}

    def table(self) -> str:
        """A fixed-width table: one row per class, then the means."""
        w = max([len(c) for c in self.classes] + [10])
        rows = [f"{'class':<{w}}  {'IoU':>6}  {'Acc':>6}  {'Dice':>6}"]
        fmt = lambda x: "   n/a" if x != x else f"{100 * x:6.2f}"  # noqa: E731
        for c, i, a, d in zip(self.classes, self.iou, self.acc, self.dice):
            rows.append(f"{c:<{w}}  {fmt(i)}  {fmt(a)}  {fmt(d)}")
        rows.append("-" * len(rows[0]))
        rows.append(f"{'mean':<{w}}  {fmt(self.miou)}  {fmt(self.mean_acc)}  {fmt(self.mdice)}")
        rows.append(f"{'pixel acc':<{w}}  {fmt(self.pixel_acc)}")
        return "\n".join(rows)


class ConfusionMatrix:
    """Accumulates a (num_classes x num_classes) matrix, rows = ground truth, cols = prediction."""

    def __init__(self, num_classes: int, ignore_index: int = 255):
        if num_classes <= 0:
            raise ConfigError("num_classes must be positive", got=num_classes)
        self.num_classes, self.ignore_index = int(num_classes), ignore_index
        self.matrix = np.zeros((num_classes, num_classes), dtype=np.int64)

    def update(self, pred: np.ndarray, target: np.ndarray, where: str | None = None) -> None:
        """Add one or a batch of label maps (same shape, integer class ids); ``where`` names the
        mask file in the error when the ground truth holds ids outside the classes."""
        pred, target = np.asarray(pred), np.asarray(target)
        if pred.shape != target.shape:
            raise ConfigError("prediction and ground truth differ in shape",
                              expected=target.shape, got=pred.shape,
                              fix="resize predictions to the mask size (nearest) before scoring")
        valid = target != self.ignore_index
        t = target[valid].astype(np.int64)
        p = pred[valid].astype(np.int64)
        n = self.num_classes
        if t.size and (t.max() >= n or t.min() < 0):
            bad = np.unique(t[(t >= n) | (t < 0)])
            ids = ", ".join(str(int(i)) for i in bad[:8]) + (", ..." if bad.size > 8 else "")
            raise DataError("ground truth holds class ids outside [0, num_classes)", path=where,
                            expected=f"ids 0..{n - 1} or {self.ignore_index} (ignore)", got=f"id(s) {ids}",
                            fix=f"fix the mask, or score with as many classes as the data set has ({n} here)")
        # Out-of-range predictions cannot come from argmax; clip so a bad model scores, not crashes.
        np.clip(p, 0, n - 1, out=p)
        self.matrix += np.bincount(t * n + p, minlength=n * n).reshape(n, n)

    def merge(self, other: "ConfusionMatrix") -> "ConfusionMatrix":
        self.matrix += other.matrix
        return self

    def reset(self) -> None:
        self.matrix[:] = 0

    def report(self, classes=None) -> MetricReport:
        m = self.matrix.astype(np.float64)
        tp = np.diag(m)
        gt = m.sum(1)
        pr = m.sum(0)
        union = gt + pr - tp
        with np.errstate(divide="ignore", invalid="ignore"):
            iou = np.where(union > 0, tp / union, np.nan)
            acc = np.where(gt > 0, tp / gt, np.nan)
            dice = np.where(gt + pr > 0, 2 * tp / (gt + pr), np.nan)
        total = m.sum()
        classes = tuple(classes) if classes is not None else tuple(f"class{i}" for i in range(self.num_classes))
        nanmean = lambda x: float(np.nanmean(x)) if np.isfinite(x).any() else float("nan")  # noqa: E731
        return MetricReport(
            classes=classes, iou=tuple(float(x) for x in iou), acc=tuple(float(x) for x in acc),
            dice=tuple(float(x) for x in dice), miou=nanmean(iou),
            pixel_acc=float(tp.sum() / total) if total else float("nan"),
            mean_acc=nanmean(acc), mdice=nanmean(dice), pixels=int(total))


def miou(pred: np.ndarray, target: np.ndarray, num_classes: int, ignore_index: int = 255) -> float:
    """mIoU of one prediction: ``miou(np.zeros((2, 2)), np.zeros((2, 2)), 3)`` -> 1.0."""
    cm = ConfusionMatrix(num_classes, ignore_index)
    cm.update(pred, target)
    return cm.report().miou


def stride_ceiling(masks, stride: int, num_classes: int, ignore_index: int = 255) -> MetricReport:
    """The best mIoU a model whose logits sit at 1/``stride`` resolution could reach: each
    ground-truth mask, one-hot, area-averaged down to that resolution (the best such logits),
    upsampled bilinearly (half-pixel centres, as the heads' ``interpolate(align_corners=False)``)
    and arg-maxed, scored against the mask itself.

    >>> m = np.zeros((16, 16), np.uint8); m[7:9, 7:9] = 1      # a 2x2 object
    >>> stride_ceiling([m], 8, 2).iou[1]                        # lost at 1/8 resolution
    0.0
    >>> stride_ceiling([m], 1, 2).miou
    1.0
    """
    import cv2

    from .postprocess import resize_channels
    cm = ConfusionMatrix(num_classes, ignore_index)
    for mask in masks:
        mask = np.asarray(mask)
        h, w = mask.shape
        onehot = np.stack([(mask == c) for c in range(num_classes)], axis=-1).astype(np.float32)
        small = (h // stride or 1, w // stride or 1)
        low = onehot if stride == 1 else resize_channels(onehot, small, cv2.INTER_AREA)
        up = resize_channels(low, (h, w), cv2.INTER_LINEAR)
        cm.update(up.argmax(-1), mask)
    return cm.report()
