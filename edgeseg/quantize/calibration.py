"""Calibration sets: frames from an image folder, video files or a data set, preprocessed with
the shared :mod:`edgeseg.preprocess` and cached in an ``.npz``.

The cache holds the frames resized to the network size (uint8, ``frames`` N x H x W x 3, BGR);
:func:`~edgeseg.preprocess.preprocess` of such a frame is only the normalisation (or, for a graph
that takes uint8 or NHWC input, the layout and channel order its meta records), so the tensors
the quantizer sees are exactly what the runtime feeds the engine, at a quarter of float32's size.
A dynamic graph run at each frame's size (``run_size="frame"``) is calibrated at the meta's
input size: one size, so the frames stack.

>>> import numpy as np
>>> from edgeseg.meta import ModelMeta
>>> meta = ModelMeta(model="m", classes=("a", "b"), input_size=(32, 32))
>>> calib = CalibrationSet(np.zeros((4, 32, 32, 3), np.uint8), meta.input_size, source="zeros")
>>> calib.tensors(meta).shape
(4, 3, 32, 32)
"""

from __future__ import annotations

import glob
import hashlib
import json
import os
import warnings
from dataclasses import dataclass, field

import cv2
import numpy as np

from .. import uri
from ..errors import DataError, ModelError
from ..meta import ModelMeta
from ..postprocess import decode_labels
from ..preprocess import check_frame, preprocess, resize_to_input
from ..utils.atomic import atomic_path
from ..utils.checks import check_int, check_output_file
from ..utils.progress import STDERR, Progress
from .calib_file import read_calibration_npz

# The grammar's lists, under the names this module has always exported.
IMAGE_EXTS = uri.IMAGE_SUFFIXES
VIDEO_EXTS = uri.VIDEO_SUFFIXES
MIN_RECOMMENDED = 64  # fewer frames than this rarely cover a scene's range of activations


@dataclass
class CalibrationSet:
    """Network-size frames plus where they came from; ``tensors(meta)`` is the model input."""

    frames: np.ndarray
    input_size: tuple[int, int]
    source: str
    info: dict = field(default_factory=dict)

    def __post_init__(self):
        self.frames = check_calibration_frames(self.frames, self.source)
        self.input_size = tuple(int(x) for x in self.input_size)
        if self.frames.shape[1:3] != self.input_size:
            raise DataError("calibration frames are not at the set's input size", path=self.source,
                            expected=f"{self.input_size[0]}x{self.input_size[1]}",
                            got=f"{self.frames.shape[1]}x{self.frames.shape[2]}",
                            fix="make the set again with edgeseg calibrate")

    def __len__(self) -> int:
        return len(self.frames)

    def tensors(self, meta: ModelMeta, start: int = 0, stop: int | None = None) -> np.ndarray:
        if tuple(meta.input_size) != tuple(self.input_size):
            raise DataError("calibration set was made for another input size", path=self.source,
                            expected=f"{meta.input_size[0]}x{meta.input_size[1]} (the model's)",
                            got=f"{self.input_size[0]}x{self.input_size[1]}",
                            fix="re-run edgeseg calibrate with this model")
        fixed = meta if meta.run_size == "fixed" else meta.replace(run_size="fixed")  # frames are at input_size
        return np.concatenate([preprocess(f, fixed) for f in self.frames[start:stop]])

    def batches(self, meta: ModelMeta, batch: int = 1):
        for i in range(0, len(self), batch):
            yield self.tensors(meta, i, i + batch)

    def save(self, path: str) -> str:
        check_output_file(path, "calibration output", "calib.npz")
        with atomic_path(path, suffix=".npz") as tmp:
            np.savez_compressed(tmp, frames=self.frames, input_size=np.array(self.input_size),
                                info=np.array(json.dumps({"source": self.source, **self.info})))
        return path

    @classmethod
    def load(cls, path: str) -> CalibrationSet:
        frames, size, info = read_calibration_npz(path)
        return cls(frames, size, info.pop("source", path), info)

    def fingerprint(self) -> str:
        """sha256 of the frames: names the set in reports and quantization caches."""
        return hashlib.sha256(np.ascontiguousarray(self.frames).tobytes()).hexdigest()[:16]


def check_calibration_frames(frames, where: str) -> np.ndarray:
    """N x H x W x 3 uint8 (what calibrate writes and preprocess takes); float frames holding NaN
    or inf are named as such, since no range computed over them would mean anything."""
    frames = np.asarray(frames)
    if frames.dtype.kind in "fc" and not np.isfinite(frames).all():
        bad = int((~np.isfinite(frames)).sum())
        raise DataError("calibration frames hold non-finite values (NaN or inf)", path=where,
                        expected="N x H x W x 3 uint8 frames", got=f"{bad} of {frames.size} values not finite",
                        fix="make the set again from images or video with edgeseg calibrate")
    if frames.ndim != 4 or frames.shape[-1] != 3 or not len(frames) or frames.dtype != np.uint8:
        raise DataError("calibration frames have the wrong form", path=where,
                        expected="N x H x W x 3 uint8 frames (N >= 1), BGR at the model's input size",
                        got=f"shape {frames.shape} dtype {frames.dtype}",
                        fix="make the set with edgeseg calibrate (or build_calibration_set)")
    return frames


# -- sources ---------------------------------------------------------------------------------
def _signature(frame: np.ndarray) -> np.ndarray:
    """A 32x18 grey thumbnail: cheap, and enough to tell near-duplicate frames apart."""
    return cv2.resize(cv2.cvtColor(frame, cv2.COLOR_BGR2GRAY), (32, 18),
                      interpolation=cv2.INTER_AREA).astype(np.float32)


def frames_from_video(path: str, num: int, mode: str = "uniform", min_diff: float = 6.0,
                      progress=None):
    """Up to ``num`` frames of a video: evenly spaced (``uniform``), or evenly spaced among the
    frames that differ from the last kept one by a mean grey-level of at least ``min_diff``
    (``diverse``: a parked robot's hundred identical frames count once)."""
    cap = cv2.VideoCapture(path)
    if not cap.isOpened():
        raise DataError("cannot open video", path=path, fix="check the file and that OpenCV has FFmpeg")
    total = int(cap.get(cv2.CAP_PROP_FRAME_COUNT))
    kept, last, i = [], None, 0
    # Read sequentially: seeking is slow and inexact in many codecs; keep a stride to bound memory.
    stride = max(1, total // (num * 4)) if mode == "diverse" and total > 0 else \
        max(1, total // num) if total > 0 else 1
    while True:
        ok = cap.grab()
        if not ok:
            break
        if i % stride == 0:
            ok, frame = cap.retrieve()
            if ok and frame is not None:
                if mode == "diverse":
                    sig = _signature(frame)
                    if last is None or float(np.abs(sig - last).mean()) >= min_diff:
                        kept.append(frame)
                        last = sig
                else:
                    kept.append(frame)
        i += 1
        if progress is not None:
            progress.set_stats(frames=i)
    cap.release()
    if not kept:
        raise DataError("no readable frames in video", path=path, got=f"{i} frames grabbed",
                        fix="check the file plays, e.g. with ffprobe")
    if len(kept) > num:
        pick = np.linspace(0, len(kept) - 1, num).round().astype(int)
        kept = [kept[j] for j in pick]
    return kept


def _image_files(folder: str) -> list[str]:
    return sorted(p for p in glob.glob(os.path.join(folder, "**", "*"), recursive=True)
                  if p.lower().endswith(IMAGE_EXTS))


def _from_folder(folder: str, num: int, seed: int):
    files = _image_files(folder)
    if not files:
        raise DataError("no images in calibration folder", path=folder,
                        expected=f"files ending in {', '.join(IMAGE_EXTS)}")
    if len(files) > num:
        files = [files[i] for i in sorted(np.random.default_rng(seed).choice(len(files), num, replace=False))]
    for f in files:
        img = cv2.imread(f, cv2.IMREAD_COLOR)
        if img is None:
            raise DataError("cannot read image", path=f, fix="remove or replace the file")
        yield img


def _from_dataset(spec: str, num: int, seed: int, meta: ModelMeta):
    from ..data import open_dataset
    kw = {"size": meta.input_size, "num": num} if uri.parse_data_spec(spec).scheme == "synthetic" else {}
    ds = open_dataset(spec, split="train", **kw)
    idx = np.arange(len(ds))
    if len(ds) > num:
        idx = np.sort(np.random.default_rng(seed).choice(len(ds), num, replace=False))
    for i in idx:
        yield ds[int(i)].image


# source kind -> its frames, (src, num, seed, meta, video_mode, progress) -> iterator of BGR frames
_READERS = {
    "folder": lambda src, num, seed, meta, mode, bar: _from_folder(src, num, seed),
    "video": lambda src, num, seed, meta, mode, bar: iter(frames_from_video(src, num, mode, progress=bar)),
    "data": lambda src, num, seed, meta, mode, bar: _from_dataset(src, num, seed, meta),
}


def _source_kind(src: str) -> str:
    """``folder`` | ``video`` | ``data`` (a spec whose scheme is in ``data.spec.OPENERS``), read
    with the one grammar; anything else is a DataError that says what a source may be.

    >>> _source_kind("synthetic"), _source_kind("synthetic://?seed=3"), _source_kind("voc:/data/VOC")
    ('data', 'data', 'data')
    >>> _source_kind("/no/such/clip.mp4")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    edgeseg.errors.DataError: calibration source not found: /no/such/clip.mp4
    ...
    """
    from ..data.spec import OPENERS
    if os.path.isdir(src):
        return "folder"
    if os.path.isfile(src) and uri.is_video(src):
        return "video"
    if os.path.isfile(src):
        raise DataError("unsupported calibration file", path=src,
                        expected=f"a video ({', '.join(VIDEO_EXTS)}), a folder or a data spec")
    scheme = uri.parse_data_spec(src).scheme
    if scheme in OPENERS:
        return "data"
    # Neither a path nor a known scheme: a mistyped scheme gets a did-you-mean in the spelling typed.
    rest = src.strip()[len(scheme):].replace("{", "{{").replace("}", "}}")
    raise DataError("calibration source not found", path=src,
                    expected="an existing folder, video file, or a data spec like voc:PATH",
                    fix=uri.did_you_mean(scheme, OPENERS, template="'{}" + rest + "'"))


def build_calibration_set(sources, meta: ModelMeta, num: int = 256, *, video_mode: str = "uniform",
                          seed: int = 0, file=STDERR) -> CalibrationSet:
    """Collect ``num`` frames from ``sources`` (folders, video files, data set specs) at the
    model's input size. An empty or unreadable source is a DataError naming it."""
    check_int("num", num, 1)
    sources = [sources] if isinstance(sources, str) else list(sources)
    if not sources:
        raise DataError("no calibration source given", expected="an image folder, video file(s) or a data spec")
    per_source = -(-num // len(sources))
    frames = []
    with Progress(num, "calibration frames", file=file, unit="img") as bar:
        for src in sources:
            it = _READERS[_source_kind(src)](src, per_source, seed, meta, video_mode, bar)
            for frame in it:
                frames.append(resize_to_input(check_frame(frame, src), meta, meta.input_size))
                bar.update(1)
    frames = frames[:num]
    if len(frames) < MIN_RECOMMENDED:
        warnings.warn(f"only {len(frames)} calibration frames (from {', '.join(sources)}); "
                      f"at least {MIN_RECOMMENDED} (256 recommended) cover activation ranges better",
                      stacklevel=2)
    return CalibrationSet(np.stack(frames), tuple(meta.input_size), ", ".join(sources),
                          {"num": len(frames), "video_mode": video_mode, "seed": seed})


def class_histogram(predict, calib: CalibrationSet, meta: ModelMeta, batch: int = 4) -> np.ndarray:
    """Fraction of pixels the FP32 model gives each class over the set: what the set covers,
    counted at the network size as the runtime labels them (1/4-size scores resized first)."""
    counts = np.zeros(meta.num_classes, np.int64)
    for i, x in enumerate(calib.batches(meta, batch)):
        out = np.asarray(predict(x))
        check_finite_outputs(out, i * batch, getattr(predict, "path", None))
        for item in out:
            labels = decode_labels(item, meta, calib.input_size)
            counts += np.bincount(labels.reshape(-1).astype(np.int64), minlength=meta.num_classes)[:meta.num_classes]
    return counts / max(1, counts.sum())


def check_finite_outputs(out: np.ndarray, first: int, path=None) -> None:
    """Scores with NaN or inf: argmax would call them class 0 and every range would be garbage."""
    if out.dtype.kind in "fc" and not np.isfinite(out).all():
        bad = int((~np.isfinite(out)).sum())
        raise ModelError("the FP32 model's outputs are not finite (NaN or inf) on the calibration frames",
                         path=path, expected="finite scores",
                         got=f"{bad} of {out.size} values not finite from frame {first} on",
                         fix="the model itself is broken (NaN weights, or an overflow): export it again from "
                             "a good checkpoint and check it with edgeseg eval")


def load_or_build(calib: str | CalibrationSet, meta: ModelMeta, num: int = 256, **kw) -> CalibrationSet:
    """``calib.npz`` -> loaded; anything else -> built from that source."""
    if isinstance(calib, CalibrationSet):
        return calib
    if isinstance(calib, str) and calib.endswith(".npz"):
        if not os.path.isfile(calib):
            raise DataError("calibration file not found", path=calib, fix="make it with edgeseg calibrate")
        return CalibrationSet.load(calib)
    return build_calibration_set(calib, meta, num, **kw)
