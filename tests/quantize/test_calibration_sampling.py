"""Calibration reads its sources with the one grammar (edgeseg.uri) but samples them as it always
has: the frames a call collects are byte-identical to those of the sampling code below, a frozen
copy of calibration.py before it moved to the grammar. A changed frame moves INT8 scales, so if
this test fails, the sampling changed: re-measure the INT8 figures before updating the copy."""

import glob
import os

import cv2
import numpy as np
import pytest

from edgeseg.data import open_dataset
from edgeseg.errors import ConfigError, DataError
from edgeseg.meta import ModelMeta
from edgeseg.preprocess import check_frame, resize_to_input
from edgeseg.quantize import calibration
from edgeseg.quantize.calibration import build_calibration_set

META = ModelMeta(model="m", classes=("a", "b", "c"), input_size=(48, 64))

# -- the frozen reference (sampling as it was; dispatch by ":" and "synthetic") ----------------------
_OLD_IMAGE_EXTS = (".jpg", ".jpeg", ".png", ".bmp", ".tif", ".tiff", ".webp")
_OLD_VIDEO_EXTS = (".mp4", ".avi", ".mkv", ".mov", ".webm", ".m4v", ".mpg", ".mpeg")


def _old_signature(frame):
    return cv2.resize(cv2.cvtColor(frame, cv2.COLOR_BGR2GRAY), (32, 18), interpolation=cv2.INTER_AREA).astype(np.float32)


def _old_video(path, num, mode="uniform", min_diff=6.0):
    cap = cv2.VideoCapture(path)
    total = int(cap.get(cv2.CAP_PROP_FRAME_COUNT))
    kept, last, i = [], None, 0
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
                    sig = _old_signature(frame)
                    if last is None or float(np.abs(sig - last).mean()) >= min_diff:
                        kept.append(frame)
                        last = sig
                else:
                    kept.append(frame)
        i += 1
    cap.release()
    if len(kept) > num:
        pick = np.linspace(0, len(kept) - 1, num).round().astype(int)
        kept = [kept[j] for j in pick]
    return kept


def _old_folder(folder, num, seed):
    files = sorted(p for p in glob.glob(os.path.join(folder, "**", "*"), recursive=True)
                   if p.lower().endswith(_OLD_IMAGE_EXTS))
    if len(files) > num:
        files = [files[i] for i in sorted(np.random.default_rng(seed).choice(len(files), num, replace=False))]
    return [cv2.imread(f, cv2.IMREAD_COLOR) for f in files]


def _old_dataset(spec, num, seed, meta):
    kw = {"size": meta.input_size, "num": num} if spec.startswith("synthetic") else {}
    ds = open_dataset(spec, split="train", **kw)
    idx = np.arange(len(ds))
    if len(ds) > num:
        idx = np.sort(np.random.default_rng(seed).choice(len(ds), num, replace=False))
    return [ds[int(i)].image for i in idx]


def _old_frames(sources, meta, num, video_mode="uniform", seed=0):
    sources = [sources] if isinstance(sources, str) else list(sources)
    per_source = -(-num // len(sources))
    frames = []
    for src in sources:
        if os.path.isdir(src):
            it = _old_folder(src, per_source, seed)
        elif os.path.isfile(src) and src.lower().endswith(_OLD_VIDEO_EXTS):
            it = _old_video(src, per_source, video_mode)
        else:
            assert ":" in src or src.startswith("synthetic"), src
            it = _old_dataset(src, per_source, seed, meta)
        frames += [resize_to_input(check_frame(f, src), meta) for f in it]
    return np.stack(frames[:num])


# -- fixtures: a nested folder of mixed image files, a video written by OpenCV -------------------------
@pytest.fixture
def folder(tmp_path):
    """17 images over three levels, in every suffix and case the list names, plus non-images."""
    root = tmp_path / "frames"
    names = ["a.png", "b.JPG", "c.jpeg", "d.bmp", "e.tif", "f.tiff", "g.webp", "h.PNG",
             "sub/i.png", "sub/j.jpg", "sub/k.webp", "sub/deep/l.png", "sub/deep/m.tif",
             "sub/deep/n.bmp", "o.png", "p.jpg", "q.png"]
    for i, name in enumerate(names):
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        image = np.zeros((30 + i, 40 + 2 * i, 3), np.uint8)
        image[..., 0] = np.arange(image.shape[1], dtype=np.uint8)[None, :] * (i + 1)
        image[..., 1] = 10 * i
        cv2.putText(image, str(i), (2, 20), cv2.FONT_HERSHEY_SIMPLEX, 0.5, (255, 255, 255), 1)
        assert cv2.imwrite(str(path), image), path
    (root / "notes.txt").write_text("not an image")
    (root / "sub" / "clip.mp4.part").write_bytes(b"\x00")
    return str(root)


@pytest.fixture
def video(tmp_path):
    """60 frames; the picture stops changing from frame 30 (diverse mode must skip those)."""
    path = str(tmp_path / "drive.mp4")
    w = cv2.VideoWriter(path, cv2.VideoWriter_fourcc(*"mp4v"), 10, (96, 72))
    assert w.isOpened()
    for i in range(60):
        k = min(i, 30)
        f = np.full((72, 96, 3), 30, np.uint8)
        cv2.rectangle(f, (3 * k % 80, 10), (3 * k % 80 + 16, 40), (0, 200, 255), -1)
        cv2.putText(f, str(k), (5, 65), cv2.FONT_HERSHEY_SIMPLEX, 0.6, (255, 255, 255), 2)
        w.write(f)
    w.release()
    return path


def _new(sources, num, **kw):
    with pytest.warns(UserWarning, match="calibration frames"):  # all of these are small sets
        return build_calibration_set(sources, META, num, file=None, **kw)


@pytest.mark.parametrize("num, seed", [(5, 0), (5, 3), (17, 0), (40, 0)])
def test_folder_frames_are_unchanged(folder, num, seed):
    calib = _new(folder, num, seed=seed)
    np.testing.assert_array_equal(calib.frames, _old_frames(folder, META, num, seed=seed))


def test_folder_reads_every_listed_suffix_recursively(folder):
    assert len(_new(folder, 100)) == 17  # .tif/.webp/upper case, in sub/ and sub/deep/; not .txt


@pytest.mark.parametrize("num, mode", [(7, "uniform"), (25, "uniform"), (100, "uniform"), (12, "diverse"),
                                       (60, "diverse")])
def test_video_frames_are_unchanged(video, num, mode):
    calib = _new(video, num, video_mode=mode)
    np.testing.assert_array_equal(calib.frames, _old_frames(video, META, num, video_mode=mode))


@pytest.mark.parametrize("spec", ["synthetic", "synthetic:5", "synthetic://?seed=0"])
def test_dataset_frames_are_unchanged(spec):
    np.testing.assert_array_equal(_new(spec, 5).frames, _old_frames("synthetic", META, 5))
    np.testing.assert_array_equal(_new(spec, 5, seed=2).frames, _old_frames("synthetic", META, 5, seed=2))


def test_folder_data_spec_frames_are_unchanged(folder, tmp_path):
    root = tmp_path / "set"
    for i in range(6):
        for sub, value in (("images", 30 * i), ("masks", i % 2)):
            (root / sub).mkdir(parents=True, exist_ok=True)
            cv2.imwrite(str(root / sub / f"{i}.png"), np.full((20, 24) + ((3,) if sub == "images" else ()), value,
                                                                   np.uint8))
    for spec in (f"folder:{root}", f"folder://{root}"):
        np.testing.assert_array_equal(_new(spec, 4, seed=1).frames, _old_frames(f"folder:{root}", META, 4, seed=1))


def test_mixed_sources_share_the_count_as_before(folder, video):
    sources = [folder, video, "synthetic"]
    for mode in ("uniform", "diverse"):
        np.testing.assert_array_equal(_new(sources, 10, video_mode=mode, seed=4).frames,
                                      _old_frames(sources, META, 10, video_mode=mode, seed=4))


def test_sources_are_told_apart_by_the_grammar(folder, video, tmp_path):
    kind = calibration._source_kind
    assert kind(folder) == "folder" and kind(video) == "video"
    for spec in ("synthetic", "synthetic:8", "synthetic://?num=8", "voc:/data/VOC", "folder:///data/x",
                 "cityscapes:///cs?annotations=gtFine"):
        assert kind(spec) == "data", spec
    # A path with a colon in it is not a data spec; it is a missing path (it used to be read as a
    # data set scheme named after the path).
    with pytest.raises(DataError, match="calibration source not found") as e:
        kind(str(tmp_path / "missing:1"))
    assert e.value.fix is None
    still = tmp_path / "still.png"
    cv2.imwrite(str(still), np.zeros((4, 4, 3), np.uint8))
    with pytest.raises(DataError, match="unsupported calibration file"):
        kind(str(still))


@pytest.mark.parametrize("src, suggestion", [("vco:/data/VOC", "voc:/data/VOC"), ("synthtic", "synthetic"),
                                             ("folders:///x", "folder:///x")])
def test_a_mistyped_scheme_gets_a_did_you_mean(src, suggestion):
    with pytest.raises(DataError, match="calibration source not found") as e:
        build_calibration_set(src, META, 4, file=None)
    assert e.value.fix == f"did you mean '{suggestion}'?"


def test_a_synthetic_uri_that_disagrees_with_the_model_is_a_conflict():
    # Calibration asks for the model's input size and the frame count; a spec that says otherwise
    # is the same conflict as synthetic:N with another --num.
    with pytest.raises(ConfigError, match="size is given twice"):
        build_calibration_set("synthetic://?size=32x32", META, 4, file=None)
    with pytest.raises(ConfigError, match="num is given twice"):
        build_calibration_set("synthetic://?num=9", META, 4, file=None)
