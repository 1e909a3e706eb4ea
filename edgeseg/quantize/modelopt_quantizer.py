"""INT8 Q/DQ ONNX for TensorRT with NVIDIA TensorRT Model Optimizer (``--quantizer modelopt``).

``modelopt.onnx.quantization.quantize`` is ONNX Runtime's ``quantize_static`` driven with
TensorRT's rules: symmetric int8 activations (zero point 0), per-channel int8 weights kept as
float initializers behind Q/DQ pairs, float biases, and its own placement heuristics (Q/DQ on
op inputs only, none around Relu/Sigmoid/Concat/Reshape..., small-channel Convs left float,
concat elimination). Optional: the
default ``--quantizer ort`` needs no NVIDIA package. Unlike that path, importing
``modelopt.onnx.quantization`` imports torch (a dependency of nvidia-modelopt).

What we set, and why (checked against nvidia-modelopt 0.47.0):

* ``high_precision_dtype="fp32"``: modelopt's default ``fp16`` rewrites the non-quantized part
  of the graph and its I/O to float16; ours stays float32 like the ORT path, and the engine
  build decides those layers' precision.
* ``calibration_eps=["cpu"]``: the default tries CUDA and TensorRT first.
* methods: our ``minmax`` is modelopt's ``max`` (MinMax with symmetric activations), ``entropy``
  is ``entropy``. modelopt has no percentile for INT8, and its INT8 path silently treats any
  unknown name as ``max``, so ``percentile`` is refused here instead. Its ``entropy`` is ONNX
  Runtime's calibrator with ORT's default 128 histogram bins (``quantize()`` cannot change
  them), not the 2048-bin ranges of our ORT path.
* ``nodes_to_exclude`` are regular expressions applied with ``re.match`` (a prefix match), so
  our exact node names are escaped and anchored: ``/head/Conv`` must not also exclude
  ``/head/Conv_1``.
* calibration streams one batch of :meth:`CalibrationSet.tensors` at a time (modelopt's own
  numpy provider wants the whole set as one float32 array: 805 MB for 256 frames at 512x512).
* modelopt raises the opset to at least 19 (its minimum for Q/DQ), so the output opset can
  differ from the input's.
* modelopt monkey-patches ``onnxruntime.quantization`` for the whole process (calibrators,
  quantizer methods, the op registries: it drops Relu, Concat, Reshape... from QDQRegistry).
  Left in place, a later ``--quantizer ort`` run in the same process fails ("Quantization
  parameters are not specified for param ..."), so :func:`_ort_state_kept` restores it.
* its chatter (INFO logs, ORT's histogram prints and one tqdm bar per batch) is captured;
  modelopt's warnings and errors are passed on to stderr, and the log's last lines go into
  the error when it fails.
"""

from __future__ import annotations

import contextlib
import io
import os
import re
import sys

from ..errors import ConfigError, DataError, EdgesegError, MissingDependencyError, ModelError
from ..lazy import require
from ..meta import META_KEY, ModelMeta
from .calibration import CalibrationSet

INSTALL = 'pip install "nvidia-modelopt[onnx]"'
# On Linux x86-64 the [onnx] extra pins onnxruntime-gpu~=1.24 (same module name as onnxruntime),
# onnx~=1.21 and cupy-cuda12x; where that would replace a working CPU onnxruntime, the packages
# modelopt.onnx.quantization imports are enough (tested: 0.47.0 with onnx 1.23, onnxruntime 1.31 and 1.32).
# nvidia-modelopt itself requires torch (qdq_utils imports it), so without one pip pulls the CUDA
# wheel.
INSTALL_CPU = ("on a CPU-only machine: torch from the CPU index first, then pip install nvidia-modelopt "
               "onnx-graphsurgeon onnxslim onnxscript polygraphy lief ml_dtypes, which keeps your onnxruntime")
METHOD_MAP = {"minmax": "max", "entropy": "entropy"}   # ours -> modelopt's INT8 calibration methods
MODELOPT_METHODS = ("max", "entropy")


def _modelopt_quantization():
    try:
        return require("modelopt.onnx.quantization", "--quantizer modelopt")
    except MissingDependencyError as exc:
        raise MissingDependencyError(
            "modelopt.onnx.quantization is needed for --quantizer modelopt but is not importable",
            expected="NVIDIA TensorRT Model Optimizer with its ONNX dependencies",
            got=exc.got, fix=f"{INSTALL} ({INSTALL_CPU}); or use the default --quantizer ort",
        ) from exc


def modelopt_method(method: str) -> str:
    """Our calibration method name -> modelopt's; ConfigError where modelopt has none."""
    if method not in METHOD_MAP:
        raise ConfigError(f"--quantizer modelopt has no '{method}' calibration",
                          expected=f"--method {' | '.join(METHOD_MAP)} (modelopt offers INT8 "
                                   f"calibration methods: {', '.join(MODELOPT_METHODS)})",
                          got=method, fix=f"use --method entropy or minmax, or --quantizer ort for {method}")
    return METHOD_MAP[method]


def _single_input(model_path: str):
    onnx = require("onnx")
    graph = onnx.load(model_path, load_external_data=False).graph
    inits = {i.name for i in graph.initializer}
    inputs = [i for i in graph.input if i.name not in inits]
    if len(inputs) != 1:
        raise ModelError("--quantizer modelopt expects a model with one input", path=model_path,
                         expected="one image input (NCHW)", got=f"{len(inputs)} inputs")
    dim0 = inputs[0].type.tensor_type.shape.dim[0] if inputs[0].type.tensor_type.shape.dim else None
    batch = dim0.dim_value if dim0 is not None and dim0.HasField("dim_value") and dim0.dim_value > 0 else 1
    return inputs[0].name, batch


def _reader(calib: CalibrationSet, meta: ModelMeta, input_name: str, batch: int):
    """A CalibrationDataReader that preprocesses one batch at a time; ``get_first`` and ``rewind``
    are what modelopt's own providers add (it runs the first batch to probe tensor shapes)."""
    q = require("onnxruntime.quantization", "--quantizer modelopt")
    usable = len(calib) - len(calib) % batch
    if usable == 0:
        raise DataError("calibration set smaller than the model's batch", path=calib.source,
                        expected=f"at least {batch} frames", got=f"{len(calib)} frames")

    class Reader(q.CalibrationDataReader):
        def __init__(self):
            self._next = 0

        def _feed(self, start):
            return {input_name: calib.tensors(meta, start, start + batch)}

        def get_next(self):
            if self._next >= usable:
                return None
            feed = self._feed(self._next)
            self._next += batch
            return feed

        def get_first(self):
            return self._feed(0)

        def rewind(self):
            self._next = 0

        def __len__(self):
            return usable // batch

    return Reader()


@contextlib.contextmanager
def _ort_state_kept():
    """Undo modelopt's process-wide patches of ``onnxruntime.quantization`` on exit: class and
    module attributes it replaced, and the contents of module-level dicts (the op registries)."""
    mods = {n: m for n, m in list(sys.modules.items())
            if m is not None and (n == "onnxruntime.quantization" or n.startswith("onnxruntime.quantization."))}
    saved_attrs, saved_dicts, saved_classes = {}, {}, {}
    for name, mod in mods.items():
        attrs = dict(vars(mod))
        saved_attrs[name] = attrs
        for k, v in attrs.items():
            if isinstance(v, dict):
                saved_dicts[(name, k)] = (v, dict(v))
            elif isinstance(v, type) and v.__module__ == name:
                saved_classes[(name, k)] = (v, dict(vars(v)))
    try:
        yield
    finally:
        for name, attrs in saved_attrs.items():
            mod = mods[name]
            for k, v in attrs.items():
                if getattr(mod, k, None) is not v:
                    setattr(mod, k, v)
        for d, content in saved_dicts.values():
            if d != content:
                d.clear()
                d.update(content)
        for cls, content in saved_classes.values():
            for k in [k for k in vars(cls) if k not in content]:
                delattr(cls, k)
            for k, v in content.items():
                if k not in ("__dict__", "__weakref__", "__doc__") and vars(cls).get(k, None) is not v:
                    setattr(cls, k, v)


_PASS_ON = re.compile(r"\[modelopt\]\[onnx\] - (WARNING|ERROR) - ")
_BENIGN = ("Failed to get GPU count",)   # CPU-only machine: no NVML, expected


@contextlib.contextmanager
def _captured(sink):
    """Capture stdout/stderr (modelopt's logger is bound to the stdout current when it runs);
    on success pass modelopt's warnings and errors on to ``sink``."""
    buf = io.StringIO()
    with contextlib.redirect_stdout(buf), contextlib.redirect_stderr(buf):
        yield buf
    for line in buf.getvalue().splitlines():
        if _PASS_ON.search(line) and not any(b in line for b in _BENIGN):
            print(line, file=sink)


def _carry_metadata(src: str, dst: str) -> None:
    """Keep the source's metadata_props (our ModelMeta among them) on modelopt's output."""
    onnx = require("onnx")
    props = {p.key: p.value for p in onnx.load(src, load_external_data=False).metadata_props}
    if META_KEY not in props:
        return
    out = onnx.load(dst)
    have = {p.key for p in out.metadata_props}
    for k, v in props.items():
        if k not in have:
            e = out.metadata_props.add()
            e.key, e.value = k, v
    onnx.save(out, dst)


def quantize_modelopt(model_path: str, out_path: str, calib: CalibrationSet, meta: ModelMeta,
                      method: str, keep_float: list[str]) -> str:
    """Quantize ``model_path`` to an INT8 Q/DQ ONNX for TensorRT with modelopt; returns ``out_path``.

    ``keep_float`` names nodes to leave in float (exact names). ``meta`` is only read (for
    preprocessing); the caller stamps the output's meta.
    """
    mtq = _modelopt_quantization()
    mo_method = modelopt_method(method)
    input_name, batch = _single_input(model_path)
    reader = _reader(calib, meta, input_name, batch)
    excluded = [re.escape(n) + "$" for n in keep_float]
    log = None
    try:
        with _ort_state_kept(), _captured(sys.stderr) as log:
            mtq.quantize(
                onnx_path=model_path,
                quantize_mode="int8",
                calibration_method=mo_method,
                calibration_data_reader=reader,
                calibration_eps=["cpu"],
                nodes_to_exclude=excluded,
                high_precision_dtype="fp32",
                output_path=out_path,
                log_level="WARNING",
            )
    except EdgesegError:
        raise
    except Exception as exc:  # modelopt/ORT internals: say which tool failed and what to try
        tail = log.getvalue().strip().splitlines()[-8:] if log is not None else []
        got = "\n    ".join([f"{type(exc).__name__}: {exc}", *tail])
        raise ModelError("modelopt quantization failed", path=model_path, got=got,
                         fix="try the default --quantizer ort") from exc
    if not os.path.isfile(out_path):
        raise ModelError("modelopt wrote no quantized model", path=out_path,
                         expected="the INT8 Q/DQ ONNX", got="no file", fix="try the default --quantizer ort")
    _carry_metadata(model_path, out_path)
    return out_path


__all__ = ["quantize_modelopt", "modelopt_method", "METHOD_MAP", "MODELOPT_METHODS"]
