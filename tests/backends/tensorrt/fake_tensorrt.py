"""A stand-in for the ``tensorrt`` module, per version: the builder surface edgeseg.backends.tensorrt
uses and the runtime surface TensorRTBackend uses, on the in-memory CUDA of fake_cuda.py.

Builder side: it really parses the ONNX it is given (with the onnx package) to learn the network's
inputs, outputs and initializer types, drives a progress monitor like TensorRT does, and records
every call in ``trt.calls``. Members that TensorRT 11 removed (BuilderFlag.FP16/INT8/BF16, the
precision-constraint flags, EXPLICIT_BATCH, the IInt8 calibrators) are absent from the 11.x fake,
so code that asks for them fails here as it would there. Attribute writes on the builder config
are checked (``__slots__``).

Plans are ``FAKE_MAGIC + JSON`` (:func:`fake_plan`): the engine's input shape, optimisation profile,
tensor names, classes and output kind, plus what the builder was asked ("build"). The builder
writes one for the network it parsed; the runtime deserializes nothing else (FAKE_MAGIC starts with
TensorRT's b"ftrt", so a raw plan is told from an edgeseg-headered file as a real one is, and a
headered file handed to the runtime fails as on TensorRT). A fake engine reads
its input (float32, NCHW) from fake device memory and writes ``logits[c] = (c + 1) * x[c % 3]``, or
their argmax as int32 labels (:func:`reference`); a plan with more ``names`` has more outputs, each
the negated logits (an auxiliary head whose argmax differs from the main one's).

Every public name of the fake exists in the real TensorRT 10.16 and 11.4 APIs, except those in
:data:`FAKE_ONLY`, which tests read to see what happened: test_api_surface.py checks it.
"""

from __future__ import annotations

import enum
import json
import types

import numpy as np
import onnx

from .fake_cuda import MEMORY

DEFAULT_VERSION = "10.3.0"  # JetPack 6, as on the fake Orin
# TensorRT's own plans start with b"ftrt": edgeseg's header code must take these for plans too.
FAKE_MAGIC = b"ftrtFAKE"
# Owner ("module" or a real class name) -> members that only tests read.
FAKE_ONLY = {"module": {"calls", "state"},
             "INetworkDefinition": {"input_types", "output_types", "initializer_types", "ops"},
             "IBuilderConfig": {"pools"}}

_FLAGS_10 = {"FP16": 0, "INT8": 1, "DEBUG": 2, "GPU_FALLBACK": 3, "REFIT": 4, "DISABLE_TIMING_CACHE": 5,
             "TF32": 6, "SPARSE_WEIGHTS": 7, "OBEY_PRECISION_CONSTRAINTS": 9,
             "PREFER_PRECISION_CONSTRAINTS": 10, "DIRECT_IO": 11, "VERSION_COMPATIBLE": 13,
             "EXCLUDE_LEAN_RUNTIME": 14, "FP8": 15, "BF16": 17, "STRIP_PLAN": 19}
_REMOVED_IN_11 = {"FP16", "INT8", "BF16", "FP8", "OBEY_PRECISION_CONSTRAINTS", "PREFER_PRECISION_CONSTRAINTS",
                  "DIRECT_IO", "REFIT"}
_PHASES = (("Building engine", None, 2), ("Timing tactics", "Building engine", 3))
_LABEL_TYPES = {onnx.TensorProto.INT32, onnx.TensorProto.INT64}
# ONNX ops whose layers the fake DLA takes (TensorRT's "DLA Supported Layers": convolutions,
# activations, pooling, element-wise, concat; Resize, Cast and shape ops are left to the GPU here).
_DLA_OPS = {"Conv", "ConvTranspose", "Relu", "LeakyRelu", "Sigmoid", "Tanh", "Clip", "Add", "Sub", "Mul", "Max",
            "Min", "Concat", "MaxPool", "AveragePool", "GlobalAveragePool", "BatchNormalization",
            "QuantizeLinear", "DequantizeLinear"}


def fake_plan(input_shape=(1, 3, 8, 8), classes=3, labels=False, profile=None, *,
              names=("input", "output"), build=None) -> bytes:
    spec = {"input": list(input_shape), "classes": classes, "labels": labels,
            "profile": profile or [list(input_shape)] * 3, "names": list(names), "build": build or {}}
    return FAKE_MAGIC + json.dumps(spec).encode()


def reference(x: np.ndarray, classes: int, labels: bool) -> np.ndarray:
    logits = np.stack([(c + 1) * x[:, c % 3] for c in range(classes)], 1).astype(np.float32)
    return logits.argmax(1).astype(np.int32) if labels else logits


class FakeHostMemory(bytes):
    """Like IHostMemory: a buffer (Python 3.11 classes cannot implement the protocol themselves)."""


# -- runtime side: shared by every version -----------------------------------------------------------
class _Severity(enum.IntEnum):
    INTERNAL_ERROR = 0
    ERROR = 1
    WARNING = 2
    INFO = 3
    VERBOSE = 4


class ILogger:
    Severity = _Severity
    INTERNAL_ERROR, ERROR, WARNING, INFO, VERBOSE = _Severity

    def __init__(self):
        pass

    def log(self, severity, msg):
        pass


class TensorIOMode(enum.Enum):
    NONE = 0
    INPUT = 1
    OUTPUT = 2


class DataType(enum.Enum):
    FLOAT = np.float32
    INT32 = np.int32


def nptype(dtype):
    return dtype.value


class IExecutionContext:
    def __init__(self, engine):
        self.engine, self._shape, self._addr = engine, None, {}

    def set_input_shape(self, name, shape):
        lo, _, hi = self.engine.get_tensor_profile_shape(name, 0)
        ok = len(shape) == len(lo) and all(a <= s <= b for a, s, b in zip(lo, shape, hi))
        if ok:
            self._shape = tuple(shape)
        return ok

    def get_tensor_shape(self, name):
        return self._shape if name == self.engine._names[0] else self.engine._output_shape(self._shape, name)

    def set_tensor_address(self, name, ptr):
        self._addr[name] = ptr
        return True

    def execute_async_v3(self, stream_handle):
        engine = self.engine
        engine._rec(("execute_async_v3", stream_handle))
        source, target, *extra = engine._names
        x = MEMORY[self._addr[source]].view(np.float32).reshape(self._shape)
        out = reference(x, engine._spec["classes"], engine._spec["labels"])
        MEMORY[self._addr[target]][:] = out.reshape(-1).view(np.uint8)
        for name in extra:  # further outputs (an "aux" head): negated logits, so their argmax differs
            aux = -reference(x, engine._spec["classes"], False)
            MEMORY[self._addr[name]][:] = aux.reshape(-1).view(np.uint8)
        return True


class ICudaEngine:
    def __init__(self, spec, rec):
        self._spec, self._rec, self._names = spec, rec, tuple(spec["names"])
        self.num_io_tensors = len(self._names)  # the input, then one or more outputs
        self.num_layers = len(spec.get("build", {}).get("layers", ()))

    def get_tensor_name(self, i):
        return self._names[i]

    def get_tensor_mode(self, name):
        return TensorIOMode.INPUT if name == self._names[0] else TensorIOMode.OUTPUT

    def get_tensor_shape(self, name):
        shape = tuple(self._spec["input"])
        return shape if name == self._names[0] else self._output_shape(shape, name)

    def _output_shape(self, shape, name=None):
        n, _, h, w = shape
        labels = self._spec["labels"] and name in (None, self._names[1])
        return (n, h, w) if labels else (n, self._spec["classes"], h, w)

    def get_tensor_dtype(self, name):
        return DataType.INT32 if name == self._names[1] and self._spec["labels"] else DataType.FLOAT

    def get_tensor_profile_shape(self, name, index):
        return [tuple(s) for s in self._spec["profile"]]

    def create_execution_context(self):
        return IExecutionContext(self)

    def create_engine_inspector(self):
        return EngineInspector(self)


class EngineInspector:
    """The layers the fake builder placed (DLA builds record them in the plan), as TensorRT's JSON:
    names only unless the build asked for ProfilingVerbosity.DETAILED. How a real DLA layer reads
    there is not known from a device yet; the fake says ``"LayerType": "DLA"``."""

    def __init__(self, engine):
        self._engine = engine
        self.execution_context = None

    def _rows(self):
        build = self._engine._spec.get("build", {})
        detailed = build.get("verbosity") == "DETAILED"
        return [{"Name": name, "LayerType": "DLA" if device == "DLA" else kind} if detailed else name
                for name, kind, device in build.get("layers", ())]

    def get_engine_information(self, format):
        return json.dumps({"Layers": self._rows(), "Bindings": list(self._engine._names)})

    def get_layer_information(self, layer_index, format):
        return json.dumps(self._rows()[layer_index])


def _network_layers(model, layer_cls) -> list:
    """One fake layer per ONNX node, knowing whether its float tensors are all float16 (None: it has
    none, a shape computation) and whether it sits in a Q/DQ pair (Q/DQ, or fed by a DequantizeLinear)."""
    try:
        inferred = onnx.shape_inference.infer_shapes(model).graph
    except Exception:  # noqa: BLE001 - a graph ONNX cannot infer: types from the graph's own value_info
        inferred = model.graph
    elem = {vi.name: vi.type.tensor_type.elem_type
            for vi in [*inferred.value_info, *inferred.input, *inferred.output]}
    elem.update({i.name: i.data_type for i in model.graph.initializer})
    floats = {onnx.TensorProto.FLOAT, onnx.TensorProto.FLOAT16}
    dq_out = {o for n in model.graph.node if n.op_type == "DequantizeLinear" for o in n.output}
    layers = []
    for k, n in enumerate(model.graph.node):
        ts = [elem.get(t) for t in [*n.input, *n.output] if t and elem.get(t) in floats]
        quantized = n.op_type in ("QuantizeLinear", "DequantizeLinear") or any(i in dq_out for i in n.input)
        fp16 = all(t == onnx.TensorProto.FLOAT16 for t in ts) if ts else None
        layers.append(layer_cls(n.name or f"node_{k}", n.op_type, fp16, quantized))
    return layers


def _plan_of(network, config, build: dict) -> bytes:
    """The fake engine of the parsed network: its first input and output, profile 0 if any."""
    inp, out = network.get_input(0), network.get_output(0)
    labels = out.dtype in _LABEL_TYPES
    # A labels output carries no class count: the fake engine argmaxes over the input's channels.
    classes = inp.shape[1] if labels else out.shape[1]
    profile = config._profiles[0]._shapes.get(inp.name) if config._profiles else None
    return fake_plan(inp.shape, classes, labels, profile and [list(s) for s in profile],
                     names=(inp.name, out.name), build=build)


def make_fake_trt(version: str = DEFAULT_VERSION, *, num_dla: int = 0, unsupported_ops=(), build_fails: bool = False,
                  phases=_PHASES) -> types.ModuleType:
    """A fresh module, whose builder-side classes are its own (a test may patch them): ``num_dla``
    DLA cores, ONNX ops the parser rejects, a build that returns None, the progress phases fed
    to the monitor as (name, parent, steps)."""
    major = int(version.split(".")[0])
    trt = types.ModuleType("tensorrt")
    trt.__version__ = version
    trt.calls = []
    trt.state = {"builds": 0}
    rec = trt.calls.append
    for obj in (ILogger, TensorIOMode, DataType, nptype, IExecutionContext, ICudaEngine):
        setattr(trt, obj.__name__, obj)
    trt.EngineInspector = EngineInspector
    trt.ProfilingVerbosity = enum.IntEnum("ProfilingVerbosity", {"LAYER_NAMES_ONLY": 0, "NONE": 1, "DETAILED": 2})
    trt.LayerInformationFormat = enum.IntEnum("LayerInformationFormat", {"ONELINE": 0, "JSON": 1})

    flags = {k: v for k, v in _FLAGS_10.items() if major < 11 or k not in _REMOVED_IN_11}
    trt.BuilderFlag = enum.IntEnum("BuilderFlag", flags)
    net_flags = {"STRONGLY_TYPED": 1, "PREFER_AOT_PYTHON_PLUGINS": 3, "PREFER_JIT_PYTHON_PLUGINS": 2}
    if major < 11:
        net_flags["EXPLICIT_BATCH"] = 0
    trt.NetworkDefinitionCreationFlag = enum.IntEnum("NetworkDefinitionCreationFlag", net_flags)
    trt.MemoryPoolType = enum.IntEnum("MemoryPoolType", {"WORKSPACE": 0, "DLA_MANAGED_SRAM": 1})
    trt.DeviceType = enum.IntEnum("DeviceType", {"GPU": 0, "DLA": 1})

    class Logger(ILogger):
        def __init__(self, min_severity=ILogger.WARNING):
            super().__init__()
            self.min_severity = min_severity
            rec(("Logger", min_severity))
    trt.Logger = Logger

    class IProgressMonitor:
        def __init__(self):
            self._base_init = True
    trt.IProgressMonitor = IProgressMonitor

    if major < 11:
        class IInt8EntropyCalibrator2:  # present in 10.x (deprecated); edgeseg must never use it
            def __init__(self):
                raise AssertionError("edgeseg.backends.tensorrt must not use calibrators")
        trt.IInt8EntropyCalibrator2 = IInt8EntropyCalibrator2

    class Tensor:
        def __init__(self, name, shape, dtype):
            self.name, self.shape, self.dtype = name, tuple(shape), dtype

    class Layer:
        """A network layer: ``name`` and ``type`` as ILayer has them; the rest is the fake's."""

        def __init__(self, name, op, fp16, quantized):
            self.name, self.type = name, types.SimpleNamespace(name=op.upper())
            self._op, self._fp16, self._quantized = op, fp16, quantized

    class Network:
        def __init__(self, flags):
            self.flags = flags
            self._inputs, self._outputs = [], []
            self.input_types, self.output_types, self.initializer_types, self.ops = {}, {}, {}, []
            self._layers = []

        @property
        def num_inputs(self):
            return len(self._inputs)

        def get_input(self, i):
            return self._inputs[i]

        @property
        def num_outputs(self):
            return len(self._outputs)

        def get_output(self, i):
            return self._outputs[i]

        @property
        def num_layers(self):
            return len(self._layers)

        def get_layer(self, i):
            return self._layers[i]

    class ParserError:
        def __init__(self, desc, node=-1, name="", op=""):
            self._d, self._n, self._name, self._op = desc, node, name, op

        def desc(self):
            return self._d

        def node(self):
            return self._n

        def node_name(self):
            return self._name

        def node_operator(self):
            return self._op

        def code(self):
            return 8

    def tensor(vi):
        dims = [d.dim_value if d.HasField("dim_value") else -1 for d in vi.type.tensor_type.shape.dim]
        return Tensor(vi.name, dims, vi.type.tensor_type.elem_type)

    class OnnxParser:
        def __init__(self, network, logger):
            self._network, self._errors = network, []
            rec(("OnnxParser",))

        def _load(self, model):
            g, net = model.graph, self._network
            inits = {i.name for i in g.initializer}
            for k, n in enumerate(g.node):
                if n.op_type in unsupported_ops:
                    self._errors.append(ParserError(f"No importer registered for op: {n.op_type}", k, n.name,
                                                    n.op_type))
                    return False
            net._inputs = [tensor(vi) for vi in g.input if vi.name not in inits]
            net._outputs = [tensor(vo) for vo in g.output]
            net.input_types = {t.name: t.dtype for t in net._inputs}
            net.output_types = {t.name: t.dtype for t in net._outputs}
            net.initializer_types = {i.name: i.data_type for i in g.initializer}
            net.ops = [n.op_type for n in g.node]
            net._layers = _network_layers(model, Layer)
            return True

        def parse(self, model, path=None):
            rec(("parse", len(model), path))
            return self._load(onnx.load_from_string(bytes(model)))

        def parse_from_file(self, model):
            rec(("parse_from_file", model))
            return self._load(onnx.load(model))

        @property
        def num_errors(self):
            return len(self._errors)

        def get_error(self, i):
            return self._errors[i]

    class Profile:
        def __init__(self):
            self._shapes = {}

        def set_shape(self, name, mn, opt, mx):
            rec(("set_shape", name, tuple(mn), tuple(opt), tuple(mx)))
            self._shapes[name] = (tuple(mn), tuple(opt), tuple(mx))

    class TimingCache:
        def __init__(self, data):
            self._data = bytes(data)

        def serialize(self):
            return FakeHostMemory(self._data + b"+timed")

        def combine(self, other, ignore_mismatch):
            return True

    class Config:
        __slots__ = ("DLA_core", "_cache", "_profiles", "default_device_type", "flags", "pools", "profiling_verbosity",
                     "progress_monitor")

        def __init__(self):
            self.flags, self.pools, self._profiles = set(), {}, []
            self.default_device_type = trt.DeviceType.GPU
            self.DLA_core = -1
            self._cache = None
            self.progress_monitor = None
            self.profiling_verbosity = trt.ProfilingVerbosity.LAYER_NAMES_ONLY

        def set_flag(self, flag):
            assert isinstance(flag, trt.BuilderFlag), flag
            rec(("set_flag", flag.name))
            self.flags.add(flag.name)

        def set_memory_pool_limit(self, pool, size):
            rec(("set_memory_pool_limit", pool.name, size))
            self.pools[pool.name] = size

        def add_optimization_profile(self, profile):
            rec(("add_optimization_profile",))
            for mn, opt, mx in profile._shapes.values():
                if not all(a <= b <= c for a, b, c in zip(mn, opt, mx)):
                    return -1
            self._profiles.append(profile)
            return len(self._profiles) - 1

        def create_timing_cache(self, data):
            rec(("create_timing_cache", bytes(data)))
            if bytes(data).startswith(b"DAMAGED"):
                raise RuntimeError("Invalid timing cache")
            return TimingCache(data)

        def set_timing_cache(self, cache, ignore_mismatch):
            rec(("set_timing_cache", ignore_mismatch))
            if cache._data.startswith(b"OTHER-DEVICE") and not ignore_mismatch:
                return False
            self._cache = cache
            return True

        def get_timing_cache(self):
            return self._cache

        def can_run_on_DLA(self, layer):
            """The fake DLA: a supported op, fp16 or int8 (10.x: by the flags; 11.x: by the graph's
            types), and static shapes (a profile with min != max leaves DLA out)."""
            static = all(mn == mx for p in self._profiles for mn, _, mx in p._shapes.values())
            if major < 11:
                typed = "FP16" in self.flags or ("INT8" in self.flags and layer._quantized)
            else:
                typed = layer._fp16 or layer._quantized
            return layer._op in _DLA_OPS and layer._fp16 is not None and static and bool(typed)

        def get_device_type(self, layer):
            return self.default_device_type

    class Builder:
        def __init__(self, logger):
            self.logger = logger
            self.num_DLA_cores = num_dla
            rec(("Builder",))

        def create_network(self, flags=0):
            rec(("create_network", flags))
            return Network(flags)

        def create_builder_config(self):
            return Config()

        def create_optimization_profile(self):
            return Profile()

        def build_serialized_network(self, network, config):
            rec(("build_serialized_network",))
            trt.state["builds"] += 1
            trt.state["last"] = {"network": network, "config": config}
            m = config.progress_monitor
            if m is not None:
                assert getattr(m, "_base_init", False), "IProgressMonitor.__init__ was not called"
                for name, parent, steps in phases:
                    m.phase_start(name, parent, steps)
                for name, parent, steps in reversed(phases):
                    for s in range(steps):
                        if m.step_complete(name, s) is False:
                            return None
                    m.phase_finish(name)
            if build_fails:
                return None
            asked = {"flags": sorted(config.flags), "net_flags": network.flags,
                     "device": int(config.default_device_type), "dla": config.DLA_core}
            if config.default_device_type == trt.DeviceType.DLA:  # where each layer landed (GPU fallback)
                asked["layers"] = [[lay.name, lay.type.name, "DLA" if config.can_run_on_DLA(lay) else "GPU"]
                                   for lay in network._layers]
                asked["verbosity"] = config.profiling_verbosity.name
            return FakeHostMemory(_plan_of(network, config, asked))

    class Runtime:
        def __init__(self, logger):
            self.logger = logger
            self.engine_host_code_allowed = False
            self.DLA_core = -1

        def deserialize_cuda_engine(self, plan):
            plan = bytes(plan)
            rec(("deserialize_cuda_engine", len(plan)))
            try:
                spec = json.loads(plan[len(FAKE_MAGIC):]) if plan.startswith(FAKE_MAGIC) else None
            except ValueError:
                spec = None
            if spec is None:
                self.logger.log(ILogger.ERROR, "IRuntime::deserializeCudaEngine: magic tag does not match")
                return None
            engine = ICudaEngine(spec, rec)
            # pyCore.cpp binds deserialize_cuda_engine with py::keep_alive<0, 1>(): the engine keeps
            # its runtime alive, so a leaked engine leaks the runtime too.
            engine._keep_alive = self
            return engine

    trt.Builder, trt.OnnxParser, trt.Runtime = Builder, OnnxParser, Runtime
    return trt
