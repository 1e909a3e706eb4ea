"""INT8 Q/DQ ONNX with ONNX Runtime's quantizer, calibrated in bounded chunks.

Pitfalls of ``quantize_static`` handled here rather than rediscovered:

* its Entropy method uses a 128-bin histogram with no way to change it, which gave exactly the
  MinMax result; we compute ranges ourselves (2048 bins, :mod:`.ranges`) and pass them on
  through ONNX Runtime's calibration cache (``calibration_cache_path``);
* its histogram calibrators keep every intermediate tensor of every image (13.5 GB peak for 32
  images at 512x512); we stream one image at a time into running histograms instead;
* its KL search took over a minute on a small model (python loops over 2048 bins per tensor);
  ours evaluates 160 evenly spaced cut-offs in numpy;
* its percentile collector fails on near-constant tensors ("Too many bins for data range").

A target with graph passes (the ``cpu`` target, :mod:`.cpu_graph`) is calibrated and quantized on
its own copy of the float graph, and its Q/DQ output finished by those passes.

Ranges are computed once per (model, set, method) and cached, so the accuracy-budget loop can
re-quantize with different float layers in seconds.
"""

from __future__ import annotations

import contextlib
import io
import logging
import os
from pathlib import Path

import numpy as np

from ..errors import ModelError
from ..lazy import require
from ..meta import ModelMeta
from ..utils.atomic import private_tempdir
from ..utils.checks import check_float, check_int
from ..utils.progress import STDERR, Progress
from .calibration import CalibrationSet
from .cpu_graph import finish_graph, policy_float_nodes, target_graph
from .float_rewrites import blocks_of, split_sources, tied_tensors
from .graph_edit import float_inputs_for
from .hardswish import hardswish_inputs, widen_for_clip
from .ranges import RangeCollector
from .targets import QuantTarget


class _ListReader:
    """The CalibrationDataReader protocol over a list of input dicts."""

    def __init__(self, feeds):
        self._it = iter(feeds)

    def get_next(self):
        return next(self._it, None)


def _quant_ops():
    reg = require("onnxruntime.quantization.registry")
    return sorted(set(reg.QLinearOpsRegistry) | set(reg.QDQRegistry))


def prepare_model(src: str, dst: str) -> str:
    """Shape inference + ONNX Runtime's basic (standard-op) optimisation, as its docs advise."""
    q = require("onnxruntime.quantization", "INT8 quantization")
    with _quiet():
        q.shape_inference.quant_pre_process(src, dst, skip_symbolic_shape=True)
    return dst


@contextlib.contextmanager
def _quiet():
    """ORT's quantizer prints and logs chatter for every tensor; keep our progress readable."""
    root = logging.getLogger()
    level = root.level
    root.setLevel(logging.ERROR)
    try:
        with contextlib.redirect_stdout(io.StringIO()):
            yield
    finally:
        root.setLevel(level)


def compute_ranges(model_path: str, calib: CalibrationSet, meta: ModelMeta, method: str,
                   target: QuantTarget, *, percentile: float = 99.99, num_bins: int = 2048,
                   file=STDERR):
    """Activation ranges (ORT ``TensorsData``) of every tensor ORT would quantize, over ``calib``.

    ONNX Runtime builds the augmented graph (every such tensor made an output); the images go
    through it one at a time into our streaming :class:`RangeCollector`, so peak memory is one
    image's activations, not the whole set's.
    """
    check_float("percentile", percentile, 0, 100, low_open=True)
    check_int("num_bins", num_bins, 16)
    q = require("onnxruntime.quantization", "INT8 quantization")
    cm = _METHODS(q)[method]
    with private_tempdir("edgeseg-calib-") as tmp, _quiet():
        graph = target_graph(model_path, target, os.path.join(tmp, "graph.onnx"))
        graph_model = require("onnx").load(graph, load_external_data=False)
        hardswish = hardswish_inputs(graph_model) if "int8_hardswish" in target.passes else {}
        tied, sources = tied_tensors(graph_model), split_sources(graph_model)
        del graph_model
        # The Entropy calibrator's augmentation outputs full tensors (MinMax's only reductions).
        calibrator = q.create_calibrator(Path(graph), _quant_ops(),
                                         augmented_model_path=os.path.join(tmp, "augmented.onnx"),
                                         calibrate_method=q.CalibrationMethod.Entropy)
        session = calibrator.infer_session
        input_name = session.get_inputs()[0].name
        names = [o.name for o in session.get_outputs()]
        wanted = [(i, n) for i, n in enumerate(names) if n in calibrator.tensors_to_calibrate]
        collectors = {n: RangeCollector(num_bins) for _, n in wanted}
        with Progress(len(calib), f"calibrate ({method})", file=file, unit="img") as bar:
            for start in range(len(calib)):
                outs = session.run(None, {input_name: calib.tensors(meta, start, start + 1)})
                for i, n in wanted:
                    if not np.isfinite(outs[i]).all():
                        raise _nonfinite_activation(model_path, n, start)
                    collectors[n].add(outs[i])
                del outs
                bar.update(1)
        del calibrator, session
    logits = logit_tensors(model_path)
    found = {}
    for n, c in collectors.items():
        # Clipping logits makes the top classes saturate to the same value and tie at argmax.
        found[n] = c.range("minmax" if n in logits else method, percentile=percentile)
    for group in tied:  # a split convolution's blocks: one scale, so their Concat only copies
        group = [n for n in group if n in found]
        if group:
            whole = found[group[0]]  # the range of the convolution as one, whose output it is
            found.update({n: whole for n in group})
    for name, blocks in sources.items():  # for the plain graph (graph_pick.py), which has it unsplit
        got = [found[b] for b in blocks if b in found]
        if got:
            found[name] = (min(lo for lo, _ in got), max(hi for _, hi in got))
    data = {}
    for n, (lo, hi) in found.items():
        if n in hardswish:  # let hard-swish run as an int8 Clip (see .hardswish)
            lo, hi = widen_for_clip(lo, hi, *hardswish[n])
        data[n] = q.calibrate.TensorData(lowest=np.array(lo, np.float32), highest=np.array(hi, np.float32))
    return q.calibrate.TensorsData(cm, data)


def _nonfinite_activation(model_path: str, tensor: str, image: int) -> ModelError:
    # The FP32 outputs were finite (quantize checks them first), so an inner tensor overflowed.
    return ModelError("an activation of the FP32 model is not finite (NaN or inf) on the calibration frames",
                      path=model_path, expected="finite activations", got=f"tensor {tensor!r} on frame {image}",
                      fix="the model overflows float32 on these frames: check it with edgeseg eval and export "
                          "it again from a good checkpoint")


# Softmax/LogSoftmax: a graph-final one stays float (final_softmax.py), so the scores it reads are
# the class scores whose range must not be clipped.
_PASS_THROUGH = {"Resize", "Upsample", "Add", "Sum", "Identity", "Transpose", "Reshape", "Concat",
                 "Slice", "Squeeze", "Unsqueeze", "Flatten", "Softmax", "LogSoftmax"}


def logit_tensors(model_path: str) -> set[str]:
    """Tensors that carry class scores: the graph outputs and, walking back through ops that
    only move or add scores (Resize, Add, ...), every tensor up to the classifier convolutions."""
    onnx = require("onnx")
    g = onnx.load(model_path, load_external_data=False).graph
    producer = {o: n for n in g.node for o in n.output}
    inits = {i.name for i in g.initializer}
    todo = [o.name for o in g.output]
    seen: set[str] = set()
    while todo:
        t = todo.pop()
        if t in seen or t in inits:
            continue
        seen.add(t)
        node = producer.get(t)
        if node is not None and node.op_type in _PASS_THROUGH:
            todo.extend(i for i in node.input if i)
    return seen


def _METHODS(q):
    return {"minmax": q.CalibrationMethod.MinMax, "entropy": q.CalibrationMethod.Entropy,
            "percentile": q.CalibrationMethod.Percentile}


def quantize_with_ranges(model_path: str, out_path: str, ranges, method: str, target: QuantTarget,
                         nodes_to_exclude=(), ranges_cache: str | None = None) -> str:
    """Write the Q/DQ model for ``target`` from precomputed ``ranges``; returns ``out_path``.

    ``nodes_to_exclude`` stay float reading float inputs; the target's own float nodes (its stem
    and tail) read the DequantizeLinear of theirs."""
    q = require("onnxruntime.quantization", "INT8 quantization")
    onnx = require("onnx")
    qtype = {"int8": q.QuantType.QInt8, "uint8": q.QuantType.QUInt8}
    cm = _METHODS(q)[method]
    with private_tempdir("edgeseg-quant-") as tmp:
        graph = target_graph(model_path, target, os.path.join(tmp, "graph.onnx"))
        float_model = onnx.load(graph) if target.passes else None
        if float_model is not None:  # a convolution the passes split is kept float as its blocks
            nodes_to_exclude = blocks_of(float_model, nodes_to_exclude)
        policy = [n for n in policy_float_nodes(float_model, target) if n not in nodes_to_exclude] \
            if float_model is not None else []
        cache = ranges_cache or os.path.join(tmp, "ranges.json")
        if not os.path.exists(cache):
            q.calibrate.save_tensors_data(ranges, cache)
        extra = {"ActivationSymmetric": target.symmetric_activations, "WeightSymmetric": True,
                 "QuantizeBias": target.quantize_bias,
                 "AddQDQPairToWeight": target.float_weights_with_qdq}
        with _quiet():
            q.quantize_static(graph, out_path, calibration_data_reader=None,
                              calibration_cache_path=cache, quant_format=q.QuantFormat.QDQ,
                              per_channel=target.per_channel, activation_type=qtype[target.activation],
                              op_types_to_quantize=list(target.op_types) if target.op_types else None,
                              weight_type=qtype[target.weight],
                              nodes_to_exclude=list(nodes_to_exclude) + policy,
                              calibrate_method=cm, extra_options=extra)
    if nodes_to_exclude or target.passes:
        model = onnx.load(out_path)
        if nodes_to_exclude:
            float_inputs_for(model, nodes_to_exclude)
        if float_model is not None:
            finish_graph(model, float_model, target, list(nodes_to_exclude) + policy)
        onnx.save(model, out_path)
    return out_path


def quantizable_nodes(model_path: str) -> list[tuple[str, str]]:
    """(name, op_type) of the nodes ONNX Runtime would quantize, in graph order."""
    onnx = require("onnx")
    ops = set(_quant_ops())
    return [(n.name, n.op_type) for n in onnx.load(model_path, load_external_data=False).graph.node
            if n.op_type in ops]


def range_summary(ranges) -> dict:
    """Min/max of the widest ranges, for the report (helps spot an outlier tensor)."""
    items = []
    for name, tr in ranges.items():
        lo, hi = (float(np.min(tr.range_value[0])), float(np.max(tr.range_value[1])))
        items.append((hi - lo, name, lo, hi))
    items.sort(reverse=True)
    return {"tensors": len(items), "widest": [{"tensor": n, "min": lo, "max": hi} for _, n, lo, hi in items[:5]]}
