"""Index PNGs: every row filter, low bit depths, cross-checked against OpenCV's libpng decoder."""

import struct
import zlib

import cv2
import numpy as np
import pytest

from edgeseg.data.png import read_index_png, write_index_png
from edgeseg.data.voc import voc_colormap
from edgeseg.errors import DataError


@pytest.mark.parametrize("filters", [0, 1, 2, 3, 4, [0, 1, 2, 3, 4]])
def test_palette_png_round_trip_for_every_filter(tmp_path, filters):
    ids = np.random.default_rng(1).integers(0, 21, (17, 23), dtype=np.uint8)
    ids[0, :] = 255
    path = tmp_path / "m.png"
    write_index_png(path, ids, palette=voc_colormap(256), filter_type=filters)
    assert np.array_equal(read_index_png(path), ids)
    # libpng (through OpenCV) decodes the same file to the palette colours of those indices.
    colours = np.asarray(voc_colormap(256), np.uint8)[:, ::-1]
    assert np.array_equal(cv2.imread(str(path), cv2.IMREAD_COLOR), colours[ids])


def test_grayscale_png_written_by_opencv_reads_as_ids(tmp_path):
    ids = np.arange(60, dtype=np.uint8).reshape(6, 10)
    assert cv2.imwrite(str(tmp_path / "g.png"), ids)
    assert np.array_equal(read_index_png(tmp_path / "g.png"), ids)


def _chunk(kind, body):
    return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))


def test_4_bit_palette_png(tmp_path):
    ids = np.array([[0, 1, 2, 3, 15], [4, 5, 6, 7, 8]], np.uint8)
    packed = np.zeros((2, 3), np.uint8)
    padded = np.pad(ids, ((0, 0), (0, 1)))
    packed[:] = (padded[:, 0::2] << 4) | padded[:, 1::2]
    raw = b"".join(b"\x00" + row.tobytes() for row in packed)
    palette = bytes(np.asarray(voc_colormap(16), np.uint8).ravel())
    data = (b"\x89PNG\r\n\x1a\n" + _chunk(b"IHDR", struct.pack(">IIBBBBB", 5, 2, 4, 3, 0, 0, 0))
            + _chunk(b"PLTE", palette) + _chunk(b"IDAT", zlib.compress(raw)) + _chunk(b"IEND", b""))
    (tmp_path / "m4.png").write_bytes(data)
    assert np.array_equal(read_index_png(tmp_path / "m4.png"), ids)
    colours = np.asarray(voc_colormap(16), np.uint8)[:, ::-1]
    assert np.array_equal(cv2.imread(str(tmp_path / "m4.png")), colours[ids])


def test_colour_png_is_rejected_with_the_file_name(tmp_path):
    path = tmp_path / "colour.png"
    cv2.imwrite(str(path), np.zeros((4, 4, 3), np.uint8))
    with pytest.raises(DataError, match="does not hold class ids") as e:
        read_index_png(path)
    assert str(path) in str(e.value) and "colour type 2" in str(e.value)


@pytest.mark.parametrize("cut", [20, 60])
def test_truncated_png_raises_naming_the_file(tmp_path, cut):
    path = tmp_path / "t.png"
    write_index_png(path, np.ones((30, 30), np.uint8), palette=voc_colormap(2))
    path.write_bytes(path.read_bytes()[:cut])
    with pytest.raises(DataError) as e:
        read_index_png(path)
    assert str(path) in str(e.value)


def test_not_a_png_raises(tmp_path):
    path = tmp_path / "x.png"
    path.write_bytes(b"GIF89a....")
    with pytest.raises(DataError, match="not a PNG"):
        read_index_png(path)
