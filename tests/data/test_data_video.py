"""Synthetic video: a real mp4 that OpenCV reads back, masks per frame, smooth deterministic motion."""

import itertools

import cv2
import numpy as np
import pytest

from edgeseg.data import SyntheticVideo, write_video
from edgeseg.errors import ConfigError


def test_written_video_reads_back(tmp_path):
    path = tmp_path / "street.mp4"
    masks = write_video(path, num_frames=12, fps=10, size=(64, 96), seed=4, masks_dir=tmp_path / "gt")
    cap = cv2.VideoCapture(str(path))
    frames = []
    while True:
        ok, frame = cap.read()
        if not ok:
            break
        frames.append(frame)
    cap.release()
    assert len(frames) == 12 == len(masks)
    assert frames[0].shape == (64, 96, 3) and masks[0].shape == (64, 96)
    files = sorted((tmp_path / "gt").glob("*.png"))
    assert [f.name for f in files][:2] == ["000000.png", "000001.png"] and len(files) == 12
    assert all(np.array_equal(cv2.imread(str(f), cv2.IMREAD_UNCHANGED), m) for f, m in zip(files, masks))
    # the decoded frames are the rendered ones, up to codec loss
    image, _ = SyntheticVideo(4, (64, 96)).frame(5 / 10)
    assert np.abs(frames[5].astype(int) - image).mean() < 12
    assert not list(tmp_path.glob(".street.mp4*")), "temp file left behind"


def test_motion_is_smooth_and_deterministic():
    video = SyntheticVideo(seed=2, size=(96, 128))
    masks = [video.frame(i / 15)[1] for i in range(30)]
    changed = [np.mean(a != b) for a, b in itertools.pairwise(masks)]
    assert max(changed) < 0.12, "a frame step should move things a little, not re-draw the world"
    assert np.mean(masks[0] != masks[-1]) > 0.005, "cars, people or camera should have moved in 2 s"
    again = SyntheticVideo(seed=2, size=(96, 128)).frame(14 / 15)
    assert np.array_equal(again[1], masks[14])


def test_objects_move():
    video = SyntheticVideo(seed=7, size=(128, 128))
    street = video._street
    moving = [c for c in street.cars if c.v] + [p for p in street.people if p.vx or p.vz]
    assert moving, "seed 7 has moving traffic"
    assert any(o.near(0.0) != o.near(2.0) for o in moving)


@pytest.mark.parametrize("kw", [{"num_frames": 0}, {"fps": 0}, {"size": (63, 64)}])
def test_bad_arguments(tmp_path, kw):
    with pytest.raises(ConfigError):
        write_video(tmp_path / "x.mp4", **kw)
    assert not (tmp_path / "x.mp4").exists()
