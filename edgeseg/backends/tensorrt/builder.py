"""ONNX -> TensorRT engine, in small steps that compose (like Polygraphy's loaders):

    trt = import_tensorrt()
    builder, network, parser = network_from_onnx("model.onnx", network_flags(trt, plan), trt=trt)
    handles = build_config(trt, builder, network, plan, profiles, workspace=2 << 30,
                           timing_cache="timing.cache")
    plan_bytes = serialize_network(builder, network, handles.config)
    save_timing_cache(handles.config, "timing.cache")

:func:`build_engine` runs them all and writes the engine file (the raw plan + its .meta.json sidecar, atomically).
TensorRT calls used here are listed, with the TensorRT 10 and 11 sources each was checked
against, in docs/tensorrt_api.md. Where 10 and 11 differ, the plan
(:mod:`edgeseg.backends.tensorrt.plan`) decides; nothing here compares versions.

>>> # r = build_engine("model.onnx", precision="fp16")   # on a Jetson / GPU with TensorRT
>>> # r.path, r.header.tensorrt, r.seconds
"""

from __future__ import annotations

import json
import os
import time
from dataclasses import dataclass
from typing import Any

from ...errors import ConfigError, MissingDependencyError, ModelError
from ...lazy import require
from ...utils.progress import STDERR
from .header import EngineHeader, write_engine
from .plan import PrecisionPlan, TrtCapabilities, precision_plan, validate_request
from .shapes import check_dla_profiles


def import_tensorrt():
    """``tensorrt``, or MissingDependencyError saying where it comes from; a version edgeseg
    cannot build with (8.x, or a future major) is a ConfigError naming what is needed."""
    try:
        trt = require("tensorrt", "building TensorRT engines")
    except OSError as exc:  # the bindings import, their libnvinfer does not (placeholder -libs wheel)
        raise MissingDependencyError("tensorrt is installed but its libraries do not load",
                                     expected="libnvinfer matching the tensorrt Python bindings",
                                     got=f"{type(exc).__name__}: {exc}",
                                     fix="on a Jetson use JetPack's python3-libnvinfer; on a desktop "
                                         "pip install tensorrt (NVIDIA's wheels bring the libraries)") from exc
    TrtCapabilities.for_version(getattr(trt, "__version__", "0"))
    return trt


def trt_logger(trt, verbose: bool = False):
    return trt.Logger(trt.Logger.VERBOSE if verbose else trt.Logger.WARNING)


def network_flags(trt, plan: PrecisionPlan) -> int:
    """``NetworkDefinitionCreationFlag`` bits for ``builder.create_network`` (0 on TensorRT 10
    unless strongly typed; STRONGLY_TYPED on 11, where it is always on anyway)."""
    flags = 0
    for name in plan.network_flags:
        flags |= 1 << int(getattr(trt.NetworkDefinitionCreationFlag, name))
    return flags


def parser_errors(parser) -> list[str]:
    """One line per ONNX parser error: node index, name and op, then TensorRT's description."""
    lines = []
    for i in range(parser.num_errors):
        e = parser.get_error(i)

        def ask(method, default=None, e=e):
            try:
                return getattr(e, method)()
            except Exception:  # noqa: BLE001 - older parsers lack some accessors: the line says less
                return default
        node, name, op = ask("node", -1), ask("node_name", ""), ask("node_operator", "")
        where = f"node {node}" if node is not None and node >= 0 else "the graph"
        if name or op:
            where += f" ({name or '?'}, op {op or '?'})"
        lines.append(f"{where}: {ask('desc', str(e))}")
    return lines


def network_from_onnx(source, flags: int = 0, *, trt=None, logger=None, path: str | None = None):
    """(builder, network, parser) with the ONNX parsed into the network. ``source``: a path, or
    the model's bytes (then ``path`` locates external weights). Keep the parser alive until the
    engine is built: the network refers to weights it holds."""
    trt = trt or import_tensorrt()
    logger = logger or trt_logger(trt)
    builder = trt.Builder(logger)
    network = builder.create_network(flags)
    parser = trt.OnnxParser(network, logger)
    if isinstance(source, (bytes, bytearray, memoryview)):
        ok = parser.parse(bytes(source), path) if path else parser.parse(bytes(source))
        shown = path or "<onnx bytes>"
    else:
        shown = os.fspath(source)
        ok = parser.parse_from_file(shown)
    errors = parser_errors(parser)
    if not ok or errors:
        raise ModelError("TensorRT's ONNX parser rejected the model", path=shown,
                         got="\n    ".join(errors[:10]) or "parse() returned False without errors",
                         expected="ops and attributes this TensorRT's ONNX parser supports",
                         fix="re-export with edgeseg export --tensorrt 10 (checks the op table), or "
                             "simplify/replace the node named above")
    return builder, network, parser


def _network_inputs(network) -> dict:
    return {network.get_input(i).name: tuple(network.get_input(i).shape) for i in range(network.num_inputs)}


@dataclass
class ConfigHandles:
    """The builder config and what must outlive the build with it (TensorRT keeps pointers)."""

    config: Any
    timing_cache: Any = None
    progress_monitor: Any = None
    timing_cache_loaded: bool = False
    dla: Any = None   # DlaPlacement of a DLA build's network layers


def add_profiles(trt, builder, network, config, profiles: dict) -> int | None:
    """One optimisation profile holding every input's min/opt/max; None if the network is static."""
    inputs = _network_inputs(network)
    missing = sorted(set(inputs) - set(profiles))
    unknown = sorted(set(profiles) - set(inputs))
    if missing or unknown:
        raise ConfigError("the shapes do not name the network's inputs",
                          expected=", ".join(sorted(inputs)), got=", ".join(sorted(profiles)))
    dynamic = any(d < 0 for dims in inputs.values() for d in dims)
    if not dynamic:
        for name, p in profiles.items():
            if tuple(p.opt) != inputs[name] or not p.is_static:
                raise ConfigError(f"input '{name}' is static in the network", expected=inputs[name],
                                  got=p.cli(), fix="drop --shape/--dynamic or export with --dynamic")
        return None
    profile = builder.create_optimization_profile()
    for name, p in profiles.items():
        profile.set_shape(name, tuple(p.min), tuple(p.opt), tuple(p.max))
    index = config.add_optimization_profile(profile)
    if index is None or index < 0:
        raise ConfigError("TensorRT rejected the optimisation profile",
                          got={n: p.to_dict() for n, p in profiles.items()},
                          fix="check min <= opt <= max and the model's static dims (see the log above)")
    return index


def set_dla(trt, builder, config, core: int, gpu_name: str = "this GPU") -> None:
    """Default device DLA on ``core``; GPU fallback comes from the plan's builder flags."""
    cores = int(getattr(builder, "num_DLA_cores", 0) or 0)
    if cores == 0:
        raise ConfigError("this GPU has no DLA cores", got=f"{gpu_name}: 0 DLA cores",
                          expected="a Jetson (AGX Orin, Orin NX, Xavier) or DRIVE board for --dla",
                          fix="drop --dla to build for the GPU")
    if core >= cores:
        raise ConfigError("no such DLA core", expected=f"--dla 0 .. {cores - 1}", got=core)
    config.default_device_type = trt.DeviceType.DLA
    config.DLA_core = core
    # Names-only layer information cannot tell DLA from GPU layers; detailed info can (inspector).
    config.profiling_verbosity = trt.ProfilingVerbosity.DETAILED


@dataclass(frozen=True)
class DlaPlacement:
    """Where a DLA build's layers run (GPU fallback moves what DLA cannot run, silently): the
    network's layers by ``config.can_run_on_DLA`` before the build, the engine's layers by the
    engine inspector after it (None where it could not say)."""

    core: int
    network_layers: int
    network_on_dla: int
    gpu_layers: tuple[str, ...]         # "name (type)" of the network layers DLA cannot run
    engine_layers: int | None = None
    engine_on_dla: int | None = None
    engine_note: str = ""

    def network_lines(self) -> list[str]:
        if self.network_layers and not self.network_on_dla:
            return [(f"warning: no layer can run on DLA core {self.core}: the whole engine runs on the GPU "
                     "(DLA needs fp16 or int8, static shapes and the layers of TensorRT's DLA support table)")]
        line = f"DLA core {self.core}: {self.network_on_dla} of {self.network_layers} network layers can run on DLA"
        n = len(self.gpu_layers)
        if n:
            line += (f"; {n} {'falls' if n == 1 else 'fall'} back to the GPU: " + ", ".join(self.gpu_layers[:5])
                     + (f" and {n - 5} more" if n > 5 else ""))
        return [line]

    def engine_lines(self) -> list[str]:
        if self.engine_on_dla is not None:
            return [(f"DLA core {self.core}: the engine runs {self.engine_on_dla} of {self.engine_layers} layers on "
                     f"DLA, {self.engine_layers - self.engine_on_dla} on the GPU (engine inspector)")]
        return [f"DLA core {self.core}: {self.engine_note}; the network count above is the estimate"]


def dla_network_placement(config, network, core: int) -> DlaPlacement:
    """Ask TensorRT, layer by layer, whether DLA core ``core`` can run it under ``config``."""
    gpu = []
    for i in range(network.num_layers):
        layer = network.get_layer(i)
        if not config.can_run_on_DLA(layer):
            gpu.append(f"{layer.name} ({getattr(layer.type, 'name', layer.type)})")
    return DlaPlacement(core, network.num_layers, network.num_layers - len(gpu), tuple(gpu))


def _on_dla(info) -> bool | None:
    """One engine inspector entry: detailed ones (dicts) name the layer type, and a DLA loadable's
    says DLA; names-only entries (str) do not tell."""
    if not isinstance(info, dict):
        return None
    return "dla" in f"{info.get('LayerType', '')} {info.get('TacticName', '')}".lower()


def dla_engine_placement(trt, plan_bytes: bytes, placement: DlaPlacement, logger) -> DlaPlacement:
    """``placement`` with the engine's layer counts from the engine inspector (the plan is
    deserialized on DLA core ``placement.core``; needs the board the build ran on)."""
    from dataclasses import replace
    try:
        runtime = trt.Runtime(logger)
        runtime.DLA_core = placement.core
        engine = runtime.deserialize_cuda_engine(plan_bytes)
        if engine is None:
            return replace(placement, engine_note="the engine did not deserialize here for inspection")
        info = json.loads(engine.create_engine_inspector().get_engine_information(trt.LayerInformationFormat.JSON))
        del engine, runtime
    except Exception as exc:  # noqa: BLE001 - the report must not fail a build that succeeded
        return replace(placement, engine_note=f"could not inspect the engine ({type(exc).__name__}: {exc})")
    layers = info.get("Layers", []) if isinstance(info, dict) else []
    flags = [_on_dla(x) for x in layers]
    if not layers or any(f is None for f in flags):
        return replace(placement, engine_layers=len(layers),
                       engine_note="the engine inspector does not say which device runs each layer")
    return replace(placement, engine_layers=len(layers), engine_on_dla=sum(flags))


def load_timing_cache(config, path: str | None, log=None):
    """(ITimingCache, loaded?) from ``path`` if it exists, else a fresh one; one from another
    TensorRT/GPU is set aside with a note, never silently used (ignore_mismatch=False)."""
    data = b""
    if path and os.path.isfile(path):
        with open(path, "rb") as f:
            data = f.read()
    try:
        cache = config.create_timing_cache(data)
        if cache is not None and config.set_timing_cache(cache, ignore_mismatch=False):
            return cache, bool(data)
    except Exception:  # a damaged file: TensorRT may refuse the bytes outright
        if not data:
            raise
    if data and log:
        log(f"timing cache {path} is from another TensorRT or GPU, or damaged; starting a fresh one")
    cache = config.create_timing_cache(b"")
    config.set_timing_cache(cache, ignore_mismatch=False)
    return cache, False


def build_config(trt, builder, network, plan: PrecisionPlan, profiles: dict, *, workspace: int | None = None,
                 timing_cache: str | None = None, version_compatible: bool = False, progress_monitor=None,
                 gpu_name: str = "this GPU", log=None) -> ConfigHandles:
    """The IBuilderConfig for ``plan``: flags, workspace, profile, DLA, timing cache, monitor."""
    config = builder.create_builder_config()
    for name in plan.builder_flags:
        config.set_flag(getattr(trt.BuilderFlag, name))
    if version_compatible:
        config.set_flag(trt.BuilderFlag.VERSION_COMPATIBLE)
    if workspace:
        config.set_memory_pool_limit(trt.MemoryPoolType.WORKSPACE, int(workspace))
    if plan.dla_core is not None:
        check_dla_profiles(profiles, core=plan.dla_core)
    add_profiles(trt, builder, network, config, profiles)
    dla = None
    if plan.dla_core is not None:
        set_dla(trt, builder, config, plan.dla_core, gpu_name)
        dla = dla_network_placement(config, network, plan.dla_core)
    cache, loaded = load_timing_cache(config, timing_cache, log)
    if progress_monitor is not None:
        config.progress_monitor = progress_monitor
    return ConfigHandles(config, cache, progress_monitor, loaded, dla)


def serialize_network(builder, network, config) -> bytes:
    """``builder.build_serialized_network``; None (TensorRT's failure) becomes a clear error."""
    plan = builder.build_serialized_network(network, config)
    if plan is None or len(memoryview(plan)) == 0:
        raise ModelError("TensorRT could not build the engine",
                         got="build_serialized_network returned nothing (TensorRT's log above says why)",
                         fix="see the TensorRT errors above; common fixes: --workspace 4G, a smaller "
                             "--dynamic max shape, another --precision, or --verbose for details")
    return bytes(memoryview(plan))


def save_timing_cache(config, path: str) -> bool:
    """Write the config's timing cache to ``path`` atomically (reused by the next build)."""
    from ...utils.atomic import atomic_write_bytes
    cache = config.get_timing_cache()
    if cache is None:
        return False
    atomic_write_bytes(path, bytes(memoryview(cache.serialize())))
    return True


@dataclass(frozen=True)
class BuildResult:
    path: str
    header: EngineHeader
    plan: PrecisionPlan
    seconds: float
    dla: DlaPlacement | None = None     # DLA builds: layers on DLA and on the GPU
    fp16: Any = None                    # fp16.Fp16Conversion where the ONNX was converted (TensorRT 11)


def default_engine_path(onnx_path: str) -> str:
    stem = onnx_path[:-5] if onnx_path.lower().endswith(".onnx") else onnx_path
    return stem + ".engine"


def _log(log, line: str) -> None:
    if log is not None:
        log(line)


def build_engine(onnx_path, out=None, *, precision: str = "fp16", shapes=None, workspace=None,
                 dla_core: int | None = None, timing_cache: str | None = None,
                 version_compatible: bool = False, verbose: bool = False, progress=STDERR,
                 log=print, calib=None, fp16_converter: str = "auto") -> BuildResult:
    """Build ``onnx_path`` into an engine file (the raw plan, its sidecar beside it) at ``out`` (default: beside it).

    ``shapes``: None, ``"1x3x512x512"``, ``"MIN:OPT:MAX"`` or {input: spec}; ``workspace``: bytes
    or ``"2G"``; ``progress``: a stream for the progress bar, or None; ``log``: one line per step.
    ``calib``: frames (N x H x W x 3 uint8 BGR), a calib.npz, an image folder, video or data spec:
    where the ONNX is converted to float16 (TensorRT 11), nodes whose activations on them pass the
    float16 range stay float32. ``fp16_converter``: ``auto`` (ModelOpt AutoCast where it imports,
    else edgeseg's), ``autocast`` or ``edgeseg`` (:func:`edgeseg.backends.tensorrt.fp16.convert_for_build`).
    """
    from .shapes import parse_workspace
    from .source import load_source, resolve_profiles
    t0 = time.perf_counter()
    onnx_path = os.fspath(onnx_path)
    ws = parse_workspace(workspace) if workspace is not None else None
    src = load_source(onnx_path)
    validate_request(precision, qdq=src.qdq, dla_core=dla_core)
    profiles = resolve_profiles(src, shapes)
    if dla_core is not None:
        _checked(check_dla_profiles, onnx_path, profiles, core=dla_core, layout=src.meta.layout)
    from .fp16 import CONVERTERS, check_calib
    if fp16_converter not in CONVERTERS:
        raise ConfigError("unknown fp16 converter", expected=" | ".join(CONVERTERS), got=fp16_converter)
    check_calib(calib)
    out = os.fspath(out) if out is not None else default_engine_path(onnx_path)
    if os.path.abspath(out) == os.path.abspath(onnx_path):
        raise ConfigError("the engine would overwrite the ONNX", got=out, fix="--out model.engine")

    trt = import_tensorrt()
    plan = precision_plan(trt.__version__, precision, qdq=src.qdq, dla_core=dla_core)
    from .cuda.device import gpu_info
    gpu = gpu_info()
    _log(log, f"build: {os.path.basename(onnx_path)} -> {out}: TensorRT {trt.__version__} on {gpu.name} "
              f"(sm {gpu.compute_capability}), precision {precision}"
              + (f", DLA core {dla_core}" if dla_core is not None else "")
              + "".join(f", {n} {p.cli().split(' ', 1)[1]}" for n, p in profiles.items()))
    for note in plan.notes:
        _log(log, f"  note: {note}")

    logger = trt_logger(trt, verbose)
    conversion = None
    if plan.convert_fp16:
        from .fp16 import calibration_tensors, convert_for_build
        tensors = calibration_tensors(calib, src.meta) if calib is not None else None
        conversion = convert_for_build(src.model, path=onnx_path, tensors=tensors, converter=fp16_converter)
        source, path = conversion.model.SerializeToString(), onnx_path
        for line in conversion.lines():
            _log(log, f"  {line}")
    else:
        source, path = onnx_path, None
        if calib is not None:
            _log(log, "  note: the calibration frames are not used: only a float16 conversion of the ONNX "
                      "(TensorRT 11 fp16) checks activation ranges")
    builder, network, parser = network_from_onnx(source, network_flags(trt, plan), trt=trt, logger=logger,
                                                 path=path)
    from .progress import ElapsedTicker, make_progress_monitor
    monitor = make_progress_monitor(trt, file=progress) if progress is not None else None
    handles = build_config(trt, builder, network, plan, profiles, workspace=ws, timing_cache=timing_cache,
                           version_compatible=version_compatible, progress_monitor=monitor,
                           gpu_name=gpu.name, log=log)
    if timing_cache:
        _log(log, f"  timing cache: {timing_cache} ({'reused' if handles.timing_cache_loaded else 'new'})")
    for line in handles.dla.network_lines() if handles.dla else ():
        _log(log, f"  {line}")
    try:
        with ElapsedTicker("building", file=progress if monitor is None else None):
            plan_bytes = serialize_network(builder, network, handles.config)
    except ModelError:
        if monitor is not None and monitor.tracker.cancelled:  # Ctrl-C: TensorRT stopped at our request
            raise KeyboardInterrupt from None
        raise
    if timing_cache:
        save_timing_cache(handles.config, timing_cache)
    del parser  # the network's weights were the parser's until the plan was serialized
    dla = None
    if handles.dla is not None:
        dla = dla_engine_placement(trt, plan_bytes, handles.dla, logger)
        for line in dla.engine_lines():
            _log(log, f"  {line}")

    meta = src.meta.replace(precision=plan.engine_precision, provenance={
        **src.meta.provenance, "build": {"tensorrt": trt.__version__, "gpu": gpu.name, "precision": precision,
                                         "onnx": os.path.basename(onnx_path)}})
    header = EngineHeader(meta=meta, tensorrt=trt.__version__, gpu=gpu.name,
                          compute_capability=gpu.compute_capability, precision=precision,
                          shapes={n: p.to_dict() for n, p in profiles.items()}, onnx_sha256=src.sha256,
                          dla_core=dla_core, version_compatible=version_compatible,
                          onnx=os.path.basename(onnx_path))
    header = write_engine(out, header, plan_bytes)
    seconds = time.perf_counter() - t0
    _log(log, f"wrote {out} ({len(plan_bytes) / 1e6:.1f} MB plan, {seconds:.1f} s)"
              + ("; load it with runtime.engine_host_code_allowed = True (version-compatible)"
                 if version_compatible else ""))
    return BuildResult(out, header, plan, seconds, dla, conversion)


def _checked(check, path, *args, **kw):
    """Run ``check``; an EdgesegError without a path gets ``path`` (the file it was checked for)."""
    from ...errors import EdgesegError
    try:
        check(*args, **kw)
    except EdgesegError as exc:
        if exc.path is not None:
            raise
        raise type(exc)(exc.what, expected=exc.expected, got=exc.got, fix=exc.fix, path=path) from exc


def wrap_plan(plan_path, onnx_path, out, *, precision: str, shapes=None, dla_core: int | None = None,
              version_compatible: bool = False, log=print) -> EngineHeader:
    """Give a raw TensorRT plan (trtexec's) edgeseg's sidecar, with the meta of the ONNX it was
    built from: ``out`` is the plan as it was (an Ultralytics-style JSON prefix dropped) and
    ``out.meta.json`` beside it. Run it on the machine that built the plan: the plan is deserialized
    here to prove that this TensorRT and GPU load it, and their versions go into the sidecar."""
    from .header import MAGIC, RAW_PLAN_MAGIC, sidecar_path
    from .source import load_source, resolve_profiles
    plan_path = os.fspath(plan_path)
    if not os.path.isfile(plan_path):
        raise ModelError("plan file not found", path=plan_path)
    with open(plan_path, "rb") as f:
        plan_bytes = f.read()
    if plan_bytes.startswith(MAGIC):
        raise ConfigError("this engine already has edgeseg's header", path=plan_path,
                          fix=f"use it as it is, or edgeseg build --unwrap {plan_path}")
    if os.path.exists(sidecar_path(plan_path)):
        raise ConfigError("this plan already has edgeseg's sidecar", path=plan_path,
                          got=sidecar_path(plan_path), fix="use it as it is")
    if not plan_bytes.startswith(RAW_PLAN_MAGIC):
        n = int.from_bytes(plan_bytes[:4], "little") if len(plan_bytes) >= 8 else 0
        if 0 < n < len(plan_bytes) and plan_bytes[4 + n:8 + n] == RAW_PLAN_MAGIC:
            plan_bytes = plan_bytes[4 + n:]  # another tool's JSON prefix (e.g. Ultralytics): drop it
        else:
            raise ModelError("not a TensorRT plan", path=plan_path, expected=f"a file starting with {RAW_PLAN_MAGIC!r}",
                             got=f"first bytes {plan_bytes[:8]!r}")
    src = load_source(onnx_path)
    validate_request(precision, qdq=src.qdq, dla_core=dla_core)
    profiles = resolve_profiles(src, shapes)
    trt = import_tensorrt()
    plan = precision_plan(trt.__version__, precision, qdq=src.qdq, dla_core=dla_core)
    from .cuda.device import gpu_info
    gpu = gpu_info()
    runtime = trt.Runtime(trt_logger(trt))
    if version_compatible:
        runtime.engine_host_code_allowed = True
    engine = runtime.deserialize_cuda_engine(plan_bytes)
    if engine is None:
        raise ModelError("this TensorRT cannot load the plan", path=plan_path,
                         got=f"TensorRT {trt.__version__} on {gpu.name}",
                         fix="wrap it on the machine that built it, or rebuild: edgeseg build "
                             f"{os.fspath(onnx_path)} --precision {precision}")
    del engine
    meta = src.meta.replace(precision=plan.engine_precision)
    header = EngineHeader(meta=meta, tensorrt=trt.__version__, gpu=gpu.name,
                          compute_capability=gpu.compute_capability, precision=precision,
                          shapes={n: p.to_dict() for n, p in profiles.items()}, onnx_sha256=src.sha256,
                          dla_core=dla_core, version_compatible=version_compatible,
                          onnx=os.path.basename(os.fspath(onnx_path)))
    header = write_engine(out, header, plan_bytes)
    _log(log, f"wrapped {plan_path} -> {out} (TensorRT {trt.__version__}, {gpu.name})")
    return header
