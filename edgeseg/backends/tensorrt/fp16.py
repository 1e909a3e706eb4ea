"""Float16 graphs for TensorRT 11's strongly typed fp16 builds.

TensorRT 11 networks are strongly typed (the ONNX's tensor types are the precision; BuilderFlag
has no FP16), so an fp16 engine is built from a converted graph. :func:`convert_for_build` is
what the builder calls: ModelOpt AutoCast where it imports (NVIDIA's migration guide), else
:func:`to_float16`; calibration frames (:func:`calibration_tensors`) feed the range check that
keeps in float32 the nodes whose activations pass the float16 range (:func:`fp16_range_check`).

``to_float16`` (a float32 ONNX -> float16 compute with float32 inputs and outputs) follows each
op's schema for the graph's opset, so nothing is cast where ONNX would reject it:

- float32 initializers and ``Constant`` tensors become float16 where their consumer takes float16
  (values clipped to the float16 range); a slot the op types as float32 only keeps the float32 copy
  (``Resize`` scales; ``QuantizeLinear``/``DequantizeLinear`` scales before opset 19);
- ``Cast(to=FLOAT)`` becomes ``Cast(to=FLOAT16)``; value_info types follow;
- a Cast is inserted where a float16 tensor meets a float32-only slot (the input of a
  QuantizeLinear before opset 19) and after a float32-only output (DequantizeLinear before 19);
- small (rank <= 1) float tensors that feed float32-only slots (scales computed from shapes)
  stay float32 all the way, so a computed Resize scale is not rounded to float16;
- graph inputs and outputs stay float32: a Cast follows each float input and precedes each
  float output, so a runtime feeds and reads float32 as before.

Ops outside the default domain keep float32 (their inputs are cast back). Subgraphs (If/Loop)
are not converted (a ModelError says so).

>>> import onnx
>>> from onnx import helper as h, TensorProto as T, numpy_helper as nh
>>> import numpy as np
>>> w = nh.from_array(np.ones((2, 3, 1, 1), np.float32), "w")
>>> g = h.make_graph([h.make_node("Conv", ["x", "w"], ["y"])], "g",
...                  [h.make_tensor_value_info("x", T.FLOAT, [1, 3, 4, 4])],
...                  [h.make_tensor_value_info("y", T.FLOAT, [1, 2, 4, 4])], [w])
>>> m = to_float16(h.make_model(g, opset_imports=[h.make_opsetid("", 17)]))
>>> [n.op_type for n in m.graph.node], m.graph.initializer[0].data_type == T.FLOAT16
(['Cast', 'Conv', 'Cast'], True)
>>> m.graph.input[0].type.tensor_type.elem_type == m.graph.output[0].type.tensor_type.elem_type == T.FLOAT
True
"""

from __future__ import annotations

import contextlib
import io
import logging
import os
from dataclasses import dataclass
from typing import Any

import numpy as np

from ...errors import ConfigError, MissingDependencyError, ModelError
from ...lazy import require

FP16_MAX = float(np.finfo(np.float16).max)
_SUFFIX16, _SUFFIX32 = "__fp16", "__fp32"


def _schema(onnx, node, opsets):
    domain = node.domain or ""
    if domain not in ("", "ai.onnx"):
        return None
    try:
        return onnx.defs.get_schema(node.op_type, opsets.get("", opsets.get("ai.onnx", 17)), "")
    except Exception:  # noqa: BLE001 - no schema for this op/opset: treated as an unknown op (float32)
        return None


def _slot_types(schema, index: int, io: str):
    """(type variable or None, allowed type strings) of input/output ``index``."""
    params = schema.inputs if io == "in" else schema.outputs
    if not params:
        return None, set()
    p = params[min(index, len(params) - 1)]  # variadic: the last formal parameter repeats
    constraints = {c.type_param_str: set(c.allowed_type_strs) for c in schema.type_constraints}
    if p.type_str in constraints:
        return p.type_str, constraints[p.type_str]
    return None, {p.type_str}


def node_id(node, index: int) -> str:
    """How a node is named in reports and ``keep_fp32``: its name, else its first output."""
    return node.name or (node.output[0] if node.output else f"node {index}")


def to_float16(model, keep_fp32=()):
    """A float16 copy of ``model`` (an ``onnx.ModelProto``) with float32 inputs and outputs.

    ``keep_fp32``: nodes (:func:`node_id`) that compute in float32, their float16 inputs cast up
    and their outputs cast down where float16 nodes read them (see :func:`fp16_range_check`)."""
    onnx = require("onnx", "converting an ONNX to float16")
    from onnx import TensorProto, helper, numpy_helper
    FLOAT, HALF = TensorProto.FLOAT, TensorProto.FLOAT16

    src = model
    model = onnx.ModelProto()
    model.CopyFrom(src)
    g = model.graph
    for node in g.node:
        if any(a.type in (onnx.AttributeProto.GRAPH, onnx.AttributeProto.GRAPHS) for a in node.attribute):
            raise ModelError("to_float16 does not convert graphs with subgraphs",
                             got=f"{node.op_type} node {node.name!r}",
                             fix="simplify the model (onnxsim) so control flow is folded, or build fp32")
    opsets = {o.domain: o.version for o in model.opset_import}
    keep = set(keep_fp32)
    unknown = keep - {node_id(n, k) for k, n in enumerate(g.node)}
    if unknown:
        raise ModelError("keep_fp32 names no such node", got=", ".join(sorted(unknown)[:5]),
                         expected="node names of the graph (or a nameless node's first output)")

    # Original element types and ranks, from shape inference on the float32 model.
    try:
        inferred = onnx.shape_inference.infer_shapes(model).graph
    except Exception:  # noqa: BLE001 - shape inference is a help here; the graph's own value_info then
        inferred = g
    elem, rank = {}, {}
    for vi in list(inferred.value_info) + list(inferred.input) + list(inferred.output):
        tt = vi.type.tensor_type
        elem[vi.name] = tt.elem_type
        if tt.HasField("shape"):
            rank[vi.name] = len(tt.shape.dim)

    # Float32 constants (initializers and Constant nodes) are converted per consuming slot.
    consts32 = {i.name: numpy_helper.to_array(i) for i in g.initializer if i.data_type == FLOAT}
    other_inits = [i for i in g.initializer if i.data_type != FLOAT]
    nodes, kept = [], []
    graph_outputs = {o.name for o in g.output}
    for index, node in enumerate(g.node):
        if (node.op_type == "Constant" and len(node.attribute) == 1 and node.attribute[0].name == "value"
                and node.attribute[0].t.data_type == FLOAT and node.output[0] not in graph_outputs):
            consts32[node.output[0]] = numpy_helper.to_array(node.attribute[0].t)
        else:
            nodes.append(node)
            kept.append(node_id(node, index) in keep)
    for name, arr in consts32.items():
        elem[name], rank[name] = FLOAT, arr.ndim
    for i in other_inits:
        elem[i.name], rank[i.name] = i.data_type, len(i.dims)

    schemas = [_schema(onnx, n, opsets) for n in nodes]
    consumers: dict[str, list[tuple[int, int]]] = {}
    for k, n in enumerate(nodes):
        for i, name in enumerate(n.input):
            if name:
                consumers.setdefault(name, []).append((k, i))

    def is_float(name):
        return elem.get(name) in (FLOAT, HALF)

    # Backward pass: which nodes must stay float32 (they compute small tensors for float32-only slots).
    fp32_node = [False] * len(nodes)
    slot32: dict[tuple[int, int], bool] = {}
    for k in range(len(nodes) - 1, -1, -1):
        n, schema = nodes[k], schemas[k]
        outs = [o for o in n.output if o and is_float(o)]
        if schema is None:
            fp32_node[k] = True
        else:
            fp32_node[k] = kept[k] or any(rank.get(o, 99) <= 1 and o not in graph_outputs
                                          and any(slot32.get(c, False) for c in consumers.get(o, ()))
                                          for o in outs)
        out_vars = set()
        if schema is not None:
            out_vars = {_slot_types(schema, j, "out")[0] for j in range(len(n.output))} - {None}
        for i, name in enumerate(n.input):
            if not name:
                continue
            if schema is None:
                slot32[(k, i)] = True
                continue
            var, allowed = _slot_types(schema, i, "in")
            needs32 = "tensor(float16)" not in allowed and "tensor(float)" in allowed
            slot32[(k, i)] = needs32 or (fp32_node[k] and var is not None and var in out_vars)

    # Forward pass: rewrite types, inserting Casts where a slot wants the other float type.
    cur: dict[str, int] = {}
    new_nodes, new_inits = [], list(other_inits)
    made16: dict[str, str] = {}
    cast_cache: dict[tuple[str, int], str] = {}
    used32: set[str] = set()

    def const_as(name, to):
        if to == FLOAT:
            used32.add(name)
            return name
        if name not in made16:
            arr = np.clip(consts32[name], -FP16_MAX, FP16_MAX).astype(np.float16)
            made16[name] = name + _SUFFIX16
            new_inits.append(numpy_helper.from_array(arr, made16[name]))
        return made16[name]

    def cast_to(name, to):
        key = (name, to)
        if key not in cast_cache:
            out = name + (_SUFFIX16 if to == HALF else _SUFFIX32)
            new_nodes.append(helper.make_node("Cast", [name], [out], to=to, name=out + "_cast"))
            cur[out] = to
            cast_cache[key] = out
        return cast_cache[key]

    def as_type(name, to):
        """``name`` (original tensor) as a tensor of float type ``to``."""
        if name in consts32:
            return const_as(name, to)
        return name if cur.get(name) == to else cast_to(name, to)

    for vi in g.input:  # float inputs get their Cast to float16 where first needed
        cur[vi.name] = vi.type.tensor_type.elem_type

    for k, n in enumerate(nodes):
        node = onnx.NodeProto()
        node.CopyFrom(n)
        schema = schemas[k]
        ins = list(n.input)
        if n.op_type == "Cast" and schema is not None:
            to = next(a for a in node.attribute if a.name == "to")
            keep32 = fp32_node[k]
            if to.i == FLOAT and not keep32:
                to.i = HALF
            if ins[0] in consts32:
                ins[0] = const_as(ins[0], FLOAT)
            node.input[:] = ins
            cur[n.output[0]] = to.i
            new_nodes.append(node)
            continue
        if schema is None:  # unknown op (another domain): float32 in, its own types out
            node.input[:] = [as_type(x, FLOAT) if x and is_float(x) else x for x in ins]
            for o in n.output:
                cur[o] = elem.get(o, FLOAT)
            new_nodes.append(node)
            continue
        groups: dict[str, list[int]] = {}
        targets: dict[str, int] = {}
        new_ins = list(ins)
        for i, name in enumerate(ins):
            if not name:
                continue
            var, allowed = _slot_types(schema, i, "in")
            if var is not None:
                groups.setdefault(var, []).append(i)
                continue
            if is_float(name):  # a fixed slot: tensor(float) or tensor(float16)
                want = HALF if "tensor(float16)" in allowed and "tensor(float)" not in allowed else FLOAT
                new_ins[i] = as_type(name, want)
        for var, idx in groups.items():
            floats = [i for i in idx if is_float(ins[i])]
            if not floats:
                continue
            _, allowed = _slot_types(schema, idx[0], "in")
            target = HALF if ("tensor(float16)" in allowed and not fp32_node[k]) else FLOAT
            if target == FLOAT and "tensor(float)" not in allowed:
                target = HALF
            targets[var] = target
            for i in floats:
                new_ins[i] = as_type(ins[i], target)
        node.input[:] = new_ins
        for j, o in enumerate(n.output):
            if not o:
                continue
            var, _ = _slot_types(schema, j, "out")
            orig = elem.get(o)
            if var in targets and orig in (FLOAT, HALF, None, 0):
                cur[o] = targets[var]
            else:
                cur[o] = orig if orig else FLOAT
        new_nodes.append(node)

    # Graph outputs: back to float32 under their own names.
    for out in g.output:
        if out.type.tensor_type.elem_type == FLOAT and cur.get(out.name) == HALF:
            inner = out.name + _SUFFIX16
            for node in new_nodes:
                node.output[:] = [inner if x == out.name else x for x in node.output]
                node.input[:] = [inner if x == out.name else x for x in node.input]
            cur[inner] = HALF
            new_nodes.append(helper.make_node("Cast", [inner], [out.name], to=FLOAT, name=out.name + "_cast"))
            cur[out.name] = FLOAT

    # Float32 constants still in use stay as initializers; the rest are dropped.
    for name in sorted(used32):
        new_inits.append(numpy_helper.from_array(consts32[name], name))
    del g.node[:]
    g.node.extend(new_nodes)
    del g.initializer[:]
    g.initializer.extend(new_inits)
    keep_vi = []
    for vi in g.value_info:
        t = cur.get(vi.name)
        if t is None:
            continue
        if vi.type.HasField("tensor_type"):
            vi.type.tensor_type.elem_type = t
        keep_vi.append(vi)
    del g.value_info[:]
    g.value_info.extend(keep_vi)
    return model


# -- which nodes may compute in float16: the range check on calibration frames --------------------
def fp16_range_check(model, tensors, limit: float = FP16_MAX) -> dict[str, float]:
    """{node: largest |activation|} for the nodes whose float inputs or outputs pass ``limit`` on
    ``tensors`` (a batch of the model's input, N on axis 0). The float32 model runs in ONNX Runtime
    (CPU) with every float activation as an output, a frame (or a static batch) at a time; NaN or
    inf in float32 counts as beyond. A node beyond it would produce or read inf in float16."""
    onnx = require("onnx", "checking activation ranges for float16")
    ort = require("onnxruntime", "checking activation ranges for float16")
    from onnx import TensorProto, helper
    probe = onnx.ModelProto()
    probe.CopyFrom(model)
    g = probe.graph
    consts = {i.name for i in g.initializer} | {n.output[0] for n in g.node if n.op_type == "Constant"}
    try:
        inferred = onnx.shape_inference.infer_shapes(probe).graph
    except Exception:  # noqa: BLE001 - untyped tensors are probed anyway, by their values' dtype
        inferred = g
    typed = {vi.name: vi for vi in inferred.value_info}
    outputs = {o.name for o in g.output}
    for n in g.node:
        for o in n.output:
            if o and o not in outputs and o not in consts:
                vi = typed.get(o)
                if vi is None or vi.type.tensor_type.elem_type in (TensorProto.FLOAT, TensorProto.UNDEFINED):
                    g.output.append(helper.make_empty_tensor_value_info(o))
                    outputs.add(o)
    feed = next(i for i in g.input if i.name not in consts)
    dim0 = feed.type.tensor_type.shape.dim[0] if feed.type.tensor_type.shape.dim else None
    step = dim0.dim_value if dim0 is not None and dim0.dim_value > 0 else 1
    session = ort.InferenceSession(probe.SerializeToString(), providers=["CPUExecutionProvider"])
    names = [o.name for o in session.get_outputs()]
    tensors = np.asarray(tensors)
    absmax = {feed.name: _absmax(tensors)}
    for i in range(0, len(tensors) - step + 1, step):
        for name, value in zip(names, session.run(names, {feed.name: tensors[i:i + step]})):
            if np.issubdtype(np.asarray(value).dtype, np.floating):
                absmax[name] = max(absmax.get(name, 0.0), _absmax(value))
    beyond = {}
    for k, n in enumerate(model.graph.node):
        seen = [absmax[t] for t in [*n.input, *n.output] if t in absmax and t not in consts]
        if seen and max(seen) > limit:
            beyond[node_id(n, k)] = max(seen)
    return beyond


def _absmax(a) -> float:
    a = np.asarray(a, np.float32)
    if a.size == 0:
        return 0.0
    m = float(np.abs(a).max())
    return m if np.isfinite(m) and np.isfinite(a).all() else float("inf")


# -- the conversion a TensorRT 11 fp16 build runs: ModelOpt AutoCast, else to_float16 ---------------
CONVERTERS = ("auto", "autocast", "edgeseg")
AUTOCAST_INSTALL = 'pip install "nvidia-modelopt[onnx]" (it needs torch; on a CPU-only machine the CPU wheel)'


@dataclass(frozen=True)
class Fp16Conversion:
    """A float16 graph for a strongly typed build, and what was kept float32 and why."""

    model: Any
    converter: str                  # "autocast" | "edgeseg"
    nodes: int                      # nodes of the float32 graph
    kept_fp32: tuple[str, ...]      # nodes left float32 by the range check
    frames: int = 0                 # calibration frames the range check ran on (0: none)
    notes: tuple[str, ...] = ()

    def lines(self) -> list[str]:
        kept = (f"kept {len(self.kept_fp32)} of {self.nodes} nodes in float32"
                + (f" ({', '.join(self.kept_fp32[:5])}{' ...' if len(self.kept_fp32) > 5 else ''})"
                   if self.kept_fp32 else ""))
        if self.converter == "autocast":
            head = "converted the ONNX to float16 with ModelOpt AutoCast (float32 inputs and outputs kept)"
            check = (f"AutoCast's range check (|x| > 512) on {self.frames} calibration frames" if self.frames else
                     "AutoCast's range check ran on random inputs only, not on real frames: pass --calib")
            return [*self.notes, f"{head}: {kept}, {check}"]
        head = "converted the ONNX to float16 with edgeseg's to_float16 (float32 inputs and outputs kept)"
        if not self.frames:
            return [*self.notes, (f"{head}; no range check was made (no --calib): activations beyond "
                                  f"+-{FP16_MAX:.0f} would overflow to inf; pass --calib to keep such nodes float32")]
        return [*self.notes, (f"{head}: {kept}, their activations pass +-{FP16_MAX:.0f} on {self.frames} "
                              "calibration frames")]


def _modelopt_autocast():
    """``modelopt.onnx.autocast.convert_to_mixed_precision``; ImportError where it cannot import."""
    from modelopt.onnx.autocast import convert_to_mixed_precision
    return convert_to_mixed_precision


@contextlib.contextmanager
def _quiet(buf):
    """AutoCast logs INFO lines through handlers bound at import and Polygraphy prints to stdout:
    silence both for the call (the tail goes into the error if it fails)."""
    loggers = [logging.getLogger(n) for n in list(logging.root.manager.loggerDict) if n.startswith("modelopt")]
    levels = [lg.level for lg in loggers]
    for lg in loggers:
        lg.setLevel(logging.CRITICAL)
    try:
        with contextlib.redirect_stdout(buf), contextlib.redirect_stderr(buf):
            yield
    finally:
        for lg, level in zip(loggers, levels):
            lg.setLevel(level)


def _autocast(convert, model, path, tensors):
    """AutoCast on ``path`` (``model`` saved there), with ``tensors`` as its calibration data."""
    onnx = require("onnx")
    from ...utils.atomic import private_tempdir
    buf = io.StringIO()
    with private_tempdir("edgeseg-autocast-") as tmp:
        if path is None:
            path = os.path.join(tmp, "model.onnx")
            onnx.save(model, path)
        calib = None
        if tensors is not None:
            feed = next(i.name for i in model.graph.input if i.name not in {t.name for t in model.graph.initializer})
            calib = os.path.join(tmp, "calib.npz")
            np.savez(calib, **{feed: np.asarray(tensors)})
        try:
            with _quiet(buf):
                out = convert(path, low_precision_type="fp16", keep_io_types=True, calibration_data=calib)
        except Exception as exc:  # AutoCast/ORT/Polygraphy internals: say which tool failed
            tail = buf.getvalue().strip().splitlines()[-6:]
            raise ModelError("ModelOpt AutoCast could not convert the ONNX to float16", path=path,
                             got="\n    ".join([f"{type(exc).__name__}: {str(exc)[:300]}", *tail]),
                             fix="build with fp16_converter='edgeseg' (edgeseg's own conversion)") from exc
    have = {p.key for p in out.metadata_props}
    for p in model.metadata_props:  # AutoCast drops metadata_props: the ModelMeta must travel
        if p.key not in have:
            out.metadata_props.add(key=p.key, value=p.value)
    return out


def _float32_nodes(model, ids) -> tuple[str, ...]:
    """Which of the source nodes ``ids`` compute in float32 in the converted ``model``."""
    onnx = require("onnx")
    from onnx import TensorProto
    try:
        g = onnx.shape_inference.infer_shapes(model).graph
    except Exception:  # noqa: BLE001 - AutoCast's own value_info then
        g = model.graph
    elem = {vi.name: vi.type.tensor_type.elem_type for vi in [*g.value_info, *g.input, *g.output]}
    by_name = {n.name: n for n in model.graph.node if n.name}
    return tuple(i for i in ids if i in by_name
                 and any(elem.get(o) == TensorProto.FLOAT for o in by_name[i].output))


def convert_for_build(model, *, path=None, tensors=None, converter: str = "auto") -> Fp16Conversion:
    """The float16 graph for a strongly typed (TensorRT 11) fp16 build, as NVIDIA's migration guide
    says: ModelOpt AutoCast (``keep_io_types=True``) where it imports (``auto``, ``autocast``),
    else :func:`to_float16`. ``tensors`` (preprocessed calibration frames) feed the range check
    that keeps nodes float32; without them there is none (edgeseg) or AutoCast's random inputs."""
    if converter not in CONVERTERS:
        raise ConfigError("unknown fp16 converter", expected=" | ".join(CONVERTERS), got=converter)
    frames = 0 if tensors is None else len(tensors)
    ids = [node_id(n, k) for k, n in enumerate(model.graph.node) if n.op_type != "Constant"]
    notes: list[str] = []
    if converter in ("auto", "autocast"):
        try:
            convert = _modelopt_autocast()
        except Exception as exc:  # modelopt or one of its imports (torch, polygraphy) is missing or broken
            if converter == "autocast":
                raise MissingDependencyError("ModelOpt AutoCast is not importable", got=f"{type(exc).__name__}: {exc}",
                                             fix=AUTOCAST_INSTALL) from exc
            notes.append(f"ModelOpt AutoCast is not importable ({type(exc).__name__}: {str(exc)[:120]}); "
                         f"using edgeseg's to_float16 ({AUTOCAST_INSTALL} to use it)")
        else:
            try:
                out = _autocast(convert, model, path, tensors)
                return Fp16Conversion(out, "autocast", len(ids), _float32_nodes(out, ids), frames, tuple(notes))
            except ModelError as exc:
                if converter == "autocast":
                    raise
                notes.append(f"ModelOpt AutoCast failed ({exc.got.splitlines()[0] if exc.got else exc.what}); "
                             "using edgeseg's to_float16")
    keep = tuple(fp16_range_check(model, tensors)) if tensors is not None else ()
    return Fp16Conversion(to_float16(model, keep), "edgeseg", len(ids), keep, frames, tuple(notes))


# -- calibration frames for the range check ------------------------------------------------------
def check_calib(calib) -> None:
    """The cheap checks on ``calib`` (before TensorRT or any frame is read): a missing .npz, a
    source that does not exist, or a value of the wrong kind is an error now, not after minutes."""
    if calib is None or isinstance(calib, np.ndarray):
        return
    from ...quantize.calibration import CalibrationSet, _source_kind
    if isinstance(calib, CalibrationSet):
        return
    sources = [calib] if isinstance(calib, (str, os.PathLike)) else calib
    if not isinstance(sources, (list, tuple)) or not sources:
        raise ConfigError("cannot use this as calibration frames", got=type(calib).__name__,
                          expected="frames (N x H x W x 3 uint8 BGR), a calib.npz, an image folder, a video "
                                   "or a data spec")
    if all(isinstance(f, np.ndarray) for f in sources):
        return
    for src in map(os.fspath, sources):
        if src.endswith(".npz"):
            if not os.path.isfile(src):
                from ...errors import DataError
                raise DataError("calibration file not found", path=src, fix="make it with edgeseg calibrate")
        else:
            _source_kind(src)


def calibration_tensors(calib, meta, num: int = 64) -> np.ndarray:
    """``calib`` -> the model's input batch, preprocessed exactly as the runtime does: frames (an
    array N x H x W x 3 or one frame, uint8 BGR, any size), a CalibrationSet, a calib.npz, or
    image folders / videos / data specs (``num`` frames read from them)."""
    from ...preprocess import preprocess_batch
    from ...quantize.calibration import CalibrationSet, load_or_build
    check_calib(calib)
    if isinstance(calib, np.ndarray):
        frames = [calib] if calib.ndim in (2, 3) else list(calib)
    elif isinstance(calib, (list, tuple)) and calib and all(isinstance(f, np.ndarray) for f in calib):
        frames = list(calib)
    else:
        src = calib if isinstance(calib, CalibrationSet) else (
            os.fspath(calib) if isinstance(calib, (str, os.PathLike)) else [os.fspath(c) for c in calib])
        return load_or_build(src, meta, num, file=None).tensors(meta)
    return preprocess_batch(frames, meta)
