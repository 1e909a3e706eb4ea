"""Video files through OpenCV: damaged frames read past to the container's real end, truncated and
empty files named as such, and the read-on ending whatever the container says its length is."""

import re
import time

import cv2
import pytest

from edgeseg.data.video import write_video
from edgeseg.runtime import Stream
from edgeseg.runtime.sources import EndOfStream, SourceError, open_source

from .conftest import DAMAGED_FRAMES, SIZE, CountedFile, damage, decodable_frames, slow_down


def test_a_damaged_video_is_read_past_its_bad_frames_to_the_real_end(damaged):
    path, decodable = damaged
    lines = []
    with open_source(path, log=lines.append) as src:
        frames = list(src)
    indices = [f.index for f in frames]
    assert decodable > 40 and len(frames) == decodable  # stopping at the first failure gave 28
    assert indices == sorted(set(indices)) and indices[-1] < DAMAGED_FRAMES
    assert src.total == DAMAGED_FRAMES and src.frames_read == decodable
    assert src.skipped == DAMAGED_FRAMES - decodable and src.skipped_at  # every frame accounted for
    assert all(f.pts == pytest.approx(f.index / 15.0) for f in frames)  # the container's time, gaps included
    first_gap = next(i for i, j in enumerate(indices) if i != j)
    assert any(re.search(rf"frames? {first_gap}\b.*could not be decoded", ln) for ln in lines), lines


def test_a_variable_rate_video_counts_no_more_frames_lost_than_it_lost(tmp_path):
    # the second half runs at half the first's rate: the nominal (average) rate overcounted its gaps
    clean = tmp_path / "clean.mp4"
    write_video(clean, num_frames=DAMAGED_FRAMES, fps=15.0, size=SIZE, seed=1)
    path = tmp_path / "vfr.mp4"
    path.write_bytes(damage(slow_down(clean.read_bytes(), DAMAGED_FRAMES // 2), 0.6, 0.8))
    decodable = decodable_frames(path)
    with open_source(str(path), log=None) as src:
        indices = [f.index for f in src]
    assert 40 < len(indices) == decodable < DAMAGED_FRAMES
    assert indices == sorted(set(indices)) and indices[-1] < DAMAGED_FRAMES
    assert src.skipped == DAMAGED_FRAMES - decodable


def test_a_healthy_video_has_nothing_skipped(street):
    path, masks = street
    with open_source(path, log=None) as src:
        frames = list(src)
    assert len(frames) == src.frames_read == src.total == len(masks) and src.skipped == 0


@pytest.mark.parametrize("stated", [None, 10, 100_000])
def test_reading_on_ends_whatever_count_the_container_states(damaged, stated):
    path, decodable = damaged
    src = CountedFile(path, stated).open()
    t0 = time.monotonic()
    frames = list(src)
    with pytest.raises(EndOfStream):
        src.capture()  # and it stays ended
    src.close()
    assert len(frames) == decodable and time.monotonic() - t0 < 10


def test_a_truncated_mp4_is_named_truncated_not_missing(street, tmp_path):
    path = tmp_path / "cut.mp4"
    with open(street[0], "rb") as f:
        data = f.read()
    path.write_bytes(data[:int(len(data) * 0.4)])  # the index (moov atom) is written last: gone
    with pytest.raises(SourceError, match="truncated or damaged") as exc:
        open_source(str(path), log=None)
    assert exc.value.path == str(path) and "check the path or device" not in str(exc.value)


def test_an_empty_video_file_says_it_is_empty(tmp_path):
    path = tmp_path / "empty.mp4"
    path.write_bytes(b"")
    with pytest.raises(SourceError, match="empty"):
        open_source(str(path), log=None)


def test_a_video_that_opens_but_decodes_no_frame_is_damaged(tmp_path):
    clean = tmp_path / "clean.mp4"
    write_video(clean, num_frames=20, fps=10.0, size=SIZE, seed=2)
    data = bytearray(clean.read_bytes())
    start, stop = data.find(b"mdat") + 4, data.rfind(b"moov") - 4
    data[start:stop] = bytes(stop - start)  # every frame zeroed, header and index kept
    path = tmp_path / "zeroed.mp4"
    path.write_bytes(bytes(data))
    assert cv2.VideoCapture(str(path)).isOpened()
    with pytest.raises(SourceError, match="no frame could be decoded") as exc:
        open_source(str(path), log=None)
    assert "truncated or damaged" in str(exc.value) and "20" in exc.value.got


def _zero_tail(tmp_path, frames=40):
    """A file whose last quarter of frame data is zeroed, its header and index kept."""
    clean = tmp_path / "clean.mp4"
    write_video(clean, num_frames=frames, fps=10.0, size=SIZE, seed=4)
    data = bytearray(clean.read_bytes())
    stop = data.rfind(b"moov") - 4
    start = int(stop * 0.75)
    data[start:stop] = bytes(stop - start)
    path = tmp_path / "tail.mp4"
    path.write_bytes(bytes(data))
    return path


def test_a_shortfall_at_the_end_alone_is_not_counted_as_damage(tmp_path):
    # a file cut short at its end and one whose container overstates its count (an MKV's estimate, a
    # longer audio track) read the same to OpenCV: what it states and what decoded are both kept
    path = _zero_tail(tmp_path)
    lines = []
    with open_source(str(path), log=lines.append) as src:
        frames = list(src)
    assert 20 < len(frames) < 40 and src.frames_read == len(frames) and src.total == 40
    assert src.skipped == 0 and src.skipped_at == []
    assert not any("damaged" in ln for ln in lines), lines


def test_a_healthy_file_whose_container_overstates_its_count_skips_nothing(street):
    path, masks = street
    src = CountedFile(path, 5000).open()
    t0 = time.monotonic()
    frames = list(src)
    src.close()
    assert [f.index for f in frames] == list(range(len(masks))) and src.frames_read == len(masks)
    assert src.skipped == 0 and src.skipped_at == [] and src.total == 5000
    assert time.monotonic() - t0 < 5


def test_damage_in_the_middle_makes_the_shortfall_at_the_end_count(damaged):
    # once frames failed mid-file the container's count is believed: every stated frame is accounted for
    path, decodable = damaged
    src = CountedFile(path, DAMAGED_FRAMES + 5).open()
    frames = list(src)
    src.close()
    assert len(frames) == decodable and src.skipped == DAMAGED_FRAMES + 5 - decodable
    assert src.skipped_at[-1].endswith("(the file ends before the frames it states)")


def _recoded(tmp_path, tag: bytes):
    """A real mp4 whose sample entry names another codec (its MPEG-4 config box renamed away), so
    FFmpeg opens it as that codec and decodes none of its frames."""
    clean = tmp_path / "clean.mp4"
    write_video(clean, num_frames=12, fps=10.0, size=SIZE, seed=5)
    path = tmp_path / f"{tag.decode()}.mp4"
    path.write_bytes(clean.read_bytes().replace(b"mp4v", tag).replace(b"esds", b"free"))
    return path


def test_a_file_in_a_codec_this_opencv_cannot_decode_names_the_codec(tmp_path):
    path = _recoded(tmp_path, b"av01")  # FFmpeg's own AV1 decoder needs a hardware decoder
    assert cv2.VideoCapture(str(path), cv2.CAP_FFMPEG).isOpened()
    with pytest.raises(SourceError, match="no frame could be decoded") as exc:
        open_source(str(path), log=None)
    text = str(exc.value)
    assert "codec (AV01) is not supported by this OpenCV build" in text and "truncated or damaged" in text


def test_an_undecodable_file_fails_before_the_model_loads(tmp_path):
    path = _recoded(tmp_path, b"av01")
    with pytest.raises(SourceError, match=r"codec \(AV01\)"):  # not the missing model's error
        Stream(str(path), str(tmp_path / "missing.onnx"), "null://", log=None)
