"""A small stand-in for the ``tensorrt`` module: the API surface edgeseg.backends.tensorrt uses, per major.

It records every call, really parses the ONNX it is given (with the onnx package) to learn the
network's inputs and initializer types, drives a progress monitor like TensorRT does, and returns
a fake plan. Members that TensorRT 11 removed (BuilderFlag.FP16/INT8/BF16, the precision-constraint
flags, EXPLICIT_BATCH, the IInt8 calibrators) are absent from the 11.x double, so code that asks for
them fails here as it would there. Attribute writes on config objects are checked (``__slots__``).
"""

from __future__ import annotations

import enum
import json
import types

import onnx

_FLAGS_10 = {"FP16": 0, "INT8": 1, "DEBUG": 2, "GPU_FALLBACK": 3, "REFIT": 4, "DISABLE_TIMING_CACHE": 5,
             "TF32": 6, "SPARSE_WEIGHTS": 7, "OBEY_PRECISION_CONSTRAINTS": 9,
             "PREFER_PRECISION_CONSTRAINTS": 10, "DIRECT_IO": 11, "VERSION_COMPATIBLE": 13,
             "EXCLUDE_LEAN_RUNTIME": 14, "FP8": 15, "BF16": 17, "STRIP_PLAN": 19}
_REMOVED_IN_11 = {"FP16", "INT8", "BF16", "FP8", "OBEY_PRECISION_CONSTRAINTS", "PREFER_PRECISION_CONSTRAINTS",
                  "DIRECT_IO", "REFIT"}


class FakeHostMemory(bytes):
    """Like IHostMemory: a buffer (Python 3.11 classes cannot implement the protocol themselves)."""


def make_fake_trt(version: str = "10.3.0", *, num_dla: int = 0, unsupported_ops=(), build_fails: bool = False,
                  phases=(("Building engine", None, 2), ("Timing tactics", "Building engine", 3))):
    major = int(version.split(".")[0])
    trt = types.ModuleType("tensorrt")
    trt.__version__ = version
    trt.calls = []
    trt.state = {"builds": 0}
    rec = trt.calls.append

    flags = {k: v for k, v in _FLAGS_10.items() if major < 11 or k not in _REMOVED_IN_11}
    trt.BuilderFlag = enum.IntEnum("BuilderFlag", flags)
    net_flags = {"STRONGLY_TYPED": 1, "PREFER_AOT_PYTHON_PLUGINS": 3, "PREFER_JIT_PYTHON_PLUGINS": 2}
    if major < 11:
        net_flags["EXPLICIT_BATCH"] = 0
    trt.NetworkDefinitionCreationFlag = enum.IntEnum("NetworkDefinitionCreationFlag", net_flags)
    trt.MemoryPoolType = enum.IntEnum("MemoryPoolType", {"WORKSPACE": 0, "DLA_MANAGED_SRAM": 1})
    trt.DeviceType = enum.IntEnum("DeviceType", {"GPU": 0, "DLA": 1})

    class Logger:
        WARNING, VERBOSE, INFO, ERROR = 2, 4, 3, 1

        def __init__(self, severity=2):
            self.min_severity = severity
            rec(("Logger", severity))
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

    class Network:
        def __init__(self, flags):
            self.flags = flags
            self.inputs = []
            self.initializer_types = {}
            self.input_types, self.output_types = {}, {}

        @property
        def num_inputs(self):
            return len(self.inputs)

        def get_input(self, i):
            return self.inputs[i]

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

    class OnnxParser:
        def __init__(self, network, logger):
            self.network, self.errors = network, []
            rec(("OnnxParser",))

        def _load(self, model):
            g = model.graph
            inits = {i.name for i in g.initializer}
            for k, n in enumerate(g.node):
                if n.op_type in unsupported_ops:
                    self.errors.append(ParserError(f"No importer registered for op: {n.op_type}", k, n.name,
                                                   n.op_type))
                    return False
            for vi in g.input:
                if vi.name in inits:
                    continue
                dims = [d.dim_value if d.HasField("dim_value") else -1 for d in vi.type.tensor_type.shape.dim]
                self.network.inputs.append(Tensor(vi.name, dims, vi.type.tensor_type.elem_type))
                self.network.input_types[vi.name] = vi.type.tensor_type.elem_type
            for vo in g.output:
                self.network.output_types[vo.name] = vo.type.tensor_type.elem_type
            self.network.initializer_types = {i.name: i.data_type for i in g.initializer}
            self.network.ops = [n.op_type for n in g.node]
            return True

        def parse(self, model, path=None):
            rec(("parse", len(model), path))
            return self._load(onnx.load_from_string(bytes(model)))

        def parse_from_file(self, model):
            rec(("parse_from_file", model))
            return self._load(onnx.load(model))

        @property
        def num_errors(self):
            return len(self.errors)

        def get_error(self, i):
            return self.errors[i]

    class Profile:
        def __init__(self):
            self.shapes = {}

        def set_shape(self, name, mn, opt, mx):
            rec(("set_shape", name, tuple(mn), tuple(opt), tuple(mx)))
            self.shapes[name] = (tuple(mn), tuple(opt), tuple(mx))

    class TimingCache:
        def __init__(self, data):
            self.data = bytes(data)

        def serialize(self):
            return FakeHostMemory(self.data + b"+timed")

        def combine(self, other, ignore_mismatch):
            return True

    class Config:
        __slots__ = ("flags", "pools", "profiles", "default_device_type", "DLA_core", "_cache",
                     "progress_monitor")

        def __init__(self):
            self.flags, self.pools, self.profiles = set(), {}, []
            self.default_device_type = trt.DeviceType.GPU
            self.DLA_core = -1
            self._cache = None
            self.progress_monitor = None

        def set_flag(self, flag):
            assert isinstance(flag, trt.BuilderFlag), flag
            rec(("set_flag", flag.name))
            self.flags.add(flag.name)

        def set_memory_pool_limit(self, pool, size):
            rec(("set_memory_pool_limit", pool.name, size))
            self.pools[pool.name] = size

        def add_optimization_profile(self, profile):
            rec(("add_optimization_profile",))
            for mn, opt, mx in profile.shapes.values():
                if not all(a <= b <= c for a, b, c in zip(mn, opt, mx)):
                    return -1
            self.profiles.append(profile)
            return len(self.profiles) - 1

        def create_timing_cache(self, data):
            rec(("create_timing_cache", bytes(data)))
            if bytes(data).startswith(b"DAMAGED"):
                raise RuntimeError("Invalid timing cache")
            return TimingCache(data)

        def set_timing_cache(self, cache, ignore_mismatch):
            rec(("set_timing_cache", ignore_mismatch))
            if cache.data.startswith(b"OTHER-DEVICE") and not ignore_mismatch:
                return False
            self._cache = cache
            return True

        def get_timing_cache(self):
            return self._cache

    class Builder:
        def __init__(self, logger):
            self.logger = logger
            self.num_DLA_cores = num_dla
            rec(("Builder",))

        def create_network(self, flags=0):
            rec(("create_network", flags))
            self.network = Network(flags)
            return self.network

        def create_builder_config(self):
            self.config = Config()
            return self.config

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
            summary = {"flags": sorted(config.flags), "net_flags": network.flags,
                       "device": int(config.default_device_type), "dla": config.DLA_core}
            return FakeHostMemory(b"ftrt" + json.dumps(summary).encode())

    trt.Builder = Builder
    trt.OnnxParser = OnnxParser

    class Runtime:
        def __init__(self, logger):
            self.engine_host_code_allowed = False

        def deserialize_cuda_engine(self, plan):
            rec(("deserialize_cuda_engine", len(plan)))
            return object() if bytes(plan).startswith(b"ftrt") else None
    trt.Runtime = Runtime
    return trt
