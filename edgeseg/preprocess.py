"""The ONE preprocessing of edgeseg: runtime, calibration, evaluation and training all call it,
so INT8 scales are computed on exactly what the engine sees and mIoU means the same everywhere.

A frame is HxWx3 uint8 BGR (OpenCV's order). The model's :class:`~edgeseg.meta.ModelMeta` says
the network size, channel order, layout, dtype and normalisation; nothing is configured by hand.

>>> import numpy as np
>>> from edgeseg.meta import ModelMeta
>>> meta = ModelMeta(model="m", classes=("a", "b"), input_size=(64, 96))
>>> preprocess(np.zeros((480, 640, 3), np.uint8), meta).shape
(1, 3, 64, 96)

A graph with dynamic H/W whose meta says ``run_size="frame"`` runs at the frame's own size,
rounded to ``size_multiple`` (the network's stride): :func:`network_size` is that size, for
everything that preprocesses or decodes.

>>> network_size((480, 650, 3), meta.replace(run_size="frame", size_multiple=32))
(480, 640)

The way back, scores to labels at frame size, is :mod:`edgeseg.postprocess`.
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


def network_size(frame_shape, meta: ModelMeta) -> tuple[int, int]:
    """The (h, w) a frame of ``frame_shape`` runs at: the meta's input size, or for
    ``run_size="frame"`` the frame's own size rounded to the nearest multiple of ``size_multiple``
    (at least one multiple), so a stride-32 network never sees a size it cannot halve five times.

    >>> from edgeseg.meta import ModelMeta
    >>> network_size((500, 650), ModelMeta(model="m", classes=("a",), input_size=(64, 64)))
    (64, 64)
    >>> network_size((500, 650), ModelMeta(model="m", classes=("a",), input_size=(64, 64),
    ...                                    run_size="frame", size_multiple=32))
    (512, 640)
    """
    if meta.run_size == "fixed":
        return tuple(meta.input_size)
    m = meta.size_multiple
    return tuple(max(m, int(d / m + 0.5) * m) for d in frame_shape[:2])


def resize_to_input(frame: np.ndarray, meta: ModelMeta, size: tuple[int, int] | None = None) -> np.ndarray:
    """Stretch a BGR frame to the network size (models are trained on the same stretch):
    ``size``, else :func:`network_size` of the frame."""
    h, w = size or network_size(frame.shape, meta)
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

    float32 graphs get 1x3xHxW (or 1xHxWx3) normalised input, float16 graphs the same values in
    half precision; uint8 graphs (export ``--input uint8``, or another tool's graph that casts and
    normalises itself) get raw pixels in the recorded channel order and layout, so the host only resizes.
    """
    frame = resize_to_input(check_frame(frame), meta)
    if meta.input_dtype == "uint8":
        if meta.color_order == "RGB":
            frame = cv2.cvtColor(frame, cv2.COLOR_BGR2RGB)
        x = frame if meta.layout == "NHWC" else frame.transpose(2, 0, 1)
        return np.ascontiguousarray(x)[None]
    x = normalize(frame, meta)
    # Normalised in float32 and rounded once, so a float16 graph sees the float32 values' nearest halves.
    x = x if meta.input_dtype == "float32" else x.astype(np.float16)
    return x[None] if meta.layout == "NCHW" else np.ascontiguousarray(x.transpose(1, 2, 0))[None]


def preprocess_batch(frames, meta: ModelMeta) -> np.ndarray:
    """Several frames -> one batch (N on axis 0)."""
    return np.concatenate([preprocess(f, meta) for f in frames], axis=0)
