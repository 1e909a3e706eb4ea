"""Drawing primitives for the synthetic scenes: one polygon fill for image and mask, noise tiles.

Image and mask are drawn with the *same* sub-pixel polygons; only the image is anti-aliased,
so the mask is exactly what was drawn, with hard edges.
"""

from __future__ import annotations

import functools
import threading

import cv2
import numpy as np

SHIFT = 4                       # sub-pixel bits for cv2 drawing
_ONE = 1 << SHIFT
_CIRCLE = np.stack([np.cos(np.linspace(0, 2 * np.pi, 16, endpoint=False)),
                    np.sin(np.linspace(0, 2 * np.pi, 16, endpoint=False))], 1)


def fixed(points) -> np.ndarray:
    """Float (N, 2) pixel coordinates -> int32 in cv2's fixed-point units."""
    return (np.asarray(points, np.float64) * _ONE + 0.5).astype(np.int32)


def fill(image, mask, polys, color, cls=None) -> None:
    """Fill non-overlapping float polygons: anti-aliased on ``image``, hard ``cls`` on ``mask``.

    Several polygons in one call are filled even-odd, so overlapping shapes need separate calls.
    """
    pts = [fixed(p) for p in polys]
    cv2.fillPoly(image, pts, color, cv2.LINE_AA, SHIFT)
    if cls is not None:
        cv2.fillPoly(mask, pts, int(cls), cv2.LINE_8, SHIFT)


def fill_each(image, mask, polys, color, cls=None) -> None:
    """Like :func:`fill` for shapes that may overlap (crowns, limbs): one call per shape."""
    for p in polys:
        fill(image, mask, [p], color, cls)


def circle(cx, cy, r, ry=None) -> np.ndarray:
    """A 16-gon (ellipse when ``ry`` is given) as float points."""
    return _CIRCLE * (r, r if ry is None else ry) + (cx, cy)


def quad_line(x0, y0, x1, y1, w0, w1=None) -> np.ndarray:
    """A thick segment as a quad, width ``w0`` at the start and ``w1`` at the end (limbs, trunks)."""
    w1 = w0 if w1 is None else w1
    dx, dy = x1 - x0, y1 - y0
    n = np.hypot(dx, dy) or 1.0
    nx, ny = -dy / n / 2, dx / n / 2
    return np.array([[x0 + nx * w0, y0 + ny * w0], [x1 + nx * w1, y1 + ny * w1],
                     [x1 - nx * w1, y1 - ny * w1], [x0 - nx * w0, y0 - ny * w0]])


def darken(image, poly, strength: float) -> None:
    """Blend a polygon towards black (a shadow) inside its bounding box only; the mask is untouched."""
    h, w = image.shape[:2]
    p = np.asarray(poly, np.float64)
    x0, y0 = np.maximum(np.floor(p.min(0)).astype(int), 0)
    x1, y1 = np.minimum(np.ceil(p.max(0)).astype(int) + 1, (w, h))
    if x1 <= x0 or y1 <= y0:
        return
    roi = image[y0:y1, x0:x1]
    shade = roi.copy()
    cv2.fillPoly(shade, [fixed(p - (x0, y0))], (0, 0, 0), cv2.LINE_AA, SHIFT)
    cv2.addWeighted(roi, 1 - strength, shade, strength, 0, dst=roi)


@functools.lru_cache(maxsize=8)
def noise_tiles(h: int, w: int) -> dict[str, np.ndarray]:
    """Fixed float32 noise fields 1.5x the image size, cropped at random offsets per scene.

    They are built once per image size from a fixed seed, so scenes stay deterministic and the
    per-scene cost is a slice. ``grain``: per-pixel; ``blotch``: leaves and patches (a few px);
    ``cloud``: soft large shapes in 0..1.
    """
    rng = np.random.default_rng(20240607)
    th, tw = h + h // 2 + 1, w + w // 2 + 1
    s = max(h, w) / 256

    def octaves(scales, weights):
        acc = np.zeros((th, tw), np.float32)
        for sc, wt in zip(scales, weights):
            small = rng.standard_normal((max(2, int(th / sc)), max(2, int(tw / sc)))).astype(np.float32)
            acc += wt * cv2.resize(small, (tw, th), interpolation=cv2.INTER_CUBIC)
        return acc / acc.std()

    cloud = octaves([64 * s, 32 * s, 12 * s, 5 * s], [1.0, 0.6, 0.3, 0.15])
    return {
        "grain": rng.standard_normal((th, tw)).astype(np.float32),
        "blotch": octaves([1.5 * s, 3 * s, 7 * s], [0.35, 1.0, 0.6]),
        "cloud": (cloud - cloud.min()) / (cloud.max() - cloud.min()),
    }


def crop(tile: np.ndarray, h: int, w: int, oy: int, ox: int) -> np.ndarray:
    """An h x w window of a tile; offsets wrap so any integer works (video drift)."""
    th, tw = tile.shape
    oy, ox = oy % (th - h), ox % (tw - w)
    return tile[oy:oy + h, ox:ox + w]


GROUND_TILE = 512       # texels: the ground's periodic texture; small enough to stay in cache when sampled


@functools.lru_cache(maxsize=8)
def ground_tiles(s: float) -> dict[str, np.ndarray]:
    """Periodic float32 noise tiles for textures painted on the ground: ``grain`` (per texel) and
    ``blotch`` (the screen tiles' scales, ``s`` = image size / 256), each padded by one wrapped
    texel so bilinear sampling anywhere in [0, GROUND_TILE) stays inside the array."""
    n = GROUND_TILE
    rng = np.random.default_rng(20240608)
    grain = rng.standard_normal((n, n)).astype(np.float32)
    # blotch: the octaves as Gaussian bands of one white noise's spectrum, periodic by construction
    f2 = np.fft.fftfreq(n)[:, None] ** 2 + np.fft.fftfreq(n)[None, :] ** 2
    sizes = np.minimum(np.array([1.5, 3.0, 7.0]) * s, n / 8)
    band = sum(w * sc * sc * np.exp(-2 * (np.pi * sc) ** 2 * f2) for sc, w in zip(sizes, (0.35, 1.0, 0.6)))
    blotch = np.fft.ifft2(np.fft.fft2(rng.standard_normal((n, n))) * band).real
    blotch = ((blotch - blotch.mean()) / blotch.std()).astype(np.float32)
    return {name: cv2.copyMakeBorder(t, 0, 1, 0, 1, cv2.BORDER_WRAP) for name, t in (("grain", grain),
                                                                                       ("blotch", blotch))}


def ground_maps(cam, shape, y0: int, scale: float, step: int = 2) -> tuple[np.ndarray, np.ndarray]:
    """``cv2.remap`` maps into :func:`ground_tiles` for image rows ``y0:`` (below the horizon),
    one sample per ``step`` x ``step`` pixels: a texture sampled through them lies on the ground
    and moves with it as the camera drives.

    A pixel ``w`` rows below the horizon sees flat ground at depth ``f * hc / w`` and
    ``(x - vx) * hc / w`` across; the camera's pose (``cam.s`` metres round a bend of curvature
    ``cam.k``) turns and moves that point into world metres, times ``scale`` texels a metre,
    wrapped to the tile (so sampling never takes OpenCV's slow border path).

    >>> from edgeseg.data._street import Cam
    >>> cam = Cam(f=50.0, hc=1.5, yh=9.5, vx=20.5, s=2.0, drive=True)
    >>> mx, my = ground_maps(cam, (32, 40), 10, 10.0)
    >>> mx.shape, float(mx[2, 10]), float(my[2, 10])     # pixel (20.5, 14.5): ahead, 15 m on: 2 + 15 m
    ((11, 20), 0.0, 170.0)
    """
    h, w = shape
    n = GROUND_TILE
    centre = (step - 1) / 2
    depth = cam.f * cam.hc / (np.arange(y0, h, step, dtype=np.float64) + centre - cam.yh)
    heading = cam.k * cam.s
    c, sn = float(np.cos(heading)), float(np.sin(heading))
    # where the camera stands: round a bend of curvature k it has come an arc of length s
    x0, z0 = ((1 - c) / cam.k, sn / cam.k) if cam.k else (0.0, cam.s)
    across = np.multiply.outer((depth / cam.f * scale).astype(np.float32),
                               (np.arange(0, w, step) + centre - cam.vx).astype(np.float32))
    mx = across * np.float32(c)
    mx += np.mod((x0 + depth * sn) * scale, n).astype(np.float32)[:, None]
    rows = np.mod((z0 + depth * c) * scale, n).astype(np.float32)[:, None]
    my = rows - across * np.float32(sn) if sn else np.repeat(rows, across.shape[1], axis=1)
    for m in (mx, my):
        m -= np.floor(m * np.float32(1 / n)) * np.float32(n)
    return mx, my


_local = threading.local()


def scratch(h: int, w: int) -> dict[str, np.ndarray]:
    """Per-thread float buffers for the finishing pass, reused from scene to scene.

    Fresh arrays of this size come straight from the OS (mmap) and page-fault on first touch,
    which cost more than the arithmetic; only the last size is kept.
    """
    buf = getattr(_local, "buf", None)
    if buf is None or buf["M"].shape != (h, w):
        xs = np.linspace(-1, 1, w, dtype=np.float32)
        ys = np.linspace(-1, 1, h, dtype=np.float32)
        buf = {name: np.empty((h, w), np.float32) for name in ("M", "A", "T", "grain", "blotch")}
        buf.update({name: np.empty((h, w, 3), np.float32) for name in ("M3", "A3", "out")})
        buf["u8"] = np.empty((h, w, 3), np.uint8)
        buf["canvas"] = np.empty((h, w, 3), np.uint8)
        buf["xs"], buf["r2"] = xs, xs[None, :] ** 2 + ys[:, None] ** 2
        _local.buf = buf
    return buf
