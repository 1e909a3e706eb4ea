"""Dense optical flow for motion-compensated output: providers behind one table.

A provider turns two frames into a :class:`Flow`: for each point of the *current* frame, where
it lies in the *reference* frame (``current(x) ~ reference(x + field(x))``, backward flow: what a
warp of the reference's labels onto the current frame samples), on a grid covering the whole
frame at low resolution, and which of those vectors can be trusted (``reliable``).

- ``dis``: OpenCV's DIS optical flow on the CPU (presets ``ultrafast`` | ``fast`` | ``medium``),
  on the frames scaled so their long side is ``size`` pixels; reliability from a forward-backward
  check (Sundaram, Brox & Keutzer 2010), which costs a second flow.
- ``nvof``: NVIDIA's optical flow hardware (Turing and later) through OpenCV's CUDA module
  (``cv2.cuda.NvidiaOpticalFlow_2_0``, or ``_1_0``); reliability from the forward-backward check
  and the hardware's cost buffer. Needs an OpenCV built with CUDA and NVIDIA optical flow: the
  opencv-python wheels are not.
- ``vpi``: VPI's dense optical flow on a Jetson's OFA (AGX Orin: VPI 3 with JetPack 6).

:func:`available_providers` says which work here and why the others do not; ``"auto"`` picks
the first that works of :data:`AUTO_ORDER` (hardware first, DIS always works).

>>> sorted(FLOW_PROVIDERS), parse_flow("dis-medium"), parse_flow("dis")
(['dis', 'nvof', 'vpi'], ('dis', 'medium'), ('dis', 'fast'))
>>> available_providers()["dis"] is None   # None: works here; else the reason it does not
True
>>> import numpy as np
>>> a = np.zeros((48, 64, 3), np.uint8); a[16:32, 20:36] = 255
>>> b = np.roll(a, 3, axis=1)              # the square moved 3 px right
>>> with open_flow("dis-medium", size=64) as of:
...     f = of.flow(of.prepare(b), of.prepare(a))
>>> f.field.shape, round(float(f.field[24, 30, 0]))   # the square's point came from 3 px left
((48, 64, 2), -3)
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from typing import ClassVar

import cv2
import numpy as np

from ..errors import ConfigError
from ..uri import did_you_mean

FLOW_SIZE = 256  # long side the flow works at by default: 256x144 for 720p, 1 grid px = 5 frame px


@dataclass
class Flow:
    """Backward flow on a grid covering the whole frame: ``field`` (h, w, 2) float32 in grid
    pixels (x then y), ``reliable`` (h, w) bool: the vectors that passed the provider's checks.

    >>> f = Flow(np.zeros((9, 16, 2), np.float32), np.ones((9, 16), bool))
    >>> f.shape, f.reliable_fraction, float(f.magnitude((720, 1280)).max())
    ((9, 16), 1.0, 0.0)
    """

    field: np.ndarray
    reliable: np.ndarray

    @property
    def shape(self) -> tuple[int, int]:
        return self.field.shape[:2]

    @property
    def reliable_fraction(self) -> float:
        return float(self.reliable.mean()) if self.reliable.size else 0.0

    def magnitude(self, frame_shape) -> np.ndarray:
        """Each vector's length in pixels of a frame of ``frame_shape`` (H, W, ...)."""
        h, w = self.shape
        sx, sy = frame_shape[1] / w, frame_shape[0] / h
        return np.hypot(self.field[..., 0] * sx, self.field[..., 1] * sy)


def grid(shape) -> tuple[np.ndarray, np.ndarray]:
    """Pixel coordinates (x, y) of an (h, w) grid, float32, for building remap tables.

    >>> gx, gy = grid((2, 3)); gx.tolist(), gy[:, 0].tolist()
    ([[0.0, 1.0, 2.0], [0.0, 1.0, 2.0]], [0.0, 1.0])
    """
    h, w = shape[:2]
    return np.meshgrid(np.arange(w, dtype=np.float32), np.arange(h, dtype=np.float32))


def consistent(forward: np.ndarray, backward: np.ndarray, alpha: float = 0.01, beta: float = 0.5) -> np.ndarray:
    """Forward-backward check: where following ``forward`` and then ``backward`` (sampled where
    ``forward`` lands) returns near the start, ``|f + b(x + f)|^2 < alpha (|f|^2 + |b|^2) + beta``
    (grid pixels). Points that land outside the other frame fail: they have nothing to come from.

    >>> f = np.full((4, 4, 2), 1.0, np.float32)
    >>> consistent(f, -f).tolist()[0], bool(consistent(f, f).any())
    ([True, True, True, False], False)
    """
    h, w = forward.shape[:2]
    gx, gy = _grid(h, w)
    fx, fy = cv2.split(forward)  # planes: numpy reductions over a last axis of 2 are slow
    mx, my = gx + fx, gy + fy
    # one plane at a time: OpenCV 5.1 samples 2-channel float images with coarser weights
    bx, by = (cv2.remap(c, mx, my, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE) for c in cv2.split(backward))
    ex, ey = fx + bx, fy + by
    err = ex * ex + ey * ey
    scale = fx * fx + fy * fy + bx * bx + by * by
    inside = (mx >= 0) & (mx <= w - 1) & (my >= 0) & (my <= h - 1)
    return (err < alpha * scale + beta) & inside


@lru_cache(maxsize=8)
def _grid(h: int, w: int) -> tuple[np.ndarray, np.ndarray]:
    gx, gy = grid((h, w))
    gx.flags.writeable = gy.flags.writeable = False
    return gx, gy


class FlowProvider:
    """Base of the providers: ``prepare(image)`` once per frame (a BGR frame at any size -> what
    ``flow`` takes: a low-resolution grey image, or a GPU buffer), ``flow(current, reference)``
    -> :class:`Flow`, ``close()``; a context manager. Subclasses fill in ``_calc`` (one
    direction, grid pixels) and, where they have more than the forward-backward check,
    ``_reliable``; ``unavailable()`` says why one cannot run here (None: it can).

    ``preset``: one of ``presets`` (None: ``default_preset``); ``size``: the long side, in
    pixels, frames are scaled to before the flow (never up); ``check``: run the
    forward-backward check (a second flow), else every vector counts as reliable.
    """

    name: ClassVar[str] = ""
    presets: ClassVar[tuple[str, ...]] = ()
    default_preset: ClassVar[str | None] = None

    def __init__(self, preset: str | None = None, size: int = FLOW_SIZE, check: bool = True):
        self.preset = check_preset(type(self), preset)
        if isinstance(size, bool) or not isinstance(size, int) or size < 16:
            raise ConfigError(f"invalid {self.name} flow size", expected="the long side in pixels, an int >= 16",
                              got=repr(size), fix=f"size={FLOW_SIZE}")
        self.size, self.check = size, bool(check)

    @classmethod
    def unavailable(cls) -> str | None:
        """None where this provider can run; else the reason it cannot, and what would fix it."""
        return None

    @property
    def spec(self) -> str:
        """``name-preset``, as :func:`open_flow` takes it."""
        return f"{self.name}-{self.preset}" if self.preset else self.name

    def small(self, image: np.ndarray) -> np.ndarray:
        """``image`` as uint8 grey with its long side at most ``size`` (area-averaged)."""
        grey = image if image.ndim == 2 else cv2.cvtColor(image, cv2.COLOR_BGR2GRAY)
        h, w = grey.shape[:2]
        scale = min(1.0, self.size / max(h, w))
        if scale < 1.0:
            grey = cv2.resize(grey, (max(1, round(w * scale)), max(1, round(h * scale))), interpolation=cv2.INTER_AREA)
        return grey

    def prepare(self, image: np.ndarray):
        return self.small(image)

    def flow(self, current, reference) -> Flow:
        """Backward flow from ``current`` to ``reference`` (both from ``prepare``)."""
        forward = self._calc(current, reference)
        if not self.check:
            return Flow(forward, np.ones(forward.shape[:2], bool))
        backward = self._calc(reference, current)
        return Flow(forward, consistent(forward, backward) & self._reliable(forward))

    def _calc(self, current, reference) -> np.ndarray:
        raise NotImplementedError

    def _reliable(self, field: np.ndarray) -> np.ndarray:
        return np.ones(field.shape[:2], bool)

    def close(self) -> None:
        pass

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.spec} size={self.size}>"


class DisFlow(FlowProvider):
    """OpenCV's DIS optical flow (Kroeger et al. 2016) on the CPU: about 0.4 / 0.9 / 3.9 ms per
    direction at 240x135 on one core (ultrafast / fast / medium)."""

    name = "dis"
    presets = ("ultrafast", "fast", "medium")
    default_preset = "fast"
    PRESETS: ClassVar[dict] = {"ultrafast": cv2.DISOPTICAL_FLOW_PRESET_ULTRAFAST,
                               "fast": cv2.DISOPTICAL_FLOW_PRESET_FAST,
                               "medium": cv2.DISOPTICAL_FLOW_PRESET_MEDIUM}

    def __init__(self, preset: str | None = None, size: int = FLOW_SIZE, check: bool = True):
        super().__init__(preset, size, check)
        self._dis = cv2.DISOpticalFlow_create(self.PRESETS[self.preset])

    def _calc(self, current, reference) -> np.ndarray:
        if current.shape != reference.shape:
            raise ConfigError("flow between frames of different sizes", expected=str(reference.shape),
                              got=str(current.shape), fix="a source changing its frame size restarts the flow")
        return self._dis.calc(current, reference, None)


def _cuda_reason() -> str | None:
    """Why OpenCV's CUDA optical flow cannot run here, or None."""
    cuda = getattr(cv2, "cuda", None)
    build = "the opencv-python wheels are built without CUDA: build OpenCV with opencv_contrib, " \
            "-DWITH_CUDA=ON -DWITH_NVIDIA_OPTICAL_FLOW=ON"
    if cuda is None or not any(hasattr(cuda, n) for n in ("NvidiaOpticalFlow_2_0", "NvidiaOpticalFlow_1_0")):
        return f"this OpenCV ({cv2.__version__}) has no cv2.cuda.NvidiaOpticalFlow; {build}"
    try:
        devices = cuda.getCudaEnabledDeviceCount()
    except cv2.error as exc:
        return f"OpenCV's CUDA module cannot query devices ({str(exc).strip()[-120:]})"
    if devices < 1:
        return f"OpenCV {cv2.__version__} sees no CUDA device (0 devices; {build} and an NVIDIA GPU from Turing on)"
    return None


class NvidiaFlow(FlowProvider):
    """NVIDIA's optical flow accelerator through OpenCV CUDA: SDK 2.0 where OpenCV has it (a
    4x4 output grid), else SDK 1.0 (the GPU's own grid). Vectors come in S10.5 fixed point
    at image pixels; they are converted to float and divided by the grid. Its cost buffer
    (higher: less confident) marks as unreliable the cells costing over ``COST_FACTOR`` times
    the frame's median. Written against OpenCV 4.x/5.x ``cudaoptflow``; not run on hardware
    here (no CUDA OpenCV on the development machines)."""

    name = "nvof"
    presets = ("slow", "medium", "fast")
    default_preset = "fast"
    LEVELS: ClassVar[dict] = {"slow": 5, "medium": 10, "fast": 20}  # NV_OF_PERF_LEVEL_*
    GRID = 4
    COST_FACTOR = 4.0

    @classmethod
    def unavailable(cls) -> str | None:
        return _cuda_reason()

    def __init__(self, preset: str | None = None, size: int = FLOW_SIZE, check: bool = True, gpu: int = 0):
        super().__init__(preset, size, check)
        reason = self.unavailable()
        if reason is not None:
            raise ConfigError("NVIDIA hardware optical flow is not available", got=reason,
                              fix="motion='flow:dis-fast' runs OpenCV's DIS flow on the CPU")
        self.gpu, self._of, self._shape, self._cost = gpu, None, None, None

    def _session(self, shape):
        if self._of is not None and self._shape == shape:
            return self._of
        self.close()
        cuda, level, (h, w) = cv2.cuda, self.LEVELS[self.preset], shape
        if hasattr(cuda, "NvidiaOpticalFlow_2_0"):
            self._of = cuda.NvidiaOpticalFlow_2_0.create((w, h), level, self.GRID, self.GRID, False, False, True,
                                                         self.gpu)
        else:
            self._of = cuda.NvidiaOpticalFlow_1_0.create((w, h), level, False, False, True, self.gpu)
        self._shape = shape
        return self._of

    def prepare(self, image: np.ndarray):
        return cv2.cuda_GpuMat(self.small(image))

    def _calc(self, current, reference) -> np.ndarray:
        h, w = current.size()[::-1]
        of = self._session((h, w))
        out = of.calc(current, reference, None)
        fixed, cost = (out[0], out[1]) if isinstance(out, tuple) else (out, None)
        if hasattr(of, "convertToFloat"):
            field = of.convertToFloat(fixed, None)
        else:
            field = of.upSampler(fixed, (w, h), of.getGridSize(), None)
        field = field.download() if hasattr(field, "download") else np.asarray(field)
        self._cost = cost.download() if hasattr(cost, "download") else cost
        cell = w / field.shape[1]  # vectors are in image pixels; the grid's pixels are cells
        return np.ascontiguousarray(field, np.float32) / np.float32(cell)

    def flow(self, current, reference) -> Flow:
        forward = self._calc(current, reference)
        cost = self._cost  # the forward pass's, before the backward one replaces it
        reliable = self._reliable_cost(cost, forward.shape[:2])
        if self.check:
            reliable &= consistent(forward, self._calc(reference, current))
        return Flow(forward, reliable)

    def _reliable_cost(self, cost, shape) -> np.ndarray:
        if cost is None or np.size(cost) == 0:
            return np.ones(shape, bool)
        cost = np.asarray(cost, np.float32).reshape(cost.shape[:2])
        if cost.shape != shape:
            cost = cv2.resize(cost, shape[::-1], interpolation=cv2.INTER_NEAREST)
        return cost <= self.COST_FACTOR * max(float(np.median(cost)), 1.0)

    def close(self) -> None:
        if self._of is not None:
            self._of.collectGarbage()
            self._of = None


class VpiFlow(FlowProvider):
    """VPI's dense optical flow on a Jetson's optical flow accelerator (``vpi.Backend.OFA``, AGX
    Orin and Orin NX/Nano with VPI 3): motion vectors per 4x4 block in S10.5 fixed point.
    ``vpi.optflow_dense(ref, frame)`` gives, for the blocks of ``frame``, where they are in
    ``ref`` (the encoder convention), so ``ref`` is the reference frame here. Written against
    the VPI 3 Python API; not run on a Jetson here."""

    name = "vpi"
    presets = ("low", "medium", "high")
    default_preset = "medium"

    @classmethod
    def unavailable(cls) -> str | None:
        try:
            import vpi
        except ImportError:
            return "VPI is not installed (it comes with JetPack on a Jetson: apt install python3-vpi3)"
        if not hasattr(vpi, "optflow_dense") or not hasattr(vpi.Backend, "OFA"):
            return f"this VPI ({getattr(vpi, '__version__', '?')}) has no dense optical flow on the OFA (VPI >= 3)"
        return None

    def __init__(self, preset: str | None = None, size: int = FLOW_SIZE, check: bool = True):
        super().__init__(preset, size, check)
        reason = self.unavailable()
        if reason is not None:
            raise ConfigError("VPI optical flow is not available", got=reason,
                              fix="motion='flow:dis-fast' runs OpenCV's DIS flow on the CPU")
        import vpi
        self._vpi = vpi
        self._quality = {"low": vpi.OptFlowQuality.LOW, "medium": vpi.OptFlowQuality.MEDIUM,
                         "high": vpi.OptFlowQuality.HIGH}[self.preset]

    def prepare(self, image: np.ndarray):
        vpi = self._vpi
        with vpi.Backend.CUDA:
            return vpi.asimage(self.small(image)).convert(vpi.Format.Y8_ER_BL)

    def _calc(self, current, reference) -> np.ndarray:
        vpi = self._vpi
        mv = vpi.optflow_dense(reference, current, backend=vpi.Backend.OFA, quality=self._quality)
        with mv.rlock_cpu() as data:
            field = np.float32(data) / 32.0  # S10.5 -> image pixels
        cell = current.width / field.shape[1]
        return np.ascontiguousarray(field / np.float32(cell))


# name -> class: the ONE place a flow spec picks an implementation.
FLOW_PROVIDERS: dict[str, type[FlowProvider]] = {cls.name: cls for cls in (DisFlow, NvidiaFlow, VpiFlow)}
AUTO_ORDER = ("nvof", "vpi", "dis")


def check_preset(cls: type[FlowProvider], preset: str | None) -> str | None:
    """``preset`` (or the class's default) if ``cls`` has it; a did-you-mean ConfigError if not."""
    if preset is None:
        return cls.default_preset
    if preset not in cls.presets:
        raise ConfigError(f"unknown {cls.name} flow preset", expected=" | ".join(cls.presets) or "(none)",
                          got=preset, fix=did_you_mean(preset, cls.presets))
    return preset


def parse_flow(spec: str) -> tuple[str, str | None]:
    """``"name"`` or ``"name-preset"`` -> (name, preset); ``"auto"`` -> ("auto", None).

    >>> parse_flow("auto"), parse_flow("nvof-slow")
    (('auto', None), ('nvof', 'slow'))
    >>> parse_flow("dsi")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    edgeseg.errors.ConfigError: unknown flow provider...
    """
    if not isinstance(spec, str) or not spec:
        raise ConfigError("a flow provider is named by a string", got=repr(spec), fix="'dis-fast' or 'auto'")
    if spec == "auto":
        return "auto", None
    name, _, preset = spec.partition("-")
    if name not in FLOW_PROVIDERS:
        raise ConfigError("unknown flow provider", expected="auto | " + " | ".join(FLOW_PROVIDERS), got=spec,
                          fix=did_you_mean(name, FLOW_PROVIDERS) or "e.g. 'dis-fast'")
    cls = FLOW_PROVIDERS[name]
    return name, check_preset(cls, preset or None)


def available_providers() -> dict[str, str | None]:
    """Provider name -> None where it can run here, else the reason it cannot."""
    return {name: cls.unavailable() for name, cls in FLOW_PROVIDERS.items()}


def open_flow(spec: str = "auto", size: int = FLOW_SIZE, check: bool = True) -> FlowProvider:
    """The provider for ``spec`` (see :func:`parse_flow`); ``"auto"``: the first of
    :data:`AUTO_ORDER` that can run here. A named provider that cannot run is a ConfigError
    carrying the reason."""
    name, preset = parse_flow(spec)
    if name == "auto":
        name = next(n for n in AUTO_ORDER if n in FLOW_PROVIDERS and FLOW_PROVIDERS[n].unavailable() is None)
    cls = FLOW_PROVIDERS[name]
    reason = cls.unavailable()
    if reason is not None:
        raise ConfigError(f"flow provider {name} is not available here", got=reason,
                          fix="motion='flow:dis-fast' runs OpenCV's DIS flow on the CPU")
    return cls(preset, size=size, check=check)


__all__ = ["AUTO_ORDER", "FLOW_PROVIDERS", "FLOW_SIZE", "DisFlow", "Flow", "FlowProvider", "NvidiaFlow", "VpiFlow",
           "available_providers", "check_preset", "consistent", "grid", "open_flow", "parse_flow"]
