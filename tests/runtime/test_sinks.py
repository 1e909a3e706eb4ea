"""Sinks by URI: the table, did-you-mean, atomic video file, mask PNGs, display error, SinkSet."""

import os
import types

import cv2
import numpy as np
import pytest

from edgeseg.errors import ConfigError
from edgeseg.runtime.capture import fourcc
from edgeseg.runtime.options import SinkOptions
from edgeseg.runtime.sinks import (
    SINKS,
    CallbackSink,
    DisplaySink,
    FileSink,
    MasksSink,
    NullSink,
    SinkError,
    SinkSet,
    open_sink,
    sink_class,
)
from edgeseg.runtime.sources import Frame


def result(i, size=(32, 48)):
    image = np.full((*size, 3), 10 * i % 256, np.uint8)
    labels = np.full(size, i % 3, np.uint8)
    return types.SimpleNamespace(frame=Frame(image, i, 0.0), image=image, labels=labels)


@pytest.mark.parametrize("uri, cls", [("file://o.mp4", FileSink), ("o.avi", FileSink), ("null://", NullSink),
                                      ("display://", DisplaySink), ("masks://m", MasksSink)])
def test_sink_table(uri, cls):
    assert sink_class(uri) is cls
    assert sink_class("http://127.0.0.1:0") is SINKS["http"]


def test_unknown_sink_scheme_says_did_you_mean():
    with pytest.raises(ConfigError, match="did you mean 'file://'"):
        open_sink("fille://out.mp4")
    with pytest.raises(ConfigError, match="unsupported video file type"):
        open_sink("file://out.txt")


def test_file_sink_is_atomic_and_readable(tmp_path):
    path = tmp_path / "out.mp4"
    sink = open_sink(f"file://{path}", log=None)
    sink.start(15.0)
    for i in range(5):
        sink.write(result(i))
    assert not path.exists()  # only the temp file exists until close
    sink.close()
    cap = cv2.VideoCapture(str(path))
    assert cap.get(cv2.CAP_PROP_FRAME_COUNT) == 5 and cap.get(cv2.CAP_PROP_FPS) == 15
    assert os.listdir(tmp_path) == ["out.mp4"]


def test_masks_sink_writes_class_ids(tmp_path):
    sink = open_sink(f"masks://{tmp_path}/m", log=None)
    for i in range(3):
        sink.write(result(i))
    back = cv2.imread(str(tmp_path / "m" / "000002.png"), cv2.IMREAD_UNCHANGED)
    assert back.dtype == np.uint8 and (back == 2).all()


def test_display_without_a_display_is_a_clear_error(monkeypatch):
    monkeypatch.delenv("DISPLAY", raising=False)
    monkeypatch.delenv("WAYLAND_DISPLAY", raising=False)
    with pytest.raises(SinkError, match="needs a display"):
        open_sink("display://", log=None).start(30.0)


def test_sinkset_reports_a_failing_sink_once_and_keeps_the_others(tmp_path):
    def broken(r):
        raise OSError("disk full")
    got, lines = [], []
    sinks = SinkSet([broken, got.append], log=lines.append)
    assert isinstance(sinks.sinks[0], CallbackSink)
    for i in range(4):
        sinks.write(result(i))
    sinks.close()
    assert len(got) == 4 and sinks.errors == {"callback": 4}
    assert len(lines) == 1 and "disk full" in lines[0]


def _write(path, options, fps=15.0, frames=4):
    sink = open_sink(f"file://{path}", options, log=None)
    sink.start(fps)
    for i in range(frames):
        sink.write(result(i))
    sink.close()
    return cv2.VideoCapture(str(path))


@pytest.mark.parametrize("name, codec, read_back", [
    ("default.mp4", None, "FMP4"),  # mp4v: OpenCV's decoder reports MPEG-4 part 2 as FMP4
    ("mjpeg.mp4", "MJPG", "MJPG"),
    ("default.avi", None, "MJPG"),
    ("xvid.avi", "XVID", "FMP4"),
])
def test_the_codec_option_picks_the_fourcc_written(tmp_path, name, codec, read_back):
    cap = _write(tmp_path / name, SinkOptions(codec=codec))
    assert fourcc(cap) == read_back and cap.get(cv2.CAP_PROP_FRAME_COUNT) == 4


def test_the_fps_option_sets_the_files_rate_over_the_sources(tmp_path):
    assert _write(tmp_path / "src.mp4", SinkOptions(), fps=15.0).get(cv2.CAP_PROP_FPS) == 15
    assert _write(tmp_path / "set.mp4", SinkOptions(fps=6), fps=15.0).get(cv2.CAP_PROP_FPS) == 6


def test_a_codec_the_container_refuses_names_both_and_leaves_no_file(tmp_path):
    path = tmp_path / "out.mp4"
    sink = open_sink(f"file://{path}", SinkOptions(codec="zzzz"), log=None)
    sink.start(15.0)
    with pytest.raises(SinkError, match="codec option conflicts with the file's container") as exc:
        sink.write(result(0))
    assert "codec='zzzz'" in exc.value.got and ".mp4" in exc.value.got and "mp4v" in exc.value.expected
    sink.close()
    assert os.listdir(tmp_path) == []  # neither the temp file nor an empty out.mp4


def test_sink_options_reach_every_sink_opened_by_uri(tmp_path):
    options = SinkOptions(jpeg_quality=33, codec="MJPG", fps=5)
    sinks = SinkSet([f"file://{tmp_path}/a.avi", "null://", print], log=None, options=options)
    assert [s.options for s in sinks] == [options, options, SinkOptions()]  # a callable has nothing to set
    assert sinks.sinks[0].codec == "MJPG"
    assert open_sink("http://127.0.0.1:0", options, log=None).quality == 33


def test_a_log_function_where_the_options_go_is_a_clear_error():
    # open_sink(target, log) was the old order: the second argument is now the options
    with pytest.raises(ConfigError, match="must be a SinkOptions") as exc:
        open_sink("null://", print)
    assert "log by keyword" in exc.value.fix


@pytest.mark.parametrize("where", ["proc", "under_a_file", "a_folder"])
def test_a_video_file_that_cannot_be_written_fails_when_the_sink_is_opened(tmp_path, where):
    (tmp_path / "plain").write_text("x")
    (tmp_path / "taken.mp4").mkdir()
    path = {"proc": "/proc/x.mp4", "under_a_file": f"{tmp_path}/plain/x.mp4", "a_folder": f"{tmp_path}/taken.mp4"}
    with pytest.raises(SinkError, match="cannot write the video file") as exc:
        open_sink(f"file://{path[where]}", log=None)
    assert exc.value.path == path[where] and exc.value.fix
    assert sorted(os.listdir(tmp_path)) == ["plain", "taken.mp4"]  # no probe left behind


def test_a_video_file_sink_creates_its_folder_up_front(tmp_path):
    folder = tmp_path / "new" / "deeper"
    open_sink(f"file://{folder}/o.mp4", log=None)
    assert folder.is_dir() and os.listdir(folder) == []


def test_sinkset_stops_once_every_sink_keeps_failing_and_names_each(tmp_path):
    def broken(r):
        raise OSError("disk full")
    lonely = SinkSet([broken], log=None)
    with pytest.raises(SinkError, match="every sink has failed") as exc:
        for i in range(100):
            lonely.write(result(i))
    assert i + 1 == SinkSet.FAIL_AFTER and "callback" in exc.value.got and "disk full" in exc.value.got
    got = []
    paired = SinkSet([broken, got.append], log=None)
    for i in range(3 * SinkSet.FAIL_AFTER):  # one sink still working: the set goes on
        paired.write(result(i))
    assert len(got) == 3 * SinkSet.FAIL_AFTER


def test_sinkset_forgives_a_sink_that_recovers(tmp_path):
    def hiccup(r):
        if r.frame.index % SinkSet.FAIL_AFTER:  # one success in every FAIL_AFTER writes
            raise OSError("client slow")
    sinks = SinkSet([hiccup], log=None)
    for i in range(5 * SinkSet.FAIL_AFTER):
        sinks.write(result(i))
    assert sinks.errors == {"callback": 5 * (SinkSet.FAIL_AFTER - 1)}


@pytest.mark.parametrize("uri, got", [("http://127.0.0.1:99999", "99999"), ("http://127.0.0.1:abc", "abc"),
                                      ("http://127.0.0.1:-1", "-1"), ("http://[::1]:70000", "70000")])
def test_an_http_sink_with_a_bad_port_is_a_config_error(uri, got):
    with pytest.raises(ConfigError, match="port") as exc:
        open_sink(uri, log=None)
    assert "1 to 65535" in exc.value.expected and got in exc.value.got
