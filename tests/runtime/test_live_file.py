"""A recording played as a live camera (``file://clip.mp4?live=1``, ``SourceOptions(realtime=True)``):
frames at the file's own rate, the newest kept, missed ones dropped and counted, the end ending it.
Real mp4 files written by OpenCV; times are judged as ratios of the file's own duration."""

import time

import numpy as np
import pytest

from edgeseg.data.video import write_video
from edgeseg.errors import ConfigError
from edgeseg.runtime import Stream
from edgeseg.runtime.options import StreamOptions
from edgeseg.runtime.sources import EndOfStream, open_source

FPS, FRAMES = 25.0, 30


@pytest.fixture(scope="module")
def clip(tmp_path_factory):
    """A 30-frame, 25 fps, 64x96 synthetic street mp4 (1.2 s of video)."""
    path = tmp_path_factory.mktemp("live") / "drive.mp4"
    write_video(path, num_frames=FRAMES, fps=FPS, size=(64, 96), seed=5)
    return str(path)


def _read_all(src):
    frames = []
    while True:
        try:
            f = src.capture(2.0)
        except EndOfStream:
            return frames
        if f is not None:
            frames.append(f)


def test_a_live_file_plays_at_its_own_rate_and_a_plain_one_as_fast_as_it_decodes(clip):
    with open_source(f"file://{clip}?live=1", log=None) as live:
        assert live.live and live.fps == FPS
        t0 = time.monotonic()
        frames = _read_all(live)
        live_s = time.monotonic() - t0
    with open_source(clip, log=None) as plain:  # no option: today's file, every frame at once
        assert not plain.live
        t0 = time.monotonic()
        assert len(list(plain)) == FRAMES
        plain_s = time.monotonic() - t0
    duration = (FRAMES - 1) / FPS
    span = frames[-1].timestamp - frames[0].timestamp
    assert len(frames) >= 0.8 * FRAMES and frames[-1].index == FRAMES - 1
    assert 0.85 < span / duration < 1.6 and live_s > 0.85 * duration
    assert plain_s < 0.5 * duration
    assert [f.index for f in frames] == sorted({f.index for f in frames})  # in order, never twice
    assert live.frames_read == FRAMES and live.dropped == FRAMES - len(frames)


def test_a_slow_reader_gets_the_newest_frame_and_the_rest_are_counted_dropped(clip):
    period = 1 / FPS
    with open_source(f"file://{clip}?live=1", log=None) as src:
        first = src.capture(2.0)
        start = first.timestamp - first.pts  # when frame 0 came
        got, lag = [first], []
        while True:
            time.sleep(3 * period)  # a network at a third of the camera's rate
            try:
                f = src.capture(2.0)
            except EndOfStream:
                break
            if f is not None:
                got.append(f)
                lag.append((time.monotonic() - start) * FPS - f.index)  # frames behind the file's clock
    steps = np.diff([f.index for f in got])
    assert steps.min() >= 1 and np.median(steps) >= 2  # frames in between were passed over
    assert np.median(lag) < 1.5  # what it got was the newest, not a queue of stale frames
    assert src.frames_read == FRAMES and len(got) + src.dropped == FRAMES  # every frame accounted for


def test_the_end_of_a_live_file_ends_the_stream(clip, seg):
    with open_source(f"file://{clip}?live=1", log=None) as src:
        assert len(list(src)) >= 0.8 * FRAMES  # iteration stops at the end by itself
        with pytest.raises(EndOfStream):
            src.capture(1.0)
    stream = Stream(f"file://{clip}?live=1", seg, "null://", StreamOptions(report_every=None), log=None)
    stats = stream.run()
    assert stats["policy"] == "latest" and stats["live"] is True  # played as a camera: the newest frame
    assert 1 <= stats["frames_out"] <= FRAMES and stats["frames_read"] == FRAMES
    assert stats["frames_out"] + stats["dropped"] <= FRAMES


def test_every_frame_in_order_under_policy_all_still_at_the_files_rate(clip):
    with open_source(clip, keep="all", realtime=True, log=None) as src:
        t0 = time.monotonic()
        frames = _read_all(src)
        elapsed = time.monotonic() - t0
    assert [f.index for f in frames] == list(range(FRAMES)) and src.dropped == 0
    assert elapsed > 0.85 * (FRAMES - 1) / FPS


def test_realtime_is_the_option_spelling_of_live_1(clip, tmp_path):
    with open_source(clip, realtime=True, log=None) as src:
        assert src.live and src.paced and src.effective()["realtime"] is True
    for uri in (f"file://{clip}?live=0", f"file://{clip}"):
        with open_source(uri, log=None) as src:
            assert not src.live
    with pytest.raises(ConfigError, match="live=0 conflicts with SourceOptions.realtime"):
        open_source(f"file://{clip}?live=0", realtime=True, log=None)
    with pytest.raises(ConfigError, match="unknown option") as exc:
        open_source(f"file://{clip}?lvie=1", log=None)
    assert "did you mean 'live'" in exc.value.fix
    with pytest.raises(ConfigError, match="cannot read live="):
        open_source(f"file://{clip}?live=maybe", log=None)
    with pytest.raises(ConfigError, match="realtime"):
        open_source(clip, realtime="yes", log=None)
    odd = tmp_path / "take?2.mp4"  # a file whose name holds a '?' is still that file
    with open(clip, "rb") as f:
        odd.write_bytes(f.read())
    with open_source(f"file://{odd}", log=None) as src:
        assert not src.live and src.total == FRAMES


def test_an_image_folder_plays_live_too(tmp_path):
    import cv2
    for i in range(6):
        cv2.imwrite(str(tmp_path / f"{i:02d}.png"), np.full((8, 8, 3), 30 * i, np.uint8))
    with open_source(f"images://{tmp_path}?live=1", fps=20, log=None) as src:
        frames = _read_all(src)
    assert src.live and [f.index for f in frames][-1] == 5
    assert 0.85 < (frames[-1].timestamp - frames[0].timestamp) / (5 / 20) < 1.6
