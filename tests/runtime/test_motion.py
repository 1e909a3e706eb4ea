"""Warping network results along real DIS flow: known translations, occlusions, 150 classes, and
the motion stage's choice of which result a frame is warped from."""

import threading

import cv2
import numpy as np
import pytest

from edgeseg.errors import ConfigError
from edgeseg.runtime.flow import Flow, open_flow
from edgeseg.runtime.motion import (
    MotionCompensator,
    flow_maps,
    parse_motion,
    remap_channels,
    warp_labels,
    warp_scores,
)
from edgeseg.runtime.segmenter import SegResult

from .test_flow import H, W, moving_square, shifted, texture


def regions(image, classes=5):
    """Class ids that follow the image's own structure (its grey levels in bands), so a label
    boundary is an edge the flow can see."""
    return np.minimum(image.astype(np.int32) * classes // 256, classes - 1).astype(np.uint8)


def within_a_pixel(got, want):
    """Per pixel: ``got`` equals ``want`` somewhere in its 3x3 neighbourhood."""
    hits = np.zeros(got.shape, bool)
    for dy in (-1, 0, 1):
        for dx in (-1, 0, 1):
            hits |= np.roll(want, (dy, dx), axis=(0, 1)) == got
    return hits


@pytest.mark.parametrize("size", [W, 128])  # flow at the frame's size, and at half of it scaled back
def test_warping_a_known_translation_moves_labels_by_it(size):
    dx, dy = 6, -4
    ref = texture(2, 2.5)
    cur = shifted(ref, dx, dy)
    ref_labels = regions(ref)
    truth = regions(cur)  # the same bands on the moved image: the labels moved by (dx, dy)
    with open_flow("dis-medium", size=size) as of:
        flow = of.flow(of.prepare(cur), of.prepare(ref))
    moved = warp_labels(ref_labels, flow)
    ok = cv2.resize(flow.reliable.astype(np.uint8), (W, H), interpolation=cv2.INTER_NEAREST).astype(bool)
    ok[:12], ok[-12:], ok[:, :12], ok[:, -12:] = False, False, False, False
    assert ok.mean() > 0.6
    assert within_a_pixel(moved, truth)[ok].mean() > 0.995
    assert (moved == truth)[ok].mean() > 0.9
    assert (ref_labels == truth)[ok].mean() < 0.75  # unwarped, the labels would be well off


def test_unreliable_pixels_are_marked_and_stale_fill_keeps_the_network_result_there():
    ref, cur = moving_square(60), moving_square(76)
    labels = np.zeros((H, W), np.uint8)
    labels[60:120, 60:120] = 1  # the network saw the square at x 60..120
    with open_flow("dis-fast", size=W) as of:
        flow = of.flow(of.prepare(cur), of.prepare(ref))
    strip = (slice(64, 116), slice(62, 74))  # background the square uncovered
    assert (~flow.reliable)[strip].mean() > 0.7
    moved, stale = warp_labels(labels, flow), warp_labels(labels, flow, fill="stale")
    assert (moved[66:114, 80:134] == 1).mean() > 0.9  # the square's labels followed it
    assert (stale[strip] == labels[strip]).all()  # unreliable there: the result as it was
    # where the flow is trusted both fills agree
    trusted = cv2.resize(flow.reliable.astype(np.uint8), (W, H), interpolation=cv2.INTER_NEAREST).astype(bool)
    assert (moved == stale)[trusted].mean() > 0.99


def _smooth_flow(shape, seed=0, amplitude=3.0):
    rng = np.random.default_rng(seed)
    field = cv2.GaussianBlur(rng.standard_normal(shape + (2,)).astype(np.float32), (0, 0), 4)
    field *= amplitude / np.abs(field).max()
    return Flow(field, np.ones(shape, bool))


def test_a_150_class_warp_equals_warping_each_class_alone():
    rng = np.random.default_rng(1)
    scores = rng.random((150, 40, 56), dtype=np.float32)
    flow = _smooth_flow((20, 28))  # a coarser grid, scaled up as the stream's is
    mx, my = flow_maps(flow, (40, 56))
    reference = np.stack([cv2.remap(np.ascontiguousarray(s), mx, my, cv2.INTER_LINEAR,
                                    borderMode=cv2.BORDER_REPLICATE) for s in scores])
    ids, warped = warp_scores(scores, flow)
    assert warped.shape == (150, 40, 56) and np.array_equal(warped, reference)
    assert np.array_equal(ids, reference.argmax(0))
    hwc = np.ascontiguousarray(scores.transpose(1, 2, 0))  # the interleaved layout OpenCV caps
    assert np.array_equal(remap_channels(hwc, mx, my), reference.transpose(1, 2, 0))
    assert remap_channels(hwc[..., 0], mx, my).shape == (40, 56)


def test_scores_and_labels_warps_move_a_boundary_alike():
    scores = np.zeros((3, H, W), np.float32)
    scores[0] = 0.5
    scores[2, :, 100:140] = 1.0  # class 2 in a vertical band
    ids = scores.argmax(0).astype(np.uint8)
    field = np.zeros((H // 2, W // 2, 2), np.float32)
    field[..., 0] = -2.5  # each point was 2.5 grid px = 5 frame px to the left
    flow = Flow(field, np.ones(field.shape[:2], bool))
    by_scores, _ = warp_scores(scores, flow)
    by_labels = warp_labels(ids, flow)
    assert np.array_equal(np.flatnonzero(by_labels[H // 2] == 2), np.arange(105, 145))
    assert np.abs(by_scores.astype(int) - by_labels).max() <= 2 and (by_scores != by_labels).mean() < 0.01


def test_the_compensator_warps_from_the_newest_result_not_after_the_frame():
    image = cv2.cvtColor(texture(5), cv2.COLOR_GRAY2BGR)
    mc = MotionCompensator(open_flow("dis-fast", size=64), keep=3)
    assert mc.reference(4, timeout=0.05) is None  # nothing published yet
    for i in (0, 5, 10, 15):
        mc.publish(i, image, SegResult(np.full((H, W), i, np.uint8)))
    assert [mc.reference(i).index for i in (12, 7, 3, 99)] == [10, 5, 5, 15]  # 0 fell out (keep=3)
    same = mc.warp(15, image, mc.reference(15))
    assert same.carried == 0 and same.warped == 0 and same.unreliable is None and same.result.labels[0, 0] == 15
    moved = mc.warp(17, image, mc.reference(17))  # the same picture: no motion, all trusted
    assert (moved.net_index, moved.carried) == (15, 2) and moved.warped > 0.95
    assert moved.unreliable.shape == (48, 64) and (moved.result.labels == 15).all()
    assert set(moved.timings) == {"flow", "warp"}


def test_the_flow_thread_waits_for_the_first_result_and_stops_when_told():
    mc = MotionCompensator(open_flow("dis-fast", size=64))
    got = []
    t = threading.Thread(target=lambda: got.append(mc.reference(3)))
    t.start()
    mc.publish(2, np.zeros((8, 8, 3), np.uint8), SegResult(np.zeros((8, 8), np.uint8)))
    t.join(5)
    assert got[0].index == 2
    stop = threading.Event()
    stop.set()
    assert MotionCompensator(open_flow("dis-fast")).reference(0, stop=stop) is None
    ended = MotionCompensator(open_flow("dis-fast"))
    ended.finish()
    assert ended.reference(0) is None  # the network ended with no result: nothing to wait for


def test_scores_mode_needs_results_with_scores():
    mc = MotionCompensator(open_flow("dis-fast"), warp="scores")
    with pytest.raises(ConfigError, match="needs the model's class scores"):
        mc.publish(0, np.zeros((8, 8, 3), np.uint8), SegResult(np.zeros((8, 8), np.uint8)))
    with pytest.raises(ConfigError, match="unknown motion warp"):
        MotionCompensator(open_flow("dis-fast"), warp="logits")


def test_motion_specs():
    assert parse_motion("flow") == "auto" and parse_motion("flow:dis-medium") == "dis-medium"
    with pytest.raises(ConfigError, match="did you mean 'dis'"):
        parse_motion("flow:dsi")
    with pytest.raises(ConfigError, match="StreamOptions.motion"):
        parse_motion("warp")


@pytest.mark.parametrize("net, frame", [((64, 64), (96, 128)), ((512, 512), (720, 1280)), ((520, 520), (1080, 1920))])
def test_labels_warped_at_the_network_size_lose_nothing(net, frame):
    # the frame's labels are the network's, nearest-resized up; warped at the network's size (3.5x
    # fewer pixels at 720p) and resized back, a still scene gives them back exactly
    from edgeseg.postprocess import labels_to_frame
    ids = np.random.default_rng(0).integers(0, 21, net).astype(np.uint8)
    labels = labels_to_frame(ids, frame)
    image = cv2.cvtColor(texture(6, 3.0, frame), cv2.COLOR_GRAY2BGR)
    mc = MotionCompensator(open_flow("dis-fast", size=128), labels_size=net)
    mc.publish(0, image, SegResult(labels))
    moved = mc.warp(1, image, mc.reference(1))
    assert moved.warped > 0.95 and np.array_equal(moved.result.labels, labels)


def test_a_frame_the_network_runs_on_waits_for_its_own_result_only_when_it_is_due_soon():
    import time
    image = cv2.cvtColor(texture(7), cv2.COLOR_GRAY2BGR)
    mc = MotionCompensator(open_flow("dis-fast", size=64))

    def result(i):
        return SegResult(np.full((H, W), i, np.uint8))
    mc.started(0)
    time.sleep(0.03)
    mc.publish(0, image, result(0))  # the network takes ~30 ms: learnt
    mc.started(3)
    threading.Timer(0.03, mc.publish, (3, image, result(3))).start()
    assert mc.reference(3, wait_own=0.06).index == 3  # due within the wait: frame 3 gets its own labels
    mc.started(6)
    threading.Timer(0.03, mc.publish, (6, image, result(6))).start()
    assert mc.reference(6, wait_own=0.005).index == 3  # due later than that: the latest result, to warp
    assert mc.reference(7, wait_own=0.06).index in (3, 6)  # not the frame the network runs on: no wait


def test_a_coarse_network_is_warped_at_the_frames_size_so_labels_move_by_less_than_a_cell():
    from edgeseg.postprocess import labels_to_frame
    frame = (360, 640)
    ref = cv2.cvtColor(texture(8, 3.0, frame), cv2.COLOR_GRAY2BGR)
    cur = shifted(ref, 6, 0)  # 6 px: under a third of a 64x64 network's 10 px cells
    labels = labels_to_frame(np.random.default_rng(1).integers(0, 6, (64, 64)).astype(np.uint8), frame)
    mc = MotionCompensator(open_flow("dis-fast", size=256), labels_size=(64, 64))
    mc.publish(0, ref, SegResult(labels))
    moved = mc.warp(1, cur, mc.reference(1))
    flow = mc.provider.flow(mc.prepare(1, cur), mc.prepare(0, ref))
    assert np.array_equal(moved.result.labels, warp_labels(labels, flow))  # the frame-size warp
    inner = (slice(20, -20), slice(30, -30))
    assert (moved.result.labels[inner] == np.roll(labels, 6, axis=1)[inner]).mean() > 0.95
