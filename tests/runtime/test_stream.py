"""The pipelined Stream on real parts: OpenCV video files, the tiny ONNX model, real sinks, faults."""

import os
import signal
import threading
import time
import warnings

import cv2
import numpy as np
import pytest

from edgeseg.errors import ConfigError, DataError
from edgeseg.metrics import ConfusionMatrix
from edgeseg.runtime import Segmenter, SinkOptions, SourceOptions, Stream, StreamOptions
from edgeseg.runtime.capture import fourcc
from edgeseg.runtime.flow import FLOW_PROVIDERS, DisFlow
from edgeseg.runtime.sinks import Sink

from .conftest import (
    DAMAGED_FRAMES,
    FRAMES,
    CountedFile,
    DropoutFile,
    GarbageFile,
    QuietFile,
    SlowBackend,
    decoded_frames,
)


def test_all_policy_file_to_file_keeps_every_frame_and_matches_the_segmenter(street, seg, tmp_path):
    path, masks = street
    out = tmp_path / "out.mp4"
    labels = {}
    stats = Stream(path, seg, [f"file://{out}", lambda r: labels.__setitem__(r.index, r.labels)],
                   StreamOptions(policy="all"), log=None).run()
    assert stats["frames_in"] == stats["frames_out"] == FRAMES and stats["dropped"] == 0
    cap = cv2.VideoCapture(str(out))
    assert cap.get(cv2.CAP_PROP_FRAME_COUNT) == FRAMES and cap.get(cv2.CAP_PROP_FPS) == 12
    assert sorted(labels) == list(range(FRAMES))
    # the same frames through plain per-frame Segmenter calls give the same labels and mIoU, exactly
    stream_cm, direct_cm = ConfusionMatrix(6), ConfusionMatrix(6)
    for i, image in enumerate(decoded_frames(path)):
        direct = seg(image).labels
        assert np.array_equal(direct, labels[i])
        stream_cm.update(labels[i], masks[i])
        direct_cm.update(direct, masks[i])
    assert stream_cm.report().miou == direct_cm.report().miou > 0.05  # the tiny model: 3 epochs
    assert {"capture", "preprocess", "infer", "postprocess", "render", "sink", "e2e"} <= set(stats["stages"])


def test_iteration_yields_results_in_order_with_ground_truth(seg):
    results = list(Stream("synthetic://?size=64x96&fps=30&frames=6&live=0", seg, log=None))
    assert [r.index for r in results] == list(range(6))
    assert all(r.frame.gt.shape == r.labels.shape == (64, 96) and r.image.shape == (64, 96, 3) for r in results)


def test_latest_drops_frames_and_frame_age_stays_bounded(seg):
    slow = Segmenter(SlowBackend(seg.backend, 0.03))  # a model slower than the 100 fps camera
    stream = Stream("synthetic://?size=64x96&fps=100", slow, options=StreamOptions(policy="latest", max_frames=15),
                    log=None)
    ages = [r.timings["e2e"] for r in stream]
    s = stream.stats()
    assert s["frames_out"] == 15 and s["dropped"] > 10  # the camera made ~3 frames per inference
    infer = s["stages"]["infer"]["p50_ms"]
    assert np.median(ages) < 1.5 * infer and max(ages) < 400  # never a queue of stale frames


class SlowPrep(Segmenter):
    """Preprocessing that takes as long as a large frame's does on a small CPU."""

    def preprocess(self, frame):
        time.sleep(0.015)
        return super().preprocess(frame)


def test_latest_hands_frames_over_just_in_time(seg):
    # the next frame is taken and preprocessed while the network still runs, so the network
    # does not wait for it (fps stays at the network's rate), yet it does not age behind it
    slow = SlowPrep(SlowBackend(seg.backend, 0.04))
    stream = Stream("synthetic://?size=64x96&fps=100", slow, options=StreamOptions(policy="latest", max_frames=25),
                    log=None)
    ages = [r.timings["e2e"] for r in stream][5:]
    s = stream.stats()
    infer, prep = s["stages"]["infer"]["p50_ms"], s["stages"]["preprocess"]["p50_ms"]
    assert s["fps_recent"] > 0.85 * 1000 / infer  # handing over after inference: 1000 / (infer + prep)
    assert np.median(ages) < infer + prep + 10  # at most a camera period (10 ms) of waiting


def test_camera_dropout_reconnects_with_backoff(street, seg):
    path, _ = street
    source = DropoutFile(path, fail_after=10, bad_opens=2)
    lines = []
    got = []
    stats = Stream(source, seg, got.append, StreamOptions(policy="all", backoff=(0.01, 0.05)), log=lines.append).run()
    assert stats["reconnects"] == 1 and stats["reconnect_attempts_failed"] == 2 and source.opens == 4
    assert [r.index for r in got] == list(range(FRAMES))  # the stream carried on after it
    assert any("reconnecting" in ln for ln in lines) and any("reopened" in ln for ln in lines)


def test_corrupt_frames_are_skipped_and_counted(street, seg):
    path, _ = street
    got = []
    stats = Stream(GarbageFile(path, bad={3, 4, 11}), seg, got.append, StreamOptions(policy="all"), log=None).run()
    assert stats["bad_frames"] == 3 and stats["frames_out"] == FRAMES - 3
    assert 3 not in [r.index for r in got] and 4 not in [r.index for r in got]


def test_a_damaged_video_streams_every_decodable_frame_and_counts_the_rest(damaged, seg, tmp_path):
    path, decodable = damaged
    out, lines = tmp_path / "out.mp4", []
    stats = Stream(path, seg, f"file://{out}", StreamOptions(policy="all", report_every=None), log=lines.append).run()
    assert stats["frames_out"] == stats["frames_read"] == decodable  # the old stream stopped at frame 28
    assert stats["frames_total"] == DAMAGED_FRAMES and stats["frames_skipped"] == DAMAGED_FRAMES - decodable > 0
    assert stats["bad_frames"] == stats["frames_skipped"]
    assert cv2.VideoCapture(str(out)).get(cv2.CAP_PROP_FRAME_COUNT) == decodable
    summary = [ln for ln in "\n".join(lines).splitlines() if ln.startswith("source:")]
    where = ", ".join(stats["skipped_at"][:5]) + (", ..." if len(stats["skipped_at"]) > 5 else "")
    expected = (f"source: {decodable} of {DAMAGED_FRAMES} frames read, {DAMAGED_FRAMES - decodable} skipped "
                f"(could not be decoded: {where}); {decodable} written")
    assert summary == [expected]


def test_a_healthy_file_that_overstates_its_count_has_no_bad_frames(street, seg):
    # OpenCV estimates an MKV's count from its duration, and a longer audio track inflates it
    path, masks = street
    lines = []
    stats = Stream(CountedFile(path, 5000), seg, "null://", StreamOptions(policy="all", report_every=None),
                   log=lines.append).run()
    assert stats["frames_out"] == stats["frames_read"] == len(masks)
    assert stats["frames_skipped"] == stats["bad_frames"] == 0
    summary = [ln for ln in "\n".join(lines).splitlines() if ln.startswith("source:")]
    n = len(masks)
    assert summary == [f"source: the container states 5000 frames, {n} decoded, 0 skipped; {n} written"]
    assert not any("damaged" in ln for ln in lines), lines


def test_an_unreadable_image_in_a_folder_is_a_bad_frame_named_by_its_file(seg, tmp_path):
    for i in range(3):
        cv2.imwrite(str(tmp_path / f"{i}.png"), np.full((32, 48, 3), 60 * i, np.uint8))
    (tmp_path / "1b.png").write_bytes(b"not a png")
    lines, got = [], []
    stats = Stream(f"images://{tmp_path}", seg, got.append, log=lines.append).run()
    assert [r.index for r in got] == [0, 1, 3] and stats["bad_frames"] == stats["frames_skipped"] == 1
    assert any("1b.png" in ln for ln in lines) and not any("numpy array" in ln for ln in lines)


class FlakySink(Sink):
    scheme = "flaky"

    def write(self, result):
        if result.index >= 2:
            raise OSError("network sink went away")


def test_failing_sink_is_reported_without_stopping_capture(street, seg, tmp_path):
    path, _ = street
    lines = []
    stats = Stream(QuietFile(path), seg, [FlakySink(), f"file://{tmp_path}/o.mp4"], StreamOptions(policy="all"),
                   log=lines.append).run()
    assert stats["frames_out"] == FRAMES and stats["sink_errors"] == FRAMES - 2
    assert sum("sink flaky failed" in ln for ln in lines) == 1
    assert any("goes on with the other sinks" in ln for ln in lines)  # the warning says it is not the end
    assert cv2.VideoCapture(f"{tmp_path}/o.mp4").get(cv2.CAP_PROP_FRAME_COUNT) == FRAMES


def test_a_stream_whose_every_sink_fails_stops_with_an_error_naming_them(seg):
    from edgeseg.runtime.sinks import SinkError
    stream = Stream("synthetic://?size=32x48&fps=30&frames=200&live=0", seg, FlakySink(), log=None)
    with pytest.raises(SinkError, match="every sink has failed") as exc:
        stream.run()
    assert "flaky" in exc.value.got and "network sink went away" in exc.value.got
    assert stream.stats()["frames_in"] < 200  # it stopped, rather than reading the source to its end
    assert not any(t.is_alive() for t in stream._threads)


def test_ctrl_c_drains_closes_the_file_and_prints_stats(seg, tmp_path, default_sigint):
    out = tmp_path / "live.mp4"
    lines = []
    stream = Stream("synthetic://?size=64x96&fps=30", seg, f"file://{out}", StreamOptions(policy="latest"),
                    log=lines.append)
    timer = threading.Timer(0.8, os.kill, (os.getpid(), signal.SIGINT))
    timer.start()
    try:
        stats = stream.run()
    finally:
        timer.cancel()
    assert stream.interrupted and stats["frames_out"] == stats["frames_in"] > 5  # nothing in flight lost
    assert cv2.VideoCapture(str(out)).get(cv2.CAP_PROP_FRAME_COUNT) == stats["frames_out"]
    assert any("interrupted" in ln for ln in lines) and any(ln.startswith("stream:") and "e2e" in ln
                                                              for ln in lines)


def test_ctrl_c_whose_exception_a_finaliser_swallowed_still_drains(seg, tmp_path, default_sigint):
    # Python prints "Exception ignored" for a KeyboardInterrupt raised inside a __del__ or a GC
    # callback; the handler noticed the signal all the same, and that is what the wait loop reads
    from edgeseg.utils import signals
    out = tmp_path / "live.mp4"
    stream = Stream("synthetic://?size=64x96&fps=30", seg, f"file://{out}", StreamOptions(policy="latest"), log=None)
    timer = threading.Timer(0.8, signals._noticed.set)  # the handler ran; its exception went nowhere
    timer.start()
    try:
        stats = stream.run()
    finally:
        timer.cancel()
    assert stream.interrupted and stats["frames_out"] == stats["frames_in"] > 5
    assert cv2.VideoCapture(str(out)).get(cv2.CAP_PROP_FRAME_COUNT) == stats["frames_out"]
    assert not signals.take_interrupt()  # consumed by the stream, not left for the next one


def test_smoothing_changes_little_on_a_steady_scene(seg):
    plain = [r.labels for r in Stream("synthetic://?size=64x96&fps=30&frames=8&live=0", seg, log=None)]
    smooth = [r.labels for r in Stream("synthetic://?size=64x96&fps=30&frames=8&live=0", seg,
                                       options=StreamOptions(smooth=4), log=None)]
    assert np.array_equal(plain[0], smooth[0])  # first frame: nothing to average yet
    agree = np.mean([(a == b).mean() for a, b in zip(plain, smooth)])
    assert 0.8 < agree <= 1.0


def test_bad_options_are_config_errors(seg):
    with pytest.raises(ConfigError, match="policy"):
        StreamOptions(policy="newest")
    with pytest.raises(ConfigError, match="render"):
        StreamOptions(render="fancy")
    with pytest.raises(ConfigError, match="cv_threads"):
        StreamOptions(cv_threads="many")
    with pytest.raises(ConfigError, match="must be a StreamOptions"):
        Stream("synthetic://", seg, None, {"policy": "all"})
    with pytest.raises(ConfigError, match="must be a SourceOptions"):
        Stream("synthetic://", seg, source_options=SinkOptions())
    with pytest.raises(ConfigError, match="must be a SinkOptions"):
        Stream("synthetic://", seg, sink_options=SourceOptions())


def test_a_cpu_model_keeps_opencv_single_threaded_while_streaming_and_restores_it(seg):
    before = cv2.getNumThreads()
    uri = "synthetic://?size=32x48&frames=3&live=0"
    during = [cv2.getNumThreads() for _ in Stream(uri, seg, log=None)]
    assert seg.backend.on_cpu and during == [1, 1, 1] and cv2.getNumThreads() == before
    accel = Segmenter(SlowBackend(seg.backend, 0))  # on_cpu False, like TensorRT: OpenCV untouched
    assert {cv2.getNumThreads() for _ in Stream(uri, accel, log=None)} == {before}


class BrokenBackend(SlowBackend):
    def _infer(self, batch):
        raise DataError("the accelerator fell off the bus", path=self.path)


def test_a_failing_model_stops_the_stream_with_its_error(seg):
    stream = Stream("synthetic://?size=32x48&fps=30&frames=50&live=0", Segmenter(BrokenBackend(seg.backend, 0)),
                    log=None)
    with pytest.raises(DataError, match="fell off the bus"):
        stream.run()
    assert not any(t.is_alive() for t in stream._threads)


def test_a_sink_that_cannot_start_is_an_error_before_any_frame(seg, monkeypatch):
    from edgeseg.runtime.sinks import SinkError
    monkeypatch.delenv("DISPLAY", raising=False)
    monkeypatch.delenv("WAYLAND_DISPLAY", raising=False)
    stream = Stream("synthetic://?size=32x48&fps=30", seg, "display://", log=None)
    with pytest.raises(SinkError, match="needs a display"):
        stream.run()
    assert stream.source._thread is None  # the live source's grabber was stopped


def test_source_and_sink_options_reach_what_the_stream_opens(seg, tmp_path):
    out = tmp_path / "o.avi"
    stream = Stream("synthetic://?size=32x48&frames=6&live=0", seg, f"file://{out}", StreamOptions(policy="all"),
                    source_options=SourceOptions(fps=6), sink_options=SinkOptions(codec="XVID", fps=3), log=None)
    stats = stream.run()
    assert stats["frames_out"] == 6 and stream.source.fps == 6.0 and stream.source.options.log is None
    cap = cv2.VideoCapture(str(out))
    # XVID is written as MPEG-4 part 2, which OpenCV reads back as FMP4; the .avi default is MJPG
    assert fourcc(cap) == "FMP4" and cap.get(cv2.CAP_PROP_FPS) == 3 and cap.get(cv2.CAP_PROP_FRAME_COUNT) == 6


def test_options_that_cannot_apply_are_conflicts_not_dropped(street, seg):
    path, _ = street
    with pytest.raises(ConfigError, match="source_options conflicts with a source already built"):
        Stream(QuietFile(path), seg, source_options=SourceOptions(fps=5))
    with pytest.raises(ConfigError, match="conflict with a Segmenter already open") as exc:
        Stream(path, seg, device="cuda")
    assert "device='cuda'" in exc.value.got
    Stream(path, seg, device="auto", log=None).close()  # "auto" chooses nothing


# -- the spelling of edgeseg 0.1, accepted for one release ---------------------------------------
def _deprecations(caught):
    return [w for w in caught if issubclass(w.category, DeprecationWarning)]


def test_old_keywords_still_work_and_each_warns_once_naming_its_field(street, seg):
    path, _ = street
    got = []
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        stream = Stream(path, seg, got.append, policy="all", max_frames=5, source_options={"timeout_s": 2.0},
                        log=None)
    messages = [str(w.message) for w in _deprecations(caught)]
    assert len(messages) == 3, messages
    for new in ("options=StreamOptions(policy=...)", "options=StreamOptions(max_frames=...)",
                "source_options=SourceOptions(...)"):
        assert sum(new in m for m in messages) == 1, (new, messages)
    assert all(w.filename == __file__ for w in _deprecations(caught))  # it points at the caller's line
    stats = stream.run()
    assert stats["frames_in"] == stats["frames_out"] == 5 == len(got) and stats["policy"] == "all"
    assert stream.source.options.timeout_s == 2.0 and stream.source.options.log is None
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        old = Stream(path, segmenter=seg, log=None)
    assert old.segmenter is seg and "Stream(source, model" in str(_deprecations(caught)[0].message)
    old.close()


def test_an_old_keyword_and_options_setting_the_same_field_conflict_naming_both(seg):
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        with pytest.raises(ConfigError) as exc:
            Stream("synthetic://", seg, options=StreamOptions(policy="latest"), policy="all")
    assert len(_deprecations(caught)) == 1
    err = exc.value
    assert err.what == "Stream(policy=...) conflicts with options=StreamOptions(policy=...)"
    assert "policy='all' as a keyword" in err.got and "policy='latest' in options" in err.got
    with warnings.catch_warnings(record=True):  # a field the options leave alone takes the keyword
        warnings.simplefilter("always")
        stream = Stream("synthetic://", seg, options=StreamOptions(smooth=2), policy="all", log=None)
    assert stream.options == StreamOptions(smooth=2, policy="all")
    stream.close()


def test_an_unknown_keyword_is_a_config_error_with_did_you_mean(seg):
    with pytest.raises(ConfigError, match="did you mean max_frames="):
        Stream("synthetic://", seg, max_frame=3)


# -- motion-compensated output ------------------------------------------------------------------
def test_motion_off_gives_exactly_todays_output(street, seg):
    path, _ = street
    frames = decoded_frames(path)
    got = list(Stream(path, seg, options=StreamOptions(policy="all"), log=None))
    assert [r.index for r in got] == list(range(FRAMES))
    for r in got:  # each frame its own fresh result, drawn as before
        direct = seg(frames[r.index])
        assert np.array_equal(r.labels, direct.labels) and np.array_equal(r.image, seg.overlay(frames[r.index], direct))
        assert (r.net_index, r.carried, r.warped, r.unreliable) == (r.index, 0, 0.0, None)
    slow = Segmenter(SlowBackend(seg.backend, 0.03))
    stream = Stream("synthetic://?size=64x96&fps=100", slow, options=StreamOptions(policy="latest", max_frames=12),
                    log=None)
    live = list(stream)
    s = stream.stats()
    assert np.diff([r.index for r in live]).min() >= 1 and s["dropped"] > 5  # latest still drops frames
    for r in live:  # and every frame it shows carries the result of that very frame
        assert np.array_equal(r.labels, seg(r.frame.image).labels) and r.net_index == r.index
    assert s["frames_inferred"] == s["frames_out"] == 12 and "motion" not in s and "values" not in s
    assert {"flow", "warp"}.isdisjoint(s["stages"])


def test_motion_outputs_every_camera_frame_in_order_with_the_latest_result_warped(seg):
    slow = Segmenter(SlowBackend(seg.backend, 0.06))  # ~15 fps of network against a 60 fps camera
    stream = Stream("synthetic://?size=96x128&fps=60&loop=60", slow,
                    options=StreamOptions(motion="flow:dis-fast", max_frames=60), log=None)
    got = list(stream)
    s = stream.stats()
    idx = [r.index for r in got]
    assert s["frames_out"] == len(got) == 60 and np.diff(idx).min() == 1  # in order, never repeated
    assert idx[-1] + 1 - len(idx) <= s["dropped"]  # any frame not shown was a counted drop
    assert s["frames_inferred"] <= 25 and s["fps"] > 2 * s["network_fps"]  # output at the camera's pace
    assert all(r.net_index <= r.index and r.carried == r.index - r.net_index for r in got)
    carried = [r for r in got if r.carried > 0]
    assert len(carried) > 40 and np.median([r.warped for r in carried]) > 0.5
    assert all(r.labels.shape == (96, 128) and r.image.shape == (96, 128, 3) for r in got)
    # a warped frame reaches the sink long before an inference would have finished
    assert np.median([r.timings["e2e"] for r in carried]) < 0.5 * s["stages"]["infer"]["p50_ms"]
    assert s["motion"] == "flow:dis-fast" and s["flow"] == "dis-fast" and s["values"]["carried"]["max"] >= 2
    assert {"flow", "warp", "infer", "preprocess"} <= set(s["stages"]) and s["flow_errors"] == 0


def test_with_a_network_faster_than_the_camera_motion_shows_each_frame_its_own_labels(seg):
    # the tiny model takes a few ms against a 25 fps camera: each frame waits for its own result
    # (due within half a period) rather than taking the previous one warped
    stream = Stream("synthetic://?size=64x96&fps=25&loop=25", seg, options=StreamOptions(motion="flow", max_frames=25),
                    log=None)
    got = list(stream)
    own = [r for r in got if r.carried == 0]
    assert len(got) == 25 and len(own) >= 0.7 * len(got)
    for r in own:
        assert r.net_index == r.index and r.unreliable is None and np.array_equal(r.labels, seg(r.frame.image).labels)


def test_motion_on_a_file_outputs_every_frame_in_order(street, seg):
    path, _ = street
    slow = Segmenter(SlowBackend(seg.backend, 0.05))
    got = list(Stream(path, slow, options=StreamOptions(motion="flow"), log=None))
    assert [r.index for r in got] == list(range(FRAMES))  # a file drops nothing: every frame, in order
    assert got[0].net_index == 0 and any(r.carried > 0 for r in got) and all(r.net_index <= r.index for r in got)


class FlakyFlow(DisFlow):
    """Real DIS flow that raises on every second frame (a driver error, a frame it cannot take)."""

    name = "flaky"
    calls = raised = 0

    def flow(self, current, reference):
        FlakyFlow.calls += 1
        if FlakyFlow.calls % 2 == 0:
            FlakyFlow.raised += 1
            raise DataError("the optical flow engine timed out")
        return super().flow(current, reference)


def test_a_flow_provider_that_raises_costs_frames_their_warp_not_the_stream(street, seg, monkeypatch):
    monkeypatch.setitem(FLOW_PROVIDERS, "flaky", FlakyFlow)
    monkeypatch.setattr(FlakyFlow, "calls", 0)
    monkeypatch.setattr(FlakyFlow, "raised", 0)
    path, _ = street
    frames, lines = decoded_frames(path), []
    slow = Segmenter(SlowBackend(seg.backend, 0.05))
    stream = Stream(path, slow, options=StreamOptions(motion="flow:flaky", report_every=None), log=lines.append)
    got = list(stream)
    s = stream.stats()
    assert [r.index for r in got] == list(range(FRAMES)) and s["frames_out"] == FRAMES  # it carried on
    assert FlakyFlow.raised >= 3 and s["flow_errors"] == FlakyFlow.raised
    failed = [r for r in got if r.carried > 0 and r.unreliable is None]
    assert len(failed) == FlakyFlow.raised
    for r in failed:  # the latest result as it was: the network's labels of the frame it ran on
        assert r.warped == 0.0 and np.array_equal(r.labels, seg(frames[r.net_index]).labels)
    assert any(r.carried > 0 and r.unreliable is not None for r in got)  # the other frames were warped
    assert sum("the flow failed" in ln for ln in lines) == 1  # said once, then counted


def test_scores_warp_needs_and_gets_the_models_scores(seg, tiny_onnx):
    with pytest.raises(ConfigError, match="keeps its scores"):
        Stream("synthetic://", seg, options=StreamOptions(motion="flow", motion_warp="scores"), log=None)
    owned = Stream("synthetic://?size=64x96&frames=2&live=0", tiny_onnx, device="cpu", log=None,
                   options=StreamOptions(motion="flow", motion_warp="scores"))
    assert owned.segmenter.want_scores
    owned.close()
    slow = Segmenter(SlowBackend(seg.backend, 0.05), scores=True)
    got = list(Stream("synthetic://?size=96x128&fps=60&loop=30", slow, log=None,
                      options=StreamOptions(motion="flow", motion_warp="scores", max_frames=20)))
    carried = [r for r in got if r.carried > 0 and r.unreliable is not None]
    assert carried and all(r.result.scores.shape == (6, 64, 64) and r.labels.shape == (96, 128) for r in carried)


def test_motion_options_that_cannot_apply_are_conflicts(seg):
    with pytest.raises(ConfigError, match="StreamOptions.motion conflicts with StreamOptions.policy"):
        StreamOptions(motion="flow", policy="all")
    with pytest.raises(ConfigError, match="flow_size conflicts with StreamOptions.motion"):
        StreamOptions(flow_size=128)
    with pytest.raises(ConfigError, match="motion_warp conflicts"):
        StreamOptions(motion_warp="scores")
    with pytest.raises(ConfigError, match="did you mean 'dis'"):
        StreamOptions(motion="flow:dsi")
    # a flow the machine lacks fails before the model is opened (this model file does not exist)
    with pytest.raises(ConfigError, match="flow provider nvof is not available here"):
        Stream("synthetic://?size=32x48&frames=2&live=0", "missing.onnx", log=None,
               options=StreamOptions(motion="flow:nvof"))
