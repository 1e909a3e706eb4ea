"""Evaluate any predictor on a data set with the shared preprocessing and metrics (numpy only).

A predictor is a callable ``batch (N x input) -> outputs``: a torch model on the train side, an
ONNX Runtime session or a TensorRT engine on the deploy side. Its outputs are read with the meta
(:func:`~edgeseg.postprocess.decode_output`): logits or probabilities at any fraction of the
input size, or label ids (counted as one vote per pixel). Everything else (resize,
normalisation, test-time augmentation, scoring at mask resolution) happens here, once.

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

import math
from collections.abc import Callable, Iterable, Sequence

import numpy as np

from .errors import ConfigError
from .meta import ModelMeta
from .metrics import ConfusionMatrix, MetricReport
from .postprocess import class_probs, decode_output
from .preprocess import preprocess
from .utils.progress import Progress

Predictor = Callable[[np.ndarray], np.ndarray]


def check_scales(scales: Sequence[float]) -> tuple[float, ...]:
    """The test-time scales as floats, each finite and > 0; anything else is a ConfigError
    (a scale of 0 or below once became the 8-pixel minimum input and scored garbage).

    >>> check_scales([0.75, 1])
    (0.75, 1.0)
    """
    try:
        values = tuple(float(s) for s in scales)
    except (TypeError, ValueError):
        values = ()
    if not values or not all(math.isfinite(s) and s > 0 for s in values):
        raise ConfigError("bad test-time scales", expected="one or more finite numbers > 0, e.g. 0.75,1,1.25",
                          got=repr(tuple(scales)) if isinstance(scales, (list, tuple)) else repr(scales),
                          fix="pass scales=(1.0,) for none, or positive factors of the model's input size")
    return values


# The smallest input side a scaled view may have; below it a scale was once clamped silently.
MIN_SIDE = 8


def _scaled_metas(meta: ModelMeta, scales: tuple[float, ...]) -> list[ModelMeta]:
    out = []
    for s in scales:
        h, w = round(meta.input_size[0] * s), round(meta.input_size[1] * s)
        if min(h, w) < MIN_SIDE:
            low = MIN_SIDE / min(meta.input_size)
            raise ConfigError("a test-time scale makes the input too small", expected=f"scales >= {low:.3g} "
                              f"(inputs of at least {MIN_SIDE}x{MIN_SIDE} from {meta.input_size[0]}x"
                              f"{meta.input_size[1]})", got=f"scale {s:g}: {h}x{w}", fix="drop or raise that scale")
        out.append(meta if s == 1.0 else meta.replace(input_size=(h, w)))
    return out


def _check_batch(batch) -> int:
    if isinstance(batch, bool) or not isinstance(batch, (int, np.integer)) or batch < 1:
        raise ConfigError("bad evaluation batch", expected="an integer >= 1 (images per call)", got=repr(batch),
                          fix="pass batch=1 or more (static-batch graphs: their batch)")
    return int(batch)


def predict_scores(predict: Predictor, images: Sequence[np.ndarray], meta: ModelMeta, *,
                   scales: Sequence[float] = (1.0,), flip: bool = False) -> list[np.ndarray]:
    """Class scores (CxHxW at each image's size) for a batch of BGR images, averaged over
    ``scales`` x (flip). With one scale and no flip the raw scores are kept (no softmax);
    a labels output gives one-hot votes."""
    scales = check_scales(scales)
    if flip and meta.layout == "NHWC":
        raise ConfigError("flip test-time augmentation needs an NCHW model", got=meta.layout,
                          fix="drop --flip, or export the model with NCHW input")
    tta = len(scales) > 1 or flip
    acc = [None] * len(images)
    for m in _scaled_metas(meta, scales):
        xs = [preprocess(im, m) for im in images]
        # A graph run at each frame's size takes images of different sizes one at a time.
        groups = [(list(range(len(xs))), np.concatenate(xs))] if len({x.shape for x in xs}) == 1 else \
            [([i], x) for i, x in enumerate(xs)]
        for idx, x in groups:
            flips = [False, True] if flip else [False]
            for flipped in flips:
                xv = np.ascontiguousarray(x[..., ::-1]) if flipped else x
                out = np.asarray(predict(xv))
                if out.ndim not in (3, 4) or out.shape[0] != len(idx):
                    raise ConfigError("predictor returned an unexpected shape",
                                      expected=f"({len(idx)}, C, h, w) scores or ({len(idx)}, h, w) labels",
                                      got=out.shape)
                if flipped:
                    out = out[..., ::-1]
                for j, i in enumerate(idx):
                    sc = _image_scores(out[j], m, images[i].shape[:2], tta)
                    acc[i] = sc if acc[i] is None else acc[i] + sc
    return acc


def _image_scores(out: np.ndarray, meta: ModelMeta, size, tta: bool) -> np.ndarray:
    """One output item -> CxHxW float32 at ``size``: scores (probabilities under TTA, so views
    average on one scale), or one-hot votes for label ids."""
    decoded = decode_output(np.ascontiguousarray(out), meta, size)
    if meta.output_kind == "labels":
        return (decoded[None] == np.arange(meta.num_classes, dtype=decoded.dtype)[:, None, None]).astype(np.float32)
    return class_probs(decoded, meta) if tta else decoded


def confusion(predict: Predictor, dataset: Iterable, meta: ModelMeta, *, batch: int = 8,
              scales: Sequence[float] = (1.0,), flip: bool = False, indices=None,
              desc: str = "eval", progress_file="default") -> ConfusionMatrix:
    """Accumulate the confusion matrix of ``predict`` over ``dataset`` (or its ``indices``).

    An empty ``indices`` gives an empty matrix: one process's share of a small val set may be.
    """
    import sys
    scales, batch = check_scales(scales), _check_batch(batch)
    _scaled_metas(meta, scales)
    cm = ConfusionMatrix(meta.num_classes, meta.ignore_index)
    idx = list(range(len(dataset))) if indices is None else list(indices)
    bar = Progress(len(idx), desc, file=sys.stderr if progress_file == "default" else progress_file,
                   unit="img")
    with bar:
        for start in range(0, len(idx), batch):
            samples = [dataset[i] for i in idx[start:start + batch]]
            scores = predict_scores(predict, [s.image for s in samples], meta, scales=scales, flip=flip)
            for s, sc in zip(samples, scores):
                cm.update(sc.argmax(0), s.mask, where=s.mask_path or s.name)
            bar.update(len(samples))
    return cm


def evaluate(predict: Predictor, dataset, meta: ModelMeta, **kw) -> MetricReport:
    """mIoU, per-class IoU, pixel/mean accuracy and Dice of ``predict`` on ``dataset``.

    An empty data set (or ``indices``) is a ConfigError: its report would be all n/a."""
    kw.setdefault("progress_file", None)
    if kw.get("indices") is not None:
        kw["indices"] = list(kw["indices"])
    if (len(dataset) if kw.get("indices") is None else len(kw["indices"])) == 0:
        raise ConfigError("the data set has no images to evaluate", expected=">= 1 image", got="0 images",
                          fix="check the data spec (e.g. synthetic:200) and the split")
    return confusion(predict, dataset, meta, **kw).report(meta.classes)
