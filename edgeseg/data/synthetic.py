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

import cv2
import numpy as np

from ..errors import ConfigError
from . import _street as st
from ._actors import make_car, make_person
from ._paint import crop, darken, fill, noise_tiles, scratch
from ._street import BUILDING, ROAD, SKY, VEG, ZCLIP, Cam, Ctx, pick, rgb
from .base import Sample, SegDataset

SYNTHETIC_CLASSES = ("sky", "road", "vegetation", "building", "car", "person")
SYNTHETIC_PALETTE = ((70, 130, 180), (128, 64, 128), (107, 142, 35), (70, 70, 70), (0, 0, 142), (220, 20, 60))
SPLIT_SEEDS = {"train": 0, "val": 1, "test": 2}
SPLIT_SIZES = {"train": 2000, "val": 200, "test": 200}
SEED_STRIDE = 1_000_003
ZFAR = 3000.0

_SKIES = {  # (top, horizon) RGB
    "clear": (rgb(40, 92, 178), rgb(160, 196, 232)), "pale": (rgb(118, 158, 208), rgb(206, 218, 230)),
    "overcast": (rgb(150, 154, 160), rgb(204, 206, 208)), "dusk": (rgb(62, 82, 140), rgb(238, 170, 122)),
}
# Per-class texture strength (grain, blotch): foliage is blotchy, paint smooth, asphalt grainy.
_TEXTURE = np.array([(0.012, 0.0), (0.07, 0.07), (0.09, 0.26), (0.04, 0.06), (0.015, 0.02), (0.03, 0.04)])


class Street:
    """One sampled street: camera, light, static layout and moving cars and people.

    ``render(t)`` draws it at time ``t`` seconds; ``t=0`` is the still scene of
    :func:`render_scene`, later times move cars and walkers, pan the camera and drift the light
    when ``motion`` is on.

    >>> street = Street(4, size=(64, 64))
    >>> len(street.people) <= 6 and len(street.cars) <= 5, street.render()[1].shape
    (True, (64, 64))
    """

    def __init__(self, seed: int, size=(256, 256), motion: bool = False):
        self.H, self.W = (int(s) for s in size)
        if self.H < 16 or self.W < 16:
            raise ConfigError("synthetic scenes need at least 16x16 pixels", got=size)
        self.seed, self.motion = seed, motion
        rng = np.random.default_rng(seed)
        self._camera(rng)
        self._light(rng)
        self._road(rng)
        self._sides(rng)
        self._traffic(rng)

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

    # -- drawing -----------------------------------------------------------------------------
    def camera(self, t: float) -> Cam:
        if not self.motion or t == 0:
            return self.cam
        amp, period, phase = self.pan
        c = self.cam
        return Cam(c.f, c.hc, c.yh + 0.004 * self.H * np.sin(t * 2 * np.pi / 1.3),
                   c.vx + amp * (np.sin(t * 2 * np.pi / period + phase) - np.sin(phase)))

    def render(self, t: float = 0.0) -> tuple[np.ndarray, np.ndarray]:
        """The BGR image and class-id mask at time ``t`` seconds."""
        H, W = self.H, self.W
        cam = self.camera(t)
        image = scratch(H, W)["canvas"]      # drawn on, then finished into a new array
        mask = np.full((H, W), SKY, np.uint8)
        rows = np.clip(np.arange(H, dtype=np.float64) / max(cam.yh, 1.0), 0, 1)[:, None] ** 0.7
        image[:] = (self.sky_top * (1 - rows) + self.sky_hor * rows)[:, None, :].astype(np.uint8)
        ctx = Ctx(image, mask, cam, self.sky_hor, self.haze, self.shadow)
        for sky in self.skylines:
            sky.draw(ctx)
        self._ground(ctx)
        for f in sorted(self.facades, key=lambda f: -f.z0):
            f.draw(ctx)
        for layer in (self.park, self.hedges, self.statics + self.cars + self.people):
            for thing in sorted(layer, key=lambda o: -o.near(t)):
                thing.draw(ctx, t)
        return self._finish(image, mask, t), mask

    def _ground(self, ctx: Ctx) -> None:
        cam, img, msk, W, H = ctx.cam, ctx.image, ctx.mask, self.W, self.H

        def strips(x0, x1, z0=ZCLIP, z1=ZFAR) -> list:
            """Ground quads between lateral x0..x1 and depths z0..z1 (arrays broadcast), one projection."""
            x0, x1, z0, z1 = np.broadcast_arrays(*(np.atleast_1d(np.asarray(a, np.float64)) for a in (x0, x1, z0, z1)))
            return list(cam.px(np.stack([x0, x1, x1, x0], 1), 0.0, np.stack([z0, z0, z1, z1], 1)))

        below = np.array([[-2, cam.yh], [W + 2, cam.yh], [W + 2, H + 2], [-2, H + 2]])
        fill(img, msk, [below], ctx.tone(self.pavement, 0, 40), ROAD)
        for outer, side, color in self.grass:
            fill(img, msk, strips(outer, outer + side * 400), ctx.tone(color, outer, 30), VEG)
        fill(img, msk, strips(self.xl, self.xr), ctx.tone(self.asphalt, 0, 30), ROAD)
        kerb = tuple(np.clip(self.pavement * 1.15, 0, 255))
        fill(img, None, strips([self.xl - 0.18, self.xr], [self.xl, self.xr + 0.18]), kerb)
        for x, z, w, length, k in self.patches:
            fill(img, None, strips(x - w / 2, x + w / 2, z, z + length), ctx.tone(self.asphalt * k, x, z))
        dl, period, off = self.dash
        zs = np.arange(off + 1, 160, period)
        xs = [self.xl + k * self.lane_w for k in range(1, self.n_left + self.n_right)]
        xs = [x for x in xs if not (self.n_left and abs(x - self.divider) < 0.1)]
        paint = ctx.tone(self.paint, 0, 30)
        if xs:
            X, Z = np.meshgrid(xs, zs)
            fill(img, None, strips(X.ravel() - 0.07, X.ravel() + 0.07, Z.ravel(), Z.ravel() + dl), paint)
        fill(img, None, strips([self.xl + 0.25, self.xr - 0.37], [self.xl + 0.37, self.xr - 0.25], 0.5, 400), paint)
        if self.n_left:
            middle = ctx.tone(rgb(220, 180, 50), 0, 30) if self.yellow else paint
            d = self.divider
            fill(img, None, strips([d - 0.2, d + 0.08], [d - 0.08, d + 0.2], 0.5, 400), middle)
        if self.crosswalk:
            xs = np.arange(self.xl + 0.3, self.xr - 0.3, 1.0)
            fill(img, None, strips(xs, xs + 0.5, self.crosswalk, self.crosswalk + 3.0), paint)
        if ctx.shadow:
            x0, x1, k = ctx.shadow
            darken(img, strips(x0, x1)[0], 1 - k)

    def _finish(self, image: np.ndarray, mask: np.ndarray, t: float) -> np.ndarray:
        """Texture by class, clouds, light, vignette and sensor noise in one pass.

        Everything grey is folded into a per-pixel gain ``M`` and offset ``A``, so the colour
        float work is one multiply and one add; the colour tint is a lookup table at the end.
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
        M, A, T, light = b["M"], b["A"], b["T"], b["L"]
        np.multiply(b["r2"], np.float32(-0.5 * self.vignette), out=light)
        light += 1.0
        light *= 1 + np.float32(self.ramp) * b["xs"]
        np.multiply(cv2.LUT(mask, self._lut_grain, dst=M), crop(tiles["grain"], H, W, o[0], o[1]), out=M)
        np.multiply(cv2.LUT(mask, self._lut_blotch, dst=T), crop(tiles["blotch"], H, W, o[2], o[3]), out=T)
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
            c = crop(tiles["cloud"], H, W, o[4], o[5] + drift)[:r]
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
