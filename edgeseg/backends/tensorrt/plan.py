"""The precision plan: a pure function of (TensorRT version, precision, Q/DQ or not, DLA core).

Where TensorRT 10 and 11 differ, the builder reads :class:`TrtCapabilities` (derived from the
version once) instead of testing versions here and there:

- TensorRT 10.x (Jetson Orin on JetPack 6, most desktops): weakly typed networks; precision is
  chosen by builder flags (``BuilderFlag.FP16`` / ``INT8``). INT8 is explicit: a Q/DQ model from
  ``edgeseg quantize --target tensorrt``; no calibrator is ever used.
- TensorRT 11.x: ``BuilderFlag`` has no FP16/INT8/BF16/precision-constraint members and the
  ``IInt8*Calibrator`` classes are gone; networks are strongly typed (the precision is the ONNX
  graph's tensor types). fp16 therefore means converting the ONNX to float16 first
  (:func:`edgeseg.backends.tensorrt.fp16.convert_for_build`, float32 inputs/outputs kept); int8 means the Q/DQ model.
- DLA runs fp16 or int8 only: a 10.x DLA int8 plan sets FP16 beside INT8, or every layer outside
  the Q/DQ pairs would stay fp32 and fall back to the GPU.

>>> p = precision_plan("10.3.0", "best", qdq=True)
>>> p.builder_flags, p.network_flags, p.convert_fp16, p.engine_precision
(('FP16', 'INT8'), (), False, 'mixed')
>>> p = precision_plan("11.4.0", "fp16", qdq=False)
>>> p.builder_flags, p.network_flags, p.convert_fp16
((), ('STRONGLY_TYPED',), True)
>>> precision_plan("10.3.0", "fp16", qdq=False, dla_core=0).builder_flags
('FP16', 'GPU_FALLBACK')
>>> precision_plan("10.3.0", "int8", qdq=False)
Traceback (most recent call last):
...
edgeseg.errors.ConfigError: --precision int8 needs a Q/DQ model (explicit quantization)
  expected: an ONNX with QuantizeLinear/DequantizeLinear nodes from `edgeseg quantize --target tensorrt`
  got:      a float model without Q/DQ nodes
  fix:      edgeseg quantize model.onnx --calib calib.npz --target tensorrt, then build that file with --precision int8 (or build this one with --precision fp16)
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from ...errors import ConfigError

PRECISIONS = ("fp32", "fp16", "int8", "best")
SUPPORTED_MAJORS = (10, 11)
JETPACK_HINT = ("Jetson Orin: JetPack 6.x ships TensorRT 10.3; desktops: pip install tensorrt "
                "(NVIDIA's wheels, 10.x or 11.x)")


def parse_trt_version(version) -> tuple[int, int, int]:
    """``"10.3.0"`` / ``"10.13.0.35"`` / ``(11, 4)`` -> ``(major, minor, patch)``.

    >>> parse_trt_version("10.13.0.35"), parse_trt_version("11.4")
    ((10, 13, 0), (11, 4, 0))
    """
    if isinstance(version, (tuple, list)):
        parts = [int(v) for v in version]
    else:
        m = re.match(r"^\s*(\d+)(?:\.(\d+))?(?:\.(\d+))?", str(version))
        if not m:
            raise ConfigError("cannot read the TensorRT version", expected="like 10.3.0", got=version)
        parts = [int(g) for g in m.groups() if g is not None]
    parts = (parts + [0, 0, 0])[:3]
    return parts[0], parts[1], parts[2]


def format_version(v: tuple[int, int, int]) -> str:
    return ".".join(str(x) for x in v)


@dataclass(frozen=True)
class TrtCapabilities:
    """What one TensorRT release offers the builder; the only place versions are compared.

    >>> c = TrtCapabilities.for_version("11.2.1")
    >>> c.weakly_typed, c.strongly_typed_only, c.dla
    (False, True, False)
    """

    version: tuple[int, int, int]
    weakly_typed: bool         # BuilderFlag.FP16 / INT8 exist (10.x); removed in 11.0
    strongly_typed_only: bool  # 11.x: strong typing always on (the creation flag is kept, ignored)
    dla: bool                  # this release can target DLA at all (not 11.0 - 11.3)
    dla_note: str

    @classmethod
    def for_version(cls, version) -> TrtCapabilities:
        v = parse_trt_version(version)
        major = v[0]
        if major < 10:
            raise ConfigError(f"TensorRT {format_version(v)} is too old for edgeseg build",
                              expected="TensorRT >= 10 (JetPack 6 on Jetson Orin, or NVIDIA's 10.x/11.x "
                                       "wheels on a desktop)",
                              got=f"TensorRT {format_version(v)}"
                                  + (" (JetPack 5)" if major == 8 else ""),
                              fix="upgrade to JetPack 6 (TensorRT 10.3) on a Jetson, or pip install "
                                  "tensorrt on a desktop; TensorRT 8 engines need its own trtexec")
        if major > max(SUPPORTED_MAJORS):
            raise ConfigError(f"TensorRT {format_version(v)} is newer than this edgeseg knows",
                              expected="TensorRT 10.x or 11.x", got=f"TensorRT {format_version(v)}",
                              fix="pip install -U edgeseg, or install TensorRT 10.x/11.x")
        if major == 10:
            return cls(v, weakly_typed=True, strongly_typed_only=False, dla=True, dla_note="")
        # NVIDIA's 11.x notes: DLA unavailable in 11.0 - 11.3; 11.4.0 only on Windows on ARM;
        # 11.4.1 restores it on Jetson AGX Orin with JetPack 7.2.2+ (strongly typed networks).
        dla = v >= (11, 4, 0)
        note = ("" if dla else f"TensorRT {format_version(v)} cannot build for DLA (DLA was unavailable "
                               "in TensorRT 11.0 - 11.3; 11.4.1 restores it on Jetson AGX Orin with "
                               "JetPack 7.2.2+)")
        return cls(v, weakly_typed=False, strongly_typed_only=True, dla=dla, dla_note=note)


@dataclass(frozen=True)
class PrecisionPlan:
    """How to build one precision on one TensorRT: flag names are members of
    ``trt.NetworkDefinitionCreationFlag`` / ``trt.BuilderFlag``, so the plan stays pure."""

    tensorrt: tuple[int, int, int]
    precision: str                  # requested: fp32 | fp16 | int8 | best
    network_flags: tuple[str, ...]
    builder_flags: tuple[str, ...]
    convert_fp16: bool              # convert the ONNX to float16 (float32 I/O kept) before parsing
    dla_core: int | None
    engine_precision: str           # what the engine holds, for ModelMeta.precision
    notes: tuple[str, ...] = ()


def validate_request(precision: str, *, qdq: bool, dla_core: int | None = None) -> None:
    """The checks that hold on every TensorRT version (run before TensorRT is even imported)."""
    if precision not in PRECISIONS:
        raise ConfigError("unknown precision", expected=" | ".join(PRECISIONS), got=precision)
    if dla_core is not None and (not isinstance(dla_core, int) or dla_core < 0):
        raise ConfigError("the DLA core must be an index >= 0", expected="--dla 0 or --dla 1", got=dla_core)
    if precision == "int8" and not qdq:
        raise ConfigError("--precision int8 needs a Q/DQ model (explicit quantization)",
                          expected="an ONNX with QuantizeLinear/DequantizeLinear nodes from "
                                   "`edgeseg quantize --target tensorrt`",
                          got="a float model without Q/DQ nodes",
                          fix="edgeseg quantize model.onnx --calib calib.npz --target tensorrt, then build "
                              "that file with --precision int8 (or build this one with --precision fp16)")
    if qdq and precision in ("fp32", "fp16"):
        raise ConfigError(f"--precision {precision} conflicts with a Q/DQ (INT8) model",
                          expected="--precision int8 or best for a quantized model",
                          got=f"--precision {precision} and QuantizeLinear/DequantizeLinear nodes",
                          fix="build it with --precision int8 (or best: int8 + fp16), or build the "
                              f"float ONNX with --precision {precision}")
    if dla_core is not None and precision == "fp32":
        raise ConfigError("DLA runs fp16 or int8 only, not fp32",
                          expected="--dla with --precision fp16, int8 or best", got="--precision fp32",
                          fix="use --precision fp16 with --dla, or drop --dla to build fp32 for the GPU")


def precision_plan(tensorrt, precision: str, *, qdq: bool, dla_core: int | None = None) -> PrecisionPlan:
    """The plan for ``precision`` on TensorRT ``tensorrt`` (sources: docs/tensorrt_api.md)."""
    validate_request(precision, qdq=qdq, dla_core=dla_core)
    caps = TrtCapabilities.for_version(tensorrt)
    if dla_core is not None and not caps.dla:
        raise ConfigError("this TensorRT cannot build for DLA", got=caps.dla_note,
                          fix="stay on TensorRT 10.x (JetPack 6) for DLA, or drop --dla to build for the GPU")
    notes: list[str] = []
    network: tuple[str, ...] = ()
    builder: list[str] = []
    convert = False
    if caps.weakly_typed:                                   # TensorRT 10.x
        # DLA runs fp16 or int8 only: with INT8 alone every layer outside a Q/DQ pair stays fp32
        # and, with GPU fallback, silently runs on the GPU; FP16 lets those layers stay on DLA.
        dla_int8 = dla_core is not None and precision == "int8"
        if precision in ("fp16", "best") or dla_int8:
            builder.append("FP16")
        if precision in ("int8", "best") and qdq:
            builder.append("INT8")
        if dla_int8:
            notes.append("DLA: FP16 beside INT8, so the layers outside the Q/DQ pairs run fp16 on DLA "
                         "instead of fp32 on the GPU")
        elif precision == "int8":
            notes.append("layers outside the Q/DQ pairs run in fp32; --precision best adds fp16 for them")
    else:                                                   # TensorRT 11.x: strongly typed
        network = ("STRONGLY_TYPED",)
        if precision == "fp16" or (precision == "best" and not qdq):
            convert = True
            notes.append("strongly typed: the ONNX is converted to float16 (float32 inputs/outputs) "
                         "before parsing")
        if qdq:
            notes.append("strongly typed: Q/DQ layers run int8, the other layers in the graph's float32; "
                         "for fp16 there, quantize with an fp16 high-precision type (ModelOpt AutoCast)")
        if qdq and dla_core is not None:
            notes.append("DLA: the float32 layers outside the Q/DQ pairs cannot run on DLA and fall back to "
                         "the GPU (see the layer count after the build); quantize with an fp16 high-precision "
                         "type to keep them on DLA")
    if precision == "best" and not qdq:
        notes.append("best without Q/DQ nodes is fp16; quantize with --target tensorrt to add int8")
    if dla_core is not None:
        builder.append("GPU_FALLBACK")
        notes.append(f"DLA core {dla_core} with GPU fallback for layers DLA cannot run")
    engine = {"fp32": "fp32", "fp16": "fp16", "int8": "int8"}.get(precision)
    if precision == "best" or (precision == "int8" and "FP16" in builder):
        engine = ("mixed" if caps.weakly_typed else "int8") if qdq else "fp16"
    return PrecisionPlan(tensorrt=caps.version, precision=precision, network_flags=network,
                         builder_flags=tuple(builder), convert_fp16=convert, dla_core=dla_core,
                         engine_precision=engine, notes=tuple(notes))
