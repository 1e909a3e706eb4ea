"""Calibration reads its sources with the one grammar (edgeseg.uri) but samples them as it always
has. Each input here can be told apart from its pixels, so the tests name which images, video
frames and data set samples a call collects; the expected lists are what the sampling picked
before it moved to the grammar (checked frame for frame against the old code when it moved).
A changed pick moves INT8 scales: if one of these fails, the sampling changed, and the INT8
figures need measuring again before the lists are updated."""

import cv2
import numpy as np
import pytest

from edgeseg.data import open_dataset
from edgeseg.errors import ConfigError, DataError
from edgeseg.meta import ModelMeta
from edgeseg.preprocess import resize_to_input
from edgeseg.quantize import calibration
from edgeseg.quantize.calibration import build_calibration_set

META = ModelMeta(model="m", classes=("a", "b", "c"), input_size=(48, 64))
NAMES = ["a.png", "b.JPG", "c.jpeg", "d.bmp", "e.tif", "f.tiff", "g.webp", "h.PNG",
         "sub/i.png", "sub/j.jpg", "sub/k.webp", "sub/deep/l.png", "sub/deep/m.tif",
         "sub/deep/n.bmp", "o.png", "p.jpg", "q.png"]
SORTED = ["a.png", "b.JPG", "c.jpeg", "d.bmp", "e.tif", "f.tiff", "g.webp", "h.PNG", "o.png", "p.jpg", "q.png",
          "sub/deep/l.png", "sub/deep/m.tif", "sub/deep/n.bmp", "sub/i.png", "sub/j.jpg", "sub/k.webp"]


# -- fixtures: a nested folder of mixed image files, a video written by OpenCV -------------------------
@pytest.fixture
def folder(tmp_path):
    """17 images over three levels, in every suffix and case the list names, plus non-images."""
    root = tmp_path / "frames"
    for i, name in enumerate(NAMES):
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
    """60 frames; the picture changes every second frame up to frame 30 and then stops (diverse
    mode must skip the rest). Each change moves the mean grey level by 25 or more, far above
    diverse mode's threshold of 6, so which frames count as new does not hang on how an OpenCV
    release decodes JPEG; a 2x2 dot moving along the top edge keeps every frame tellable apart.
    MJPG codes each frame on its own, so a decoded frame is the same whichever way the file is read."""
    path = str(tmp_path / "drive.avi")
    w = cv2.VideoWriter(path, cv2.VideoWriter_fourcc(*"MJPG"), 10, (96, 72))
    assert w.isOpened()
    for i in range(60):
        k = min(i, 30)
        f = np.full((72, 96, 3), 40 + 25 * ((k // 2) % 4), np.uint8)
        f[0:2, i:i + 2] = 255  # far below diverse mode's threshold of 6 grey levels
        w.write(f)
    w.release()
    return path


def _new(sources, num, **kw):
    with pytest.warns(UserWarning, match="calibration frames"):  # all of these are small sets
        return build_calibration_set(sources, META, num, file=None, **kw)


def _which(frames, candidates) -> list:
    """The index in ``candidates`` (network-size frames) of each collected frame."""
    out = []
    for frame in frames:
        hits = [j for j, c in enumerate(candidates) if np.array_equal(frame, c)]
        assert len(hits) == 1, hits  # every input is unique, so a frame is exactly one of them
        out.append(hits[0])
    return out


def _images(folder):
    return [resize_to_input(cv2.imread(f"{folder}/{n}", cv2.IMREAD_COLOR), META) for n in NAMES]


def _video_frames(path):
    cap, out = cv2.VideoCapture(path), []
    while True:
        ok, frame = cap.read()
        if not ok:
            return out
        out.append(resize_to_input(frame, META))


def _synthetic(num):
    ds = open_dataset("synthetic", split="train", size=META.input_size, num=num)
    return [resize_to_input(ds[i].image, META) for i in range(len(ds))]


@pytest.mark.parametrize("num, seed, picked", [
    (5, 0, ["e.tif", "f.tiff", "h.PNG", "o.png", "sub/deep/l.png"]),
    (5, 3, ["b.JPG", "c.jpeg", "d.bmp", "q.png", "sub/k.webp"]),
    (17, 0, SORTED), (40, 0, SORTED)])
def test_folder_picks_are_unchanged(folder, num, seed, picked):
    calib = _new(folder, num, seed=seed)
    assert [NAMES[j] for j in _which(calib.frames, _images(folder))] == picked


def test_folder_reads_every_listed_suffix_recursively(folder):
    assert len(_new(folder, 100)) == 17  # .tif/.webp/upper case, in sub/ and sub/deep/; not .txt


@pytest.mark.parametrize("num, mode, picked", [
    (7, "uniform", [0, 8, 16, 32, 40, 48, 56]),
    (25, "uniform", [0, 2, 4, 8, 10, 12, 14, 16, 20, 22, 24, 26, 28, 32, 34, 36, 38, 42, 44, 46, 48, 50, 54, 56, 58]),
    (100, "uniform", list(range(60))),
    # diverse: the 16 frames that change (0, 2, ..., 30), then evenly spaced among those
    (12, "diverse", [0, 2, 6, 8, 10, 14, 16, 20, 22, 24, 28, 30]),
    (60, "diverse", list(range(0, 31, 2)))])  # still from 30
def test_video_picks_are_unchanged(video, num, mode, picked):
    calib = _new(video, num, video_mode=mode)
    assert _which(calib.frames, _video_frames(video)) == picked


@pytest.mark.parametrize("spec", ["synthetic", "synthetic:5", "synthetic://?seed=0"])
def test_dataset_frames_are_unchanged(spec):
    # a synthetic set is rendered at the count asked for, so every sample is taken, whatever the seed
    np.testing.assert_array_equal(_new(spec, 5).frames, np.stack(_synthetic(5)))
    np.testing.assert_array_equal(_new(spec, 5, seed=2).frames, np.stack(_synthetic(5)))


def test_folder_data_spec_picks_are_unchanged(tmp_path):
    root = tmp_path / "set"
    for i in range(6):
        for sub, value in (("images", 30 * i), ("masks", i % 2)):
            (root / sub).mkdir(parents=True, exist_ok=True)
            cv2.imwrite(str(root / sub / f"{i}.png"), np.full((20, 24) + ((3,) if sub == "images" else ()), value,
                                                                   np.uint8))
    ds = open_dataset(f"folder:{root}", split="train")
    samples = [resize_to_input(ds[i].image, META) for i in range(len(ds))]
    for spec in (f"folder:{root}", f"folder://{root}"):
        assert _which(_new(spec, 4, seed=1).frames, samples) == [1, 2, 3, 5]


@pytest.mark.parametrize("mode, video_picks", [("uniform", [0, 15, 30, 45]), ("diverse", [0, 9, 21, 30])])
def test_mixed_sources_share_the_count_as_before(folder, video, mode, video_picks):
    frames = _new([folder, video, "synthetic"], 10, video_mode=mode, seed=4).frames
    assert len(frames) == 10  # ceil(10 / 3) = 4 per source, the last source cut to 2
    assert [NAMES[j] for j in _which(frames[:4], _images(folder))] == ["o.png", "q.png", "sub/i.png", "sub/j.jpg"]
    assert _which(frames[4:8], _video_frames(video)) == video_picks
    assert _which(frames[8:], _synthetic(4)) == [0, 1]


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
