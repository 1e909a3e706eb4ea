"""``to_float16``: a float32 ONNX -> float16 compute with float32 inputs and outputs.

TensorRT 11 networks are strongly typed (the ONNX's tensor types are the precision), so an fp16
engine is built from a converted graph. The conversion follows each op's schema for the graph's
opset, so nothing is cast where ONNX would reject it:

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

import numpy as np

from ...errors import ModelError
from ...lazy import require

FP16_MAX = float(np.finfo(np.float16).max)
_SUFFIX16, _SUFFIX32 = "__fp16", "__fp32"


def _schema(onnx, node, opsets):
    domain = node.domain or ""
    if domain not in ("", "ai.onnx"):
        return None
    try:
        return onnx.defs.get_schema(node.op_type, opsets.get("", opsets.get("ai.onnx", 17)), "")
    except Exception:
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


def to_float16(model):
    """A float16 copy of ``model`` (an ``onnx.ModelProto``) with float32 inputs and outputs."""
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

    # Original element types and ranks, from shape inference on the float32 model.
    try:
        inferred = onnx.shape_inference.infer_shapes(model).graph
    except Exception:
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
    nodes = []
    graph_outputs = {o.name for o in g.output}
    for node in g.node:
        if (node.op_type == "Constant" and len(node.attribute) == 1 and node.attribute[0].name == "value"
                and node.attribute[0].t.data_type == FLOAT and node.output[0] not in graph_outputs):
            consts32[node.output[0]] = numpy_helper.to_array(node.attribute[0].t)
        else:
            nodes.append(node)
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
            fp32_node[k] = any(rank.get(o, 99) <= 1 and o not in graph_outputs
                               and any(slot32.get(c, False) for c in consumers.get(o, ())) for o in outs)
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
