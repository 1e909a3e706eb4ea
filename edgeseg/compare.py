"""Compare two models on the same inputs, like Polygraphy's comparator, for segmentation.

Any two files of the backend table (``.onnx``, ``.engine``/``.plan``, ``.pt``) or the same file on
two backends (``backend_b="tensorrt"``). Each model gets the frames preprocessed with its *own*
meta and its output decoded with it (:func:`~edgeseg.postprocess.decode_output`: scores at 1/4
size resized before argmax, label ids of any type), so models of different input sizes, layouts
and output kinds compare too; ``meta_a=`` / ``meta_b=`` give a side the meta its file lacks (or
override it). Reported: argmax agreement (the number that matters for a segmenter), max and mean
absolute score difference when both give scores of one kind (logits, or probabilities) and shape,
and each model's mIoU against the masks when the data has them.

>>> r = CompareReport(a=Side("fp32.onnx", "onnxruntime", "fp32"), b=Side("int8.onnx", "onnxruntime", "int8"),
...                   images=2, source="synthetic", compared_at="network 64x64", agreement=0.995,
...                   worst_agreement=0.99, worst_image="val_1", max_abs_diff=0.5, mean_abs_diff=0.02)
>>> r.passed(0.99), r.passed(0.999)
(True, False)
>>> print(r.table().splitlines()[3])
argmax agreement     99.50 %  (worst image val_1: 99.00 %)
"""

from __future__ import annotations

import glob
import os
import time
from dataclasses import asdict, dataclass, field

import numpy as np

from . import uri
from .backends import Backend, backend_kind, load_backend
from .errors import ConfigError, DataError
from .meta import load_meta
from .metrics import ConfusionMatrix
from .postprocess import decode_labels
from .preprocess import network_size, preprocess

IMAGE_EXTS = uri.IMAGE_SUFFIXES  # the grammar's list, under the name this module has always exported
SYNTHETIC_DEFAULT_NUM = 32
# backend kind -> the loader options it takes (TensorRT has no thread pool to size).
_OPTIONS = {"onnxruntime": ("device", "threads"), "torch": ("device", "threads"), "tensorrt": ("device",)}


@dataclass
class Side:
    """One of the two models: where it came from and how it scored."""

    path: str
    backend: str
    precision: str
    output_kind: str = "logits"
    miou: float | None = None
    ms_per_image: float | None = None


@dataclass
class CompareReport:
    a: Side
    b: Side
    images: int
    source: str
    compared_at: str            # "network HxW" (same output size) or "frame" (resized to each image)
    agreement: float            # fraction of pixels whose class ids agree, over all images
    worst_agreement: float
    worst_image: str
    max_abs_diff: float | None  # None unless both give scores of one kind (logits, or probs) and shape
    mean_abs_diff: float | None
    notes: list[str] = field(default_factory=list)

    def passed(self, min_agreement: float) -> bool:
        return self.agreement >= min_agreement

    def to_dict(self) -> dict:
        return asdict(self)

    def table(self) -> str:
        side = lambda s: f"{s.path} ({s.backend}, {s.precision}, {s.output_kind})"
        rows = [("A", side(self.a)), ("B", side(self.b)),
                ("images", f"{self.images} from {self.source}, compared at {self.compared_at}"),
                ("argmax agreement", (f"{100 * self.agreement:.2f} %  (worst image {self.worst_image}: "
                                     f"{100 * self.worst_agreement:.2f} %)"))]
        if self.max_abs_diff is not None:
            what = "prob" if self.a.output_kind == "probs" else "logit"
            rows += [(f"max |{what} diff|", f"{self.max_abs_diff:.6g}"),
                     (f"mean |{what} diff|", f"{self.mean_abs_diff:.6g}")]
        if self.a.miou is not None and self.b.miou is not None:
            rows.append(("mIoU A / B", (f"{100 * self.a.miou:.2f} / {100 * self.b.miou:.2f} "
                                       f"(B - A: {100 * (self.b.miou - self.a.miou):+.2f} points)")))
        if self.a.ms_per_image is not None:
            rows.append(("infer A / B", f"{self.a.ms_per_image:.2f} / {self.b.ms_per_image:.2f} ms per image"))
        rows += [("note", n) for n in self.notes]
        return "\n".join(f"{label:<20} {value}" for label, value in rows)


# -- inputs -------------------------------------------------------------------------------------
def read_image_folder(folder, num: int | None = None) -> list:
    """(file name, BGR image, None) for the images in ``folder``, sorted by name."""
    import cv2
    files = sorted(f for f in glob.glob(os.path.join(os.fspath(folder), "*")) if f.lower().endswith(IMAGE_EXTS))
    if not files:
        raise DataError("no images in the folder", path=os.fspath(folder), expected=" | ".join(IMAGE_EXTS),
                        fix="point --images at a folder of photos or frames")
    items = []
    for f in files[:num]:
        image = cv2.imread(f, cv2.IMREAD_COLOR)
        if image is None:
            raise DataError("cannot read the image", path=f, fix="remove or re-save the file")
        items.append((os.path.basename(f), image, None))
    return items


def open_inputs(data=None, images=None, *, num: int | None = None, split: str = "val",
                size=(256, 256)) -> tuple[list, str, tuple]:
    """``(items, description, the data set's class names or ())``; an item is (name, BGR image,
    mask or None). ``data``: a data spec, a data set (samples with image/mask/name) or a list of
    BGR images; ``images``: a folder. ``size``: the synthetic scenes' size."""
    if (data is None) == (images is None):
        raise ConfigError("give exactly one source of inputs", got=f"data={data!r}, images={images!r}",
                          expected="data= (a spec or data set) or images= (a folder)")
    if images is not None:
        return read_image_folder(images, num), f"{images} (no masks)", ()
    if isinstance(data, (list, tuple)) and all(isinstance(x, np.ndarray) for x in data):
        return [(f"image_{i}", im, None) for i, im in enumerate(data[:num])], f"{len(data[:num])} arrays", ()
    if isinstance(data, str):
        from .data import open_dataset
        spec = uri.parse_data_spec(data)
        synthetic = spec.scheme == "synthetic"
        kw = {"size": tuple(size)} if synthetic else {}
        # A spec that names no count gets the short default: bare "synthetic", or a URI without
        # one (synthetic://?size=...); "synthetic:N" and "?num=N" say how many themselves.
        as_uri = bool(uri.split_uri(data)[0])
        if synthetic and (not spec.arg and "num" not in spec.params if as_uri else ":" not in data):
            kw["num"] = num or SYNTHETIC_DEFAULT_NUM
        dataset, source = open_dataset(data, split=split, **kw), f"{data} ({split})"
    else:
        dataset, source = data, type(data).__name__
    count = len(dataset) if num is None else min(num, len(dataset))
    items = [(s.name, s.image, s.mask) for s in (dataset[i] for i in range(count))]
    return items, source, tuple(getattr(dataset, "classes", ()) or ())


# -- comparing ----------------------------------------------------------------------------------
def _open(model, backend: str, options: dict, meta, side: str) -> Backend:
    if isinstance(model, Backend):
        if meta is not None:
            raise ConfigError(f"meta_{side} applies when a model file is opened, not to an open backend",
                              got=f"a {model.kind} backend already open on {model.path}",
                              fix=f"pass the path with meta_{side}=..., or open the backend with its meta")
        return model
    kind = backend_kind(model, backend)
    opts = {k: v for k, v in options.items() if k in _OPTIONS.get(kind, ()) and v is not None}
    return load_backend(model, kind, **opts, **({} if meta is None else {"meta": meta}))


def _check_pair(a: Backend, b: Backend) -> list[str]:
    if a.meta.num_classes != b.meta.num_classes:
        raise ConfigError("the two models predict different numbers of classes, so their outputs cannot be compared",
                          expected=f"{a.meta.num_classes} classes (A: {a.path})",
                          got=f"{b.meta.num_classes} classes (B: {b.path})",
                          fix="compare two builds of the same model (export, quantize or build of one checkpoint)")
    notes = []
    if a.meta.classes != b.meta.classes:
        notes.append(f"class names differ ({', '.join(a.meta.classes[:3])}... vs "
                     f"{', '.join(b.meta.classes[:3])}...): compared by index")
    if a.meta.input_size != b.meta.input_size:
        notes.append(f"input sizes differ ({a.meta.input_size} vs {b.meta.input_size}): each model sees its own "
                     "resize; compared at frame size")
    return notes


def _check_data(model: Backend, classes: tuple, source: str) -> list[str]:
    """Masks only score a model trained for the data set's classes."""
    if classes and len(classes) != model.meta.num_classes:
        raise ConfigError("the data set and the models have different classes, so mIoU would be meaningless",
                          expected=f"{model.meta.num_classes} classes ({', '.join(model.meta.classes[:4])}...)",
                          got=f"{len(classes)} classes in {source} ({', '.join(classes[:4])}...)",
                          fix="compare on the data set the models were trained for, or use --images DIR "
                              "(agreement only, no masks)")
    if classes and tuple(classes) != tuple(model.meta.classes):
        return ["class names of the data set differ from the models': mIoU compares ids by index"]
    return []


def compare_models(a, b, data=None, *, images=None, backend_a: str = "auto", backend_b: str = "auto",
                   device: str = "auto", threads: int | None = None, num: int | None = None,
                   split: str = "val", meta_a=None, meta_b=None) -> CompareReport:
    """Run models ``a`` and ``b`` (paths or open backends) on the same inputs and compare them.

    ``data``: a data spec (``synthetic``, ``folder:PATH`` ...), a data set or a list of BGR images;
    ``images``: a folder of images instead (no masks, so no mIoU). ``num``: the first N inputs.
    ``meta_a`` / ``meta_b``: the meta of each side (a ModelMeta or a meta JSON path) where its file
    has none or it should be overridden; None: the file's own. Each side is preprocessed and
    decoded with its own meta (an INT8 file from ``quantize(..., meta=...)`` carries that meta).
    """
    options = {"device": device, "threads": threads}
    meta_a, meta_b = load_meta(meta_a), load_meta(meta_b)
    ba = _open(a, backend_a, options, meta_a, "a")
    try:
        bb = _open(b, backend_b, options, meta_b, "b")
    except BaseException:
        if ba is not a:
            ba.close()
        raise
    try:
        notes = _check_pair(ba, bb)
        items, source, classes = open_inputs(data, images, num=num, split=split, size=ba.meta.input_size)
        notes += _check_data(ba, classes, source)
        return _compare(ba, bb, items, source, notes)
    finally:
        for backend, given in ((ba, a), (bb, b)):
            if backend is not given:
                backend.close()


def _compare(ba: Backend, bb: Backend, items, source: str, notes: list[str]) -> CompareReport:
    sides = (ba, bb)
    kinds = [x.meta.output_kind for x in sides]
    meta = ba.meta
    cms = [ConfusionMatrix(meta.num_classes, meta.ignore_index) for _ in sides]
    seconds = [0.0, 0.0]
    agree = total = 0
    worst = (2.0, "")
    # Scores compare as they come out (logits with logits, probabilities with probabilities).
    diff_max, diff_sum, diff_n = 0.0, 0.0, 0
    same_logits = kinds[0] == kinds[1] and kinds[0] != "labels"
    compared_at = None
    if not items:
        raise DataError("no inputs to compare", got=source)
    for backend in sides:  # one untimed run: first calls pay for allocation and kernel selection
        backend.infer(preprocess(items[0][1], backend.meta))
    for name, image, mask in items:
        outs = []
        for i, backend in enumerate(sides):
            x = preprocess(image, backend.meta)
            t0 = time.perf_counter()
            y = np.asarray(backend.infer(x))
            seconds[i] += time.perf_counter() - t0
            if y.shape[0] != 1:
                raise ConfigError("a model returned an unexpected batch", path=backend.path,
                                  expected="a batch of 1", got=y.shape)
            outs.append(y[0])
        nets = [network_size(image.shape, x.meta) for x in sides]
        if nets[0] == nets[1]:
            at = f"network {nets[0][0]}x{nets[0][1]}"
            la, lb = (decode_labels(o, x.meta, nets[0]) for o, x in zip(outs, sides))
        else:
            at = "frame"
            la, lb = (decode_labels(o, x.meta, image.shape[:2]) for o, x in zip(outs, sides))
        compared_at = at if compared_at in (None, at) else "network and frame"
        same = int((la == lb).sum())
        agree, total = agree + same, total + la.size
        worst = min(worst, (same / la.size, name))
        if same_logits and outs[0].shape == outs[1].shape:
            d = np.abs(outs[0].astype(np.float64) - outs[1].astype(np.float64))
            diff_max, diff_sum, diff_n = max(diff_max, float(d.max())), diff_sum + float(d.sum()), diff_n + d.size
        else:
            same_logits = False
        if mask is not None:
            for cm, out, x in zip(cms, outs, sides):
                # Scores resized bilinearly to the mask before argmax, as edgeseg.evaluate scores a model.
                cm.update(decode_labels(out, x.meta, mask.shape[:2]), mask)
    if not same_logits:
        notes.append("no score difference: " + ("an output is class ids" if "labels" in kinds else
                                                 f"{kinds[0]} vs {kinds[1]}" if kinds[0] != kinds[1] else
                                                 "the scores differ in shape"))
    has_masks = all(m is not None for _, _, m in items)
    report_sides = []
    for backend, cm, kind, sec in zip(sides, cms, kinds, seconds):
        miou = cm.report(meta.classes).miou if has_masks else None
        report_sides.append(Side(backend.path, backend.kind, backend.meta.precision, kind, miou,
                                 1e3 * sec / len(items)))
    return CompareReport(a=report_sides[0], b=report_sides[1], images=len(items), source=source,
                         compared_at=compared_at, agreement=agree / total, worst_agreement=worst[0],
                         worst_image=worst[1], max_abs_diff=diff_max if same_logits else None,
                         mean_abs_diff=diff_sum / diff_n if same_logits else None, notes=notes)
