"""Runtime fixtures: a real synthetic street video written by OpenCV, and sources/backends that
fail or slow down on purpose (wrapping real ones) for the fault tests."""

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


def fourcc(cap) -> str:
    """The FourCC OpenCV reports for an open capture, as text."""
    return (int(cap.get(cv2.CAP_PROP_FOURCC)) & 0xFFFFFFFF).to_bytes(4, "little").decode("latin-1")


class QuietFile(FileSource):
    def __init__(self, path):
        super().__init__("file://" + path, SourceOptions(log=None))


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
