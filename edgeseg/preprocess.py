"""The ONE preprocessing of edgeseg: runtime, calibration, evaluation and training all call it,
so INT8 scales are computed on exactly what the engine sees and mIoU means the same everywhere.

A frame is HxWx3 uint8 BGR (OpenCV's order). The model's :class:`~edgeseg.meta.ModelMeta` says
the network size, channel order, layout, dtype and normalisation; nothing is configured by hand.

>>> import numpy as np
>>> from edgeseg.meta import ModelMeta
>>> meta = ModelMeta(model="m", classes=("a", "b"), input_size=(64, 96))
>>> preprocess(np.zeros((480, 640, 3), np.uint8), meta).shape
(1, 3, 64, 96)
>>> labels_to_frame(np.zeros((64, 96), np.int64), (480, 640)).shape
(480, 640)
"""

from __future__ import annotations

from functools import lru_cache

import cv2
import numpy as np

from .errors import DataError
from .meta import ModelMeta


@lru_cache(maxsize=32)
def _affine(mean: tuple, std: tuple, color_order: str):
    """Per-channel scale/bias in the frame's BGR order: x * scale + bias == (x/255 - mean)/std."""
    mean_a, std_a = np.asarray(mean, np.float32), np.asarray(std, np.float32)
    scale, bias = 1.0 / (255.0 * std_a), -mean_a / std_a
    if color_order == "RGB":  # meta is in network order; frames arrive BGR
        scale, bias = scale[::-1], bias[::-1]
    return np.ascontiguousarray(scale), np.ascontiguousarray(bias)


def check_frame(frame: np.ndarray, where: str = "frame") -> np.ndarray:
    """Accept HxWx3 uint8 (or HxW grey, expanded); anything else is a DataError."""
    if not isinstance(frame, np.ndarray):
        raise DataError("a frame must be a numpy array", expected="HxWx3 uint8 BGR",
                        got=type(frame).__name__, path=where)
    if frame.ndim == 2:
        frame = cv2.cvtColor(frame, cv2.COLOR_GRAY2BGR)
    if frame.ndim != 3 or frame.shape[2] not in (3, 4) or frame.dtype != np.uint8 or frame.size == 0:
        raise DataError("unsupported frame", expected="HxWx3 uint8 BGR",
                        got=f"shape {frame.shape} dtype {frame.dtype}", path=where,
                        fix="convert with cv2.cvtColor / astype(np.uint8) before segmenting")
    if frame.shape[2] == 4:
        frame = cv2.cvtColor(frame, cv2.COLOR_BGRA2BGR)
    return frame


def resize_to_input(frame: np.ndarray, meta: ModelMeta) -> np.ndarray:
    """Stretch a BGR frame to the network size (models are trained on the same stretch)."""
    h, w = meta.input_size
    if frame.shape[:2] == (h, w):
        return frame
    # INTER_AREA when shrinking avoids aliasing of thin structures (poles, people).
    interp = cv2.INTER_AREA if frame.shape[0] > h and frame.shape[1] > w else cv2.INTER_LINEAR
    return cv2.resize(frame, (w, h), interpolation=interp)


def normalize(image: np.ndarray, meta: ModelMeta) -> np.ndarray:
    """HxWx3 uint8 BGR at any size -> 3xHxW float32 in the network's order and scale.

    Training calls this on augmented crops; :func:`preprocess` calls it after resizing.
    """
    scale, bias = _affine(meta.mean, meta.std, meta.color_order)
    # Plane by plane: an interleaved HxWx3 float pass plus a transpose copy took 2.1 ms at
    # 512x512; three contiguous planes take 0.2 ms, with the same float operations in the same
    # order, so the result is bit-identical.
    planes = cv2.split(image)
    order = (2, 1, 0) if meta.color_order == "RGB" else (0, 1, 2)
    x = np.empty((3,) + image.shape[:2], np.float32)
    for i, c in enumerate(order):
        x[i] = planes[c]
        x[i] *= scale[c]
        x[i] += bias[c]
    return x


def preprocess(frame: np.ndarray, meta: ModelMeta) -> np.ndarray:
    """A BGR frame -> the batch of one that the model's graph takes (per ``meta``).

    float32 graphs get 1x3xHxW normalised input; uint8 graphs (export ``--input uint8``) normalise
    inside the graph and get 1xHxWx3 uint8 in the recorded channel order, so the host only resizes.
    """
    frame = resize_to_input(check_frame(frame), meta)
    if meta.input_dtype == "uint8":
        if meta.color_order == "RGB":
            frame = cv2.cvtColor(frame, cv2.COLOR_BGR2RGB)
        x = frame if meta.layout == "NHWC" else frame.transpose(2, 0, 1)
        return np.ascontiguousarray(x)[None]
    x = normalize(frame, meta)
    return x[None] if meta.layout == "NCHW" else np.ascontiguousarray(x.transpose(1, 2, 0))[None]


def preprocess_batch(frames, meta: ModelMeta) -> np.ndarray:
    """Several frames -> one batch (N on axis 0)."""
    return np.concatenate([preprocess(f, meta) for f in frames], axis=0)


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
