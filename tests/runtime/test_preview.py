"""The HTTP preview served to real clients: urllib on 127.0.0.1 (and headless Chromium if present)."""

import json
import os
import shutil
import subprocess
import time
import urllib.request

import cv2
import numpy as np
import pytest

from edgeseg.runtime import Stream
from edgeseg.runtime.preview import BOUNDARY, PreviewSink


def _get(url, timeout=5):
    with urllib.request.urlopen(url, timeout=timeout) as r:
        return r.headers.get("Content-Type"), r.read()


@pytest.fixture()
def live_preview(seg):
    stream = Stream("synthetic://?size=96x128&fps=30", seg, "http://127.0.0.1:0", policy="latest", log=None)
    stream.start()
    url = stream.sinks.sinks[0].url
    deadline = time.monotonic() + 10
    while stream.stats()["frames_out"] < 3 and time.monotonic() < deadline:
        time.sleep(0.05)
    yield stream, url
    stream.stop()
    stream.close()


def test_preview_page_stats_stream_and_snapshot(live_preview):
    stream, url = live_preview
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


def _chromium():
    return next((p for p in map(shutil.which, ("chromium", "chromium-browser", "google-chrome")) if p), None)


@pytest.mark.skipif(_chromium() is None, reason="no chromium on this machine (apt-get install chromium)")
def test_preview_renders_in_headless_chromium(live_preview, tmp_path):
    stream, url = live_preview
    shot = tmp_path / "preview.png"
    cmd = [_chromium(), "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
           "--disable-component-update", "--disable-sync", "--no-first-run", f"--user-data-dir={tmp_path / 'prof'}",
           "--window-size=640,480", "--virtual-time-budget=3000", f"--screenshot={shot}", url]
    subprocess.run(cmd, capture_output=True, timeout=60)
    image = cv2.imread(str(shot))
    assert image is not None and image.shape[:2] == (480, 640)
    # the page's dark background and a colourful frame inside it: the <img> loaded from /stream
    assert image[5, 5].max() < 40 and image.reshape(-1, 3).std(0).max() > 20
    if os.environ.get("EDGESEG_KEEP_SCREENSHOT"):
        shutil.copy(shot, os.environ["EDGESEG_KEEP_SCREENSHOT"])
