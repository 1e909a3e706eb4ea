"""The TensorRT runner: an engine (a raw plan and its sidecar), or an ONNX built once into the cache.

Written against the TensorRT 10 and 11 tensor API (``execute_async_v3`` with named tensor
addresses); every TensorRT name used here is checked against both versions' API by
``tests/backends/tensorrt/test_api_surface.py`` and listed with its sources in
docs/tensorrt_api.md. CUDA memory and streams come from :mod:`edgeseg.backends.tensorrt.cuda`
(pycuda or cuda-python). No torch, anywhere.

The sidecar (or a legacy file's header) is read and checked against the plan and against this
TensorRT and GPU *before* the plan reaches TensorRT, so a truncated, foreign or mismatched file is
a clear :class:`ModelError`, never a crash inside the deserializer. A plan without a sidecar
(trtexec's) runs with ``meta=`` given; TensorRT then checks versions itself. The meta is checked
against the engine's tensors as it opens (:func:`~edgeseg.backends.graph_check.check_graph`), and
of several outputs only the meta's ``output_name`` (else the first) is copied back.

>>> parse_device("cuda:1"), parse_device("auto")
(1, 0)
>>> parse_device("cpu")  # doctest: +ELLIPSIS
Traceback (most recent call last):
edgeseg.errors.ConfigError: TensorRT runs on an NVIDIA GPU, not on cpu
...
>>> # with TensorRTBackend("model.engine") as b: logits = b(batch)
>>> # b = load_backend("model.onnx", backend="tensorrt")   # builds once (fp16), then reuses
>>> # t0 = b.submit(x0); t1 = b.submit(x1); y0 = b.collect(t0); y1 = b.collect(t1)
"""

from __future__ import annotations

import collections
import itertools
import os
import sys
import threading
from dataclasses import dataclass, field

import numpy as np

from ...errors import ConfigError, DataError, EdgesegError, MissingDependencyError, ModelError
from ...lazy import require
from ...meta import ModelMeta, load_meta
from ...utils.files import existing_file
from ..base import Backend, TensorSpec
from ..graph_check import check_graph
from .cuda import CudaApi, CudaError, load_cuda

SUPPORTED_MAJORS = (10, 11)
_DEVICES = {"auto": 0, "cuda": 0, "gpu": 0}  # plus "cuda:N"
_SEVERITY = {"error": 1, "warning": 2, "info": 3, "verbose": 4}  # trt.ILogger.Severity values


def parse_device(device: str) -> int:
    """"auto" | "cuda" | "gpu" | "cuda:N" -> CUDA device index."""
    name = str(device).lower()
    if name in _DEVICES:
        return _DEVICES[name]
    if name.startswith("cuda:") and name[5:].isdigit():
        return int(name[5:])
    raise ConfigError(f"TensorRT runs on an NVIDIA GPU, not on {device}",
                      expected="auto | cuda | cuda:N", got=device,
                      fix="use the ONNX Runtime backend for CPU: --backend onnxruntime --device cpu")


def _field(header, name: str, default=None):
    """A header field, whether EngineHeader is an object or a mapping."""
    if isinstance(header, dict):
        return header.get(name, default)
    return getattr(header, name, default)


def _onnx_meta(path: str) -> ModelMeta:
    """The meta of an ONNX file (onnx is a build-side dependency, as is building an engine)."""
    from ..onnx_file import load_onnx
    from ..onnx_meta import get_onnx_meta
    return get_onnx_meta(load_onnx(path, load_external_data=False), path)


def _make_logger(trt, echo: str | None):
    """A TensorRT logger that keeps the last errors, so exceptions can quote what TensorRT said
    (its own stderr lines are easy to miss in a camera loop), and echoes from ``echo`` up."""
    limit = _SEVERITY.get(echo or "", -1)

    class _Logger(trt.ILogger):
        def __init__(self):
            trt.ILogger.__init__(self)  # pybind11 needs the base initialised explicitly
            self.errors = collections.deque(maxlen=6)

        def log(self, severity, msg):
            level = int(severity)
            if level <= 1:  # INTERNAL_ERROR, ERROR
                self.errors.append(str(msg))
            if level <= limit:
                print(f"[TensorRT] {msg}", file=sys.stderr)

        def tail(self) -> str:
            return " | ".join(self.errors) or "(TensorRT logged no error)"

    return _Logger()


@dataclass(frozen=True)
class Ticket:
    """A submitted batch: pass it to :meth:`TensorRTBackend.collect` once."""

    slot: int
    seq: int


@dataclass
class _Slot:
    """One execution context with its own stream and buffers: two of them let one frame's copies
    overlap another frame's compute."""

    index: int
    context: object
    stream: object
    shape: tuple | None = None
    host_in: object = None
    dev_in: object = None
    host_out: object = None
    dev_out: dict = field(default_factory=dict)
    ticket: Ticket | None = None


class TensorRTBackend(Backend):
    """``TensorRTBackend(path, device="auto", meta=None, *, precision=None, shapes=None,
    dla_core=None, workspace=None, streams=2, cuda="auto", log=print, trt_log="warning")``.

    ``path``: ``.engine``/``.plan`` from ``edgeseg build`` (the plan, with its sidecar beside it),
    another tool's plan with ``meta`` given (a ModelMeta or the path of a meta JSON), or an
    ``.onnx`` (built once through the engine cache; ``precision`` None picks int8 for Q/DQ models,
    else fp16). ``streams``: execution contexts for :meth:`submit`/:meth:`collect`. ``cuda``:
    "auto" | "pycuda" | "cuda-python" or a :class:`~edgeseg.backends.tensorrt.cuda.CudaApi`.
    """

    kind = "tensorrt"

    def __init__(self, path: str, device: str = "auto", meta: ModelMeta | str | None = None, *,
                 precision: str | None = None, shapes=None, dla_core: int | None = None,
                 workspace=None, streams: int = 2, cuda="auto", log=print, trt_log: str | None = "warning"):
        path = os.fspath(path)
        index = parse_device(device)
        if int(streams) < 1:
            raise ConfigError("streams must be at least 1", got=streams)
        existing_file(path)
        meta = load_meta(meta)
        build = {"precision": precision, "shapes": shapes, "dla_core": dla_core, "workspace": workspace}
        if path.lower().endswith(".onnx"):
            path, meta = self._build(path, meta, build, log)
        elif any(v is not None for v in build.values()):
            given = ", ".join(k for k, v in build.items() if v is not None)
            raise ConfigError(f"{given} only apply when building from ONNX", path=path,
                              expected="an .onnx path with build options, or an engine without them",
                              got="an engine file (already built)", fix="drop the options, or pass the .onnx")
        from .header import check_compatible, open_engine
        loaded = open_engine(path, meta)  # pure python: bad files fail here, before TensorRT
        header, plan, meta = loaded.header, loaded.plan, loaded.meta  # header None: a plan without facts
        self._cuda = None
        self._slots: list[_Slot] = []
        try:
            self._open(path, header, plan, meta, index, int(streams), cuda, trt_log, check_compatible)
        except BaseException:
            self._release()
            raise
        self._lock, self._seq, self._next = threading.Lock(), itertools.count(), 0

    # -- loading ----------------------------------------------------------------------------
    @staticmethod
    def _build(onnx_path: str, meta, build: dict, log):
        """ONNX -> cached engine path; meta first, so a model without meta fails before TensorRT."""
        meta = meta or _onnx_meta(onnx_path)
        if build["precision"] is None:
            # Q/DQ graphs (edgeseg quantize) are explicit INT8; everything else builds as FP16.
            build["precision"] = "int8" if meta.precision in ("int8", "mixed") else "fp16"
        require("tensorrt", "building a TensorRT engine")
        from .cache import cached_engine
        engine = cached_engine(onnx_path, log=log, **build)
        return os.fspath(engine), meta

    def _open(self, path, header, plan, meta, index, streams, cuda, trt_log, check_compatible):
        try:
            trt = require("tensorrt", "the TensorRT backend")
        except MissingDependencyError as exc:
            # The facts were read without TensorRT: say which TensorRT and GPU the plan needs, so a
            # user on the wrong machine learns both facts at once, not one per attempt.
            needs = ("TensorRT, the version that built it (no sidecar names it), on the GPU it was built for"
                     if header is None else
                     f"TensorRT {_field(header, 'tensorrt')} (the exact version that built it) on "
                     f"{_field(header, 'gpu')} (compute capability {_field(header, 'compute_capability')})")
            raise MissingDependencyError(
                "this engine needs TensorRT, which is not importable here", path=path, expected=needs,
                got=exc.got, fix=f"{exc.fix}; or rebuild the engine on this device from its ONNX, or run "
                                 "the .onnx with ONNX Runtime") from exc
        major = int(str(trt.__version__).split(".")[0])
        if major not in SUPPORTED_MAJORS:
            raise ModelError("this TensorRT is not supported", got=f"TensorRT {trt.__version__}",
                             expected=f"TensorRT {' or '.join(map(str, SUPPORTED_MAJORS))} (named tensor API)",
                             fix="install TensorRT 10 (JetPack 6) or 11")
        self._cuda = cuda if isinstance(cuda, CudaApi) else load_cuda(cuda, index)
        gpu, (cc_major, cc_minor) = self._cuda.device_info()
        if header is not None:  # a plan without facts: TensorRT's deserializer checks it, and we quote it
            check_compatible(header, trt.__version__, gpu, f"{cc_major}.{cc_minor}", engine_path=path)
        with self._cuda.activate():
            self._logger = _make_logger(trt, trt_log)
            self._runtime = trt.Runtime(self._logger)
            if _field(header, "version_compatible"):
                # Version-compatible plans embed a lean runtime (host code) that the runtime must
                # be allowed to load; without this, deserialization refuses them.
                self._runtime.engine_host_code_allowed = True
            dla = _field(header, "dla_core")
            if dla is not None:
                self._runtime.DLA_core = int(dla)
            self._engine = self._runtime.deserialize_cuda_engine(plan)
            if self._engine is None:
                raise ModelError("TensorRT could not deserialize the engine", path=path,
                                 got=self._logger.tail(),
                                 fix="rebuild it on this device with `edgeseg build` (plans are "
                                     "tied to a TensorRT version and GPU)"
                                     + ("; this plan has no sidecar, so edgeseg could not check its "
                                        "version first (version-compatible plans need one: edgeseg "
                                        "build --version-compatible)" if header is None else ""))
            inputs, outputs, chosen = self._io_specs(trt, path, meta)
            super().__init__(meta, inputs, outputs, path)
            self.output = chosen
            for i in range(streams):
                context = self._engine.create_execution_context()
                if context is None:
                    raise CudaError("TensorRT could not create an execution context", path=path,
                                    got=self._logger.tail(), fix="free GPU memory or use streams=1")
                self._slots.append(_Slot(i, context=context, stream=self._cuda.stream()))
        self.tensorrt_version, self.gpu = str(trt.__version__), gpu

    def _io_specs(self, trt, path: str, meta: ModelMeta):
        engine = self._engine
        names = [engine.get_tensor_name(i) for i in range(engine.num_io_tensors)]
        inputs = [n for n in names if engine.get_tensor_mode(n) == trt.TensorIOMode.INPUT]
        outputs = [n for n in names if engine.get_tensor_mode(n) == trt.TensorIOMode.OUTPUT]
        if len(inputs) != 1 or not outputs:
            raise ModelError("the engine does not look like an edgeseg model", path=path,
                             expected="one input and at least one output",
                             got=f"inputs {inputs}, outputs {outputs}")

        def spec(name):
            shape = tuple(None if d < 0 else int(d) for d in engine.get_tensor_shape(name))
            return TensorSpec(name, shape, np.dtype(trt.nptype(engine.get_tensor_dtype(name))).name)

        ins, outs = [spec(n) for n in inputs], [spec(n) for n in outputs]
        # The one check both backends make; TensorRT may narrow int64 ArgMax ids to int32.
        return ins, outs, check_graph(meta, ins, outs, path, exact_label_dtype=False)

    def _profile(self) -> list:
        """(min, opt, max) of the input in profile 0. A method, not a stored closure: a closure
        over the engine would keep it (and, through the bindings' keep_alive, the runtime) alive
        after close(), until the garbage collector destroyed it in some thread, context gone."""
        return self._engine.get_tensor_profile_shape(self.inputs[0].name, 0)

    # -- running ----------------------------------------------------------------------------
    def submit(self, batch: np.ndarray) -> Ticket:
        """Queue ``batch`` (validated like every backend's input) and return at once with a
        ticket; copies and compute run on this slot's stream while the caller goes on."""
        return Backend.infer(self, batch)  # validates, then calls _infer, which enqueues

    def collect(self, ticket: Ticket) -> np.ndarray:
        """Wait for a submitted batch and return its output (logits, or class ids for labels)."""
        if self.closed:
            raise DataError("backend is closed", path=self.path, fix="load the model again")
        slot = self._slots[ticket.slot] if isinstance(ticket, Ticket) and ticket.slot < len(self._slots) else None
        if slot is None or slot.ticket != ticket:
            raise ConfigError("unknown or already collected ticket", got=ticket,
                              fix="collect each ticket from submit() exactly once")
        with self._cuda.activate():
            slot.stream.synchronize()
        out = slot.host_out.array.copy()  # the page-locked buffer is reused by the next submit
        with self._lock:
            slot.ticket = None
        return out.astype(np.float32) if out.dtype == np.float16 else out

    def infer(self, batch: np.ndarray) -> np.ndarray:
        return self.collect(self.submit(batch))

    __call__ = infer

    def _infer(self, batch: np.ndarray) -> Ticket:
        slot, ticket = self._claim()
        try:
            with self._cuda.activate():
                self._prepare(slot, batch.shape)
                np.copyto(slot.host_in.array, batch)
                self._cuda.htod_async(slot.dev_in, slot.host_in, slot.stream)
                if not slot.context.execute_async_v3(slot.stream.handle):
                    raise ModelError("TensorRT could not enqueue the engine", path=self.path,
                                     got=self._logger.tail())
                self._cuda.dtoh_async(slot.host_out, slot.dev_out[self.output.name], slot.stream)
        except BaseException:
            with self._lock:
                slot.ticket = None
            raise
        return ticket

    def _claim(self) -> tuple[_Slot, Ticket]:
        with self._lock:
            n = len(self._slots)
            # Round robin from the slot after the last one used, so two frames in flight always
            # sit on two different streams.
            for k in range(n):
                slot = self._slots[(self._next + k) % n]
                if slot.ticket is None:
                    self._next = (slot.index + 1) % n
                    slot.ticket = Ticket(slot.index, next(self._seq))
                    return slot, slot.ticket
            raise ConfigError(f"all {n} execution contexts are busy",
                              fix="collect() a ticket before submitting another, or load with streams=N")

    def _prepare(self, slot: _Slot, shape: tuple) -> None:
        """(Re)bind shapes and buffers when the batch shape changes; nothing per frame otherwise."""
        if slot.shape == tuple(shape):
            return
        ctx, name = slot.context, self.inputs[0].name
        if not ctx.set_input_shape(name, tuple(shape)):
            lo, opt, hi = (tuple(d) for d in self._profile())
            raise DataError("input shape is outside the engine's optimisation profile", path=self.path,
                            expected=f"between {lo} and {hi} (built for {opt})", got=tuple(shape),
                            fix="rebuild the engine with --shapes covering this size")
        self._free_buffers(slot)
        slot.host_in = self._cuda.host_buffer(shape, self.inputs[0].dtype)
        slot.dev_in = self._cuda.device_buffer(slot.host_in.nbytes)
        ctx.set_tensor_address(name, slot.dev_in.ptr)
        for spec in self.outputs:
            out_shape = tuple(int(d) for d in ctx.get_tensor_shape(spec.name))
            host = self._cuda.host_buffer(out_shape, spec.dtype)
            slot.dev_out[spec.name] = self._cuda.device_buffer(host.nbytes)
            ctx.set_tensor_address(spec.name, slot.dev_out[spec.name].ptr)
            if spec.name == self.output.name:
                slot.host_out = host
            else:
                host.free()  # every output needs device memory; only the chosen one comes back
        slot.shape = tuple(shape)

    # -- teardown ---------------------------------------------------------------------------
    def _free_buffers(self, slot: _Slot) -> None:
        for buf in (slot.host_in, slot.dev_in, slot.host_out, *slot.dev_out.values()):
            if buf is not None:
                buf.free()
        slot.host_in = slot.dev_in = slot.host_out = None
        slot.dev_out, slot.shape = {}, None

    def _release(self) -> None:
        """Free in reverse order of creation: buffers and contexts before engine and runtime."""
        if self._cuda is None:
            return
        try:
            with self._cuda.activate():
                for slot in self._slots:
                    self._free_buffers(slot)
                    slot.stream.close()
                    slot.context = None
                self._slots = []
                self._engine = self._runtime = None
        except EdgesegError:
            pass  # a dead device cannot free anything; the process exit will
        finally:
            self._cuda.close()
            self._cuda = None

    def close(self) -> None:
        if not self.closed:
            self._release()
        super().close()
