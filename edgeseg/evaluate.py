"""Evaluate any predictor on a data set with the shared preprocessing and metrics (numpy only).

A predictor is a callable ``batch (N x input) -> logits (N x C x h x w)``: a torch model on the
train side, an ONNX Runtime session or a TensorRT engine on the deploy side. Everything else
(resize, normalisation, test-time augmentation, scoring at mask resolution) happens here, once.

>>> import numpy as np
>>> from edgeseg.meta import ModelMeta
>>> from edgeseg.data.base import Sample
>>> meta = ModelMeta(model="m", classes=("a", "b"), input_size=(8, 8))
>>> data = [Sample(np.zeros((16, 16, 3), np.uint8), np.zeros((16, 16), np.uint8), "s0")]
>>> always_a = lambda x: np.stack([np.ones((len(x), 8, 8)), np.zeros((len(x), 8, 8))], 1)
>>> evaluate(always_a, data, meta).miou
1.0
"""

from __future__ import annotations

from typing import Callable, Iterable, Sequence

import numpy as np

from .errors import ConfigError
from .meta import ModelMeta
from .metrics import ConfusionMatrix, MetricReport
from .postprocess import resize_scores, softmax
from .preprocess import preprocess
from .utils.progress import Progress

Predictor = Callable[[np.ndarray], np.ndarray]


def predict_scores(predict: Predictor, images: Sequence[np.ndarray], meta: ModelMeta, *,
                   scales: Sequence[float] = (1.0,), flip: bool = False) -> list[np.ndarray]:
    """Class scores (CxHxW at each image's size) for a batch of BGR images, averaged over
    ``scales`` x (flip). With one scale and no flip the raw logits are kept (no softmax)."""
    tta = len(scales) > 1 or flip
    acc = [None] * len(images)
    for s in scales:
        m = meta if s == 1.0 else meta.replace(input_size=(max(8, round(meta.input_size[0] * s)),
                                                           max(8, round(meta.input_size[1] * s))))
        x = np.concatenate([preprocess(im, m) for im in images])
        views = [(x, False)] + ([(np.ascontiguousarray(x[..., ::-1]), True)] if flip else [])
        if flip and m.layout == "NHWC":
            raise ConfigError("flip test-time augmentation needs an NCHW model", got=m.layout)
        for xv, flipped in views:
            out = np.asarray(predict(xv), dtype=np.float32)
            if out.ndim != 4 or out.shape[0] != len(images):
                raise ConfigError("predictor returned an unexpected shape",
                                  expected=f"({len(images)}, C, h, w) logits", got=out.shape)
            if flipped:
                out = out[..., ::-1]
            for i, im in enumerate(images):
                sc = resize_scores(out[i], im.shape[:2])
                sc = softmax(sc) if tta else sc
                acc[i] = sc if acc[i] is None else acc[i] + sc
    return acc


def confusion(predict: Predictor, dataset: Iterable, meta: ModelMeta, *, batch: int = 8,
              scales: Sequence[float] = (1.0,), flip: bool = False, indices=None,
              desc: str = "eval", progress_file="default") -> ConfusionMatrix:
    """Accumulate the confusion matrix of ``predict`` over ``dataset`` (or its ``indices``)."""
    import sys
    cm = ConfusionMatrix(meta.num_classes, meta.ignore_index)
    idx = list(range(len(dataset))) if indices is None else list(indices)
    bar = Progress(len(idx), desc, file=sys.stderr if progress_file == "default" else progress_file,
                   unit="img")
    with bar:
        for start in range(0, len(idx), batch):
            samples = [dataset[i] for i in idx[start:start + batch]]
            scores = predict_scores(predict, [s.image for s in samples], meta, scales=scales, flip=flip)
            for s, sc in zip(samples, scores):
                cm.update(sc.argmax(0), s.mask)
            bar.update(len(samples))
    return cm


def evaluate(predict: Predictor, dataset, meta: ModelMeta, **kw) -> MetricReport:
    """mIoU, per-class IoU, pixel/mean accuracy and Dice of ``predict`` on ``dataset``."""
    kw.setdefault("progress_file", None)
    return confusion(predict, dataset, meta, **kw).report(meta.classes)
