"""Runtime fixtures: a real synthetic street video written by OpenCV, a damaged copy of a longer one,
and sources/backends that fail or slow down on purpose (wrapping real ones) for the fault tests."""

import struct
import time

import cv2
import numpy as np
import pytest

from edgeseg.backends import Backend
from edgeseg.data.video import write_video
from edgeseg.runtime import Segmenter
from edgeseg.runtime.sources import FileSource, SourceError, SourceOptions

FRAMES, FPS, SIZE = 24, 12.0, (96, 128)


@pytest.fixture(scope="session")
def street(tmp_path_factory):
    """(path, masks): a 24-frame 96x128 synthetic street mp4 and its ground-truth masks."""
    path = tmp_path_factory.mktemp("street") / "street.mp4"
    masks = write_video(path, num_frames=FRAMES, fps=FPS, size=SIZE, seed=3)
    return str(path), masks


DAMAGED_FRAMES = 90


def damage(data: bytes, start: float = 0.3, stop: float = 0.6, every: int = 7) -> bytes:
    """Every ``every``-th byte between ``start`` and ``stop`` (fractions of the file) flipped: the
    middle of the stream damaged, its header and index (the moov atom at the end) intact."""
    out = bytearray(data)
    for i in range(int(len(out) * start), int(len(out) * stop), every):
        out[i] ^= 0xFF
    return bytes(out)


def decodable_frames(path) -> int:
    """How many frames OpenCV alone decodes from a file when it reads on past every failure,
    until the position stops moving for longer than the whole file is long."""
    cap = cv2.VideoCapture(str(path), cv2.CAP_FFMPEG)
    limit = 2 * max(int(cap.get(cv2.CAP_PROP_FRAME_COUNT)), 100)
    decoded = misses = 0
    while misses < limit:
        if cap.grab():
            decoded, misses = decoded + 1, 0
        else:
            misses += 1
    assert cap.get(cv2.CAP_PROP_POS_FRAMES) == decoded  # OpenCV counts what it decoded
    return decoded


def _boxes(data: bytes, start: int, end: int):
    while start < end:
        size, kind = struct.unpack(">I4s", data[start:start + 8])
        yield kind, start, start + size
        start += size


def slow_down(data: bytes, after: int) -> bytes:
    """An OpenCV mp4 made variable-rate: its frames from ``after`` on last twice as long (the
    time-to-sample table rewritten; the edit list, which would cut the longer track at the old
    duration, renamed away). Its moov atom is last, so no chunk offset moves."""
    boxes = []
    lo, hi = 0, len(data)
    for want in (b"moov", b"trak", b"mdia", b"minf", b"stbl", b"stts"):
        _, lo, hi = next(b for b in _boxes(data, lo + 8 if boxes else 0, hi) if b[0] == want)
        boxes.append(lo)
    count, delta = struct.unpack(">II", data[lo + 16:lo + 24])
    body = struct.pack(">4xIIIII", 2, after, delta, count - after, 2 * delta)
    out = bytearray(data[:lo] + struct.pack(">I4s", 8 + len(body), b"stts") + body + data[hi:])
    for start in boxes[:-1]:  # the boxes holding it grew with it
        struct.pack_into(">I", out, start, struct.unpack_from(">I", out, start)[0] + 8 + len(body) - (hi - lo))
    return bytes(out).replace(b"edts", b"free")


@pytest.fixture(scope="session")
def damaged(tmp_path_factory):
    """(path, decodable): a 90-frame mp4 written by OpenCV (mp4v), damaged in its middle third,
    and how many of its frames OpenCV can still decode."""
    folder = tmp_path_factory.mktemp("damaged")
    clean = folder / "clean.mp4"
    write_video(clean, num_frames=DAMAGED_FRAMES, fps=15.0, size=SIZE, seed=1)
    path = folder / "corrupt.mp4"
    path.write_bytes(damage(clean.read_bytes()))
    return str(path), decodable_frames(path)


@pytest.fixture()
def seg(tiny_onnx):
    with Segmenter(tiny_onnx, device="cpu", threads=1) as s:
        yield s


def decoded_frames(path):
    """Every frame of a video as OpenCV decodes it (what a file source hands the stream)."""
    cap, out = cv2.VideoCapture(path), []
    while True:
        ok, image = cap.read()
        if not ok:
            return out
        out.append(image)


class QuietFile(FileSource):
    def __init__(self, path):
        super().__init__("file://" + path, SourceOptions(log=None))


class CountedFile(FileSource):
    """A real file whose container states another frame count (or none, as a raw stream has)."""

    def __init__(self, path, stated):
        super().__init__("file://" + path, SourceOptions(log=None))
        self.stated = stated

    def _open(self):
        super()._open()
        self.total = self.stated


class DropoutFile(QuietFile):
    """A real video that fails after ``fail_after`` frames (the cable is pulled), refuses to open
    ``bad_opens`` times, then opens again and carries on from where it stopped, like a camera."""

    def __init__(self, path, fail_after, bad_opens=2):
        super().__init__(path)
        self.fail_after, self.bad_opens, self.opens, self.failed = fail_after, bad_opens, 0, False

    def _open(self):
        self.opens += 1
        if self.failed and self.bad_opens > 0:
            self.bad_opens -= 1
            raise SourceError("camera not found", path=self.uri)
        super()._open()
        for _ in range(self._index):  # resume: a camera does not replay what it already sent
            self.cap.read()

    def _read(self):
        if self._index == self.fail_after and not self.failed:
            self.failed = True
            raise SourceError("camera unplugged", path=self.uri)
        return super()._read()


class GarbageFile(QuietFile):
    """A real video whose frames at ``bad`` indices come back corrupt (empty / wrong dtype)."""

    def __init__(self, path, bad):
        super().__init__(path)
        self.bad = set(bad)

    def _read(self):
        image, pts, gt = super()._read()
        if self._index in self.bad:
            image = np.zeros((0, 0, 3), np.uint8) if self._index % 2 else image.astype(np.float32)
        return image, pts, gt


class SlowBackend(Backend):
    """The real ONNX Runtime backend plus a fixed delay: a model slower than the camera."""

    kind = "slow"

    def __init__(self, inner, delay_s):
        super().__init__(inner.meta, inner.inputs, inner.outputs, inner.path)
        self.inner, self.delay_s = inner, delay_s

    def _infer(self, batch):
        time.sleep(self.delay_s)
        return self.inner.infer(batch)
