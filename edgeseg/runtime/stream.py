"""The streaming runtime: capture -> preprocess -> infer -> postprocess/render -> sinks, pipelined.

Four threads joined by small bounded queues, so decoding, drawing and encoding overlap
inference (OpenCV and ONNX Runtime release the GIL). Two policies:

- ``latest``: only the newest frame is processed, and it is taken just in time: the capture
  thread sleeps until the running inference is due to finish less the time capture and
  preprocessing take (both measured as the stream runs), then takes the newest frame. The
  network neither waits for a frame nor gets one that aged behind it. A frame older than half
  a camera period at that moment is passed over for the next one, which is then less than half
  a period away: the network idles for less time than the frame would have aged. A live source
  keeps overwriting its one slot meanwhile (those drops are counted).
- ``all``: every frame is processed in order, queues block; output frames == input frames.

With ``motion`` on (:class:`~edgeseg.runtime.options.StreamOptions`, policy ``latest``), two
paths leave the capture thread: the network takes the newest frame whenever it is free (a
one-slot mailbox; preprocessing moves to its thread), while EVERY frame goes on, in order,
through a flow thread that warps the latest network result onto it
(:class:`~edgeseg.runtime.motion.MotionCompensator`), a drawing thread and the sinks; a frame
the network runs on waits for its own result when that is due within half a camera period, so
a network faster than the camera still labels every frame itself. Output runs at the camera's
rate, each frame's labels describe that frame, and its result says which
network frame they came from (``net_index``), how many frames they were carried and what
fraction was moved along trusted flow. A flow provider that raises costs that frame its
warp (it shows the latest result as it is; counted in ``flow_errors``), never the stream.

Faults do not stop it: a source that fails is reopened with exponential back-off, a corrupt
frame (or one a damaged file cannot decode) is skipped and counted, a sink that raises is
counted and logged once; only when every sink keeps failing does the stream stop, with a
SinkError, since nothing it makes reaches anyone. Ctrl-C drains
the frames in flight, closes the sinks (the video file is renamed into place) and prints the
final statistics.

>>> # for r in Stream("synthetic://", "model.onnx", "http://127.0.0.1:8080"):        # the loop
>>> #     print(r.index, r.age_ms)
>>> # stats = Stream("clip.mp4", seg, "file://out.mp4", StreamOptions(policy="all")).run()  # or done
>>> Stream.POLICIES
('auto', 'latest', 'all')
"""

from __future__ import annotations

import queue
import threading
import time
from dataclasses import dataclass, field, replace

import cv2
import numpy as np

from ..errors import ConfigError, DataError
from ..preprocess import check_frame
from ..utils.signals import ctrl_c_noticed, take_interrupt
from . import deprecated
from .flow import open_flow
from .motion import MotionCompensator, parse_motion
from .options import POLICIES, RENDERS, SinkOptions, SourceOptions, StreamOptions
from .segmenter import Segmenter, SegResult
from .sink_base import check_sink_options
from .sinks import SinkSet
from .smoothing import Smoother
from .sources import EndOfStream, Frame, Source, make_source
from .stats import StreamStats

_END = object()  # end of stream, passed down the queues


def _ema(old: float | None, new: float, weight: float = 0.2) -> float:
    return new if old is None else old + weight * (new - old)


@dataclass
class StreamResult:
    """One processed frame: ``labels`` at frame size, ``image`` the rendered BGR output,
    ``timings`` in ms per stage; ``frame.gt`` carries ground truth where the source has it.

    ``net_index``: the frame the network ran on for these labels (this frame's own index
    without motion); ``carried``: frames between the two; ``warped``: the fraction of the frame
    moved along trusted optical flow (0 where nothing was warped); ``unreliable``: the flow
    grid's points that failed its checks (None without a warp). Capture-to-output latency is
    ``age_ms`` while a sink writes it, ``timings["e2e"]`` once every sink has."""

    frame: Frame
    labels: np.ndarray
    image: np.ndarray
    result: SegResult
    timings: dict = field(default_factory=dict)
    net_index: int | None = None
    carried: int = 0
    warped: float = 0.0
    unreliable: np.ndarray | None = None

    def __post_init__(self):
        if self.net_index is None:
            self.net_index = self.frame.index

    @property
    def index(self) -> int:
        return self.frame.index

    @property
    def age_ms(self) -> float:
        """Milliseconds from capture to now."""
        return 1e3 * (time.monotonic() - self.frame.timestamp)


class _Mailbox:
    """One slot, newest wins: the frame the network takes when it is free (motion mode)."""

    def __init__(self):
        self._cond = threading.Condition()
        self._item, self._closed = None, False

    def put(self, item) -> None:
        with self._cond:
            self._item = item
            self._cond.notify_all()

    def close(self) -> None:
        with self._cond:
            self._closed = True
            self._cond.notify_all()

    def wait_taken(self, stop: threading.Event) -> bool:
        """Wait until the item put last was taken; False if ``stop`` was set first."""
        with self._cond:
            while self._item is not None:
                if stop.is_set():
                    return False
                self._cond.wait(0.1)
        return True

    def take(self, abort: threading.Event):
        """The newest item (the slot empties), waiting for one; _END once closed and empty."""
        with self._cond:
            while self._item is None and not self._closed:
                if abort.is_set():
                    return _END
                self._cond.wait(0.1)
            item, self._item = self._item, None
            self._cond.notify_all()
            return _END if item is None else item


class Stream:
    """``Stream(source, model, sink=None, options=StreamOptions(...))``: iterate it, or ``run()`` it.

    ``source``: URI or :class:`Source`; ``model``: :class:`Segmenter` or a model path, which the
    stream opens with ``backend`` and ``device`` (both "auto" when None) and closes at the end;
    ``sink``: URI, callable, Sink, or a list of them (default ``null://``); ``options``: how it
    runs (:class:`~edgeseg.runtime.options.StreamOptions`: policy, smoothing, rendering,
    reconnects, reports); ``source_options``, ``sink_options``: what the source and the sinks
    opened by URI are asked for; ``log``: a print-like callable or None, for the stream, its
    source and its sinks.

    ``backend`` and ``device`` are arguments, not options: they say how to open a model file and
    mean nothing for a Segmenter already open, so an options object can be shared by streams
    on different models; either one beside a Segmenter is a ConfigError.
    """

    POLICIES = POLICIES
    RENDER = RENDERS

    def __init__(self, source, model=None, sink=None, options: StreamOptions | None = None, *, log=print,
                 source_options: SourceOptions | None = None, sink_options: SinkOptions | None = None,
                 device: str | None = None, backend: str | None = None, meta=None, **deprecated_keywords):
        model = deprecated.model_argument(model, deprecated_keywords)
        self.options = o = deprecated.stream_options(options, deprecated_keywords)
        source_options = deprecated.source_options(source_options)
        if source_options is not None and not isinstance(source_options, SourceOptions):
            raise ConfigError("source_options must be a SourceOptions", got=repr(source_options),
                              fix="source_options=SourceOptions(fps=30)")
        if source_options is not None and isinstance(source, Source):
            raise ConfigError("source_options conflicts with a source already built", got=f"source={source!r}",
                              expected="source_options only with a source URI (the Source has its options)",
                              fix="build the Source with those options, or pass its URI")
        self._own_seg = not isinstance(model, Segmenter)
        if not self._own_seg and (device not in (None, "auto") or backend not in (None, "auto")
                                  or meta is not None):
            raise ConfigError("device/backend/meta conflict with a Segmenter already open",
                              got=f"device={device!r}, backend={backend!r}, meta={meta!r}",
                              expected="device, backend and meta only with a model path",
                              fix="Segmenter(path, backend, device=...) opens it there, or pass the path")
        self.log = log or (lambda *a, **k: None)
        self.sink_options = check_sink_options(sink_options)
        self._stats = StreamStats()
        # one log for the whole stream, the source's open line included
        self.source_options = replace(source_options or SourceOptions(), log=log)
        # the source and the sinks are checked before the model loads (a TensorRT engine takes
        # seconds): a file that will not open, a sink URI or folder that cannot work, fail first
        self.source = source if isinstance(source, Source) else make_source(source, self.source_options)
        self.source.check()
        self.sinks = SinkSet(sink, log=self.log, on_error=lambda s, e: self._stats.count("sink_errors"),
                             options=self.sink_options)
        # the flow provider opens before the model (a hardware flow that is absent fails first)
        provider = open_flow(parse_motion(o.motion), size=o.flow_size) if o.motion is not None else None
        try:
            self.segmenter = (Segmenter(model, backend or "auto", device=device or "auto", meta=meta,
                                        scores=o.motion_warp == "scores" and provider is not None)
                              if self._own_seg else model)
            self.motion = None if provider is None else self._motion_stage(provider)
        except BaseException:
            if provider is not None:
                provider.close()
            if self._own_seg and hasattr(self, "segmenter"):
                self.segmenter.close()
            raise
        # "auto" is decided when the source opens; motion only makes sense under latest
        self.policy = "latest" if self.motion is not None else o.policy
        cv_threads = o.cv_threads
        if cv_threads == "auto":
            cv_threads = 1 if self.segmenter.backend.on_cpu else None
        self.cv_threads, self._cv_threads_before = cv_threads, None
        kind = self.segmenter.meta.output_kind
        self.smoother = Smoother(o.smooth, labels=kind == "labels", probs=kind == "probs")
        self._skipped_seen = 0
        self._stop, self._abort = threading.Event(), threading.Event()
        # latest policy: set when inference took the frame handed over; _due is when the
        # running inference should finish (monotonic s); the EMAs are in seconds.
        self._taken = threading.Event()
        self._taken.set()
        self._due = 0.0
        self._infer_ema = self._lead_ema = None
        self._error: BaseException | None = None
        self._threads: list[threading.Thread] = []
        self._out: queue.Queue | None = None
        self._started = self._closed = False
        self.interrupted = False

    def _motion_stage(self, provider) -> MotionCompensator:
        """The motion stage on this stream's model: scores mode needs a model that gives them."""
        seg, mode = self.segmenter, self.options.motion_warp
        if mode == "scores" and seg.meta.output_kind == "labels":
            raise ConfigError("motion_warp='scores' needs class scores, but the model gives label ids",
                              got=f"output_kind={seg.meta.output_kind!r}", fix="motion_warp='labels'")
        if mode == "scores" and not seg.want_scores:
            raise ConfigError("motion_warp='scores' needs a Segmenter that keeps its scores",
                              got="Segmenter(..., scores=False)",
                              fix="Segmenter(path, scores=True), pass the model path, or motion_warp='labels'")
        meta = seg.meta
        # labels are warped at the network's size, where they come from (a graph run at the frame's own size: there)
        size = tuple(meta.input_size) if getattr(meta, "run_size", "fixed") == "fixed" else None
        return MotionCompensator(provider, mode, labels_size=size)

    # -- public -----------------------------------------------------------------------------
    def stats(self) -> dict:
        """A snapshot: counters, fps, per-stage and end-to-end latency p50/p99 (ms)."""
        return self._stats.snapshot()

    def run(self) -> dict:
        """Process until the source ends, ``max_frames``, ``stop()`` or Ctrl-C; returns ``stats()``."""
        take_interrupt()  # one noticed before this stream ran is not for it
        with ctrl_c_noticed():
            self.start()
            try:
                self._wait(interruptible=True)
            except KeyboardInterrupt:
                take_interrupt()  # this one, raised as well as noticed
                self.interrupted = True
                self.log("stream: interrupted, draining frames in flight (Ctrl-C again to abort)")
                self.stop()
                try:
                    self._wait(interruptible=True)
                except KeyboardInterrupt:
                    self._abort.set()
            finally:
                self.close()
        return self.stats()

    def __iter__(self):
        self._out = queue.Queue(self.options.queue_size)
        self.start()
        try:
            while True:
                try:
                    item = self._out.get(timeout=0.1)
                except queue.Empty:
                    if self._abort.is_set():
                        break
                    continue
                if item is _END:
                    break
                yield item
        finally:
            self._out = None  # a consumer that stops early must not block the sink thread
            self.close()

    def stop(self) -> None:
        """Stop capturing; the frames in flight still reach the sinks."""
        self._stop.set()

    def start(self) -> Stream:
        if self._started:
            raise ConfigError("a Stream runs once", fix="make a new Stream")
        self._started = True
        src = self.source
        if self.policy == "auto":
            self.policy = "latest" if src.live else "all"
        try:
            # a live source queues every frame under "all" and keeps only the newest under "latest"
            src.open("all" if self.policy == "all" else "latest")
            self._stats.info.update(source=src.uri, policy=self.policy, live=src.live,
                                    model=self.segmenter.meta.model, source_fps=src.fps, frames_total=src.total)
            if self.motion is not None:
                self._stats.info.update(motion=self.options.motion, flow=self.motion.provider.spec,
                                        flow_size=self.options.flow_size, motion_warp=self.motion.mode)
            self.sinks.start(src.fps, self.stats)
        except BaseException:  # a damaged file, no display, port in use: no grabber thread or model left behind
            src.close()
            if self._own_seg:
                self.segmenter.close()
            if self.motion is not None:
                self.motion.close()
            self._closed = True
            raise
        if self.cv_threads is not None:
            self._cv_threads_before = cv2.getNumThreads()
            cv2.setNumThreads(self.cv_threads)
        qs = self.options.queue_size
        self._stats.start = time.monotonic()  # fps counts streaming, not opening the model/camera
        self._q_in = queue.Queue(1 if self.policy == "latest" else qs)
        self._q_post, self._q_sink = queue.Queue(qs), queue.Queue(qs)
        if self.motion is None:
            stages = (("capture", self._capture_loop), ("infer", self._infer_loop), ("post", self._post_loop),
                      ("sink", self._sink_loop))
        else:  # the network's path (infer -> publish) beside the every-frame path (flow -> draw -> sink)
            self._mailbox = _Mailbox()
            self._q_flow, self._q_draw = queue.Queue(qs), queue.Queue(qs)
            stages = (("capture", self._capture_loop), ("infer", self._infer_loop), ("publish", self._publish_loop),
                      ("flow", self._flow_loop), ("draw", self._draw_loop), ("sink", self._sink_loop))
        for name, fn in stages:
            t = threading.Thread(target=self._guard(fn), name=f"stream-{name}", daemon=True)
            t.start()
            self._threads.append(t)
        return self

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        self._stop.set()
        for t in self._threads:
            t.join(timeout=30)
        try:
            self.sinks.close()
        except Exception as exc:  # noqa: BLE001  a video lost at close still fails the run, after the rest closes
            if self._error is None:
                self._error = exc
        self.source.close()
        if self._cv_threads_before is not None:
            cv2.setNumThreads(self._cv_threads_before)
        if self._own_seg:
            self.segmenter.close()
        if self.motion is not None:
            self.motion.close()
        self._sync_drops()
        self._stats.end = time.monotonic()
        self.log(self._stats.table())
        if self._error is not None:
            raise self._error

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.stop()
        self.close()

    # -- stages -----------------------------------------------------------------------------
    def _wait(self, interruptible: bool = False) -> None:
        """Join the stage threads in short steps, so Ctrl-C reaches the main thread; with
        ``interruptible`` a Ctrl-C or stop signal whose KeyboardInterrupt a finaliser swallowed
        is raised here (utils/signals.py)."""
        for t in self._threads:
            while t.is_alive():
                t.join(0.1)
                if interruptible and take_interrupt():
                    raise KeyboardInterrupt

    def _guard(self, fn):
        def run():
            try:
                fn()
            except BaseException as exc:  # noqa: BLE001  handed to run()/iteration, which raise it
                if self._error is None:
                    self._error = exc
                self._abort.set()
                self._stop.set()
        return run

    def _put(self, q: queue.Queue, item) -> bool:
        while not self._abort.is_set():
            try:
                q.put(item, timeout=0.1)
                return True
            except queue.Full:
                continue
        return False

    def _get(self, q: queue.Queue):
        while not self._abort.is_set():
            try:
                return q.get(timeout=0.1)
            except queue.Empty:
                continue
        return _END

    def _capture_loop(self) -> None:
        seg, taken, last_ok, motion = self.segmenter, 0, time.monotonic(), self.motion is not None
        try:
            max_frames = self.options.max_frames
            while not self._stop.is_set() and (max_frames is None or taken < max_frames):
                if self.policy == "latest" and not motion and not self._wait_until_due():
                    continue
                t0 = time.perf_counter()
                try:
                    frame = self._capture()
                except EndOfStream:
                    break
                except Exception as exc:  # a camera that drops out: reopen it
                    if not self.options.reconnect:
                        raise
                    self._reconnect(exc)
                    last_ok = time.monotonic()
                    continue
                self._sync_drops()
                if frame is None:
                    stall_s = self.options.stall_s
                    if self.source.live and time.monotonic() - last_ok > stall_s:
                        self._reconnect(DataError("no frame", got=f"silent for {stall_s:g} s"))
                        last_ok = time.monotonic()
                    continue
                last_ok = time.monotonic()
                t1 = time.perf_counter()
                try:
                    image = check_frame(frame.image, where=f"{self.source.uri} frame {frame.index}")
                    # with motion only the frames the network takes are preprocessed, in its thread
                    x = None if motion else seg.preprocess(image)
                except Exception as exc:  # noqa: BLE001  a corrupt frame is skipped, not fatal
                    self._bad_frame(frame, exc)
                    continue
                frame.image = image
                t2 = time.perf_counter()
                taken += 1
                self._stats.count("frames_in")
                if motion:
                    self._mailbox.put(frame)
                    self.motion.queued(frame.index)
                    # the network's first frame is the first frame: none before it waits for a later one
                    if taken == 1 and not self._mailbox.wait_taken(self._stop):
                        return
                    if not self._put(self._q_flow, (frame, {"capture": 1e3 * (t1 - t0)})):
                        return
                    continue
                timings = {"capture": 1e3 * (t1 - t0), "preprocess": 1e3 * (t2 - t1)}
                self._lead_ema = _ema(self._lead_ema, t2 - t1)  # not the capture: it may wait on purpose
                self._taken.clear()  # before the put: inference sets it once it has the frame
                if not self._put(self._q_in, (frame, x, timings)):
                    return
        finally:
            if motion:
                self._mailbox.close()
                self._put(self._q_flow, _END)
            else:
                self._put(self._q_in, _END)

    def _next_for_network(self):
        """(frame, preprocessed input, timings): from the capture queue, or with motion the
        mailbox's newest frame, preprocessed here (a frame that will not preprocess is skipped)."""
        if self.motion is None:
            return self._get(self._q_in)
        while True:
            frame = self._mailbox.take(self._abort)
            if frame is _END:
                return _END
            t0 = time.perf_counter()
            try:
                x = self.segmenter.preprocess(frame.image)
            except Exception as exc:  # noqa: BLE001  as in capture: that frame is passed over
                self._bad_frame(frame, exc)
                continue
            return frame, x, {"preprocess": 1e3 * (time.perf_counter() - t0)}

    def _infer_loop(self) -> None:
        backend = self.segmenter.backend
        while True:
            item = self._next_for_network()
            if item is _END:
                break
            frame, x, timings = item
            t0 = time.perf_counter()
            if self._infer_ema is not None:
                self._due = time.monotonic() + self._infer_ema
            self._taken.set()
            if self.motion is not None:
                self.motion.started(frame.index)
            out = backend.infer(x)[0]
            t1 = time.perf_counter()
            self._infer_ema = _ema(self._infer_ema, t1 - t0)
            timings["infer"] = 1e3 * (t1 - t0)
            self._stats.count("frames_inferred")
            if not self._put(self._q_post, (frame, out, timings)):
                return
        self._put(self._q_post, _END)

    def _render(self, image: np.ndarray, result: SegResult) -> np.ndarray:
        render = self.options.render
        if render == "overlay":
            return self.segmenter.overlay(image, result, self.options.alpha)
        if render == "color":
            return self.segmenter.colorize(result)
        return image

    def _decoded(self, item):
        """(frame, SegResult, timings) of one network output: smoothed, decoded, timed."""
        frame, out, timings = item
        t0 = time.perf_counter()
        result = self.segmenter.postprocess(self.smoother(out), frame.image.shape)
        timings["postprocess"] = 1e3 * (time.perf_counter() - t0)
        return frame, result, timings

    def _post_loop(self) -> None:
        while True:
            item = self._get(self._q_post)
            if item is _END:
                break
            frame, result, timings = self._decoded(item)
            t1 = time.perf_counter()
            image = self._render(frame.image, result)
            timings["render"] = 1e3 * (time.perf_counter() - t1)
            if not self._put(self._q_sink, StreamResult(frame, result.labels, image, result, timings)):
                return
        self._put(self._q_sink, _END)

    # -- motion: the network's results published, every frame warped, drawn -------------------
    def _publish_loop(self) -> None:
        try:
            while True:
                item = self._get(self._q_post)
                if item is _END:
                    break
                frame, result, timings = self._decoded(item)
                self.motion.publish(frame.index, frame.image, result)
                for stage, ms in timings.items():  # the network's stages; each output frame records its own
                    self._stats.record(stage, ms)
        finally:
            self.motion.finish()

    def _flow_loop(self) -> None:
        mc = self.motion
        while True:
            item = self._get(self._q_flow)
            if item is _END:
                break
            frame, timings = item
            # the network's own frame waits for its result if it is due before the next frame comes
            period = self.source.period or 1.0 / max(self.source.fps, 1e-3)
            ref = mc.reference(frame.index, stop=self._abort, wait_own=0.5 * period)
            if ref is None:
                if self._abort.is_set():
                    return
                self._bad_frame(frame, DataError("no network result to show", got="the network gave none",
                                                 path=f"{self.source.uri} frame {frame.index}"))
                continue
            try:
                w = mc.warp(frame.index, frame.image, ref)
            except Exception as exc:  # noqa: BLE001  a flow that fails costs this frame its warp, not the stream
                self._flow_error(frame, exc)
                w = mc.unwarped(frame.index, ref)
            timings.update(w.timings)
            result = StreamResult(frame, w.result.labels, frame.image, w.result, timings, net_index=w.net_index,
                                  carried=w.carried, warped=w.warped, unreliable=w.unreliable)
            if not self._put(self._q_draw, result):
                return
        self._put(self._q_draw, _END)

    def _draw_loop(self) -> None:
        while True:
            item = self._get(self._q_draw)
            if item is _END:
                break
            t0 = time.perf_counter()
            item.image = self._render(item.frame.image, item.result)
            item.timings["render"] = 1e3 * (time.perf_counter() - t0)
            if not self._put(self._q_sink, item):
                return
        self._put(self._q_sink, _END)

    def _sink_loop(self) -> None:
        last_report, every = time.monotonic(), self.options.report_every
        while True:
            item = self._get(self._q_sink)
            if item is _END:
                break
            t0 = time.perf_counter()
            self.sinks.write(item)
            item.timings["sink"] = 1e3 * (time.perf_counter() - t0)
            item.timings["e2e"] = item.age_ms
            for stage, ms in item.timings.items():
                self._stats.record(stage, ms)
            if self.motion is not None:
                self._stats.observe("carried", item.carried)
                self._stats.observe("warped", item.warped)
            self._stats.count("frames_out")
            out = self._out
            while out is not None and not self._abort.is_set():
                try:
                    out.put(item, timeout=0.1)
                    break
                except queue.Full:
                    out = self._out
            if every and time.monotonic() - last_report >= every:
                last_report = time.monotonic()
                self.log(self._stats.line())
        if self._out is not None:
            self._put(self._out, _END)

    def _capture(self) -> Frame | None:
        src = self.source
        if self.policy == "latest" and self.motion is None and src.live and src.period:
            newest = src.newest()
            if newest is not None and time.monotonic() - newest.timestamp > src.period / 2:
                # a camera that stalls still hands over the frame it has, a little later
                frame = src.capture(min(1.5 * src.period, 0.2), after=newest.index)
                if frame is not None:
                    return frame
        return src.capture(0.2)

    def _wait_until_due(self) -> bool:
        """Latest policy: wait until inference has the last frame and is about ``lead`` from
        done, so the next frame is fresh when the network is free. False: stop was asked."""
        while not self._taken.wait(0.1):
            if self._stop.is_set():
                return False
        # 1 ms of slack: a frame ready a little early ages by that; one late idles the network
        lead = (self._lead_ema or 0.0) + 0.001
        while not self._stop.is_set():
            delay = self._due - lead - time.monotonic()
            if delay <= 0:
                return True
            self._stop.wait(min(delay, 0.1))
        return False

    # -- faults -----------------------------------------------------------------------------
    def _bad_frame(self, frame: Frame, exc: Exception) -> None:
        if self._stats.get("bad_frames") == 0:
            self.log(f"stream: skipping a bad frame ({str(exc).splitlines()[0][:160]}); further ones are counted")
        self._stats.count("bad_frames")

    def _flow_error(self, frame: Frame, exc: Exception) -> None:
        if self._stats.get("flow_errors") == 0:
            self.log(f"stream: the flow failed on frame {frame.index} ({str(exc).splitlines()[0][:160]}); showing "
                     "the latest result unwarped there, further ones are counted")
        self._stats.count("flow_errors")

    def _sync_drops(self) -> None:
        """Copy the source's counts: drops, frames read, and the frames it could not decode
        (which are bad frames too)."""
        src = self.source
        self._stats.set("dropped", src.dropped)
        self._stats.set("frames_read", src.frames_read)
        new = src.skipped - self._skipped_seen
        if new > 0:
            self._skipped_seen = src.skipped
            self._stats.count("bad_frames", new)
            self._stats.set("frames_skipped", src.skipped)
            self._stats.info["skipped_at"] = list(src.skipped_at)

    def _reconnect(self, exc: BaseException) -> None:
        """Reopen the source with exponential back-off until it opens or the stream stops."""
        self._stats.count("reconnects")
        self.log(f"stream: source lost ({str(exc).splitlines()[0][:160]}); reconnecting")
        delay, longest = self.options.backoff
        dropped = self.source.dropped
        while not self._stop.wait(delay):
            try:
                self.source.close()
                self.source.dropped = dropped
                self.source.open(self.source.keep)
                self.log("stream: source reopened")
                return
            except Exception as err:  # noqa: BLE001  keep trying, a little less often each time
                self._stats.count("reconnect_attempts_failed")
                delay = min(delay * 2, longest)
                self.log(f"stream: reopen failed ({str(err).splitlines()[0][:120]}); retry in {delay:g} s")
