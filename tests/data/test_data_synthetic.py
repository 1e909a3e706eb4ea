"""Synthetic street scenes: deterministic, every class present, realistic sizes, not a colour toy;
a camera that drives forward and turns, with exact masks on every frame."""

import hashlib

import cv2
import numpy as np
import pytest

from edgeseg.data import SYNTHETIC_CLASSES, SyntheticScenes, SyntheticVideo, render_scene, synthetic_split
from edgeseg.data.synthetic import SEED_STRIDE, Street
from edgeseg.errors import ConfigError

SKY, ROAD, VEG, BUILDING, CAR, PERSON = range(len(SYNTHETIC_CLASSES))


@pytest.fixture(scope="module")
def scenes():
    """40 scenes at 256x256: seeds 500.. (disjoint from the doc figure's 0..7)."""
    return [render_scene(500 + i) for i in range(40)]


def test_classes_are_fixed():
    assert SYNTHETIC_CLASSES == ("sky", "road", "vegetation", "building", "car", "person")
    assert len(SyntheticScenes(1).palette) == 6


def test_deterministic_by_seed():
    a, b = render_scene(11, (96, 128)), render_scene(11, (96, 128))
    assert np.array_equal(a[0], b[0]) and np.array_equal(a[1], b[1])
    c = render_scene(12, (96, 128))
    assert not np.array_equal(a[1], c[1])
    assert a[0].shape == (96, 128, 3) and a[0].dtype == np.uint8 and a[1].dtype == np.uint8


@pytest.mark.parametrize("size", [(16, 16), (64, 64), (120, 200), (360, 240)])
def test_any_size(size):
    image, mask = render_scene(3, size)
    assert image.shape == size + (3,) and mask.shape == size and mask.max() < 6


def test_too_small_raises():
    with pytest.raises(ConfigError):
        render_scene(0, (8, 8))


def test_every_class_appears_across_a_few_scenes(scenes):
    seen = set()
    for _, mask in scenes[:8]:
        seen |= set(np.unique(mask).tolist())
    assert seen == set(range(6))
    # and no class is a rarity: each is in most scenes
    share = np.mean([[(m == k).any() for k in range(6)] for _, m in scenes], axis=0)
    assert share.min() >= 0.6, dict(zip(SYNTHETIC_CLASSES, share))


def _components(mask, cls):
    _, _, stats, _ = cv2.connectedComponentsWithStats((mask == cls).astype(np.uint8), connectivity=8)
    return stats[1:]


def test_people_from_about_15_px_tall(scenes):
    heights = np.array([s[cv2.CC_STAT_HEIGHT] for _, m in scenes for s in _components(m, PERSON)
                        if s[cv2.CC_STAT_AREA] > 12])
    assert len(heights) >= 60
    assert ((heights >= 13) & (heights <= 20)).sum() >= 10, "small, distant people"
    assert (heights >= 50).sum() >= 3, "near people"
    assert heights.max() <= 140
    counts = [len(Street(500 + i).people) for i in range(40)]
    assert max(counts) <= 6 and np.mean(counts) >= 2


def test_people_heights_follow_perspective():
    """Drawn height = (feet row - horizon) * body height / camera height, for every person."""
    for seed in range(20):
        street = Street(seed)
        cam = street.cam
        for p in street.people:
            foot = cam.yh + cam.f * cam.hc / p.z0
            assert cam.f * p.H / p.z0 == pytest.approx((foot - cam.yh) * p.H / cam.hc)
            assert 14 <= cam.f * p.H / p.z0 <= 95 or p.H < 1.45    # children are shorter


def test_cars_are_wider_than_tall(scenes):
    boxes = [s for _, m in scenes for s in _components(m, CAR) if s[cv2.CC_STAT_AREA] > 150]
    assert len(boxes) >= 15
    ratio = np.array([s[cv2.CC_STAT_WIDTH] / s[cv2.CC_STAT_HEIGHT] for s in boxes])
    assert np.median(ratio) > 1.1
    counts = [len(Street(500 + i).cars) for i in range(40)]
    assert max(counts) <= 5 and np.mean(counts) >= 1.5


def test_colour_alone_cannot_segment(scenes):
    """The best per-pixel colour classifier (a 32^3 colour histogram, fit on 20 scenes) does
    little better than always answering "road" on 20 others; a nearest-mean one does worse."""
    images = np.stack([s[0] for s in scenes]).reshape(2, -1, 3).astype(np.int32)
    masks = np.stack([s[1] for s in scenes]).reshape(2, -1)
    (x_fit, x_test), (y_fit, y_test) = images, masks

    def q(x):
        return (x[:, 0] // 8) * 1024 + (x[:, 1] // 8) * 32 + x[:, 2] // 8

    hist = np.zeros((32768, 6))
    np.add.at(hist, (q(x_fit), y_fit), 1)
    bayes = (hist.argmax(1)[q(x_test)] == y_test).mean()
    means = np.stack([x_fit[y_fit == k].mean(0) for k in range(6)]).astype(np.float32)
    d = ((x_test[:, None, :].astype(np.float32) - means[None]) ** 2).sum(-1)
    nearest = (d.argmin(1) == y_test).mean()
    majority = np.bincount(y_test).max() / y_test.size
    assert bayes < 0.75 and nearest < 0.5, (bayes, nearest)
    assert bayes - majority < 0.3


def test_dataset_items_and_splits():
    ds = SyntheticScenes(4, size=(48, 64), seed=2)
    s = ds[3]
    assert s.name == f"synthetic-{2 * SEED_STRIDE + 3}"
    assert np.array_equal(s.mask, render_scene(2 * SEED_STRIDE + 3, (48, 64))[1])
    assert np.array_equal(ds[-1].image, s.image)
    with pytest.raises(IndexError):
        ds[4]
    assert ds.check() == 4 and ds.num_classes == 6
    train, val = synthetic_split("train", 3, (32, 32)), synthetic_split("val", 3, (32, 32))
    assert {x.name for x in train}.isdisjoint({x.name for x in val})
    assert len(synthetic_split("train", size=(32, 32))) == 2000
    with pytest.raises(ConfigError):
        synthetic_split("holdout")


# -- ego-motion: a camera that drives forward and turns ----------------------------------------

# sha256[:16] of image and mask bytes, recorded from the renderer before ego-motion existed
# (OpenCV 5.1.0, numpy 2.4.6). Masks are hard-edged fills and hold on any release; anti-aliased
# image bytes may move by a pixel between OpenCV releases, so images are compared on that one.
GOLDEN_OPENCV = "5.1.0"
GOLDEN = {("scene", 3, 0.0): ("162d17745c8889a1", "a6324608ba19aaee"),
          ("scene", 11, 0.0): ("f6630accd17e6024", "5dd3363329bd36de"),
          ("video", 2, 0.0): ("97efb8518ead3cc5", "7a8da6ac2677cc64"),
          ("video", 2, 0.5): ("d4227ddbc5a6bc5d", "07ef2b4ebda32c2e"),
          ("video", 2, 2.25): ("ab22cb6bb6fa7d8c", "d17f08a9377ec68c")}


def _sha(a) -> str:
    return hashlib.sha256(np.ascontiguousarray(a).tobytes()).hexdigest()[:16]


@pytest.mark.parametrize("key", list(GOLDEN), ids=[f"{k}-{s}-{t}" for k, s, t in GOLDEN])
def test_speed_0_draws_exactly_the_frames_of_before(key):
    kind, seed, t = key
    if kind == "scene":
        frames = [render_scene(seed, (96, 128)), Street(seed, (96, 128), speed=0, turn=0).render(t)]
    else:
        frames = [SyntheticVideo(seed, (96, 128)).frame(t), SyntheticVideo(seed, (96, 128), speed=0.0, fps=60).frame(t)]
    image_sha, mask_sha = GOLDEN[key]
    for image, mask in frames:
        assert _sha(mask) == mask_sha
        if cv2.__version__ == GOLDEN_OPENCV:
            assert _sha(image) == image_sha


def test_speed_is_the_median_ground_flow_at_720_rows_whatever_the_size():
    for seed in (0, 5):
        big = Street(seed, (720, 1280), speed=4, fps=30)
        small = Street(seed, (180, 320), speed=4, fps=30)
        assert big.speed_mps / 30 * big.flow_per_metre() == pytest.approx(4.0)
        assert small.speed_mps == pytest.approx(big.speed_mps, rel=0.02)  # one drive, drawn at any size
    assert Street(0, (64, 64)).speed_mps == 0.0 and not Street(0, (64, 64)).camera(1.0).drive


def _dis(a, b):
    dis = cv2.DISOpticalFlow_create(cv2.DISOPTICAL_FLOW_PRESET_FAST)
    return dis.calc(cv2.cvtColor(a, cv2.COLOR_BGR2GRAY), cv2.cvtColor(b, cv2.COLOR_BGR2GRAY), None)


def _quiet(street):
    """Sensor noise off: it is fresh every frame, as a sensor's is, and biases any flow towards 0."""
    street.sigma = 0.0
    return street


def test_driving_forward_expands_the_ground_from_the_vanishing_point_at_the_asked_speed():
    street = _quiet(Street(1, (720, 1280), speed=4, fps=30))
    cam = street.camera(0.0)
    (a, mask), (b, _) = street.render(0.0), street.render(1 / 30)
    flow = _dis(a, b)
    ys, xs = np.mgrid[0:720, 0:1280].astype(np.float64)
    below = ys > cam.yh + 2
    road = below & (mask == ROAD)
    depth = cam.f * cam.hc / np.maximum(ys - cam.yh, 1e-9)
    grow = depth / (depth - street.speed_mps / 30) - 1           # a ground point's exact image motion
    expected = np.hypot((xs - cam.vx) * grow, (ys - cam.yh) * grow)
    measured = np.hypot(flow[..., 0], flow[..., 1])
    assert np.median(measured[road] / expected[road]) == pytest.approx(1.0, abs=0.12)
    assert 0.7 * 4 < np.median(measured[below]) < 1.3 * 4        # the asked 4 px per frame, objects and all
    outward = flow[..., 0] * (xs - cam.vx) + flow[..., 1] * (ys - cam.yh) > 0
    assert outward[below & (measured > 0.5)].mean() > 0.95       # expansion from the focus of expansion
    still = _quiet(Street(1, (720, 1280)))
    assert np.median(np.hypot(*_dis(still.render(0.0)[0], still.render(1 / 30)[0]).transpose(2, 0, 1))) < 0.2


@pytest.mark.parametrize("seed", [0, 6])
def test_turning_shifts_the_view_sideways_by_the_yaw_rate(seed):
    shift = {}
    for turn in (-0.15, 0.0, 0.15):
        street = _quiet(Street(seed, (360, 640), speed=8, turn=turn, fps=30))
        cam = street.camera(1.0)
        (a, mask), (b, _) = street.render(1.0), street.render(1 + 1 / 30)
        far = (mask != SKY) & (np.arange(360)[:, None] < cam.yh - 2)   # skyline, facades, trees: above the horizon
        shift[turn] = np.median(_dis(a, b)[..., 0][far])
    yaw = street.cam.f * np.radians(0.15)                            # px per frame a distant point moves
    assert abs(shift[0.0]) < 0.3
    assert -1.6 * yaw < shift[0.15] < -0.6 * yaw                      # turning right: the world moves left
    assert 0.6 * yaw < shift[-0.15] < 1.6 * yaw


class _DrawnOverTwoClasses:
    """Watches the real fill: each image-only detail (a window, lane paint, a kerb, car glass) must
    land on pixels of one class at the moment it is drawn, or the mask says one thing where the
    image shows another. Interiors only (a pixel in from the edge: anti-aliasing blends there)."""

    def __init__(self, monkeypatch):
        from edgeseg.data import _actors, _paint, _street, synthetic
        self.fill, self.mask, self.bad = _paint.fill, None, []
        for module in (_street, _actors, synthetic):
            monkeypatch.setattr(module, "fill", self)

    def __call__(self, image, mask, polys, color, cls=None):
        from edgeseg.data._paint import SHIFT, fixed
        if mask is not None:
            self.mask = mask
        elif self.mask is not None:
            h, w = self.mask.shape
            for p in polys:
                p = np.asarray(p, np.float64)
                x0, y0 = np.maximum(np.floor(p.min(0)).astype(int) - 2, 0)
                x1, y1 = np.minimum(np.ceil(p.max(0)).astype(int) + 3, (w, h))
                if x1 <= x0 or y1 <= y0:
                    continue
                inside = np.zeros((y1 - y0, x1 - x0), np.uint8)
                cv2.fillPoly(inside, [fixed(p - (x0, y0))], 1, cv2.LINE_8, SHIFT)
                under = np.unique(self.mask[y0:y1, x0:x1][cv2.erode(inside, np.ones((3, 3), np.uint8)) > 0])
                if len(under) > 1:
                    self.bad.append(under.tolist())
        return self.fill(image, mask, polys, color, cls)


@pytest.mark.parametrize("drive", [{}, {"speed": 8}, {"speed": 8, "turn": 0.1}, {"speed": 8, "turn": -0.1}],
                         ids=["still", "forward", "right", "left"])
def test_every_frame_of_a_drive_has_its_exact_mask(monkeypatch, drive):
    watch = _DrawnOverTwoClasses(monkeypatch)
    for seed in range(4):
        street = Street(seed, (180, 320), motion=True, fps=30, **drive)
        for t in (0.0, 1.3, 9.7, 31.0):
            watch.mask = None
            image, mask = street.render(t)
            assert image.shape[:2] == mask.shape and int(mask.max()) < 6
    assert not watch.bad, watch.bad[:5]
    # and the watch would see it: windows lifted 3 m above their wall poke into the sky
    for seed in range(4):
        street = Street(seed, (180, 320), motion=True, fps=30, **drive)
        for f in street.facades:
            wy, wz, groups = f._windows
            f._windows, f.win_y = (wy + 3.0, wz, groups), f.win_y + 3.0
        watch.mask = None
        street.render(1.3)
    assert watch.bad


def test_a_long_drive_stays_a_street_and_nothing_is_driven_through():
    street = Street(2, (180, 320), motion=True, speed=8, turn=0.05, fps=30)
    seen = set()
    for t in np.arange(280.0, 300.0, 2.5):  # over a kilometre on
        _, mask = street.render(t)
        share = np.bincount(mask.ravel(), minlength=6) / mask.size
        assert share[ROAD] > 0.15 and share[1:].sum() > 0.4, share
        seen |= set(np.flatnonzero(share > 0.002).tolist())
    assert {ROAD, CAR} <= seen and seen & {BUILDING, VEG}
    assert street.camera(300.0).s > 1000
    times = np.arange(0.0, 300.0, 0.25)
    leads = 0
    for car in street.cars:         # where each car is drawn: its copy within its window of the camera
        period, lo, _ = car.wrap
        ahead = [lo + (car.z(t) - street.speed_mps * t - lo) % period for t in times]
        if abs(car.X) < car.width / 2 + 0.6:        # on the camera's lane: it leads, never nearer
            leads += 1
            assert min(ahead) == pytest.approx(max(ahead)) and min(ahead) > 1.5
    for p in street.people:         # walkers cross on one side of its path
        if p.xrange:
            assert min(abs(p.pos(t)[0]) for t in times) >= 1.3 - 1e-9
    assert leads


@pytest.mark.parametrize("kw, what", [
    ({"speed": -1}, "speed cannot be negative"), ({"speed": float("nan")}, "speed must be a finite number"),
    ({"speed": True}, "speed must be a finite number"), ({"turn": 0.05}, "turning needs a forward speed"),
    ({"speed": 4, "fps": 0}, "fps must be positive"), ({"speed": 4, "turn": 2.0}, "too sharp"),
])
def test_a_drive_that_cannot_be_is_a_config_error(kw, what):
    with pytest.raises(ConfigError, match=what) as exc:
        Street(0, (64, 64), **kw)
    if what == "too sharp":   # it says how sharp this street can turn at that speed
        assert "degrees per frame at speed=4" in exc.value.expected and "radius" in exc.value.got


def test_the_drive_data_spec_holds_the_frames_the_live_source_shows():
    from edgeseg.data import open_dataset
    from edgeseg.runtime.sources import open_source
    spec = "synthetic://?num=3&size=48x64&seed=2&speed=4&turn=0.05&fps=30"
    ds = open_dataset(spec)
    with open_source("synthetic://?size=48x64&seed=2&speed=4&turn=0.05&fps=30&frames=3&live=0", log=None) as src:
        frames = list(src)
    video = SyntheticVideo(2, (48, 64), speed=4, turn=0.05, fps=30)
    assert len(ds) == len(frames) == 3
    for i, f in enumerate(frames):
        assert np.array_equal(ds[i].mask, f.gt) and np.array_equal(ds[i].image, f.image)
        assert np.array_equal(video.frame_at(i)[1], f.gt)
    assert not np.array_equal(frames[0].gt, frames[2].gt)
