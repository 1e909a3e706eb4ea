"""Sources by URI: the one table, shorthand, did-you-mean, real files/folders/synthetic, live slot."""

import os
import socket
import time

import cv2
import numpy as np
import pytest

from edgeseg.errors import ConfigError
from edgeseg.runtime.sources import (
    SOURCES,
    CsiSource,
    EndOfStream,
    RtspSource,
    SourceError,
    SourceOptions,
    has_gstreamer,
    make_source,
    normalize_uri,
    open_source,
    source_class,
)


@pytest.mark.parametrize("uri, full, cls", [
    ("0", "v4l2:///dev/video0", "V4L2Source"),
    ("/dev/video2", "v4l2:///dev/video2", "V4L2Source"),
    ("v4l2://1", "v4l2:///dev/video1", "V4L2Source"),
    ("clip.mp4", "file://clip.mp4", "FileSource"),
    ("csi://0", "csi://0", "CsiSource"),
    ("rtsp://cam/live", "rtsp://cam/live", "RtspSource"),
    ("gst://videotestsrc ! appsink", "gst://videotestsrc ! appsink", "GStreamerSource"),
    ("images://frames", "images://frames", "ImageFolderSource"),
    ("synthetic://?size=48x64", "synthetic://?size=48x64", "SyntheticSource"),
])
def test_uri_table_and_shorthand(uri, full, cls):
    assert normalize_uri(uri) == full
    assert source_class(uri).__name__ == cls
    assert source_class(uri) in SOURCES.values()


def test_bare_folder_is_an_image_folder(tmp_path):
    assert normalize_uri(str(tmp_path)) == f"images://{tmp_path}"


@pytest.mark.parametrize("uri, hint", [("rtps://cam", "rtsp://"), ("synthetc://", "synthetic://"),
                                       ("imagess://x", "images://")])
def test_unknown_scheme_says_did_you_mean(uri, hint):
    with pytest.raises(ConfigError, match=f"did you mean '{hint}'"):
        open_source(uri, log=None)


def test_file_source_reads_every_frame_then_ends(street):
    path, masks = street
    lines = []
    src = open_source(path, log=lines.append)
    assert "fps=12.0" in lines[0] and "size=96x128" in lines[0]  # effective options printed
    frames = list(src)
    with pytest.raises(EndOfStream):
        src.capture()
    src.close()
    assert [f.index for f in frames] == list(range(len(masks)))
    assert frames[1].timestamp >= frames[0].timestamp and frames[1].pts == pytest.approx(1 / 12)
    with pytest.raises(SourceError, match="closed"):
        src.capture()


def test_missing_file_is_a_clear_error(tmp_path):
    with pytest.raises(SourceError, match="video file not found"):
        open_source(str(tmp_path / "nope.mp4"), log=None)


def test_image_folder_skips_an_unreadable_file_naming_it(tmp_path):
    for i in range(3):
        cv2.imwrite(str(tmp_path / f"{i}.png"), np.full((16, 24, 3), 40 * i, np.uint8))
    (tmp_path / "1b.png").write_bytes(b"not a png")
    lines = []
    with open_source(f"images://{tmp_path}", log=lines.append) as src:
        frames = list(src)
    assert [f.index for f in frames] == [0, 1, 3] and all(f.image.shape == (16, 24, 3) for f in frames)
    assert src.skipped == 1 and src.total == 4 and "1b.png" in src.skipped_at[0]
    assert any("1b.png" in ln and "frame 2" in ln for ln in lines), lines


def test_synthetic_non_live_matches_the_video_renderer():
    from edgeseg.data.video import SyntheticVideo
    with open_source("synthetic://?size=48x64&fps=10&seed=2&frames=3&live=0", log=None) as src:
        frames = list(src)
    image, mask = SyntheticVideo(2, (48, 64)).frame(0.2)
    assert len(frames) == 3 and np.array_equal(frames[2].image, image) and np.array_equal(frames[2].gt, mask)


def test_live_source_keeps_only_the_newest_frame():
    with open_source("synthetic://?size=32x32&fps=200", log=None) as src:
        time.sleep(0.3)  # nobody reads: the grabber overwrites its one slot
        f = src.capture(1.0)
        age = time.monotonic() - f.timestamp
        assert src.dropped > 10 and f.index > 10 and age < 0.1
        assert src.capture(1.0).index > f.index  # never the same frame twice


def test_live_source_measures_its_rate_and_waits_for_a_newer_frame():
    with open_source("synthetic://?size=32x32&fps=50", log=None) as src:
        time.sleep(0.3)
        assert src.period is not None and abs(src.period - 0.02) < 0.006
        f = src.newest()
        assert f is not None and src.newest().index >= f.index  # a peek leaves the frame there
        g = src.capture(1.0, after=f.index)
        assert g.index > f.index and g.timestamp > f.timestamp
        assert src.capture(0.001, after=g.index + 10) is None  # nothing that new yet


def test_live_source_under_all_queues_every_frame():
    with open_source("synthetic://?size=32x32&fps=200&frames=20", keep="all", log=None, queue=32) as src:
        time.sleep(0.2)
        assert [f.index for f in src] == list(range(20)) and src.dropped == 0


def test_live_capture_times_out_with_none():
    with open_source("synthetic://?size=32x32&fps=2", log=None) as src:
        assert src.capture(1.0) is not None  # frame 0 comes at once
        assert src.capture(0.05) is None  # the next one is 0.5 s away


def test_csi_is_a_nvargus_pipeline_and_needs_gstreamer():
    src = CsiSource("csi://1", SourceOptions(width=1920, height=1080, fps=30, log=None))
    pipe = src.target()
    assert pipe.startswith("nvarguscamerasrc sensor-id=1 ! video/x-raw(memory:NVMM),width=1920,height=1080")
    assert "framerate=30/1" in pipe and pipe.endswith("appsink drop=1 max-buffers=1")
    if not has_gstreamer():
        with pytest.raises(SourceError, match="no GStreamer support"):
            src.open()


def test_rtsp_latency_reaches_ffmpeg_or_gstreamer():
    src = RtspSource("rtsp://cam/live", SourceOptions(latency_ms=120, transport="udp", log=None))
    target = src.target()
    if has_gstreamer():
        assert "latency=120" in target
    else:
        assert target == "rtsp://cam/live"
        assert "rtsp_transport;udp" in src.ffmpeg_options() and "max_delay;120000" in src.ffmpeg_options()


def test_unreachable_rtsp_camera_says_what_to_check():
    # a real refused connection on loopback (port 9, discard, is closed on test machines)
    with socket.socket() as probe:
        if probe.connect_ex(("127.0.0.1", 9)) == 0:
            pytest.skip("something listens on 127.0.0.1:9")
    with pytest.raises(SourceError, match="cannot open") as exc:
        open_source("rtsp://127.0.0.1:9/live", transport="tcp", log=None)
    assert "credentials" in str(exc.value) and "--transport udp" in str(exc.value)


def test_ffmpeg_options_are_set_only_while_opening(monkeypatch):
    from edgeseg.runtime.capture import FFMPEG_ENV, ffmpeg_capture_options
    monkeypatch.delenv(FFMPEG_ENV, raising=False)
    with ffmpeg_capture_options("fflags;nobuffer"):
        assert os.environ[FFMPEG_ENV] == "fflags;nobuffer"
    assert FFMPEG_ENV not in os.environ  # file captures opened later must not inherit RTSP flags


def test_bad_options_are_config_errors():
    with pytest.raises(ConfigError, match="transport"):
        SourceOptions(transport="quic")
    with pytest.raises(ConfigError, match="unknown synthetic"):
        open_source("synthetic://?sise=4x4", log=None)


def test_a_driving_synthetic_camera_carries_each_frames_own_ground_truth():
    from edgeseg.data.video import SyntheticVideo
    uri = "synthetic://?size=48x64&fps=30&seed=1&speed=4&turn=-0.05&frames=4&live=0"
    with open_source(uri, log=None) as src:
        frames = list(src)
    video = SyntheticVideo(1, (48, 64), speed=4, turn=-0.05, fps=30)
    for f in frames:
        image, mask = video.frame_at(f.index)
        assert np.array_equal(f.gt, mask) and np.array_equal(f.image, image)
        assert np.array_equal(src.ground_truth(f.index), mask)
    assert not np.array_equal(frames[0].gt, frames[3].gt)  # the camera moved
    assert src.effective()["speed"] == 4.0 and src.effective()["turn"] == -0.05
    with open_source("synthetic://?size=32x32&speed=4&loop=3&live=0&frames=5", log=None) as src:
        looped = list(src)
        assert [f.index for f in looped] == [0, 1, 2, 3, 4]
        assert np.array_equal(looped[4].gt, looped[1].gt) and np.array_equal(src.ground_truth(7), looped[1].gt)


@pytest.mark.parametrize("query, what", [
    ("fps=0", "fps="), ("fps=fast", "fps="), ("seed=-1", "seed="), ("seed=1.5", "seed="), ("frames=0", "frames="),
    ("loop=-2", "loop="), ("speed=-1", "speed="), ("speed=inf", "speed="), ("turn=nan", "turn="),
    ("turn=0.05", "turning needs a forward speed"), ("live=maybe", "live="),
])
def test_synthetic_uri_values_are_checked_by_name(query, what):
    with pytest.raises(ConfigError, match=what):
        open_source(f"synthetic://?size=32x32&{query}", log=None)


def test_an_unknown_synthetic_option_says_did_you_mean():
    with pytest.raises(ConfigError, match="unknown synthetic") as exc:
        open_source("synthetic://?size=32x32&sped=4", log=None)
    assert exc.value.fix == "did you mean 'speed'?"


def test_a_turn_too_sharp_for_the_street_fails_in_check_before_any_model_loads():
    src = make_source("synthetic://?size=64x64&speed=4&turn=3", log=None)
    with pytest.raises(ConfigError, match="too sharp") as exc:
        src.check()
    assert "degrees per frame at speed=4" in exc.value.expected


def test_a_live_synthetic_camera_that_renders_slower_than_its_rate_skips_to_the_frame_due():
    # a 1000 fps camera whose frames take milliseconds to render: it keeps to its clock, as a camera
    # does, and the frames it passed over are counted dropped, not delivered late
    with open_source("synthetic://?size=120x160&fps=1000&speed=4", log=None) as src:
        first = src.capture(2.0)
        time.sleep(0.3)
        last = src.capture(2.0)
        elapsed = last.timestamp - first.timestamp
    assert (last.index - first.index) / 1000 > 0.6 * elapsed  # without skipping: a few ms of scene a frame
    assert src.frames_read >= last.index + 1 and src.dropped >= last.index - 1  # all but the two taken
