"""Flow providers on real images: OpenCV's DIS flow measured against known motion, its
forward-backward check against a real occlusion, and the hardware providers' skip reasons."""

import cv2
import numpy as np
import pytest

from edgeseg.errors import ConfigError
from edgeseg.runtime.flow import (
    AUTO_ORDER,
    FLOW_PROVIDERS,
    DisFlow,
    NvidiaFlow,
    VpiFlow,
    available_providers,
    open_flow,
    parse_flow,
)

H, W = 192, 256


def texture(seed, sigma=3.0, shape=(H, W)):
    """Smooth random texture: structure at every scale DIS's pyramid looks at."""
    noise = np.random.default_rng(seed).random(shape).astype(np.float32)
    blurred = cv2.GaussianBlur(noise, (0, 0), sigma)
    return cv2.normalize(blurred, None, 0, 255, cv2.NORM_MINMAX).astype(np.uint8)


def shifted(image, dx, dy):
    """``image`` moved by (dx, dy) pixels, the uncovered border reflected."""
    m = np.float32([[1, 0, dx], [0, 1, dy]])
    return cv2.warpAffine(image, m, image.shape[1::-1], borderMode=cv2.BORDER_REFLECT)


def moving_square(x0, bg=0, fg=1):
    """A textured background with a textured 60x60 square whose left edge is at ``x0``."""
    image = texture(bg).copy()
    image[60:120, x0:x0 + 60] = texture(fg)[60:120, 40:100]
    return image


@pytest.mark.parametrize("preset", DisFlow.presets)
def test_dis_flow_measures_a_known_translation(preset):
    ref = texture(2, 2.5)
    cur = shifted(ref, 5, -3)  # cur(x) = ref(x - d): each point came from d back
    with open_flow(f"dis-{preset}", size=W) as of:
        flow = of.flow(of.prepare(cur), of.prepare(ref))
    inner = (slice(20, -20), slice(20, -20))
    ok = flow.reliable[inner]
    assert flow.shape == (H, W) and ok.mean() > 0.9
    dx, dy = np.median(flow.field[inner][ok], axis=0)
    assert abs(dx + 5) < 0.5 and abs(dy - 3) < 0.5


def test_flow_works_at_its_own_size_and_is_read_in_frame_pixels():
    ref = cv2.cvtColor(texture(3, 4.0, (360, 640)), cv2.COLOR_GRAY2BGR)
    cur = shifted(ref, 8, 4)
    with open_flow("dis-medium", size=160) as of:
        small = of.prepare(cur)
        flow = of.flow(small, of.prepare(ref))
    assert small.shape == (90, 160) and flow.shape == (90, 160)  # long side 160, aspect kept
    mag = flow.magnitude(cur.shape)[10:-10, 10:-10][flow.reliable[10:-10, 10:-10]]
    assert abs(np.median(mag) - np.hypot(8, 4)) < 1.0  # in pixels of the 640x360 frame
    with open_flow("dis-fast", size=1000) as of:
        assert of.prepare(ref).shape == (360, 640)  # never scaled up


def test_unreliable_flow_is_marked_where_a_moving_square_uncovers_the_background():
    ref, cur = moving_square(60), moving_square(76)  # the square moves 16 px right, the background stays
    with open_flow("dis-fast", size=W) as of:
        flow = of.flow(of.prepare(cur), of.prepare(ref))
        unchecked = DisFlow("fast", size=W, check=False).flow(of.prepare(cur), of.prepare(ref))
    bad = ~flow.reliable
    assert bad[62:118, 61:75].mean() > 0.7  # background seen in cur, hidden by the square in ref
    assert bad[140:, :].mean() < 0.02 and bad[66:114, 86:130].mean() < 0.2  # background, square inside
    assert np.median(flow.field[70:110, 90:130, 0]) == pytest.approx(-16, abs=1.0)
    assert unchecked.reliable.all()  # check=False: one flow, nothing marked


def test_points_moving_out_of_the_frame_are_unreliable():
    ref = texture(4, 2.5)
    cur = shifted(ref, -10, 0)  # content moves left: cur's right edge came from beyond ref's
    with open_flow("dis-fast", size=W) as of:
        flow = of.flow(of.prepare(cur), of.prepare(ref))
    assert (~flow.reliable[:, -6:]).mean() > 0.8 and flow.reliable[20:-20, 20:W - 30].mean() > 0.9


def test_a_provider_refuses_frames_of_different_sizes():
    with open_flow("dis-fast", size=64) as of, pytest.raises(ConfigError, match="different sizes"):
        of.flow(np.zeros((20, 30), np.uint8), np.zeros((30, 20), np.uint8))


def test_specs_name_a_provider_and_a_preset_from_the_table():
    assert parse_flow("dis") == ("dis", "fast") and parse_flow("dis-ultrafast") == ("dis", "ultrafast")
    assert parse_flow("nvof-slow") == ("nvof", "slow") and parse_flow("vpi") == ("vpi", "medium")
    with pytest.raises(ConfigError, match="did you mean 'dis'"):
        parse_flow("dsi-fast")
    with pytest.raises(ConfigError, match="unknown dis flow preset") as exc:
        parse_flow("dis-fastest")
    assert "ultrafast | fast | medium" in str(exc.value)
    with pytest.raises(ConfigError, match="flow size"):
        DisFlow(size=8)
    assert set(AUTO_ORDER) == set(FLOW_PROVIDERS) and AUTO_ORDER[-1] == "dis"  # DIS always there last


def test_auto_picks_the_first_provider_that_runs_here():
    reasons = available_providers()
    assert reasons["dis"] is None
    expected = next(n for n in AUTO_ORDER if reasons[n] is None)
    with open_flow("auto", size=64) as of:
        assert of.name == expected and of.unavailable() is None


_NVOF, _VPI = NvidiaFlow.unavailable(), VpiFlow.unavailable()


@pytest.mark.skipif(_NVOF is None, reason="NVIDIA optical flow is present here: nothing to refuse")
def test_nvidia_flow_says_why_it_cannot_run_here():
    assert "NvidiaOpticalFlow" in _NVOF or "CUDA" in _NVOF  # which part is missing
    with pytest.raises(ConfigError) as exc:
        open_flow("nvof-fast")
    text = str(exc.value)
    assert "not available" in text and _NVOF in text and "dis-fast" in text  # the reason and the way out
    with pytest.raises(ConfigError, match="not available"):
        NvidiaFlow()  # the class itself refuses too, not only the table


@pytest.mark.skipif(_VPI is None, reason="VPI with its optical flow is present here: nothing to refuse")
def test_vpi_flow_says_why_it_cannot_run_here():
    assert "VPI" in _VPI
    with pytest.raises(ConfigError) as exc:
        open_flow("vpi")
    assert _VPI in str(exc.value) and "dis-fast" in str(exc.value)


def _moved_by(flow, frame_shape):
    """The median (dx, dy) of the reliable vectors, in pixels of the frame."""
    ok = flow.reliable
    sx, sy = frame_shape[1] / flow.shape[1], frame_shape[0] / flow.shape[0]
    return np.median(flow.field[..., 0][ok]) * sx, np.median(flow.field[..., 1][ok]) * sy


@pytest.mark.gpu
@pytest.mark.skipif(_NVOF is not None, reason=f"no NVIDIA optical flow here: {_NVOF}")
def test_nvidia_flow_measures_a_known_translation():
    ref = texture(2, 2.5)
    cur = shifted(ref, 6, -4)
    with open_flow("nvof-slow", size=W) as of:
        flow = of.flow(of.prepare(cur), of.prepare(ref))
    dx, dy = _moved_by(flow, (H, W))
    assert flow.reliable.mean() > 0.8 and abs(dx + 6) < 1.0 and abs(dy - 4) < 1.0


@pytest.mark.skipif(_VPI is not None, reason=f"no VPI optical flow here: {_VPI}")
def test_vpi_flow_measures_a_known_translation():
    ref = texture(2, 2.5)
    cur = shifted(ref, 6, -4)
    with open_flow("vpi-high", size=W) as of:
        flow = of.flow(of.prepare(cur), of.prepare(ref))
    dx, dy = _moved_by(flow, (H, W))
    assert flow.reliable.mean() > 0.8 and abs(dx + 6) < 1.0 and abs(dy - 4) < 1.0
