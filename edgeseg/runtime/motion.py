"""Motion-compensated output: the latest network result warped onto the frame being shown.

The network runs on a frame N; by the time a later frame K is output, the labels of N describe a
scene that has moved. :class:`MotionCompensator` computes dense optical flow from K straight to
N at low resolution (see :mod:`~edgeseg.runtime.flow`) and samples N's result where each point
of K was in N. The flow is computed directly between the network's frame and the current one,
not composed frame to frame: one flow per output frame either way, but a direct flow has no
accumulated error (composition resamples and adds each step's error, so labels drift) and
survives a frame the chain would have had to bridge.

Two ways to warp (``StreamOptions.motion_warp``):

- ``labels`` (default): the result's class ids, nearest sampling, at the network's size (the
  frame's labels are a nearest upsampling of those, so nothing is lost) and resized back to the
  frame. Works for every model (logits, probabilities or label ids), whatever the class count.
- ``scores``: the class probabilities at network size, bilinear, then argmax and the nearest
  resize to the frame: boundaries move by fractions of a network pixel. It costs about 1 ms per
  class at 512x512 on one core (20 ms for 21 classes), so it only pays where the flow stage has
  a core to itself; it needs a model that gives scores.

Pixels whose flow fails the provider's checks (occluded, disoccluded, out of the frame) are
marked in ``unreliable``; ``fill`` says what they get: ``flow`` (default) the flow's own guess,
``stale`` the network's result unmoved there. ``warped`` is the fraction of the frame moved
along trusted flow.

>>> import numpy as np
>>> from edgeseg.runtime.flow import Flow
>>> labels = np.zeros((4, 6), np.uint8); labels[:, 3] = 1      # a column of class 1
>>> back = np.zeros((4, 6, 2), np.float32); back[..., 0] = -1  # each point was 1 px left
>>> warp_labels(labels, Flow(back, np.ones((4, 6), bool)))[0].tolist()   # the column moved right
[0, 0, 0, 0, 1, 0]
"""

from __future__ import annotations

import collections
import math
import threading
import time
from dataclasses import dataclass, field
from functools import cache, lru_cache

import cv2
import numpy as np

from ..errors import ConfigError
from ..postprocess import argmax_classes, labels_to_frame
from .flow import Flow, FlowProvider, parse_flow
from .segmenter import SegResult

WARPS = ("labels", "scores")
FILLS = ("flow", "stale")
MAX_REMAP_CHANNELS = 4  # OpenCV's remap: > 4 channels silently coarser (OpenCV 5.1), > 128 refused


def parse_motion(text: str) -> str:
    """The flow provider a motion spec names: ``"flow"`` -> ``"auto"``, ``"flow:dis-fast"`` ->
    ``"dis-fast"`` (checked against the provider table).

    >>> parse_motion("flow"), parse_motion("flow:dis-ultrafast")
    ('auto', 'dis-ultrafast')
    >>> parse_motion("optical")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    edgeseg.errors.ConfigError: invalid StreamOptions.motion...
    """
    kind, _, spec = str(text).partition(":")
    if kind != "flow":
        raise ConfigError("invalid StreamOptions.motion", got=repr(text),
                          expected="None (off) | 'flow' | 'flow:PROVIDER[-PRESET]', e.g. 'flow:dis-fast'",
                          fix="motion='flow' (the best flow provider here)")
    spec = spec or "auto"
    try:
        parse_flow(spec)
    except ConfigError as exc:  # named as the option the user set, with the table's did-you-mean
        raise ConfigError("invalid StreamOptions.motion", expected=f"flow:PROVIDER with {exc.what}s of {exc.expected}",
                          got=repr(text), fix=exc.fix) from None
    return spec


@lru_cache(maxsize=8)
def _grid(h: int, w: int) -> tuple[np.ndarray, np.ndarray]:
    gx, gy = np.meshgrid(np.arange(w, dtype=np.float32), np.arange(h, dtype=np.float32))
    gx.flags.writeable = gy.flags.writeable = False
    return gx, gy


@lru_cache(maxsize=8)
def _picks(frame: tuple[int, int], small: tuple[int, int]) -> tuple[np.ndarray, np.ndarray]:
    """Rows and columns of a frame-size label map that give back the ``small`` map it was
    nearest-resized from (:func:`~edgeseg.postprocess.labels_to_frame`): for each small pixel,
    the first frame pixel OpenCV's INTER_NEAREST took from it, found by resizing the indices
    themselves (its fixed-point scale is not exactly ``x * small / frame``). A resize back down
    would sample other pixels."""
    picks = []
    for f, n in zip(frame, small):
        src = cv2.resize(np.arange(n, dtype=np.float32)[None], (f, 1), interpolation=cv2.INTER_NEAREST)[0]
        first = np.full(n, -1, np.intp)
        taken, at = np.unique(src.astype(np.intp), return_index=True)  # the first frame pixel of each
        first[taken] = at
        missing = first < 0  # a frame smaller than ``small`` here: nearest frame pixel
        first[missing] = np.minimum((np.flatnonzero(missing) * f) // n, f - 1)
        picks.append(first)
    return picks[0], picks[1]


def flow_maps(flow: Flow, shape, fill: str = "flow") -> tuple[np.ndarray, np.ndarray]:
    """Remap tables (map_x, map_y) at ``shape`` (h, w) that sample the reference frame where each
    point of the current one was: the flow resized bilinearly (pixel centres aligned, as the
    frames were shrunk) and scaled from grid pixels to ``shape``'s. ``fill="stale"``: zero motion
    where the flow is unreliable.

    >>> f = Flow(np.full((2, 2, 2), 0.5, np.float32), np.ones((2, 2), bool))
    >>> mx, my = flow_maps(f, (4, 4)); float(mx[0, 0]), float(my[3, 3])  # 0.5 grid px = 1 px here
    (1.0, 4.0)
    """
    if fill not in FILLS:
        raise ConfigError("unknown fill for unreliable flow", expected=" | ".join(FILLS), got=repr(fill))
    h, w = int(shape[0]), int(shape[1])
    field = flow.field
    if fill == "stale" and not flow.reliable.all():
        field = np.where(flow.reliable[..., None], field, np.float32(0))
    gh, gw = field.shape[:2]
    # planes split at the grid's size, then resized: splitting a 720p 2-channel field costs ~10x more
    fx, fy = cv2.split(field)
    if (gh, gw) != (h, w):
        fx, fy = (cv2.resize(c, (w, h), interpolation=cv2.INTER_LINEAR) for c in (fx, fy))
    gx, gy = _grid(h, w)
    return cv2.scaleAdd(fx, w / gw, gx), cv2.scaleAdd(fy, h / gh, gy)


@cache
def exact_remap_channels(interpolation: int = cv2.INTER_LINEAR) -> tuple[int, ...]:
    """The channel counts up to 4 that one ``cv2.remap`` call warps exactly as it warps a single
    channel, probed once in the installed OpenCV. OpenCV 5.1's float bilinear remap is exact for
    1, 3 and 4 channels but takes a coarser fixed-point path (1/32-pixel weights, up to 0.02 off
    on 0..1 data) for 2 and for 5 or more, and refuses more than 128: a chunk size that is right
    on one release silently changes results on the next.

    >>> 1 in exact_remap_channels()
    True
    """
    rng = np.random.default_rng(0)
    src = rng.random((8, 9, MAX_REMAP_CHANNELS), dtype=np.float32)
    mx = (rng.random((8, 9)) * 8).astype(np.float32)
    my = (rng.random((8, 9)) * 7).astype(np.float32)
    planes = [cv2.remap(np.ascontiguousarray(src[..., i]), mx, my, interpolation) for i in range(src.shape[2])]
    exact = [1]
    for c in range(2, MAX_REMAP_CHANNELS + 1):
        got = cv2.remap(np.ascontiguousarray(src[..., :c]), mx, my, interpolation)
        if np.array_equal(got, np.stack(planes[:c], -1)):
            exact.append(c)
    return tuple(exact)


def remap_channels(src: np.ndarray, map_x: np.ndarray, map_y: np.ndarray, interpolation: int = cv2.INTER_LINEAR,
                   border: int = cv2.BORDER_REPLICATE) -> np.ndarray:
    """``cv2.remap`` of an HxW or HxWxC array in chunks of at most 4 channels, each chunk a
    count OpenCV warps exactly (:func:`exact_remap_channels`), so any channel count gives what
    warping each channel alone gives.

    >>> a = np.random.default_rng(0).random((5, 6, 150), dtype=np.float32)
    >>> gx, gy = np.meshgrid(np.arange(6, dtype=np.float32) + 0.5, np.arange(5, dtype=np.float32))
    >>> remap_channels(a, gx, gy).shape
    (5, 6, 150)
    """
    if src.ndim == 2:
        return cv2.remap(src, map_x, map_y, interpolation, borderMode=border)
    counts = exact_remap_channels(interpolation)
    out = np.empty(map_x.shape + (src.shape[2],), src.dtype)
    i = 0
    while i < src.shape[2]:
        n = max(c for c in counts if c <= src.shape[2] - i)
        part = cv2.remap(np.ascontiguousarray(src[..., i:i + n]), map_x, map_y, interpolation, borderMode=border)
        out[..., i:i + n] = part if part.ndim == 3 else part[..., None]
        i += n
    return out


def warp_labels(labels: np.ndarray, flow: Flow, fill: str = "flow") -> np.ndarray:
    """Class ids (HxW) moved along ``flow`` by nearest sampling (ids must not blend); a point
    whose origin is outside the frame takes the nearest edge's id."""
    mx, my = flow_maps(flow, labels.shape, fill)
    return cv2.remap(labels, mx, my, cv2.INTER_NEAREST, borderMode=cv2.BORDER_REPLICATE)


def warp_scores(scores: np.ndarray, flow: Flow, fill: str = "flow") -> tuple[np.ndarray, np.ndarray]:
    """Class scores (CxHxW) moved along ``flow`` bilinearly -> (HxW ids of the warped argmax,
    the warped CxHxW scores). Each class plane is one single-channel remap, straight from and
    into CxHxW (no interleaving: a 4-channel chunk would need a transpose in and out), so any
    class count warps exactly as one plane does.

    >>> s = np.zeros((3, 4, 6), np.float32); s[0] = 1; s[2, :, 3] = 2   # class 2 in column 3
    >>> back = np.zeros((4, 6, 2), np.float32); back[..., 0] = -1
    >>> ids, warped = warp_scores(s, Flow(back, np.ones((4, 6), bool)))
    >>> ids[0].tolist(), warped.shape
    ([0, 0, 0, 0, 2, 0], (3, 4, 6))
    """
    if scores.ndim != 3:
        raise ConfigError("scores to warp must be C x H x W", got=f"shape {scores.shape}")
    mx, my = flow_maps(flow, scores.shape[1:], fill)
    planes = np.ascontiguousarray(scores, dtype=np.float32)
    out = np.empty_like(planes)
    for plane, dst in zip(planes, out):
        got = cv2.remap(plane, mx, my, cv2.INTER_LINEAR, dst=dst, borderMode=cv2.BORDER_REPLICATE)
        if not np.shares_memory(got, dst):
            dst[...] = got
    return argmax_classes(out), out


@dataclass
class Reference:
    """A network result and the frame it was computed on: what later frames are warped from."""

    index: int
    image: np.ndarray
    result: SegResult
    prepared: object = None  # the flow provider's input for this frame, made once


@dataclass
class Warped:
    """One output frame's labels: ``result`` (labels at frame size; warped scores in scores
    mode), ``net_index`` the network frame they came from, ``carried`` frames since it,
    ``warped`` the fraction of the frame moved along trusted flow, ``unreliable`` the flow grid's
    failed points (None when nothing was warped), ``timings`` ms (``flow``, ``warp``)."""

    result: SegResult
    net_index: int
    carried: int
    warped: float = 0.0
    unreliable: np.ndarray | None = None
    timings: dict = field(default_factory=dict)


class MotionCompensator:
    """The stream's motion stage. The network's thread :meth:`publish` es each result with its
    frame; the flow thread takes each output frame to :meth:`reference` (the newest result from
    a frame not after it) and :meth:`warp` s that result onto it.

    ``provider``: a :class:`~edgeseg.runtime.flow.FlowProvider`; ``warp``: ``labels`` | ``scores``;
    ``fill``: what unreliable pixels get (``flow`` | ``stale``); ``keep``: results held (a frame
    that trails the network's newest still finds the one before it); ``labels_size``: (h, w) the
    labels are warped at: the network's size, whose labels the frame's are a nearest upsampling
    of, so sampling them down there loses nothing and the warp touches 3.5x fewer pixels at 720p
    from 512x512. Nearest sampling on that grid moves labels in whole cells, so it is used only
    while a cell is at most ``MAX_CELL`` frame pixels (512x512 for 720p: 2.5 x 1.4); a coarser
    network (64x64: 20 px) is warped at the frame's size (None: always there).

    A frame the network is running on waits for its own result when that is due within
    ``wait_own`` seconds (:meth:`reference`; the stream passes half a camera period, so the next
    frame is not held up): a network faster than the camera then gives every frame it takes its
    own fresh labels, as without motion, and only the frames it skips are warped.

    >>> import numpy as np
    >>> from edgeseg.runtime.flow import open_flow
    >>> mc = MotionCompensator(open_flow("dis-fast", size=64))
    >>> img = np.random.default_rng(0).integers(0, 255, (32, 48, 3), dtype=np.uint8)
    >>> mc.publish(0, img, SegResult(np.zeros((32, 48), np.uint8)))
    >>> ref = mc.reference(3)
    >>> w = mc.warp(3, img, ref)
    >>> (w.net_index, w.carried, w.result.labels.shape)
    (0, 3, (32, 48))
    """

    def __init__(self, provider: FlowProvider, warp: str = "labels", fill: str = "flow", keep: int = 4,
                 labels_size: tuple[int, int] | None = None):
        if warp not in WARPS:
            raise ConfigError("unknown motion warp", expected=" | ".join(WARPS), got=repr(warp))
        if fill not in FILLS:
            raise ConfigError("unknown fill for unreliable flow", expected=" | ".join(FILLS), got=repr(fill))
        self.provider, self.mode, self.fill = provider, warp, fill
        self.labels_size = None if labels_size is None else (int(labels_size[0]), int(labels_size[1]))
        self._refs: collections.deque[Reference] = collections.deque(maxlen=max(1, keep))
        self._prepared: collections.OrderedDict = collections.OrderedDict()  # frame index -> provider input
        self._cond = threading.Condition()
        self._done = False
        self._queued: int | None = None  # the frame offered to the network next
        self._running: tuple[int, float] | None = None  # (frame index, monotonic start) of the inference in flight
        self._lag: float | None = None  # EMA of seconds from an inference's start to its result

    # -- the network's side -------------------------------------------------------------------
    def queued(self, index: int) -> None:
        """Frame ``index`` is the one the network takes next (unless a newer one replaces it)."""
        with self._cond:
            self._queued = index
            self._cond.notify_all()

    def started(self, index: int) -> None:
        """The network began on frame ``index`` (its result's due time is learnt from the past ones)."""
        with self._cond:
            self._running = (index, time.monotonic())

    def publish(self, index: int, image: np.ndarray, result: SegResult) -> None:
        """A new network result, on frame ``index`` (whose BGR ``image`` is kept for the flow)."""
        if self.mode == "scores" and result.scores is None:
            raise ConfigError("motion_warp='scores' needs the model's class scores", got="a result without scores",
                              fix="Segmenter(path, scores=True), or motion_warp='labels'")
        with self._cond:
            if self._running is not None and self._running[0] == index:
                lag = time.monotonic() - self._running[1]
                self._lag = lag if self._lag is None else self._lag + 0.2 * (lag - self._lag)
                self._running = None
            self._refs.append(Reference(index, image, result))
            self._cond.notify_all()

    def finish(self) -> None:
        """No more results will come (the network's thread ended)."""
        with self._cond:
            self._done = True
            self._cond.notify_all()

    # -- the flow thread's side ---------------------------------------------------------------
    def reference(self, index: int, timeout: float | None = None, stop: threading.Event | None = None,
                  wait_own: float = 0.0):
        """The newest result from a frame at or before ``index``, waiting for the first one;
        else (the flow trailing the network by more than ``keep`` results) the oldest held,
        which is warped back in time (``carried`` < 0). None once :meth:`finish` was called with
        none, on ``timeout``, or when ``stop`` is set. ``wait_own``: when the network is running
        on frame ``index`` and its result is due within that many seconds, wait for it."""
        deadline = None if timeout is None else time.monotonic() + timeout
        with self._cond:
            due = self._own_due(index)
            if wait_own > 0 and due is not None and due - time.monotonic() <= wait_own:
                until = min(due + wait_own, deadline or math.inf)
                while not any(r.index == index for r in self._refs) and not self._done:
                    left = until - time.monotonic()
                    if left <= 0 or (stop is not None and stop.is_set()) or self._own_due(index) is None:
                        break
                    self._cond.wait(min(left, 0.1))
            while not self._refs and not self._done:
                if stop is not None and stop.is_set():
                    return None
                left = 0.1 if deadline is None else min(0.1, deadline - time.monotonic())
                if left <= 0:
                    return None
                self._cond.wait(left)
            if not self._refs:
                return None
            before = [r for r in self._refs if r.index <= index]
            return before[-1] if before else self._refs[0]

    def _own_due(self, index: int) -> float | None:
        """When the network's result on frame ``index`` should come (monotonic s); None when it
        is not running on it nor about to (or nothing was learnt yet). Under the lock."""
        running, lag = self._running, self._lag
        if lag is None:
            return None
        if running is not None and running[0] == index:
            return running[1] + lag
        if self._queued == index:  # next in line: after the one in flight, or now
            return (running[1] + 2 * lag) if running is not None else time.monotonic() + lag
        return None

    def prepare(self, index: int, image: np.ndarray):
        """The provider's input for frame ``index``, made once and kept for the recent frames
        (the network's frame passed through here before its result came back)."""
        got = self._prepared.get(index)
        if got is None:
            got = self._prepared[index] = self.provider.prepare(image)
            while len(self._prepared) > 32:
                self._prepared.popitem(last=False)
        return got

    def warp(self, index: int, image: np.ndarray, ref: Reference) -> Warped:
        """``ref``'s result moved onto frame ``index``. The provider's errors propagate (the
        stream shows :meth:`unwarped` instead and counts them)."""
        if index == ref.index:
            return self.unwarped(index, ref)
        t0 = time.perf_counter()
        current = self.prepare(index, image)
        if ref.prepared is None:
            cached = self._prepared.get(ref.index)
            ref.prepared = cached if cached is not None else self.provider.prepare(ref.image)
        flow = self.provider.flow(current, ref.prepared)
        t1 = time.perf_counter()
        result = ref.result
        if self.mode == "scores":
            ids, scores = warp_scores(result.scores, flow, self.fill)
            warped = SegResult(labels_to_frame(ids, image.shape[:2]), scores)
        else:
            warped = SegResult(self._warp_labels(result.labels, flow))
        timings = {"flow": 1e3 * (t1 - t0), "warp": 1e3 * (time.perf_counter() - t1)}
        return Warped(warped, ref.index, index - ref.index, flow.reliable_fraction, ~flow.reliable, timings)

    MAX_CELL = 2.5  # frame pixels per cell of the grid labels are warped on, at most

    def _warp_labels(self, labels: np.ndarray, flow: Flow) -> np.ndarray:
        h, w = labels.shape[:2]
        if self.labels_size is None:
            return warp_labels(labels, flow, self.fill)
        small = (min(h, self.labels_size[0]), min(w, self.labels_size[1]))
        if small == (h, w) or h / small[0] > self.MAX_CELL or w / small[1] > self.MAX_CELL:
            return warp_labels(labels, flow, self.fill)
        ys, xs = _picks((h, w), small)
        return labels_to_frame(warp_labels(labels[ys][:, xs], flow, self.fill), (h, w))

    def unwarped(self, index: int, ref: Reference) -> Warped:
        """``ref``'s result as it is (the frame the network saw, or a flow that failed)."""
        return Warped(ref.result, ref.index, index - ref.index)

    def close(self) -> None:
        self.provider.close()


__all__ = ["FILLS", "MAX_REMAP_CHANNELS", "WARPS", "MotionCompensator", "Reference", "Warped", "exact_remap_channels",
           "flow_maps",
           "parse_motion", "remap_channels", "warp_labels", "warp_scores"]
