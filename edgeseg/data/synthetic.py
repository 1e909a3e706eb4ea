"""Synthetic street scenes with exact masks: a data set that needs no download and still needs learning.

Each scene is a one-point-perspective street: a horizon at a random height, a road with lane
markings and kerbs, building fronts with window grids, trees and hedges, cars and people at
perspective-consistent sizes (people from ~15 px tall near the horizon to ~90 px near the
camera at 256x256), drawn far to near so occlusion is right. Colours are shared across classes
(grey cars, roads and walls; green cars, coats and leaves; blue cars and sky), and texture,
haze, shadows, lighting and sensor noise vary per scene, so colour alone cannot classify.

>>> image, mask = render_scene(0, size=(128, 160))
>>> image.shape, image.dtype, mask.shape, int(mask.max()) < len(SYNTHETIC_CLASSES)
((128, 160, 3), dtype('uint8'), (128, 160), True)
>>> np.array_equal(render_scene(0, size=(128, 160))[1], mask)
True
"""

from __future__ import annotations

import math
from dataclasses import replace

import cv2
import numpy as np

from ..errors import ConfigError
from . import _street as st
from ._actors import make_car, make_person
from ._paint import crop, darken, fill, ground_maps, ground_tiles, noise_tiles, scratch
from ._street import BUILDING, ROAD, SKY, VEG, ZCLIP, ZFAR, Cam, Ctx, pick, rgb
from .base import Sample, SegDataset

SYNTHETIC_CLASSES = ("sky", "road", "vegetation", "building", "car", "person")
SYNTHETIC_PALETTE = ((70, 130, 180), (128, 64, 128), (107, 142, 35), (70, 70, 70), (0, 0, 142), (220, 20, 60))
SPLIT_SEEDS = {"train": 0, "val": 1, "test": 2}
SPLIT_SIZES = {"train": 2000, "val": 200, "test": 200}
SEED_STRIDE = 1_000_003

_SKIES = {  # (top, horizon) RGB
    "clear": (rgb(40, 92, 178), rgb(160, 196, 232)), "pale": (rgb(118, 158, 208), rgb(206, 218, 230)),
    "overcast": (rgb(150, 154, 160), rgb(204, 206, 208)), "dusk": (rgb(62, 82, 140), rgb(238, 170, 122)),
}
DRIVE_ROWS = 720      # a drive's speed is in pixels per frame at this height
MIN_RADIUS = 30.0     # metres: the sharpest bend drawn (its inside is cut INSIDE from the centre)
CAR_PERIOD = 192.0    # metres: cars and walkers repeat along the road at these periods for a driving camera
WALK_PERIOD = 120.0
PATH = 1.3            # metres either side of a driving camera that walkers keep clear of
GROUND_DEPTH = 12.0   # metres: where the ground's texture is as fine as the screen's
# Per-class texture strength (grain, blotch): foliage is blotchy, paint smooth, asphalt grainy.
_TEXTURE = np.array([(0.012, 0.0), (0.07, 0.07), (0.09, 0.26), (0.04, 0.06), (0.015, 0.02), (0.03, 0.04)])


class Street:
    """One sampled street: camera, light, static layout and moving cars and people.

    ``render(t)`` draws it at time ``t`` seconds; ``t=0`` is the still scene of
    :func:`render_scene`, later times move cars and walkers, pan the camera and drift the light
    when ``motion`` is on.

    Ego-motion: ``speed`` drives the camera forward along the road, in pixels per frame at 720
    rows: the median optical flow of the ground below the horizon (first order, at that height;
    ``speed * H / 720`` px at the street's own height H, so one drive looks the same at any
    size). ``turn`` (degrees per frame, > 0 right; needs a speed) is the camera's yaw rate: the
    road bends round with radius speed / turn. ``fps`` turns frames into the seconds ``render``
    takes. The layout is the same at every speed; ``speed=0`` draws exactly the street that
    never moves, and ``flow_per_metre`` is the ground flow one metre of driving makes.

    >>> street = Street(4, size=(64, 64))
    >>> len(street.people) <= 6 and len(street.cars) <= 5, street.render()[1].shape
    (True, (64, 64))
    >>> drive = Street(4, size=(64, 64), speed=4, turn=0.05, fps=30)
    >>> round(drive.speed_mps / 30 * drive.flow_per_metre(), 6), drive.render(1.0)[1].shape
    (4.0, (64, 64))
    """

    def __init__(self, seed: int, size=(256, 256), motion: bool = False, speed: float = 0.0, turn: float = 0.0,
                 fps: float = 30.0):
        self.H, self.W = (int(s) for s in size)
        if self.H < 16 or self.W < 16:
            raise ConfigError("synthetic scenes need at least 16x16 pixels", got=size)
        check_drive(speed, turn, fps)
        self.seed, self.motion = seed, motion
        rng = np.random.default_rng(seed)
        self._camera(rng)
        self._light(rng)
        self._road(rng)
        self._sides(rng)
        self._traffic(rng)
        self._drive(float(speed), float(turn), float(fps))

    # -- sampling ----------------------------------------------------------------------------
    def _camera(self, rng):
        H, W = self.H, self.W
        self.cam = Cam(f=W * rng.uniform(0.55, 0.95), hc=rng.uniform(1.2, 1.9),
                       yh=H * rng.uniform(0.3, 0.6), vx=W * rng.uniform(0.3, 0.7))
        self.pan = (rng.uniform(0.01, 0.04) * W, rng.uniform(6, 14), rng.uniform(0, 2 * np.pi))

    def _light(self, rng):
        self.sky = str(rng.choice(list(_SKIES), p=[0.4, 0.25, 0.25, 0.1]))
        top, hor = _SKIES[self.sky]
        self.sky_top = np.clip(top + rng.normal(0, 10, 3), 0, 255)
        self.sky_hor = np.clip(hor + rng.normal(0, 10, 3), 0, 255)
        self.clouds = rng.uniform(0.0, 0.9) if self.sky != "overcast" else rng.uniform(0.4, 0.8)
        self.cloud_color = rgb(236, 236, 238) if self.sky != "dusk" else rgb(236, 176, 160)
        if self.sky == "overcast":
            self.cloud_color = rgb(168, 170, 174) * rng.uniform(0.8, 1.1)
        self.haze = rng.uniform(60, 220) if self.sky == "overcast" else rng.uniform(150, 700)
        self.gain, self.contrast = rng.uniform(0.62, 1.22), rng.uniform(0.8, 1.15)
        tint = rng.uniform(0.9, 1.1, 3)
        self._tint = np.clip(np.arange(256)[:, None] * tint, 0, 255).astype(np.uint8).reshape(256, 1, 3)
        self.ramp = rng.uniform(-0.25, 0.25)
        self.vignette = rng.uniform(0.0, 0.35)
        self.sigma = rng.uniform(1.0, 6.0)
        self.blur = bool(rng.random() < 0.3)
        texture = _TEXTURE * rng.uniform(0.6, 1.4, (1, 2))
        self._lut_grain, self._lut_blotch = (np.zeros(256, np.float32) for _ in range(2))
        self._lut_grain[:6], self._lut_blotch[:6] = texture[:, 0], texture[:, 1]
        self.offsets = rng.integers(0, 1 << 20, 8)
        self.drift = (rng.uniform(0.03, 0.08), rng.uniform(5, 12), rng.uniform(0, 2 * np.pi))
        self.sunny = self.sky != "overcast" and rng.random() < 0.65

    def _road(self, rng):
        lw = rng.uniform(2.8, 3.6)
        n_left, n_right = int(rng.choice([0, 1, 1, 2])), int(rng.choice([1, 1, 2, 2, 3]))
        ego = int(rng.integers(n_right))
        divider = -(ego + 0.5) * lw + rng.uniform(-0.5, 0.5)
        self.lane_w, self.n_left, self.n_right = lw, n_left, n_right
        self.xl, self.xr, self.divider = divider - n_left * lw, divider + n_right * lw, divider
        self.walk = (rng.uniform(1.5, 5.0), rng.uniform(1.5, 5.0))       # pavement widths left, right
        self.asphalt = np.clip(np.full(3, rng.uniform(58, 135)) + rng.normal(0, 5, 3), 0, 255)
        self.pavement = pick(rng, st.PAVEMENT, 12)
        self.paint = rgb(225, 225, 218) * rng.uniform(0.65, 1.0)
        self.yellow = rng.random() < 0.3
        self.dash = (rng.uniform(1.5, 4.0), rng.uniform(6.0, 12.0), rng.uniform(0, 6))  # length, period, offset
        self.crosswalk = rng.uniform(7, 25) if rng.random() < 0.25 else None
        self.shadow = ()     # (x_from, x_to, factor): the band a sunlit street's buildings shade
        if self.sunny:
            wall = self.xl - self.walk[0] if rng.random() < 0.5 else self.xr + self.walk[1]
            self.shadow = (wall, wall - np.sign(wall) * rng.uniform(3, 12), rng.uniform(0.45, 0.7))
        self.patches = [(rng.uniform(self.xl, self.xr), rng.uniform(3, 60), rng.uniform(0.8, 3), rng.uniform(1, 6),
                         rng.uniform(0.8, 1.15)) for _ in range(int(rng.integers(0, 4)))]

    def _sides(self, rng):
        # Draw order by layer, then by depth within a layer: hedges are long, so depth alone
        # would paint them over a walker beside them; everything in `park` stands beyond them.
        self.facades, self.park, self.hedges, self.statics, self.grass = [], [], [], [], []
        for side, edge, walk in ((-1, self.xl, self.walk[0]), (1, self.xr, self.walk[1])):
            outer = edge + side * walk
            if rng.random() < 0.72:
                z = rng.uniform(-15, 2)
                while z < 150:
                    gap = rng.uniform(3, 15) if rng.random() < 0.25 else 0.0
                    z += gap
                    length = rng.uniform(8, 35)
                    setback = rng.uniform(2, 8) if rng.random() < 0.12 else rng.uniform(0, 0.6)
                    height = float(np.clip(rng.lognormal(np.log(14), 0.45), 5, 45))
                    facade = st.make_facade(rng, outer + side * setback, z, z + length, height,
                                            rng.uniform(8, 20) if gap else 0.0)
                    if facade is not None:
                        self.facades.append(facade)
                    z += length
                if rng.random() < 0.3:
                    x_in = outer - side * rng.uniform(0.8, 1.5)
                    self.hedges.append(st.Hedge(x_in, outer, rng.uniform(-5, 20), rng.uniform(30, 120),
                                                rng.uniform(0.6, 1.4), pick(rng, st.FOLIAGE), rng.uniform(0, 6)))
            else:
                self.grass.append((outer, side, pick(rng, st.GRASS, 10)))
                for _ in range(int(rng.integers(6, 18))):
                    x = outer + side * rng.uniform(1.5, 45)
                    self.park.append(st.make_tree(rng, x, rng.uniform(4, 120), rng.uniform(0.9, 1.6), 0.3))
                if rng.random() < 0.5:
                    self.hedges.append(st.Hedge(outer, outer + side * rng.uniform(0.8, 1.6), rng.uniform(-5, 10),
                                                rng.uniform(25, 100), rng.uniform(0.5, 1.2), pick(rng, st.FOLIAGE)))
            if rng.random() < 0.55:
                x = edge + side * rng.uniform(0.5, 1.0)
                for z in np.arange(rng.uniform(5, 16), 100, rng.uniform(7, 18)):
                    self.statics.append(st.make_tree(rng, x, z, rng.uniform(0.8, 1.3)))
        far = np.clip(pick(rng, st.FACADES, 10) * 0.5 + self.sky_hor * 0.5, 0, 255)
        n = int(rng.integers(10, 40))
        blocks = np.stack([rng.uniform(-1.6, 1.6, n), rng.uniform(0.01, 0.06, n), rng.uniform(0.005, 0.09, n)], 1)
        self.skylines = [st.Skyline(BUILDING, blocks, far)]
        if rng.random() < 0.6:
            n = int(rng.integers(20, 60))
            trees = np.stack([rng.uniform(-1.6, 1.6, n), rng.uniform(0.008, 0.035, n), rng.uniform(0.0, 0.03, n)], 1)
            green = np.clip(pick(rng, st.FOLIAGE, 10) * 0.7 + self.sky_hor * 0.3, 0, 255)
            self.skylines.append(st.Skyline(VEG, trees, green))

    def _traffic(self, rng):
        cam, H, W = self.cam, self.H, self.W
        zmin = max(cam.f * cam.hc / (H - cam.yh) * 0.85, 2.5)
        self.cars, self.people = [], []
        lanes = self.n_left + self.n_right
        for _ in range(int(rng.choice(6, p=[0.1, 0.2, 0.24, 0.2, 0.16, 0.1]))):
            for _try in range(12):
                parked = rng.random() < 0.35
                if parked:
                    right = rng.random() < 0.5
                    x = self.xr - rng.uniform(0.9, 1.1) if right else self.xl + rng.uniform(0.9, 1.1)
                    d, v = (1 if rng.random() < 0.5 else -1), 0.0
                else:
                    k = int(rng.integers(lanes))
                    x = self.xl + (k + 0.5) * self.lane_w + rng.uniform(-0.3, 0.3)
                    d = -1 if k < self.n_left else 1
                    v = -rng.uniform(5, 13) if d < 0 else (rng.uniform(0, 2) if abs(x) < 1.5 else rng.uniform(3, 12))
                z = float(np.exp(rng.uniform(np.log(zmin), np.log(70))))
                car = make_car(rng, x, z, d, v if self.motion else 0.0)
                u = cam.vx + cam.f * x / (z + car.length / 2)
                clash = any(abs(c.X - x) < 2.1 and c.z0 < z + car.length + 1 and z < c.z0 + c.length + 1
                            for c in self.cars)
                if -0.1 * W < u < 1.1 * W and not clash:
                    self.cars.append(car)
                    break
        s = H / 256
        for _ in range(int(rng.choice(7, p=[0.08, 0.14, 0.18, 0.2, 0.18, 0.12, 0.1]))):
            for _try in range(12):
                person = self._person(rng, s)
                if person is not None:
                    self.people.append(person)
                    break

    def _person(self, rng, s):
        cam, H, W = self.cam, self.H, self.W
        height = rng.uniform(1.05, 1.4) if rng.random() < 0.1 else rng.uniform(1.55, 1.92)
        hp = float(np.exp(rng.uniform(np.log(15 * s), np.log(90 * s))))
        z = cam.f * height / hp
        z = max(z, cam.f * cam.hc / (H - cam.yh + 0.03 * hp))         # feet (nearly) in the frame
        cross = rng.random() < (0.6 if self.crosswalk else 0.3)
        if cross:
            if self.crosswalk and rng.random() < 0.7:
                z = self.crosswalk + rng.uniform(0.3, 2.7)
            x = rng.uniform(self.xl + 0.3, self.xr - 0.3)
            speed = rng.uniform(0.8, 1.5) * (1 if rng.random() < 0.5 else -1)
            args = {"vx": speed, "xrange": (self.xl - self.walk[0] / 2, self.xr + self.walk[1] / 2)}
        else:
            side = 1 if rng.random() < 0.5 else -1
            edge, walk = (self.xr, self.walk[1]) if side > 0 else (self.xl, self.walk[0])
            x = edge + side * rng.uniform(0.4, max(0.5, walk - 0.3))
            u = cam.vx + cam.f * x / z
            if not 0.02 * W < u < 0.98 * W:      # too near to be seen on the pavement: step back
                target = rng.uniform(0.03 * W, cam.vx - 2) if side < 0 else rng.uniform(cam.vx + 2, 0.97 * W)
                z = max(z, cam.f * x / (target - cam.vx))
                if cam.f * height / z < 14 * s:
                    return None
            still = rng.random() < 0.2
            args = {"vz": 0.0 if still else rng.uniform(0.7, 1.6) * (1 if rng.random() < 0.5 else -1)}
        if cam.f * height / z < 14 * s:          # a crossing or the frame edge pushed them too far
            return None
        if not self.motion:
            args["vx"], args["vz"] = 0.0, 0.0
        for c in self.cars:
            if abs(c.X - x) < c.width / 2 + 0.4 and c.z0 - 0.6 < z < c.z0 + c.length + 0.6:
                return None
        return make_person(rng, x, z, height, **args)

    # -- driving -----------------------------------------------------------------------------
    def flow_per_metre(self) -> float:
        """The median optical flow (px, at 720 rows) of the ground below the horizon as the camera
        moves one metre forward, to first order: a ground pixel ``r`` px from the vanishing point
        and ``dy`` below the horizon moves ``r * dy / (f * hc)`` px per metre."""
        c = self.cam
        rows = np.arange(self.H, dtype=np.float64)
        rows = rows[rows > c.yh][::max(1, self.H // 128)]
        cols = np.arange(self.W, dtype=np.float64)[::max(1, self.W // 128)]
        dy = rows[:, None] - c.yh
        return float(np.median(np.hypot(cols[None, :] - c.vx, dy) * dy / (c.f * c.hc))) * DRIVE_ROWS / self.H

    def _drive(self, speed: float, turn: float, fps: float) -> None:
        """Speed and turn in metres per second and curvature; the layout made to repeat round a camera that drives."""
        self.speed, self.turn, self.fps = speed, turn, fps
        self.speed_mps = self.curvature = 0.0
        if not speed:
            return
        per_frame = speed / self.flow_per_metre()
        self.speed_mps = per_frame * fps
        if turn:
            self.curvature = math.radians(turn) / per_frame
            if 1 / abs(self.curvature) < MIN_RADIUS:
                sharpest = math.degrees(per_frame / MIN_RADIUS)
                raise ConfigError("the turn is too sharp for the speed: the street cannot be drawn round that bend",
                                  expected=f"|turn| <= {sharpest:.3g} degrees per frame at speed={speed:g} on this "
                                           f"street (a bend of radius >= {MIN_RADIUS:g} m)",
                                  got=f"turn={turn:g}: a bend of radius {1 / abs(self.curvature):.1f} m",
                                  fix="turn less, or drive faster (the radius is speed / turn)")
        self._repeat()

    def _repeat(self) -> None:
        """Periods and windows along the road: the sampled street repeats ahead of a camera that
        drives, each row of facades or trees with its own period so it continues seamlessly, and
        each thing is drawn at its copies within (lo, hi) metres of the camera. Cars and walkers
        in the camera's path keep out of it: a car on its lane leads it at its speed, walkers
        cross the road on one side of it and turn (a camera does not drive through them)."""
        for side in (-1.0, 1.0):
            facades = [f for f in self.facades if np.sign(f.X) == side]
            if facades:
                period = max(f.z1 for f in facades) - min(f.z0 for f in facades)
                for f in facades:
                    f.wrap = (period, -40.0, 260.0)
            trees = sorted((t for t in self.statics if np.sign(t.X) == side), key=lambda t: t.Z)
            step = (trees[-1].Z - trees[0].Z) / (len(trees) - 1) if len(trees) > 1 else 100.0
            for t in trees:
                t.wrap = (step * len(trees), -2.0, 200.0)
        for t in self.park:
            t.wrap = (116.0, -2.0, 200.0)
        for h in self.hedges:
            h.wrap = (h.z1 - h.z0 + 60.0, h.z0 - h.z1 - 2.0, 240.0)
        for c in self.cars:
            c.zhi = c.zlo + CAR_PERIOD
            c.wrap = (CAR_PERIOD, c.zlo, c.zhi)
            if abs(c.X) < c.width / 2 + 0.6:  # at the camera's speed: faster, it would come round from behind
                c.v, c.d = self.speed_mps, 1
        for p in self.people:
            p.zhi = p.zlo + WALK_PERIOD
            p.wrap = (WALK_PERIOD, p.zlo, p.zhi)
            if p.xrange:
                a, b = p.xrange
                p.xrange = (a, min(b, -PATH)) if p.X < 0 else (max(a, PATH), b)
                p.X = min(p.X, -PATH) if p.X < 0 else max(p.X, PATH)

    def camera(self, t: float) -> Cam:
        c = self.cam
        if self.motion and t != 0:
            amp, period, phase = self.pan
            c = Cam(c.f, c.hc, c.yh + 0.004 * self.H * np.sin(t * 2 * np.pi / 1.3),
                    c.vx + amp * (np.sin(t * 2 * np.pi / period + phase) - np.sin(phase)))
        if self.speed_mps:
            return replace(c, s=self.speed_mps * t, k=self.curvature, drive=True)
        return c

    # -- drawing -----------------------------------------------------------------------------

    def render(self, t: float = 0.0) -> tuple[np.ndarray, np.ndarray]:
        """The BGR image and class-id mask at time ``t`` seconds."""
        H, W = self.H, self.W
        cam = self.camera(t)
        image = scratch(H, W)["canvas"]      # drawn on, then finished into a new array
        mask = np.full((H, W), SKY, np.uint8)
        rows = np.clip(np.arange(H, dtype=np.float64) / max(cam.yh, 1.0), 0, 1)[:, None] ** 0.7
        # one column stretched across: a broadcast copy into a 3-channel array costs ~7x more
        column = (self.sky_top * (1 - rows) + self.sky_hor * rows)[:, None, :].astype(np.uint8)
        cv2.resize(column, (W, H), dst=image, interpolation=cv2.INTER_NEAREST)
        ctx = Ctx(image, mask, cam, self.sky_hor, self.haze, self.shadow)
        for sky in self.skylines:
            sky.draw(ctx)
        self._ground(ctx)
        if cam.drive:
            self._things_driving(ctx, t)
        else:
            for f in sorted(self.facades, key=lambda f: -f.z0):
                f.draw(ctx)
            for layer in (self.park, self.hedges, self.statics + self.cars + self.people):
                for thing in sorted(layer, key=lambda o: -o.near(t)):
                    thing.draw(ctx, t)
        return self._finish(image, mask, t, cam), mask

    def _things_driving(self, ctx: Ctx, t: float) -> None:
        """Each layer's things at their copies ahead of a driving camera, far to near: a copy
        ``shift`` metres on is the thing seen from a camera ``shift`` metres back."""
        cam = ctx.cam
        for layer in (self.facades, self.park, self.hedges, self.statics + self.cars + self.people):
            placed = []
            for thing in layer:
                period, lo, hi = thing.wrap
                d = thing.near(t) - cam.s
                for n in range(math.ceil((lo - d) / period), math.ceil((hi - d) / period)):
                    placed.append((d + n * period, n * period, thing))
            placed.sort(key=lambda p: -p[0])
            for _, shift, thing in placed:
                ctx.cam = replace(cam, s=cam.s - shift) if shift else cam
                thing.draw(ctx, t)
        ctx.cam = cam

    def _ground(self, ctx: Ctx) -> None:
        cam, img, msk, W, H = ctx.cam, ctx.image, ctx.mask, self.W, self.H
        strips = _strips_driving(cam) if cam.drive else _strips_still(cam)
        ahead = cam.s     # 0 for a still camera: its arithmetic is unchanged

        def copies(z, period, before, until=160.0) -> np.ndarray:
            """A still street's ``z``; a driving camera's: every copy from ``before`` behind it to ``until`` ahead."""
            if not cam.drive:
                return z
            z = np.atleast_1d(np.asarray(z, np.float64))
            n = np.arange(np.ceil((ahead - before - z.max()) / period), np.ceil((ahead + until - z.min()) / period))
            return (z[None, :] + period * n[:, None]).ravel()

        def paint(polys, color, cls=None):
            if len(polys):
                fill(img, msk if cls is not None else None, polys, color, cls)

        below = np.array([[-2, cam.yh], [W + 2, cam.yh], [W + 2, H + 2], [-2, H + 2]])
        fill(img, msk, [below], ctx.tone(self.pavement, 0, 40), ROAD)
        for outer, side, color in self.grass:
            paint(strips(outer, outer + side * 400), ctx.tone(color, outer, 30), VEG)
        paint(strips(self.xl, self.xr), ctx.tone(self.asphalt, 0, 30), ROAD)
        kerb = tuple(np.clip(self.pavement * 1.15, 0, 255))
        paint(strips([self.xl - 0.18, self.xr], [self.xl, self.xr + 0.18]), kerb)
        for x, z, w, length, k in self.patches:
            z = copies(z, 60.0, length)
            paint(strips(x - w / 2, x + w / 2, z, z + length), ctx.tone(self.asphalt * k, x, 30 if cam.drive else z))
        dl, period, off = self.dash
        zs = copies(off + 1, period, dl) if cam.drive else np.arange(off + 1, 160, period)
        xs = [self.xl + k * self.lane_w for k in range(1, self.n_left + self.n_right)]
        xs = [x for x in xs if not (self.n_left and abs(x - self.divider) < 0.1)]
        paint_color = ctx.tone(self.paint, 0, 30)
        if xs:
            X, Z = np.meshgrid(xs, zs)
            paint(strips(X.ravel() - 0.07, X.ravel() + 0.07, Z.ravel(), Z.ravel() + dl), paint_color)
        paint(strips([self.xl + 0.25, self.xr - 0.37], [self.xl + 0.37, self.xr - 0.25], ahead + 0.5, ahead + 400),
              paint_color)
        if self.n_left:
            middle = ctx.tone(rgb(220, 180, 50), 0, 30) if self.yellow else paint_color
            d = self.divider
            paint(strips([d - 0.2, d + 0.08], [d - 0.08, d + 0.2], ahead + 0.5, ahead + 400), middle)
        if self.crosswalk:
            xs = np.arange(self.xl + 0.3, self.xr - 0.3, 1.0)
            X, Z = np.meshgrid(xs, copies(self.crosswalk, WALK_PERIOD, 3.0))
            paint(strips(X.ravel(), X.ravel() + 0.5, Z.ravel(), Z.ravel() + 3.0), paint_color)
        if ctx.shadow:
            x0, x1, k = ctx.shadow
            band = strips(x0, x1)
            if len(band):
                darken(img, band[0], 1 - k)

    def _finish(self, image: np.ndarray, mask: np.ndarray, t: float, cam: Cam | None = None) -> np.ndarray:
        """Texture by class, clouds, light, vignette and sensor noise in one pass.

        Everything grey is folded into a per-pixel gain ``M`` and offset ``A``, so the colour
        float work is one multiply and one add; the colour tint is a lookup table at the end.
        For a driving camera the texture below the horizon is painted on the ground (it moves
        with the road, as optical flow expects of a surface), and the texture above it and the
        clouds turn with the camera; sensor noise stays fresh each frame, as a sensor's does.
        """
        H, W = self.H, self.W
        tiles = noise_tiles(H, W)
        o = self.offsets
        frame = round(t * 1000) * 7919 if self.motion else 0
        gain = self.gain
        if self.motion:
            amp, period, phase = self.drift
            gain *= 1 + amp * np.sin(t * 2 * np.pi / period + phase)
        b = scratch(H, W)
        M, A, T, light = b["M"], b["A"], b["T"], self._light_map(b)
        driving = cam is not None and cam.drive
        turned = round(cam.f * cam.k * cam.s) if driving else 0     # pixels the view has turned
        grain = crop(tiles["grain"], H, W, o[0], o[1] + turned)
        blotch = crop(tiles["blotch"], H, W, o[2], o[3] + turned)
        if driving:
            grain, blotch = self._on_ground(cam, grain, blotch, b)
        np.multiply(cv2.LUT(mask, self._lut_grain, dst=M), grain, out=M)
        np.multiply(cv2.LUT(mask, self._lut_blotch, dst=T), blotch, out=T)
        M += T
        M += 1.0
        k = np.float32(gain * self.contrast)
        M *= light
        M *= k
        np.multiply(light, np.float32(110 * (1 - self.contrast) * gain), out=A)
        np.multiply(crop(tiles["grain"], H, W, o[6] + frame, o[7] + frame // 3), np.float32(self.sigma), out=T)
        A += T
        M3 = cv2.cvtColor(M, cv2.COLOR_GRAY2BGR, dst=b["M3"])
        A3 = cv2.cvtColor(A, cv2.COLOR_GRAY2BGR, dst=b["A3"])
        r = min(H, int(np.ceil(self.cam.yh + 0.01 * H)) + 1)      # sky never reaches below the horizon
        if self.clouds > 0.05 and r > 0:
            drift = int(t * 6 * H / 256) if self.motion else 0
            c = crop(tiles["cloud"], H, W, o[4], o[5] + drift + turned)[:r]
            alpha = np.clip((c - np.float32(1.0 - self.clouds * 0.8)) * 3.0, 0, 1) * (mask[:r] == SKY)
            M3[:r] *= cv2.cvtColor(1.0 - alpha, cv2.COLOR_GRAY2BGR)
            P = alpha * light[:r] * k
            A3[:r] += cv2.merge([P * np.float32(ch) for ch in self.cloud_color])
        out = cv2.multiply(image, M3, dst=b["out"], dtype=cv2.CV_32F)
        out += A3
        # values are clipped at 0 first, so the "abs" of convertScaleAbs is only its saturating cast
        np.maximum(out, 0, out=out)
        result = cv2.LUT(cv2.convertScaleAbs(out, dst=b["u8"]), self._tint)
        if self.blur:
            result = cv2.GaussianBlur(result, (3, 3), 0.8)
        return result


    def _light_map(self, b: dict) -> np.ndarray:
        """Vignette and light ramp: the same every frame, so made once per street."""
        light = getattr(self, "_light_cache", None)
        if light is None or light.shape != (self.H, self.W):
            light = np.empty((self.H, self.W), np.float32)
            np.multiply(b["r2"], np.float32(-0.5 * self.vignette), out=light)
            light += 1.0
            light *= 1 + np.float32(self.ramp) * b["xs"]
            self._light_cache = light
        return light

    def _on_ground(self, cam: Cam, grain, blotch, b: dict):
        """Grain and blotch with the rows below the horizon sampled where each pixel's ground point
        lies (at half resolution: a quarter of the cost, and the ground's texture is soft anyway)."""
        y0 = min(self.H, math.floor(cam.yh) + 1)
        if y0 >= self.H:
            return grain, blotch
        tiles = ground_tiles(max(self.H, self.W) / 256)
        mx, my = ground_maps(cam, (self.H, self.W), y0, cam.f / GROUND_DEPTH)
        out = []
        for name, screen in (("grain", grain), ("blotch", blotch)):
            buf = b[name]
            buf[:y0] = screen[:y0]
            half = cv2.remap(tiles[name], mx, my, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
            cv2.resize(half, (self.W, self.H - y0), dst=buf[y0:], interpolation=cv2.INTER_LINEAR)
            out.append(buf)
        return out


def _strips_still(cam: Cam):
    def strips(x0, x1, z0=ZCLIP, z1=ZFAR) -> list:
        """Ground quads between lateral x0..x1 and depths z0..z1 (arrays broadcast), one projection."""
        x0, x1, z0, z1 = np.broadcast_arrays(*(np.atleast_1d(np.asarray(a, np.float64)) for a in (x0, x1, z0, z1)))
        return list(cam.px(np.stack([x0, x1, x1, x0], 1), 0.0, np.stack([z0, z0, z1, z1], 1)))
    return strips


def _strips_driving(cam: Cam):
    """Ground strips for a driving camera: cut at its near plane (and, on a bend, at TURN_MAX and
    INSIDE), and on a bend cut along the road into pieces short enough to follow its arcs."""
    k = cam.k

    def near(x):
        if not k:
            return np.full_like(x, cam.s + ZCLIP)
        return cam.s + np.arcsin(np.clip(ZCLIP * k / (1.0 - k * x), -1.0, 1.0)) / k

    def strips(x0, x1, z0=-np.inf, z1=np.inf) -> list:
        x0, x1, z0, z1 = np.broadcast_arrays(*(np.atleast_1d(np.asarray(a, np.float64)) for a in (x0, x1, z0, z1)))
        if k:
            limit = (1.0 - st.INSIDE * abs(k)) / k
            x0, x1 = (np.minimum(x, limit) if k > 0 else np.maximum(x, limit) for x in (x0, x1))
        z0 = np.maximum(z0, np.maximum(near(x0), near(x1)))
        z1 = np.minimum(z1, cam.far())
        keep = (z1 > z0) & (x0 != x1)
        x0, x1, z0, z1 = x0[keep], x1[keep], z0[keep], z1[keep]
        short = np.abs(k) * (z1 - z0) < 0.02
        polys = list(cam.px(np.stack([x0[short], x1[short], x1[short], x0[short]], 1), 0.0,
                            np.stack([z0[short], z0[short], z1[short], z1[short]], 1)))
        if short.all():
            return polys
        a, b, d0, d1 = x0[~short], x1[~short], z0[~short] - cam.s, z1[~short] - cam.s
        # cut points: dense near the camera (perspective) and at least every 0.02 rad of bend
        u = np.linspace(0.0, 1.0, 2 + int(abs(k) * (d1 - d0).max() / 0.02))
        z = np.sort(np.concatenate([np.exp(np.log(d0)[:, None] + np.log(d1 / d0)[:, None] * np.linspace(0, 1, 12)),
                                    d0[:, None] + (d1 - d0)[:, None] * u], 1), 1) + cam.s
        n = z.shape[1]
        xs = np.concatenate([np.repeat(a[:, None], n, 1), np.repeat(b[:, None], n, 1)], 1)
        return polys + list(cam.px(xs, 0.0, np.concatenate([z, z[:, ::-1]], 1)))
    return strips


def _finite(v) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v)


def check_drive(speed, turn, fps) -> None:
    """ConfigErrors for a drive that cannot be: speed >= 0, turn and fps finite, fps > 0, a turn needs a speed.

    >>> check_drive(4, 0.1, 30)
    >>> check_drive(0, 0.1, 30)  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    edgeseg.errors.ConfigError: turning needs a forward speed...
    """
    for name, value, expected in (("speed", speed, "pixels per frame >= 0 (the ground's median flow at 720 rows)"),
                                  ("turn", turn, "degrees per frame, > 0 right, < 0 left"),
                                  ("fps", fps, "frames per second > 0")):
        if not _finite(value):
            raise ConfigError(f"synthetic {name} must be a finite number", expected=expected, got=repr(value))
    if speed < 0:
        raise ConfigError("synthetic speed cannot be negative", expected="pixels per frame >= 0", got=repr(speed),
                          fix="speed=0 for a camera that stands still, e.g. speed=4 to drive")
    if fps <= 0:
        raise ConfigError("synthetic fps must be positive", expected="frames per second > 0", got=repr(fps))
    if turn and not speed:
        raise ConfigError("turning needs a forward speed", expected="speed > 0 with turn", got=f"speed=0, turn={turn}",
                          fix="give a speed too (e.g. speed=4): the camera turns by driving round a bend")


def render_scene(seed: int, size=(256, 256)) -> tuple[np.ndarray, np.ndarray]:
    """One still street scene: ``(image HxWx3 uint8 BGR, mask HxW uint8 ids)``, deterministic by seed.

    >>> image, mask = render_scene(7, size=(64, 64))
    >>> image.shape, mask.shape, set(np.unique(mask)) <= set(range(6))
    ((64, 64, 3), (64, 64), True)
    """
    return Street(seed, size).render(0.0)


class SyntheticScenes(SegDataset):
    """``num`` street scenes; item i is ``render_scene(seed * 1_000_003 + i, size)``, drawn on access.

    >>> ds = SyntheticScenes(3, size=(64, 64), seed=5)
    >>> len(ds), ds.classes[4], ds[2].name
    (3, 'car', 'synthetic-5000017')
    """

    classes = SYNTHETIC_CLASSES
    palette = SYNTHETIC_PALETTE

    def __init__(self, num: int, size=(256, 256), seed: int = 0):
        super().__init__()
        if num < 0:
            raise ConfigError("a data set cannot have a negative size", got=num)
        self.num, self.size, self.seed = int(num), tuple(int(s) for s in size), int(seed)

    def __len__(self) -> int:
        return self.num

    def __getitem__(self, i: int) -> Sample:
        scene = self.seed * SEED_STRIDE + self._index(i)
        image, mask = render_scene(scene, self.size)
        return Sample(image, mask, f"synthetic-{scene}")

    def __repr__(self) -> str:
        return f"SyntheticScenes({self.num}, size={self.size}, seed={self.seed})"


def synthetic_split(split: str, num: int | None = None, size=(256, 256)) -> SyntheticScenes:
    """The fixed train / val / test scenes: disjoint seeds, default sizes 2000 / 200 / 200.

    >>> synthetic_split("val", 4, (64, 64)).seed, len(synthetic_split("test", size=(64, 64)))
    (1, 200)
    """
    if split not in SPLIT_SEEDS:
        raise ConfigError("unknown synthetic split", expected=" | ".join(SPLIT_SEEDS), got=split)
    return SyntheticScenes(SPLIT_SIZES[split] if num is None else num, size, SPLIT_SEEDS[split])
