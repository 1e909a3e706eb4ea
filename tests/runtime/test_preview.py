"""The HTTP preview served to real clients: urllib on 127.0.0.1 (and headless Chromium if present)."""

import json
import os
import shutil
import subprocess
import time
import types
import urllib.error
import urllib.request

import cv2
import numpy as np
import pytest

from edgeseg.data.video import SyntheticVideo
from edgeseg.runtime import SinkOptions, Stream, StreamOptions
from edgeseg.runtime.preview import BOUNDARY, PreviewSink
from edgeseg.runtime.sinks import open_sink
from edgeseg.runtime.sources import Frame


def _get(url, timeout=5):
    with urllib.request.urlopen(url, timeout=timeout) as r:
        return r.headers.get("Content-Type"), r.read()


@pytest.fixture()
def live_preview(seg):
    stream = Stream("synthetic://?size=96x128&fps=30", seg, "http://127.0.0.1:0", StreamOptions(policy="latest"),
                    log=None)
    stream.start()
    url = stream.sinks.sinks[0].url
    deadline = time.monotonic() + 10
    while stream.stats()["frames_out"] < 3 and time.monotonic() < deadline:
        time.sleep(0.05)
    yield stream, url
    stream.stop()
    stream.close()


def test_preview_page_stats_stream_and_snapshot(live_preview):
    _, url = live_preview
    assert url.startswith("http://127.0.0.1:") and not url.endswith(":0/")
    ctype, page = _get(url)
    assert ctype.startswith("text/html") and b'<img src="/stream"' in page and b"/stats.json" in page
    ctype, body = _get(url + "stats.json")
    stats = json.loads(body)
    assert ctype == "application/json" and stats["frames_out"] >= 3 and "e2e" in stats["stages"]
    ctype, jpeg = _get(url + "snapshot.jpg")
    image = cv2.imdecode(np.frombuffer(jpeg, np.uint8), cv2.IMREAD_COLOR)
    assert ctype == "image/jpeg" and image.shape == (96, 128, 3)
    with urllib.request.urlopen(url + "stream", timeout=5) as r:
        assert r.headers.get("Content-Type") == f"multipart/x-mixed-replace; boundary={BOUNDARY}"
        head = r.read(4096)
    assert head.startswith(f"--{BOUNDARY}\r\nContent-Type: image/jpeg".encode()) and b"\xff\xd8" in head
    with pytest.raises(urllib.error.HTTPError):
        _get(url + "nope")


def test_preview_binds_loopback_unless_asked():
    assert PreviewSink("http://:0", log=None).host == "127.0.0.1"
    assert PreviewSink("http://localhost:0", log=None).host == "127.0.0.1"
    assert PreviewSink("http://0.0.0.0:8080", log=None).host == "0.0.0.0"


def _luma_q0(jpeg: bytes) -> int:
    """The first entry of the JPEG's first quantization table: libjpeg scales it with the quality
    (16 at 50, 6 at 80, 160 at 5), so it tells which quality the encoder was given."""
    at = jpeg.index(b"\xff\xdb")  # DQT marker, then length (2), precision|id (1), 64 entries
    return jpeg[at + 5]


def _snapshot_of(image, quality):
    """What a real HTTP client gets from /snapshot.jpg of a preview asked for ``quality``."""
    sink = open_sink("http://127.0.0.1:0", SinkOptions(jpeg_quality=quality), log=None)
    sink.start(30.0)
    try:
        sink.write(types.SimpleNamespace(frame=Frame(image, 0, 0.0), image=image))
        ctype, body = _get(sink.url + "snapshot.jpg")
    finally:
        sink.close()
    assert ctype == "image/jpeg"
    return body


def test_jpeg_quality_changes_what_the_preview_serves():
    image, _ = SyntheticVideo(1, (96, 128)).frame(0.5)
    low, high = _snapshot_of(image, 20), _snapshot_of(image, 95)
    assert len(low) < 0.8 * len(high)  # the same frame, only the quality differs
    assert _luma_q0(low) > _luma_q0(high)
    decoded = [cv2.imdecode(np.frombuffer(b, np.uint8), cv2.IMREAD_COLOR) for b in (low, high)]
    errors = [np.abs(d.astype(int) - image).mean() for d in decoded]
    assert all(d.shape == image.shape for d in decoded) and errors[0] > errors[1]


def _first_snapshot(url, within_s=20):
    """/snapshot.jpg once the stream has a frame (503 until then)."""
    deadline = time.monotonic() + within_s
    while True:
        try:
            return _get(url + "snapshot.jpg", timeout=10)[1]
        except urllib.error.HTTPError as exc:
            if exc.code != 503 or time.monotonic() > deadline:
                raise
            time.sleep(0.05)


@pytest.mark.parametrize("options, q0", [(None, 6), (SinkOptions(jpeg_quality=5), 160)])
def test_a_stream_hands_its_sink_options_to_the_preview(seg, options, q0):
    # libjpeg's first luminance entry: 6 at quality 80 (the default), 160 at 5
    stream = Stream("synthetic://?size=64x96&fps=30", seg, "http://127.0.0.1:0", StreamOptions(policy="latest"),
                    sink_options=options, log=None)
    stream.start()
    try:
        jpeg = _first_snapshot(stream.sinks.sinks[0].url)
    finally:
        stream.stop()
        stream.close()
    assert _luma_q0(jpeg) == q0


def _chromium():
    return next((p for p in map(shutil.which, ("chromium", "chromium-browser", "google-chrome")) if p), None)


@pytest.mark.skipif(_chromium() is None, reason="no chromium on this machine (apt-get install chromium)")
def test_preview_renders_in_headless_chromium(live_preview, tmp_path):
    _, url = live_preview
    shot = tmp_path / "preview.png"
    cmd = [_chromium(), "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
           "--disable-component-update", "--disable-sync", "--no-first-run", f"--user-data-dir={tmp_path / 'prof'}",
           "--window-size=640,480", "--virtual-time-budget=3000", f"--screenshot={shot}", url]
    subprocess.run(cmd, capture_output=True, timeout=60, check=False)
    image = cv2.imread(str(shot))
    assert image is not None and image.shape[:2] == (480, 640)
    # the page's dark background and a colourful frame inside it: the <img> loaded from /stream
    assert image[5, 5].max() < 40 and image.reshape(-1, 3).std(0).max() > 20
    if os.environ.get("EDGESEG_KEEP_SCREENSHOT"):
        shutil.copy(shot, os.environ["EDGESEG_KEEP_SCREENSHOT"])


@pytest.fixture()
def motion_preview(seg):
    from edgeseg.runtime import Segmenter

    from .conftest import SlowBackend
    slow = Segmenter(SlowBackend(seg.backend, 0.05))  # a network slower than the 30 fps camera
    stream = Stream("synthetic://?size=96x128&fps=30&loop=30", slow, "http://127.0.0.1:0",
                    StreamOptions(motion="flow:dis-fast"), log=None)
    stream.start()
    deadline = time.monotonic() + 20
    while stream.stats()["frames_out"] < 20 and time.monotonic() < deadline:
        time.sleep(0.05)
    yield stream, stream.sinks.sinks[0].url
    stream.stop()
    stream.close()


def test_preview_stats_give_output_fps_against_the_networks(motion_preview):
    _, url = motion_preview
    stats = json.loads(_get(url + "stats.json")[1])
    assert stats["motion"] == "flow:dis-fast" and stats["flow"] == "dis-fast"
    assert stats["fps_recent"] > 1.3 * stats["network_fps_recent"] > 0  # output follows the camera
    assert stats["values"]["carried"]["p50"] >= 1 and 0 < stats["values"]["warped"]["mean"] <= 1
    page = _get(url)[1]
    assert b"network_fps_recent" in page and b"carried" in page and b"warped" in page


@pytest.mark.skipif(_chromium() is None, reason="no chromium on this machine (apt-get install chromium)")
def test_preview_page_shows_output_and_network_fps_in_a_browser(motion_preview, tmp_path):
    _, url = motion_preview
    cmd = [_chromium(), "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
           "--disable-component-update", "--disable-sync", "--no-first-run", f"--user-data-dir={tmp_path / 'prof'}",
           "--virtual-time-budget=3000", "--dump-dom", url]
    dom = subprocess.run(cmd, capture_output=True, timeout=60, check=False, text=True).stdout
    summary = dom.split('<div id="summary">', 1)[1].split("</div>", 1)[0]  # what the page's script wrote
    out, net = (float(summary.split(f"{k} ", 1)[1].split(" fps", 1)[0]) for k in ("output", "network"))
    assert out > 1.3 * net > 0 and "motion dis-fast: carried" in summary and "% warped" in summary
