"""The still parts of a synthetic street (camera, colour tables, facades, trees, hedges, skyline).

A pinhole camera at height ``hc`` looks down +Z; X is to the right, Y up. Every object is
projected with the same camera, so sizes follow perspective: a 1.7 m person whose feet are
``d`` pixels below the horizon is ``d * 1.7 / hc`` pixels tall. Objects are drawn far to near
(painter's order), each shape once into the image (anti-aliased) and once into the mask.

Coordinates are the road's: X across it, Z along it. A driving camera (:class:`Cam` with
``drive``) stands ``s`` metres along the road, and on a bend (curvature ``k``) the road's
straight lines become arcs: long ground strips are cut into short pieces that follow them,
while things with a shape of their own (a car, a tree, a flat facade) are placed whole by
:meth:`Cam.rigid`, so their outlines, and the details drawn inside them, stay exact.

>>> cam = Cam(f=100.0, hc=1.5, yh=50.0, vx=80.0, s=10.0, drive=True)
>>> cam.px(2.0, 0.0, 20.0).tolist(), cam.depth(2.0, 20.0)          # 10 m ahead of the camera
([100.0, 65.0], 10.0)
>>> bent = Cam(f=100.0, hc=1.5, yh=50.0, vx=80.0, k=1 / 50, drive=True)
>>> bool(bent.px(0.0, 0.0, 20.0)[0] > 80.0)                          # a right bend: the road ahead is right
True
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass

import cv2
import numpy as np

from ._paint import circle, fill, fill_each, quad_line

SKY, ROAD, VEG, BUILDING, CAR, PERSON = range(6)
ZCLIP = 0.3          # metres; geometry nearer than this is off-screen for any sane lens
ZFAR = 3000.0        # metres; where the road strips end on a straight road
ZMIN = 0.05          # a driving camera's depths are clamped here: geometry is clipped at ZCLIP before it is
                     # projected, this only keeps a stray vertex finite (cv2's fixed-point coordinates are int32)
TURN_MAX = 1.6       # radians of bend drawn ahead (a little past a right angle; what lies beyond is off-screen)
INSIDE = 10.0        # metres: the inside of a bend is drawn only this far from its centre and farther
SKY_WRAP = math.atan(1.6)   # the skyline spans +-1.6 f about the road: a turning camera sees it wrap round


def rgb(*c) -> np.ndarray:
    """Colour tables are written RGB for reading; drawing is BGR."""
    return np.array(c[::-1], np.float64)


# Shared on purpose: greys, greens and blues appear in several classes so colour cannot classify.
CAR_COLOURS = [rgb(235, 235, 232), rgb(182, 184, 188), rgb(122, 124, 128), rgb(72, 74, 78), rgb(25, 26, 30),
               rgb(165, 28, 28), rgb(105, 22, 28), rgb(32, 62, 140), rgb(112, 150, 200), rgb(26, 36, 70),
               rgb(45, 112, 62), rgb(36, 72, 42), rgb(102, 112, 62), rgb(222, 182, 44), rgb(200, 186, 150),
               rgb(98, 70, 46), rgb(210, 112, 34), rgb(140, 150, 120)]
CLOTHES = [rgb(30, 30, 34), rgb(36, 46, 82), rgb(70, 96, 140), rgb(120, 120, 122), rgb(182, 182, 178),
           rgb(226, 226, 220), rgb(160, 32, 38), rgb(52, 112, 62), rgb(100, 106, 60), rgb(172, 150, 110),
           rgb(100, 70, 50), rgb(120, 160, 210), rgb(222, 190, 62), rgb(220, 140, 160), rgb(70, 72, 76)]
SKIN = [rgb(240, 200, 170), rgb(226, 180, 142), rgb(190, 140, 102), rgb(140, 96, 66), rgb(92, 62, 42)]
HAIR = [rgb(25, 20, 18), rgb(70, 45, 30), rgb(190, 160, 100), rgb(150, 150, 150), rgb(110, 60, 30)]
FACADES = [rgb(150, 150, 150), rgb(120, 120, 118), rgb(186, 184, 178), rgb(206, 190, 160), rgb(190, 170, 130),
           rgb(150, 76, 56), rgb(112, 56, 46), rgb(226, 222, 214), rgb(92, 120, 150), rgb(92, 130, 110),
           rgb(70, 70, 76), rgb(220, 200, 140), rgb(150, 180, 140), rgb(190, 112, 82), rgb(130, 140, 160)]
GLASS = [rgb(40, 48, 60), rgb(70, 90, 110), rgb(120, 150, 180), rgb(30, 34, 36), rgb(150, 160, 165),
         rgb(60, 80, 70), rgb(200, 190, 150)]
FOLIAGE = [rgb(40, 80, 30), rgb(62, 110, 40), rgb(90, 130, 52), rgb(120, 150, 72), rgb(50, 90, 62),
           rgb(110, 120, 60), rgb(150, 150, 82), rgb(70, 96, 40), rgb(150, 118, 50), rgb(96, 104, 92)]
GRASS = [rgb(90, 130, 50), rgb(110, 140, 62), rgb(140, 150, 82), rgb(72, 110, 42), rgb(120, 126, 90)]
PAVEMENT = [rgb(160, 160, 158), rgb(130, 130, 128), rgb(186, 180, 170), rgb(150, 96, 84), rgb(120, 126, 130)]
BARK = [rgb(80, 62, 46), rgb(60, 50, 42), rgb(110, 100, 90), rgb(130, 126, 120)]


def pick(rng, table, jitter: float = 12.0) -> np.ndarray:
    """A table colour with a per-channel jitter (uniform, std ``jitter``): one RNG call, it is hot.

    Not clipped: cv2 saturates drawing colours, and blends stay within range closely enough.
    """
    r = rng.random(4)
    return table[int(r[0] * len(table))] + (r[1:] - 0.5) * (jitter * 3.46)


@dataclass
class Cam:
    """Focal length ``f`` px, height ``hc`` m, horizon row ``yh``, vanishing-point column ``vx``.

    A driving camera (``drive``) stands ``s`` metres along the road, looking along it; ``k`` is
    the road's curvature (1/m, > 0 bends right), so the camera has turned ``k * s`` radians. A
    still camera projects road coordinates as they are: the arithmetic of a street that never moves.
    """

    f: float
    hc: float
    yh: float
    vx: float
    s: float = 0.0
    k: float = 0.0
    drive: bool = False

    def bend(self, X, Z):
        """Road points -> camera coordinates (lateral, depth), depth clamped at ZMIN."""
        d = np.subtract(Z, self.s)
        if self.k:
            r = 1.0 / self.k - np.asarray(X, np.float64)      # the radius of that line of the road
            th = d * self.k
            X, d = 1.0 / self.k - r * np.cos(th), r * np.sin(th)
        return X, np.maximum(d, ZMIN)

    def px(self, X, Y, Z) -> np.ndarray:
        """Project world points (broadcast arrays) to (..., 2) pixel coordinates."""
        if self.drive:
            X, Z = self.bend(X, Z)
        Z = np.asarray(Z, np.float64)
        x = self.vx + self.f * np.divide(X, Z)
        y = self.yh + self.f * np.divide(np.subtract(self.hc, Y), Z)
        out = np.empty(np.broadcast_shapes(x.shape, y.shape) + (2,))
        out[..., 0], out[..., 1] = x, y
        return out

    def box(self, x0, x1, y0, y1, z0, z1) -> np.ndarray:
        """The projected outline (convex hull) of an axis-aligned box in front of the camera."""
        pts = self.px([x0, x1, x0, x1, x0, x1, x0, x1], [y0, y0, y1, y1, y0, y0, y1, y1],
                      [z0, z0, z0, z0, z1, z1, z1, z1])
        return cv2.convexHull(pts.astype(np.float32))[:, 0].astype(np.float64)

    # -- a driving camera ------------------------------------------------------------------------
    def drawable(self, X: float, Z: float) -> bool:
        """Whether a bend can draw the road point: not past TURN_MAX, not within INSIDE of its centre."""
        if not self.k:
            return True
        return abs(self.k * (Z - self.s)) <= TURN_MAX and 1.0 - self.k * X >= INSIDE * abs(self.k)

    def depth(self, X: float, Z: float) -> float:
        """The camera's depth of one road point (its Z for a still camera); -inf where a bend cannot draw it."""
        if not self.drive:
            return Z
        if not self.drawable(X, Z):
            return -math.inf
        d = Z - self.s
        return (1.0 / self.k - X) * math.sin(self.k * d) if self.k else d

    def near(self, X: float, depth: float = ZCLIP) -> float:
        """The road Z at which the line of the road at lateral ``X`` comes within ``depth`` of the camera."""
        if not self.k:
            return self.s + depth
        return self.s + math.asin(min(1.0, max(-1.0, depth * self.k / (1.0 - self.k * X)))) / self.k

    def far(self) -> float:
        """The road Z where ground strips end: ZFAR ahead, or TURN_MAX round a bend."""
        return self.s + (TURN_MAX / abs(self.k) if self.k else ZFAR)

    def rigid(self, X0: float, Z0: float, length: float = 0.0) -> Cam:
        """The camera for a thing that keeps its shape (a car, a tree; a facade: the chord of its
        ``length`` along the road) standing at road point (X0, Z0); this camera off a bend."""
        if not self.k:
            return self
        return Rigid(self.f, self.hc, self.yh, self.vx, self.s, self.k, True, X0, Z0, length)


@dataclass
class Rigid(Cam):
    """A bend's camera for one rigid thing: road coordinates near (X0, Z0) are turned with the
    road's direction there, instead of bent, so straight edges stay straight. A facade spans the
    chord of its stretch of the bend (placed nearer the centre by the sagitta, and shortened to it)."""

    X0: float = 0.0
    Z0: float = 0.0
    length: float = 0.0

    def __post_init__(self):
        R, half = 1.0 / self.k, 0.5 * self.k * self.length
        th = self.k * (self.Z0 - self.s)
        r = (R - self.X0) * math.cos(half)
        self._o = (R - r * math.cos(th), r * math.sin(th))
        self._cs = (math.cos(th), math.sin(th))
        self._stretch = (1.0 - self.k * self.X0) * math.sin(half) / half if half else 1.0
        self._ok = Cam.drawable(self, self.X0, self.Z0)

    def bend(self, X, Z):
        dx, dz = np.subtract(X, self.X0), np.subtract(Z, self.Z0) * self._stretch
        (ox, oz), (c, sn) = self._o, self._cs
        return ox + dx * c + dz * sn, np.maximum(oz - dx * sn + dz * c, ZMIN)

    def drawable(self, X: float, Z: float) -> bool:
        return self._ok

    def depth(self, X: float, Z: float) -> float:
        if not self._ok:
            return -math.inf
        (_, oz), (c, sn) = self._o, self._cs
        return oz - (X - self.X0) * sn + (Z - self.Z0) * self._stretch * c

    def near(self, X: float, depth: float = ZCLIP) -> float:
        (_, oz), (c, sn) = self._o, self._cs
        if c < 0.05:      # turned side-on, past the bend's right angle: all of it is far ahead
            return -math.inf
        return self.Z0 + (depth - oz + (X - self.X0) * sn) / (c * self._stretch)

    def rigid(self, X0: float, Z0: float, length: float = 0.0) -> Cam:
        return self


@dataclass
class Ctx:
    """What drawing needs: the canvases, the camera, and the scene's light (haze, shadow band)."""

    image: np.ndarray
    mask: np.ndarray
    cam: Cam
    haze_color: np.ndarray
    haze_dist: float
    shadow: tuple = ()       # (x_from, x_to, factor): objects standing in the band are darker

    def tone(self, color, X: float, Z: float) -> tuple:
        """Colour after shadow and distance haze, as a cv2 colour tuple (called ~150 times a frame)."""
        k = 1.0
        if self.shadow and min(self.shadow[0], self.shadow[1]) <= X <= max(self.shadow[0], self.shadow[1]):
            k = self.shadow[2]
        a = 1.0 - math.exp(-max(Z, 0.0) / self.haze_dist)
        b, g, r = color
        hb, hg, hr = self.haze_color
        k *= 1.0 - a
        return (b * k + hb * a, g * k + hg * a, r * k + hr * a)

    def visible(self, pts: np.ndarray) -> bool:
        h, w = self.mask.shape
        return bool(pts[:, 0].max() > 0 and pts[:, 0].min() < w and pts[:, 1].max() > 0 and pts[:, 1].min() < h)


class Facade:
    """A building front along the street at lateral X, from depth z0 to z1, with a window grid.

    A still camera never moves along Z, so its outlines are built once in world coordinates
    (already clipped to ZCLIP) and each frame costs two projections: the wall parts and the
    windows. For a driving camera the same rows are kept unclipped and clipped per frame where
    the wall meets the camera's near plane.
    """

    def __init__(self, X, z0, z1, height, color, windows, groups, glass, end_depth, shop, bands):
        self.X, self.z0, self.z1, self.height = X, z0, z1, height
        self.color, self.glass = color, glass
        side = np.sign(X)
        # rows: wall, cornice, end wall (the side wall, seen above lower neighbours and across gaps),
        # bands, shop window; the wall-like rows' near corners are where clipping moves them
        ys = [[0, 0, height, height], [height - 0.5, height - 0.5, height, height], [0, 0, height, height]]
        xs = [[X] * 4, [X] * 4, [X, X + side * end_depth, X + side * end_depth, X]]
        rows = np.arange(bands, height - 1, bands) if bands else np.zeros(0)
        self.n_bands = len(rows)
        ys += [[y, y, y + 0.25, y + 0.25] for y in rows]
        self.shop = shop
        if shop:
            ys.append([0.2, 0.2, 2.8, 2.8])
        n = len(ys)
        xs += [[X] * 4] * (n - len(xs))
        near = np.zeros((n, 4), bool)
        near[:, [0, 3]] = True
        near[2] = False
        xs, ys = np.array(xs, float), np.array(ys, float)
        zs = np.where(near, z0, z1)
        zs[2] = z0
        self._rows, self._near, self.end_depth = (xs, ys, zs), near, end_depth
        zc = max(z0, ZCLIP)
        self.end = z0 > ZCLIP
        keep = np.arange(n) != 2 if not self.end else np.ones(n, bool)
        self.parts = xs[keep], ys[keep], np.where(near, zc, zs)[keep]
        self._windows = windows[:, :, 1], windows[:, :, 0], groups
        keep = windows[..., 0].min(1) > ZCLIP
        self.win_y, self.win_z, self.groups = windows[keep, :, 1], windows[keep, :, 0], groups[keep]
        self.zm = (zc + z1) / 2

    def near(self, t: float = 0.0) -> float:
        return self.z0

    def draw(self, ctx: Ctx, t: float = 0.0) -> None:
        if ctx.cam.drive:
            return self._draw_driving(ctx)
        cam, X, zm = ctx.cam, self.X, self.zm
        pts = cam.px(*self.parts)
        if not ctx.visible(pts[0]):
            return
        fill(ctx.image, ctx.mask, [pts[0]], ctx.tone(self.color, X, zm), BUILDING)
        k = 2
        if self.end:
            fill(ctx.image, ctx.mask, [pts[2]], ctx.tone(self.color * 0.72, X, self.z0), BUILDING)
            k = 3
        self._details(ctx, pts, k, zm, cam, self.win_y, self.win_z, self.groups)

    def _draw_driving(self, ctx: Ctx) -> None:
        X, z0, z1 = self.X, self.z0, self.z1
        if not ctx.cam.drawable(X, (z0 + z1) / 2):
            return
        cam = ctx.cam.rigid(X, (z0 + z1) / 2, z1 - z0)
        clip = cam.near(X)
        if z1 <= clip:
            return
        zc = max(z0, clip)
        xs, ys, zs = self._rows
        pts = cam.px(xs, ys, np.where(self._near, zc, zs))
        if not ctx.visible(pts[0]):
            return
        zm = cam.depth(X, (zc + z1) / 2)
        fill(ctx.image, ctx.mask, [pts[0]], ctx.tone(self.color, X, zm), BUILDING)
        outer = X + np.sign(X) * self.end_depth
        if z0 > clip and cam.depth(outer, z0) > ZCLIP:
            fill(ctx.image, ctx.mask, [pts[2]], ctx.tone(self.color * 0.72, X, cam.depth(X, z0)), BUILDING)
        wy, wz, groups = self._windows
        keep = wz.min(1) > zc
        self._details(ctx, pts, 3, zm, cam, wy[keep], wz[keep], groups[keep])

    def _details(self, ctx, pts, k, zm, cam, win_y, win_z, groups) -> None:
        """Cornice, bands, shop window and windows: image only, inside the wall's outline."""
        X = self.X
        if np.ptp(pts[0, :, 0]) < 3:     # seen edge-on or far away: details would be sub-pixel
            return
        fill(ctx.image, None, list(pts[1:2]) + list(pts[k:k + self.n_bands]), ctx.tone(self.color * 0.82, X, zm))
        if self.shop:
            fill(ctx.image, None, [pts[-1]], ctx.tone(self.glass[0] * 0.8, X, zm))
        if not len(win_y):
            return
        pts = cam.px(X, win_y, win_z)
        h, w = ctx.mask.shape
        xs, ys = pts[..., 0], pts[..., 1]
        x0, x1 = xs.min(1), xs.max(1)
        sel = (x1 - x0 > 0.8) & (x1 > 0) & (x0 < w) & (ys.max(1) > 0) & (ys.min(1) < h)
        for g, color in enumerate(self.glass):
            polys = pts[sel & (groups == g)]
            if len(polys):
                fill(ctx.image, None, list(polys), ctx.tone(color, X, zm))


def make_facade(rng, X, z0, z1, height, end_depth) -> Facade | None:
    """Sample a facade's colour, storeys and window grid (world coordinates, drawn per frame)."""
    if z1 <= ZCLIP:
        return None
    floor_h, col_w, ww, wh, r_shop, r_bands = rng.random(6)
    floor_h, col_w = 2.8 + floor_h, 2.0 + 2.2 * col_w
    win_w, win_h = col_w * (0.35 + 0.4 * ww), floor_h * (0.35 + 0.25 * wh)
    shop = bool(r_shop < 0.45)
    zc = np.arange(z0 + col_w * 0.6, z1 - col_w * 0.4, col_w)
    yc = np.arange(3.4 if shop else floor_h * 0.55, height - floor_h * 0.5, floor_h)
    Zc, Yc = (a.ravel() for a in np.meshgrid(zc, yc))
    dz, dy = np.array([-1, 1, 1, -1]) * win_w / 2, np.array([-1, -1, 1, 1]) * win_h / 2
    windows = np.stack([Zc[:, None] + dz, Yc[:, None] + dy], -1)
    glass = [pick(rng, GLASS, 10), pick(rng, GLASS, 10), pick(rng, GLASS, 10) * 0.6]
    groups = np.searchsorted([0.55, 0.85], rng.random(len(windows)))      # 55% / 30% / 15%
    return Facade(X, z0, z1, height, pick(rng, FACADES, 14), windows, groups, glass,
                  end_depth or 8 + 12 * rng.random(), shop, floor_h if r_bands < 0.5 else 0.0)


@dataclass
class Tree:
    """A trunk and a crown of overlapping blobs (or a conifer's stacked triangles)."""

    X: float
    Z: float
    trunk_h: float
    trunk_w: float
    blobs: np.ndarray            # (n, 3): dx, dy above the trunk top, radius (metres)
    colors: list
    bark: np.ndarray
    conifer: bool = False

    def near(self, t):
        return self.Z

    def __post_init__(self):
        # one projection per frame: bound corners, trunk foot and top, blob centres
        top = self.trunk_h + self.blobs[:, 1].max() + self.blobs[:, 2].max()
        self._xy = (np.concatenate([[self.X - 4, self.X + 4, self.X, self.X], self.X + self.blobs[:, 0]]),
                    np.concatenate([[0.0, top, 0.0, self.trunk_h], self.trunk_h + self.blobs[:, 1]]))

    def draw(self, ctx: Ctx, t: float) -> None:
        cam = ctx.cam.rigid(self.X, self.Z)
        Z = cam.depth(self.X, self.Z)     # the camera's depth: self.Z for a still camera
        if Z <= 1.0:
            return
        pts = cam.px(*self._xy, self.Z)
        if not ctx.visible(pts[:2]):
            return
        (bx, by), (tx, ty), centers = pts[2], pts[3], pts[4:]
        tw = cam.f * self.trunk_w / Z
        fill(ctx.image, ctx.mask, [quad_line(bx, by, tx, ty + tw, tw, tw * 0.7)],
             ctx.tone(self.bark, self.X, Z), VEG)
        radii = cam.f * self.blobs[:, 2] / Z
        if radii.max() < 2.0:     # a distant tree is a few pixels: one blob looks the same, costs less
            c = centers.mean(0)
            fill(ctx.image, ctx.mask, [circle(c[0], c[1], np.abs(centers - c).max() * 0.7 + radii.max())],
                 ctx.tone(self.colors[0], self.X, Z), VEG)
            return
        if self.conifer:
            polys = [np.array([[cx, cy - 1.6 * r], [cx + r, cy + r * 0.6], [cx - r, cy + r * 0.6]])
                     for (cx, cy), r in zip(centers, radii)]
        else:
            polys = [circle(cx, cy, r, r * 0.85) for (cx, cy), r in zip(centers, radii)]
        if radii.max() < 6.0:     # mid-distance: three blobs carry the shape
            polys = polys[::3] if len(polys) > 4 else polys
        half = (len(polys) + 1) // 2
        fill_each(ctx.image, ctx.mask, polys[:half], ctx.tone(self.colors[0], self.X, Z), VEG)
        fill_each(ctx.image, ctx.mask, polys[half:], ctx.tone(self.colors[1], self.X, Z), VEG)


def make_tree(rng, X, Z, scale=1.0, conifers=0.0) -> Tree:
    c, r, k, th, tw, dark, light = rng.random(7)
    conifer = bool(c < conifers)
    r = (1.2 + 2.0 * r) * scale
    n = 5 + int(k * 5)
    if conifer:
        blobs = np.stack([np.zeros(4), np.linspace(r * 0.6, r * 2.6, 4), np.linspace(r * 1.1, r * 0.45, 4)], 1)
    else:
        u = rng.random((3, n))
        radius = r * (0.45 + 0.35 * u[0])
        # blob centres no lower than 0.6 radius above the trunk top: crowns hang, they do not touch the road
        blobs = np.stack([r * 0.9 * (u[1] - 0.5) * 1.7, np.maximum(r * (0.8 + 1.2 * (u[2] - 0.5)), radius * 0.6),
                          radius], 1)
    base = pick(rng, FOLIAGE[:6] if conifer else FOLIAGE, 10)
    return Tree(X, Z, (1.4 + 1.8 * th) * scale, 0.2 + 0.2 * tw, blobs,
                [base * (0.55 + 0.25 * dark), base * (1.0 + 0.3 * light)], pick(rng, BARK, 10), conifer)


@dataclass
class Hedge:
    """A low box of foliage along the pavement, with a wavy top."""

    x0: float
    x1: float
    z0: float
    z1: float
    height: float
    color: np.ndarray
    phase: float = 0.0

    def near(self, t):
        return self.z0

    def draw(self, ctx: Ctx, t: float) -> None:
        cam = ctx.cam
        if cam.drive:
            return self._draw_driving(ctx)
        z0 = max(self.z0, ZCLIP)
        if self.z1 <= z0:
            return
        hull = cam.box(self.x0, self.x1, 0, self.height, z0, self.z1)
        if not ctx.visible(hull):
            return
        color = ctx.tone(self.color, self.x0, (z0 + self.z1) / 2)
        fill(ctx.image, ctx.mask, [hull], color, VEG)
        self._top(ctx, np.geomspace(z0, self.z1, 24), color)

    def _top(self, ctx: Ctx, z: np.ndarray, color) -> None:
        """The wavy top, a band along the inner face (``z``: its road depths, near to far)."""
        inner = self.x0 if abs(self.x0) < abs(self.x1) else self.x1
        n = len(z)
        wave = self.height + 0.25 * np.abs(np.sin(z * 2.1 + self.phase))
        top = ctx.cam.px(inner, np.concatenate([wave, np.full(n, self.height - 0.3)]), np.concatenate([z, z[::-1]]))
        fill(ctx.image, ctx.mask, [top], tuple(np.asarray(color) * 1.12), VEG)

    def _draw_driving(self, ctx: Ctx) -> None:
        cam = ctx.cam
        if not cam.drawable(max(self.x0, self.x1) if cam.k > 0 else min(self.x0, self.x1), cam.s):
            return
        z0 = max(self.z0, cam.near(self.x0), cam.near(self.x1))
        z1 = min(self.z1, cam.far())
        if z1 <= z0:
            return
        color = ctx.tone(self.color, self.x0, cam.depth(self.x0, (z0 + z1) / 2))
        # on a bend the box follows the road in short straight pieces, each a convex outline
        cuts = np.linspace(z0, z1, 2 + int(abs(cam.k) * (z1 - z0) / 0.05))
        corners = cam.px(np.array([self.x0, self.x1, self.x0, self.x1])[None, :], np.array([0, 0, 1, 1]) * self.height,
                         cuts[:, None]).astype(np.float32)          # each cut's four corners, one projection
        hulls = [cv2.convexHull(np.concatenate([a, b]))[:, 0].astype(np.float64) for a, b in itertools.pairwise(corners)]
        if not any(ctx.visible(h) for h in hulls):
            return
        fill_each(ctx.image, ctx.mask, hulls, color, VEG)
        self._top(ctx, cam.s + np.geomspace(z0 - cam.s, z1 - cam.s, 24 + len(hulls)), color)


@dataclass
class Skyline:
    """Distant blocks or a tree line on the horizon, in units of f so they pan with the camera.

    Dozens of overlapping shapes are drawn as three outlines (one per shade): the upper envelope
    of each third, sampled per pixel column, which costs three fills instead of one per shape.
    """

    kind: int                    # BUILDING or VEG
    shapes: np.ndarray           # (n, 3): horizontal angle, half-width or radius, height (x f)
    color: np.ndarray

    def draw(self, ctx: Ctx) -> None:
        cam, w = ctx.cam, ctx.mask.shape[1]
        x, hw, ht = cam.vx + self.shapes[:, 0] * cam.f, self.shapes[:, 1] * cam.f, self.shapes[:, 2] * cam.f
        if cam.k and cam.s:     # a turning camera: the horizon turns by its heading, wrapping round
            a = np.arctan(self.shapes[:, 0]) - cam.k * cam.s
            x = cam.vx + np.tan((a + SKY_WRAP) % (2 * SKY_WRAP) - SKY_WRAP) * cam.f
        y = cam.yh + 1.0
        cols = np.arange(-1.0, w + 1.0)
        u = (cols[None, :] - x[:, None]) / hw[:, None]
        inside = np.abs(u) <= 1
        if self.kind == BUILDING:
            rise = np.where(inside, ht[:, None], 0.0)
        else:         # round crowns whose centres sit ht above the horizon
            rise = np.where(inside, ht[:, None] + 0.8 * hw[:, None] * np.sqrt(np.clip(1 - u * u, 0, 1)), 0.0)
        for g, shade in enumerate((0.92, 1.0, 1.06)):
            top = rise[g::3].max(0, initial=0.0)
            if top.max() < 0.5:
                continue
            poly = np.concatenate([np.stack([cols, y - top], 1), [[w + 1.0, y], [-1.0, y]]])
            fill(ctx.image, ctx.mask, [poly], tuple(self.color * shade), self.kind)
