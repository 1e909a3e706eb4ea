"""Segmenter: a BGR frame of any size in, class ids at frame resolution out.

Everything it needs comes from the model file's meta (input size, normalisation, classes,
palette, output kind); nothing is configured by hand. It runs on any backend of the table, and on
graphs edgeseg did not export once they have a meta (``edgeseg meta``, or ``meta=``): NHWC, uint8
or float16 inputs, dynamic H/W run at each frame's size, scores at 1/4 or 1/8 of the input
(resized before argmax), probabilities, label ids of any integer type.

>>> # seg = Segmenter("model.onnx")            # ONNX Runtime where TensorRT is absent
>>> # seg = Segmenter("trtexec.engine", meta="model.meta.json")   # a model file without edgeseg's meta
>>> # result = seg(frame)                      # result.labels: HxW uint8 at frame size
>>> # cv2.imwrite("overlay.png", seg.overlay(frame, result))
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import numpy as np

from ..backends import Backend, load_backend
from ..errors import ConfigError
from ..meta import ModelMeta, load_meta
from ..postprocess import argmax_classes, class_probs, decode_output, labels_to_frame
from ..preprocess import check_frame, network_size, preprocess
from ..visualize import colorize, legend, overlay


@dataclass
class SegResult:
    """``labels``: HxW class ids at the frame's size; ``scores``: CxHxW class probabilities at
    network size when asked for (None for a labels output); ``timings``: milliseconds per stage."""

    labels: np.ndarray
    scores: np.ndarray | None = None
    timings: dict = field(default_factory=dict)

    def class_fractions(self, num_classes: int) -> np.ndarray:
        return np.bincount(self.labels.ravel(), minlength=num_classes)[:num_classes] / self.labels.size


class Segmenter:
    """``Segmenter(path, backend="auto", device="auto", meta=None)``; call it on BGR frames.

    ``meta``: for a model file that carries none (a trtexec plan, a foreign ONNX): a ModelMeta or
    the path of a meta JSON; it wins over the file's own meta.
    """

    def __init__(self, model: str | Backend, backend: str = "auto", *, scores: bool = False,
                 upsample: str = "labels", meta: ModelMeta | str | None = None, **backend_options):
        meta = load_meta(meta)
        if isinstance(model, Backend):
            if meta is not None:
                raise ConfigError("meta applies when a model file is opened, not to an open backend",
                                  got=f"a {model.kind} backend already open on {model.path}",
                                  fix="Segmenter(path, meta=...), or open the backend with its meta")
            self.backend = model
        else:
            if meta is not None:
                backend_options["meta"] = meta
            self.backend = load_backend(model, backend, **backend_options)
        self.want_scores = scores
        # "logits": resize scores to the frame before argmax (sharper edges, C x more work);
        # "labels": argmax at network size then nearest-resize the ids (the fast default).
        self.upsample = upsample

    @property
    def meta(self) -> ModelMeta:
        return self.backend.meta

    def preprocess(self, frame: np.ndarray) -> np.ndarray:
        return preprocess(frame, self.meta)

    def postprocess(self, out: np.ndarray, frame_shape) -> SegResult:
        """One batch item of the network output (scores CxHxW at any fraction of the network
        size, or label ids HxW / 1xHxW) -> result at ``frame_shape``."""
        meta, frame_hw = self.meta, tuple(frame_shape[:2])
        if meta.output_kind == "labels":
            return SegResult(decode_output(out, meta, frame_hw))
        scores = decode_output(out, meta, network_size(frame_shape, meta))
        probs = class_probs(scores, meta) if self.want_scores else None
        if self.upsample == "logits":
            # Straight from the output to the frame: one bilinear resize, as HF's post-processing does.
            return SegResult(argmax_classes(decode_output(out, meta, frame_hw)), probs)
        return SegResult(labels_to_frame(argmax_classes(scores), frame_hw), probs)

    def __call__(self, frame: np.ndarray) -> SegResult:
        t0 = time.perf_counter()
        frame = check_frame(frame)
        x = self.preprocess(frame)
        t1 = time.perf_counter()
        out = self.backend.infer(x)[0]
        t2 = time.perf_counter()
        result = self.postprocess(out, frame.shape)
        t3 = time.perf_counter()
        result.timings = {"preprocess_ms": 1e3 * (t1 - t0), "infer_ms": 1e3 * (t2 - t1),
                          "postprocess_ms": 1e3 * (t3 - t2), "total_ms": 1e3 * (t3 - t0)}
        return result

    segment = __call__

    def colorize(self, result: SegResult) -> np.ndarray:
        return colorize(result.labels, self.meta.palette)

    def overlay(self, frame: np.ndarray, result: SegResult, alpha: float = 0.5) -> np.ndarray:
        return overlay(frame, result.labels, self.meta.palette, alpha)

    def legend(self) -> np.ndarray:
        return legend(self.meta.classes, self.meta.palette)

    def close(self) -> None:
        self.backend.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
