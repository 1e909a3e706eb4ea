"""Index PNGs (palette or grayscale) read as class ids, and written back, with numpy + zlib.

``cv2.imread`` expands a palette PNG to colours, but a VOC mask's meaning is its palette
*index*; Pillow is not a dependency, so this module parses the chunks itself.

>>> import os, tempfile
>>> ids = np.array([[0, 1, 255], [15, 0, 1]], np.uint8)
>>> p = os.path.join(tempfile.mkdtemp(), "m.png")
>>> write_index_png(p, ids, palette=[(0, 0, 0), (128, 0, 0)])
>>> np.array_equal(read_index_png(p), ids)
True
"""

from __future__ import annotations

import os
import struct
import zlib

import numpy as np

from ..errors import DataError
from ..utils.atomic import atomic_write_bytes

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
PNG_GRAY, PNG_PALETTE = 0, 3   # IHDR colour types
_FIX = "save the mask as an 8-bit palette or grayscale PNG holding class ids"
MAX_PIXELS = 1 << 30    # what OpenCV's CV_IO_MAX_IMAGE_PIXELS allows by default


def _chunks(data: bytes, path):
    pos = len(PNG_SIGNATURE)
    while pos + 8 <= len(data):
        length, kind = struct.unpack(">I4s", data[pos:pos + 8])
        body = data[pos + 8:pos + 8 + length]
        if len(body) != length:
            raise DataError("PNG file is truncated", path=path, expected=f"{length} bytes of {kind!r}",
                            got=f"{len(body)} bytes", fix="re-export or re-download the file")
        yield kind, body
        if kind == b"IEND":
            return
        pos += 12 + length
    raise DataError("PNG file is truncated", path=path, expected="an IEND chunk", got="end of file",
                    fix="re-export or re-download the file")


def _unfilter(raw: np.ndarray, height: int, stride: int, path) -> np.ndarray:
    """Undo PNG row filters for 1-byte pixels (palette and 8-bit grayscale)."""
    rows = raw.reshape(height, stride + 1)
    kinds, out = rows[:, 0], rows[:, 1:].copy()
    prev = np.zeros(stride, np.uint8)
    for y in range(height):
        line, kind = out[y], kinds[y]
        if kind == 1:            # Sub: a running sum along the row, wrapping at 256
            np.cumsum(line, dtype=np.uint8, out=line)
        elif kind == 2:          # Up
            line += prev
        elif kind in (3, 4):     # Average, Paeth: each byte needs the one just decoded
            _unfilter_row_scalar(line, prev, kind)
        elif kind != 0:
            raise DataError("PNG row uses an unknown filter", path=path, expected="filter type 0-4",
                            got=f"type {kind} in row {y}", fix="re-export the file")
        prev = line
    return out


def _unfilter_row_scalar(line: np.ndarray, prev: np.ndarray, kind: int) -> None:
    cur, up = bytearray(line.tobytes()), prev.tobytes()
    left = upleft = 0
    for i in range(len(cur)):
        b = up[i]
        if kind == 3:
            cur[i] = (cur[i] + ((left + b) >> 1)) & 255
        else:
            p = left + b - upleft
            pa, pb, pc = abs(p - left), abs(p - b), abs(p - upleft)
            pred = left if pa <= pb and pa <= pc else (b if pb <= pc else upleft)
            cur[i] = (cur[i] + pred) & 255
        left, upleft = cur[i], b
    line[:] = np.frombuffer(bytes(cur), np.uint8)


def png_header(data: bytes) -> tuple[int, int, int, int, int] | None:
    """``(width, height, bit depth, colour type, interlace)`` from a PNG's leading IHDR, else None.

    Only the first 29 bytes are looked at, so a reader can pick its decoder before decoding.

    >>> png_header(PNG_SIGNATURE + struct.pack(">I4sIIBBBBB", 13, b"IHDR", 6, 4, 8, 3, 0, 0, 0))
    (6, 4, 8, 3, 0)
    >>> png_header(b"GIF89a") is None
    True
    """
    data = bytes(data[:29])
    if len(data) < 29 or not data.startswith(PNG_SIGNATURE) or data[8:16] != b"\0\0\0\rIHDR":
        return None
    width, height, depth, ctype, _, _, interlace = struct.unpack(">IIBBBBB", data[16:29])
    return width, height, depth, ctype, interlace


def read_index_png(path: str | os.PathLike) -> np.ndarray:
    """The per-pixel indices of a palette or grayscale PNG as an HxW uint8 array.

    Bit depths 1, 2, 4 and 8 are read; colour, 16-bit and interlaced PNGs raise DataError.

    >>> import os, tempfile
    >>> p = os.path.join(tempfile.mkdtemp(), "g.png")
    >>> write_index_png(p, np.full((2, 3), 7, np.uint8))
    >>> read_index_png(p).tolist()
    [[7, 7, 7], [7, 7, 7]]
    """
    try:
        with open(path, "rb") as f:
            data = f.read()
    except OSError as exc:
        raise DataError("cannot read mask file", path=os.fspath(path), got=str(exc),
                        fix="check the path and its permissions") from exc
    return decode_index_png(data, path)


def decode_index_png(data: bytes, path: str | os.PathLike | None = None) -> np.ndarray:
    """:func:`read_index_png` on the bytes of a file already read; ``path`` names it in errors."""
    path = None if path is None else os.fspath(path)
    if not data.startswith(PNG_SIGNATURE):
        raise DataError("mask is not a PNG file", path=path, expected="PNG signature",
                        got=repr(data[:8]), fix=_FIX)
    header, idat = None, []
    for kind, body in _chunks(data, path):
        if kind == b"IHDR":
            if len(body) != 13:
                raise DataError("PNG header (IHDR) is malformed", path=path, expected="13 bytes",
                                got=f"{len(body)} bytes", fix="re-export or re-download the file")
            header = struct.unpack(">IIBBBBB", body)
        elif kind == b"IDAT":
            idat.append(body)
    if header is None:
        raise DataError("PNG has no IHDR chunk", path=path, fix="re-export the file")
    width, height, depth, ctype, _, _, interlace = header
    if ctype not in (PNG_GRAY, PNG_PALETTE) or depth not in (1, 2, 4, 8) or interlace:
        got = f"colour type {ctype}, {depth}-bit" + (", interlaced" if interlace else "")
        raise DataError("mask PNG does not hold class ids", path=path,
                        expected="palette or grayscale, 1-8 bit, not interlaced", got=got,
                        fix=_FIX + (", saved without interlacing (Adam7)" if interlace else ""))
    if width * height > MAX_PIXELS:
        # An honest-looking header over a small zlib bomb would otherwise inflate to gigabytes.
        raise DataError("mask PNG is too large to read", path=path,
                        expected=f"at most {MAX_PIXELS} pixels (OpenCV's default limit too)",
                        got=f"a header claiming {width}x{height}", fix="re-export or re-download the file")
    stride = (width * depth + 7) // 8
    expected = height * (stride + 1)
    inflate = zlib.decompressobj()
    try:
        # Never inflate past what the header promises (plus one byte, to see that there is more):
        # a few kB of IDAT can inflate to gigabytes.
        out = inflate.decompress(b"".join(idat), expected + 1)
        if len(out) == expected and not inflate.eof:  # read on to the stream's end and its checksum
            out += inflate.decompress(inflate.unconsumed_tail, 1)
    except zlib.error as exc:
        raise DataError("PNG image data is corrupt", path=path, got=str(exc),
                        fix="re-export or re-download the file") from exc
    if len(out) <= expected and not inflate.eof:
        raise DataError("PNG image data is corrupt", path=path, expected="a complete zlib stream",
                        got=f"a stream that ends early, after {len(out)} of {expected} bytes",
                        fix="re-export or re-download the file")
    raw = np.frombuffer(out, np.uint8)
    if raw.size != height * (stride + 1):
        raise DataError("PNG image data has the wrong size", path=path,
                        expected=f"{height * (stride + 1)} bytes", got=f"{raw.size} bytes",
                        fix="re-export or re-download the file")
    rows = _unfilter(raw, height, stride, path)
    if depth == 8:
        return rows
    bits = np.unpackbits(rows, axis=1).reshape(height, -1, depth)
    weights = (1 << np.arange(depth - 1, -1, -1)).astype(np.uint8)
    return (bits * weights).sum(axis=2, dtype=np.uint8)[:, :width]


def _filter_rows(ids: np.ndarray, filter_type: int) -> np.ndarray:
    x = ids.astype(np.int16)
    left = np.pad(x, ((0, 0), (1, 0)))[:, :-1]
    up = np.pad(x, ((1, 0), (0, 0)))[:-1]
    upleft = np.pad(x, ((1, 0), (1, 0)))[:-1, :-1]
    if filter_type == 0:
        pred = np.zeros_like(x)
    elif filter_type == 1:
        pred = left
    elif filter_type == 2:
        pred = up
    elif filter_type == 3:
        pred = (left + up) >> 1
    else:
        p = left + up - upleft
        pa, pb, pc = abs(p - left), abs(p - up), abs(p - upleft)
        pred = np.where((pa <= pb) & (pa <= pc), left, np.where(pb <= pc, up, upleft))
    return ((x - pred) & 255).astype(np.uint8)


def write_index_png(path: str | os.PathLike, ids: np.ndarray, palette=None, filter_type=0) -> None:
    """Write an HxW uint8 array as an 8-bit palette PNG (``palette`` given, RGB) or grayscale.

    ``filter_type`` (0-4, or a sequence cycled over rows) picks the PNG row filters; the file is
    written atomically. Useful to save predictions in VOC's format.

    >>> import os, tempfile
    >>> p = os.path.join(tempfile.mkdtemp(), "m.png")
    >>> write_index_png(p, np.eye(3, dtype=np.uint8), palette=[(0, 0, 0), (255, 0, 0)], filter_type=4)
    >>> read_index_png(p).sum()
    np.uint64(3)
    """
    ids = np.ascontiguousarray(ids)
    if ids.ndim != 2 or ids.dtype != np.uint8:
        raise DataError("an index PNG holds one uint8 value per pixel", path=os.fspath(path),
                        expected="HxW uint8", got=f"{ids.shape} {ids.dtype}", fix="pass mask.astype(np.uint8)")
    height, width = ids.shape
    kinds = list(filter_type) if isinstance(filter_type, (list, tuple)) else [filter_type]
    filtered = {k: _filter_rows(ids, k) for k in set(kinds)}
    rows = np.empty((height, width + 1), np.uint8)
    for y in range(height):
        k = kinds[y % len(kinds)]
        rows[y, 0], rows[y, 1:] = k, filtered[k][y]

    def chunk(kind: bytes, body: bytes) -> bytes:
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))

    ctype = PNG_GRAY if palette is None else PNG_PALETTE
    out = PNG_SIGNATURE + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, ctype, 0, 0, 0))
    if palette is not None:
        plte = np.zeros((max(len(palette), int(ids.max()) + 1), 3), np.uint8)
        plte[:len(palette)] = np.asarray(palette, np.uint8).reshape(-1, 3)
        out += chunk(b"PLTE", plte.tobytes())
    out += chunk(b"IDAT", zlib.compress(rows.tobytes(), 6)) + chunk(b"IEND", b"")
    atomic_write_bytes(path, out)
