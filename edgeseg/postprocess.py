"""Network output -> class ids at frame size: softmax, score resize, argmax, label resize.

The runtime, evaluation, comparison and temporal smoothing all call these, so a label means the
same wherever it is computed. Its counterpart on the way in is :mod:`edgeseg.preprocess`.

>>> import numpy as np
>>> logits = np.zeros((3, 64, 96), np.float32); logits[2] = 1.0
>>> labels = logits_to_labels(logits)
>>> int(labels.max()), labels_to_frame(labels, (480, 640)).shape
(2, (480, 640))
"""

from __future__ import annotations

import cv2
import numpy as np

from .errors import DataError


def softmax(scores: np.ndarray, axis: int = 0) -> np.ndarray:
    """Class probabilities from scores along ``axis`` (stable: the max is subtracted first)."""
    e = np.exp(scores - scores.max(axis=axis, keepdims=True))
    return e / e.sum(axis=axis, keepdims=True)


def resize_scores(scores: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """CxHxW scores -> CxH'xW' at ``size`` (h, w), bilinear like the heads' upsampling."""
    if tuple(size) == scores.shape[1:]:
        return scores
    c = scores.shape[0]
    hwc = np.ascontiguousarray(scores.transpose(1, 2, 0), dtype=np.float32)
    # cv2.resize handles at most 512 channels per call; chunk for large class counts.
    parts = [cv2.resize(hwc[..., i:i + 512], (size[1], size[0]), interpolation=cv2.INTER_LINEAR)
             for i in range(0, c, 512)]
    parts = [p[..., None] if p.ndim == 2 else p for p in parts]
    return np.concatenate(parts, axis=2).transpose(2, 0, 1)


def logits_to_labels(logits: np.ndarray, size: tuple[int, int] | None = None) -> np.ndarray:
    """CxHxW scores -> HxW class ids, resized to ``size`` (h, w) bilinearly *before* argmax,
    which keeps thin objects that nearest-resizing the labels would fray."""
    if logits.ndim != 3:
        raise DataError("logits must be CxHxW", got=f"shape {logits.shape}")
    if size is not None:
        logits = resize_scores(logits, size)
    return argmax_classes(logits)


def argmax_classes(scores: np.ndarray) -> np.ndarray:
    """CxHxW scores -> HxW ids of the highest score (the first on ties), uint8 where they fit.

    numpy's ``argmax(0)`` walks the class axis with a stride of HxW (6.4 ms for 6x512x512 here);
    a running maximum over whole planes gives the same ids in 0.4 ms. Ids only grow with the
    class index, so "take c where it beats the best" is ``max(ids, c * beats)``.

    >>> argmax_classes(np.array([[[0.1, 2.0]], [[0.5, 2.0]], [[0.2, 1.0]]], np.float32)).tolist()
    [[1, 0]]
    """
    c = scores.shape[0]
    if c > 256 or c < 2:
        return labels_dtype(scores.argmax(0), c)
    best = scores[0].copy()
    ids = np.zeros(scores.shape[1:], np.uint8)
    beats = np.empty(scores.shape[1:], np.bool_)
    cand = np.empty(scores.shape[1:], np.uint8)
    for k in range(1, c):
        np.greater(scores[k], best, out=beats)
        np.maximum(best, scores[k], out=best)
        np.multiply(beats.view(np.uint8), np.uint8(k), out=cand)
        np.maximum(ids, cand, out=ids)
    return ids


def labels_to_frame(labels: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """HxW class ids -> ``size`` (h, w) with nearest neighbour (ids must not blend)."""
    if labels.shape[:2] == tuple(size):
        return labels
    if labels.dtype in (np.uint8, np.uint16):  # the usual case: no pass over the map per frame
        src = labels
    else:
        src = labels.astype(np.uint8) if labels.max(initial=0) < 256 else labels.astype(np.uint16)
    return cv2.resize(src, (size[1], size[0]), interpolation=cv2.INTER_NEAREST)


def labels_dtype(labels: np.ndarray, num_classes: int) -> np.ndarray:
    """uint8 where the classes fit (they nearly always do), else uint16."""
    return labels.astype(np.uint8 if num_classes <= 256 else np.uint16, copy=False)
