"""The moving things of a synthetic street: cars and pedestrians, drawn at time ``t``.

Both wrap around in depth (and crossing walkers turn at the kerbs), so a video can run for
ever; at ``t = 0`` they stand where the scene sampler put them.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import cv2
import numpy as np

from ._paint import circle, darken, fill, fill_each, quad_line
from ._street import CAR, CAR_COLOURS, CLOTHES, GLASS, HAIR, PERSON, SKIN, Ctx, pick, rgb

_WHEEL = (np.cos(np.linspace(0, 2 * np.pi, 12, endpoint=False)), np.sin(np.linspace(0, 2 * np.pi, 12, endpoint=False)))


@dataclass
class Car:
    """A boxy car: body, cabin, wheels, lights. ``d`` = +1 shows its rear (driving away), -1 its front."""

    X: float
    z0: float
    v: float                     # m/s along Z (0: parked)
    d: int
    width: float
    length: float
    body_h: float
    roof_h: float
    color: np.ndarray
    glass: np.ndarray
    zlo: float = -12.0
    zhi: float = 140.0

    def z(self, t: float) -> float:
        span = self.zhi - self.zlo
        return self.zlo + (self.z0 - self.zlo + self.v * t) % span

    def near(self, t):
        return self.z(t)

    def draw(self, ctx: Ctx, t: float) -> None:
        Z = self.z(t)
        cam, X, hw, L = ctx.cam.rigid(self.X, self.z(t)), self.X, self.width / 2, self.length
        depth = cam.depth(X, Z)
        if cam.drive and -math.inf < depth < 1.5:
            return self._passing(ctx, cam, Z)
        if depth < 1.5:
            return
        img, msk = ctx.image, ctx.mask
        outline = cam.box(X - hw, X + hw, 0, self.roof_h, Z, Z + L)
        if not ctx.visible(outline):
            return

        def tone(c):
            return ctx.tone(c, X, depth)
        darken(img, cam.px([X - hw - 0.2, X + hw + 0.2, X + hw + 0.2, X - hw - 0.2], 0.0,
                           [Z - 0.15, Z - 0.15, Z + L + 0.2, Z + L + 0.2]), 0.55)
        tyre = tone(np.full(3, 22.0))
        for sx in (-1, 1):        # tyres peeking out under the near end
            fill(img, msk, [cam.px([X + sx * (hw - 0.05), X + sx * (hw - 0.32), X + sx * (hw - 0.32),
                                    X + sx * (hw - 0.05)], [0, 0, 0.5, 0.5], Z + 0.7)], tyre, CAR)
        side = X - hw if X > hw else (X + hw if X < -hw else None)
        if side is not None:      # the side facing the camera shows its wheels
            for wz in (Z + 0.85, Z + L - 0.9):
                ring = cam.px(side, 0.34 + 0.34 * _WHEEL[1], wz + 0.34 * _WHEEL[0])
                fill(img, msk, [ring], tyre, CAR)
        fill(img, msk, [cam.box(X - hw, X + hw, 0.3, self.body_h, Z, Z + L)], tone(self.color * 0.82), CAR)
        if cam.hc > self.body_h:
            top = cam.px([X - hw, X + hw, X + hw, X - hw], self.body_h, [Z, Z, Z + L, Z + L])
            fill(img, None, [top], tone(self.color * 1.12 + 12))
        front = cam.px([X - hw, X + hw, X + hw, X - hw], [0.3, 0.3, self.body_h, self.body_h], Z)
        fill(img, None, [front], tone(self.color))
        cw = hw * 0.86
        za, zb = (Z + 0.9, Z + L - 1.3) if self.d > 0 else (Z + 1.3, Z + L - 0.9)
        lo = cam.px([X - cw, X + cw, X + cw, X - cw], self.body_h, [za, za, zb, zb])
        hi = cam.px([X - cw * 0.9, X + cw * 0.9, X + cw * 0.9, X - cw * 0.9], self.roof_h,
                    [za + 0.45, za + 0.45, zb - 0.35, zb - 0.35])
        cabin = cv2.convexHull(np.concatenate([lo, hi]).astype(np.float32))[:, 0].astype(np.float64)
        fill(img, msk, [cabin], tone(self.color * 0.9), CAR)
        win = np.concatenate([lo[:2] + (hi[:2] - lo[:2]) * 0.1, hi[1::-1] + (lo[1::-1] - hi[1::-1]) * 0.12])
        win[[0, 3], 0] += 0.12 * (win[1, 0] - win[0, 0])
        win[[1, 2], 0] -= 0.12 * (win[1, 0] - win[0, 0])
        fill(img, None, [win], tone(self.glass))
        if side is not None:
            i, j = (0, 3) if side < X else (1, 2)
            pts = np.array([lo[i], lo[j], hi[j], hi[i]])
            sw = pts + (pts.mean(0) - pts) * 0.18
            fill(img, None, [sw], tone(self.glass * 0.85))
        lamp = rgb(200, 24, 20) if self.d > 0 else rgb(235, 232, 210)
        lh = self.body_h - 0.2
        for sx in (-1, 1):
            fill(img, None, [cam.px([X + sx * (hw - 0.06), X + sx * (hw - 0.4), X + sx * (hw - 0.4),
                                     X + sx * (hw - 0.06)], [lh - 0.16, lh - 0.16, lh, lh], Z)], tone(lamp))
        fill(img, None, [cam.px([X - 0.26, X + 0.26, X + 0.26, X - 0.26], [0.42, 0.42, 0.54, 0.54], Z)],
             tone(rgb(225, 225, 215)))
        fill(img, None, [cam.px([X - hw, X + hw, X + hw, X - hw], [0.3, 0.3, 0.4, 0.4], Z)],
             tone(self.color * 0.45))

    def _passing(self, ctx: Ctx, cam, Z: float) -> None:
        """A car the driving camera is passing: only what lies beyond the near plane, body and cabin
        cut there (their near ends and lamps are behind the camera)."""
        X, hw, L = self.X, self.width / 2, self.length
        clip = max(cam.near(X - hw), cam.near(X + hw), Z)
        if Z + L - 0.2 <= clip:
            return
        depth = cam.depth(X, (clip + Z + L) / 2)
        img, msk = ctx.image, ctx.mask
        body = cam.box(X - hw, X + hw, 0.3, self.body_h, clip, Z + L)
        if not ctx.visible(body):
            return
        tyre = ctx.tone(np.full(3, 22.0), X, depth)
        side = X - hw if X > hw else (X + hw if X < -hw else None)
        if side is not None:
            for wz in (Z + 0.85, Z + L - 0.9):
                if wz - 0.4 > clip:
                    fill(img, msk, [cam.px(side, 0.34 + 0.34 * _WHEEL[1], wz + 0.34 * _WHEEL[0])], tyre, CAR)
        fill(img, msk, [body], ctx.tone(self.color * 0.82, X, depth), CAR)
        za, zb = (Z + 0.9, Z + L - 1.3) if self.d > 0 else (Z + 1.3, Z + L - 0.9)
        if zb > clip + 0.1:
            cabin = cam.box(X - hw * 0.86, X + hw * 0.86, self.body_h, self.roof_h, max(za, clip), zb)
            fill(img, msk, [cabin], ctx.tone(self.color * 0.9, X, depth), CAR)


def make_car(rng, X, Z, d, v) -> Car:
    kind = rng.choice(3, p=[0.6, 0.28, 0.12])          # sedan, SUV, van
    width = rng.uniform(1.7, 1.95)
    length = [rng.uniform(4.0, 4.8), rng.uniform(4.4, 5.0), rng.uniform(4.8, 5.6)][kind]
    roof = [rng.uniform(1.38, 1.5), rng.uniform(1.6, 1.8), rng.uniform(1.9, 2.3)][kind]
    body = roof * (rng.uniform(0.52, 0.62) if kind < 2 else rng.uniform(0.45, 0.5))
    return Car(X, Z, v, d, width, length, body, roof, pick(rng, CAR_COLOURS, 10), pick(rng, GLASS, 8))


@dataclass
class Person:
    """A pedestrian of height ``H`` m: legs, torso, arms, head, hair; walks with a leg swing."""

    X: float
    z0: float
    H: float
    vx: float
    vz: float
    phase: float
    shirt: np.ndarray
    pants: np.ndarray
    skin: np.ndarray
    hair: np.ndarray
    bag: np.ndarray | None = None
    dress: bool = False
    xrange: tuple = ()           # crossing walkers turn around at the kerbs
    zlo: float = 0.5
    zhi: float = 70.0

    def pos(self, t: float) -> tuple[float, float]:
        if self.xrange:
            a, b = self.xrange
            u = (self.X - a + self.vx * t) % (2 * (b - a))
            x = a + (u if u <= b - a else 2 * (b - a) - u)
        else:
            x = self.X
        z = self.zlo + (self.z0 - self.zlo + self.vz * t) % (self.zhi - self.zlo)
        return x, z

    def near(self, t):
        return self.pos(t)[1]

    def draw(self, ctx: Ctx, t: float) -> None:
        X, road_z = self.pos(t)
        cam = ctx.cam
        Z = cam.depth(X, road_z)      # the camera's depth: road_z for a still camera
        if Z < 1.0:
            return
        (fx, fy), = cam.px(X, 0.0, road_z)[None]
        h = cam.f * self.H / Z
        if not ctx.visible(np.array([[fx - h, fy - h], [fx + h, fy]])):
            return
        img, msk = ctx.image, ctx.mask

        def tone(c):
            return ctx.tone(c, X, Z)
        darken(img, circle(fx, fy, h * 0.2, h * 0.035), 0.4)
        speed = np.hypot(self.vx, self.vz)
        sideways = abs(self.vx) > abs(self.vz)
        swing = np.sin(self.phase + t * 2 * np.pi * 0.9 * speed / max(self.H * 0.45, 0.3)) * (speed > 0.05)
        stride = (0.16 if sideways else 0.05) * h * swing
        hip_y, sh_y, lw = fy - 0.47 * h, fy - 0.81 * h, max(0.085 * h, 1.2)
        legs = [quad_line(fx - 0.045 * h, hip_y, fx - 0.045 * h + stride, fy - 0.02 * h, lw, lw * 0.8),
                quad_line(fx + 0.045 * h, hip_y, fx + 0.045 * h - stride, fy - 0.02 * h, lw, lw * 0.8)]
        fill_each(img, msk, legs, tone(self.pants), PERSON)
        feet = [quad_line(fx - 0.045 * h + stride, fy - 0.025 * h, fx - 0.045 * h + stride + 0.03 * h, fy, lw, lw),
                quad_line(fx + 0.045 * h - stride, fy - 0.025 * h, fx + 0.045 * h - stride + 0.03 * h, fy, lw, lw)]
        fill_each(img, msk, feet, tone(rgb(30, 28, 28)), PERSON)
        hem = fy - (0.28 if self.dress else 0.45) * h
        torso = np.array([[fx - 0.125 * h, sh_y], [fx + 0.125 * h, sh_y],
                          [fx + (0.15 if self.dress else 0.1) * h, hem], [fx - (0.15 if self.dress else 0.1) * h, hem]])
        arms = [quad_line(fx + sx * 0.12 * h, sh_y + 0.03 * h, fx + sx * 0.15 * h - stride * sx * 0.6,
                          fy - 0.43 * h, 0.065 * h, 0.05 * h) for sx in (-1, 1)]
        fill_each(img, msk, arms, tone(self.skin * 0.9), PERSON)
        sleeves = [quad_line(fx + sx * 0.12 * h, sh_y + 0.03 * h, fx + sx * 0.135 * h - stride * sx * 0.3,
                             sh_y + 0.16 * h, 0.075 * h) for sx in (-1, 1)]
        fill(img, msk, [torso], tone(self.shirt), PERSON)
        fill_each(img, msk, sleeves, tone(self.shirt), PERSON)
        if self.bag is not None:
            bx = fx + (0.17 if self.phase > 3 else -0.17) * h
            fill(img, msk, [np.array([[bx - 0.05 * h, fy - 0.6 * h], [bx + 0.05 * h, fy - 0.6 * h],
                                      [bx + 0.05 * h, fy - 0.46 * h], [bx - 0.05 * h, fy - 0.46 * h]])],
                 tone(self.bag), PERSON)
        # At 15 px a true-to-scale neck is thinner than a pixel; keep head and body one region.
        fill(img, msk, [quad_line(fx, sh_y + 0.02 * h, fx, sh_y - 0.07 * h, max(0.05 * h, 1.5))],
             tone(self.skin), PERSON)
        r = 0.062 * h
        fill(img, msk, [circle(fx, fy - 0.925 * h, r, r * 1.15)], tone(self.skin), PERSON)
        hair = circle(fx, fy - 0.94 * h, r * 1.05, r * 1.05)
        fill(img, msk, [hair[8:] if self.vz > 0 or self.phase < 2 else hair], tone(self.hair), PERSON)


def make_person(rng, X, Z, H, vx=0.0, vz=0.0, xrange=()) -> Person:
    return Person(X, Z, H, vx, vz, rng.uniform(0, 2 * np.pi), pick(rng, CLOTHES, 14), pick(rng, CLOTHES, 10),
                  pick(rng, SKIN, 6), pick(rng, HAIR, 6),
                  pick(rng, CLOTHES, 10) if rng.random() < 0.3 else None, bool(rng.random() < 0.15), xrange)
