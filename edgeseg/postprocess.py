"""Network output -> class ids at frame size: softmax, score resize, argmax, label resize.

The runtime, evaluation, comparison and temporal smoothing all call these, so a label means the
same wherever it is computed. Its counterpart on the way in is :mod:`edgeseg.preprocess`.

:func:`decode_output` is the one reading of a model's output, whatever graph wrote it: scores
(logits, or probabilities from a Softmax in the graph) at any fraction of the input size are
resized bilinearly to the size asked for *before* argmax, as the models' authors do (SegFormer's
and torchvision's ``interpolate(..., mode="bilinear", align_corners=False)``, which OpenCV's
``INTER_LINEAR`` equals); label ids of any integer type, with or without a channel dim, are
resized by nearest neighbour.

>>> import numpy as np
>>> logits = np.zeros((3, 64, 96), np.float32); logits[2] = 1.0
>>> labels = logits_to_labels(logits)
>>> int(labels.max()), labels_to_frame(labels, (480, 640)).shape
(2, (480, 640))
"""

from __future__ import annotations

from functools import cache

import cv2
import numpy as np

from .errors import DataError
from .meta import ModelMeta


def softmax(scores: np.ndarray, axis: int = 0) -> np.ndarray:
    """Class probabilities from scores along ``axis`` (stable: the max is subtracted first)."""
    e = np.exp(scores - scores.max(axis=axis, keepdims=True))
    return e / e.sum(axis=axis, keepdims=True)


@cache
def max_resize_channels(interpolation: int = cv2.INTER_LINEAR) -> int:
    """The most channels one ``cv2.resize`` call takes in the installed OpenCV, probed once.

    The Python bindings turn an HxWxC array with more than CV_CN_MAX channels into a 3-D Mat
    that resize refuses; CV_CN_MAX was 512 up to OpenCV 4 and is 128 in OpenCV 5, and cv2 does
    not export it, so a hardcoded chunk would break silently on the next change.

    >>> max_resize_channels() >= 4
    True
    """
    def takes(c: int) -> bool:
        try:
            cv2.resize(np.zeros((2, 2, c), np.float32), (1, 1), interpolation=interpolation)
            return True
        except cv2.error:
            return False
    lo, hi = 4, 4096  # every OpenCV takes 4 (BGRA); past 4096 a chunk is big enough either way
    if takes(hi):
        return hi
    while hi - lo > 1:  # invariant: takes(lo) and not takes(hi)
        mid = (lo + hi) // 2
        lo, hi = (mid, hi) if takes(mid) else (lo, mid)
    return lo


def resize_channels(hwc: np.ndarray, size: tuple[int, int], interpolation: int = cv2.INTER_LINEAR) -> np.ndarray:
    """HxWxC -> H'xW'xC at ``size`` (h, w), in as few ``cv2.resize`` calls as OpenCV allows.

    >>> resize_channels(np.zeros((4, 4, 300), np.float32), (2, 6)).shape
    (2, 6, 300)
    """
    c = hwc.shape[2]
    step = max_resize_channels(interpolation)
    if c <= step:
        out = cv2.resize(hwc, (size[1], size[0]), interpolation=interpolation)
        return out[..., None] if out.ndim == 2 else out
    out = np.empty((size[0], size[1], c), hwc.dtype)
    for i in range(0, c, step):
        part = cv2.resize(np.ascontiguousarray(hwc[..., i:i + step]), (size[1], size[0]),
                          interpolation=interpolation)
        out[..., i:i + step] = part[..., None] if part.ndim == 2 else part
    return out


def resize_scores(scores: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """CxHxW scores -> CxH'xW' at ``size`` (h, w), bilinear like the heads' upsampling.

    Past the channels one OpenCV call takes (ADE20K's 150 and COCO-Stuff's 171 classes are over
    OpenCV 5's 128) each class plane is resized on its own, straight from and into CxHxW: 150
    classes from 64x64 to 512x512 took 34 ms that way here, against 350 ms in interleaved chunks.

    >>> resize_scores(np.zeros((150, 4, 4), np.float32), (8, 6)).shape
    (150, 8, 6)
    """
    if tuple(size) == scores.shape[1:]:
        return scores
    if scores.shape[0] <= max_resize_channels(cv2.INTER_LINEAR):
        hwc = np.ascontiguousarray(scores.transpose(1, 2, 0), dtype=np.float32)
        return resize_channels(hwc, size, cv2.INTER_LINEAR).transpose(2, 0, 1)
    planes = np.ascontiguousarray(scores, dtype=np.float32)
    out = np.empty((planes.shape[0],) + tuple(size), np.float32)
    for plane, dst in zip(planes, out):
        got = cv2.resize(plane, (size[1], size[0]), dst=dst, interpolation=cv2.INTER_LINEAR)
        if not np.shares_memory(got, dst):  # OpenCV reallocated rather than writing in place
            dst[...] = got
    return out


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


# -- one batch item of the model's chosen output -------------------------------------------------
def decode_output(out: np.ndarray, meta: ModelMeta, size: tuple[int, int]) -> np.ndarray:
    """One batch item of the output ``meta`` describes -> CxHxW float32 scores at ``size``
    (logits or probabilities, as the graph gives them), or HxW class ids at ``size`` for a
    labels output (``HxW`` or ``1xHxW``, any integer type; uint8 where the classes fit).

    ``size`` is the network size (:func:`edgeseg.preprocess.network_size`) to argmax at, or the
    frame's to resize straight there. A float32 output already at ``size`` is returned as it is.

    >>> from edgeseg.meta import ModelMeta
    >>> m = ModelMeta(model="m", classes=("a", "b"), input_size=(8, 8))
    >>> decode_output(np.zeros((2, 2, 2), np.float32), m, (8, 8)).shape      # 1/4-size logits
    (2, 8, 8)
    >>> decode_output(np.ones((1, 2, 2), np.int64), m.replace(output_kind="labels"), (8, 8)).dtype
    dtype('uint8')
    """
    size = (int(size[0]), int(size[1]))
    if meta.output_kind == "labels":
        return labels_to_frame(_label_map(out, meta), size)
    return resize_scores(_score_maps(out, meta), size)


def decode_labels(out: np.ndarray, meta: ModelMeta, size: tuple[int, int]) -> np.ndarray:
    """HxW class ids at ``size`` from one batch item: scores resized then arg-maxed, or label ids.

    >>> from edgeseg.meta import ModelMeta
    >>> m = ModelMeta(model="m", classes=("a", "b"), input_size=(8, 8))
    >>> decode_labels(np.stack([np.zeros((2, 2)), np.ones((2, 2))]).astype(np.float32), m, (8, 8)).max()
    np.uint8(1)
    """
    decoded = decode_output(out, meta, size)
    return decoded if meta.output_kind == "labels" else argmax_classes(decoded)


def class_probs(scores: np.ndarray, meta: ModelMeta) -> np.ndarray:
    """Class probabilities (CxHxW) from decoded scores: softmax of logits; probabilities from a
    graph that ends in Softmax as they are (a second softmax would flatten them towards uniform).

    >>> from edgeseg.meta import ModelMeta
    >>> m = ModelMeta(model="m", classes=("a", "b"), input_size=(1, 1), output_kind="probs")
    >>> class_probs(np.array([[[0.25]], [[0.75]]], np.float32), m).ravel().tolist()
    [0.25, 0.75]
    """
    if meta.output_kind == "labels":
        raise DataError("a labels output has no class scores", got="output_kind labels (class ids)",
                        fix="pick a score output of the graph with edgeseg meta MODEL --output NAME --output-kind logits")
    return scores if meta.output_kind == "probs" else softmax(scores)


def _score_maps(out: np.ndarray, meta: ModelMeta) -> np.ndarray:
    out = np.asarray(out)
    if out.dtype.kind != "f":
        raise DataError(f"the model's output is {out.dtype}, but the meta says it gives {meta.output_kind} (float)",
                        expected=f"float {meta.output_kind}, C x H x W", got=f"{out.dtype} {tuple(out.shape)}",
                        fix="an integer output holds class ids: edgeseg meta MODEL --output-kind labels")
    if out.ndim != 3:
        raise DataError("class scores must be C x H x W per image", expected=f"{meta.num_classes} x H x W",
                        got=f"shape {tuple(out.shape)}",
                        fix="pick the score output with edgeseg meta MODEL --output NAME")
    if out.shape[0] != meta.num_classes:
        raise DataError(f"the model's output has {out.shape[0]} channels, but the meta names {meta.num_classes} classes",
                        expected=f"{meta.num_classes} channels (one per class)", got=f"shape {tuple(out.shape)}",
                        fix=f"give the model's {out.shape[0]} class names: edgeseg meta MODEL --classes FILE")
    return out if out.dtype == np.float32 else out.astype(np.float32)


def _label_map(out: np.ndarray, meta: ModelMeta) -> np.ndarray:
    out = np.asarray(out)
    if out.dtype.kind not in "iu":
        raise DataError(f"the model's output is {out.dtype}, but the meta says it gives class ids (labels)",
                        expected="integer class ids, H x W or 1 x H x W", got=f"{out.dtype} {tuple(out.shape)}",
                        fix="a float output holds scores: edgeseg meta MODEL --output-kind logits (or probs)")
    if out.ndim == 3 and out.shape[0] == 1:
        out = out[0]
    if out.ndim != 2:
        raise DataError("label ids must be H x W or 1 x H x W per image", got=f"shape {tuple(out.shape)}",
                        fix="pick the label output with edgeseg meta MODEL --output NAME")
    return labels_dtype(out, meta.num_classes)
