"""Small ONNX graph edits for mixed precision.

ONNX Runtime's ``nodes_to_exclude`` only stops a node from quantizing its own inputs; the
producer of an input still quantizes its output (QDQ Conv quantizes input *and* output), so an
"excluded" node would go on reading a rounded tensor. Keeping a node in float therefore also
means unhooking the Q/DQ pairs in front of it (other consumers keep theirs).

A float node can also be left reading the DequantizeLinear in front of it (the ``cpu`` target's
float stem and tail do: the producer then stays an int8 kernel), but never a *constant* behind
one: ONNX Runtime does not fold DequantizeLinear of an initializer, so a float Conv whose bias
came through one lost its NCHWc kernel and fused activation (2x slower at the stem);
:func:`float_constants_for` gives such nodes their float initializers back.
"""

from __future__ import annotations

import numpy as np

from ..lazy import require


def float_inputs_for(model, node_names) -> int:
    """Feed each named node the float tensor behind any QuantizeLinear->DequantizeLinear pair on
    its inputs; drop pairs left with no consumer. Returns the number of inputs rewired."""
    names = set(node_names)
    g = model.graph
    producer = {o: n for n in g.node for o in n.output}
    rewired = 0
    for node in g.node:
        if node.name not in names:
            continue
        for i, inp in enumerate(node.input):
            dq = producer.get(inp)
            if dq is None or dq.op_type != "DequantizeLinear":
                continue
            q = producer.get(dq.input[0])
            if q is None or q.op_type != "QuantizeLinear":
                continue  # a quantized initializer (weight): nothing float to go back to
            node.input[i] = q.input[0]
            rewired += 1
    drop_orphans(g, {"QuantizeLinear", "DequantizeLinear"})
    return rewired


def float_constants_for(model, float_model, node_names) -> int:
    """Feed each named node its constants as float initializers instead of DequantizeLinear of a
    quantized initializer: the original from ``float_model`` when it has one by that name, else the
    dequantized values. Returns the number of inputs replaced."""
    nh = require("onnx").numpy_helper
    names = set(node_names)
    g = model.graph
    producer = {o: n for n in g.node for o in n.output}
    inits = {i.name: i for i in g.initializer}
    original = {i.name: i for i in float_model.graph.initializer}
    replaced = 0
    for node in g.node:
        if node.name not in names:
            continue
        for k, t in enumerate(node.input):
            dq = producer.get(t)
            if dq is None or dq.op_type != "DequantizeLinear" or dq.input[0] not in inits:
                continue
            source = t if t in original else dq.input[0].removesuffix("_quantized")
            if source in original:
                value = nh.to_array(original[source])
            else:
                value = _dequantize(*(nh.to_array(inits[i]) if i in inits else None for i in dq.input[:3]),
                                    axis=next((a.i for a in dq.attribute if a.name == "axis"), 1))
            name = f"{t}_float"
            if name not in inits:
                inits[name] = nh.from_array(value, name)
                g.initializer.append(inits[name])
            node.input[k] = name
            replaced += 1
    drop_orphans(g, {"QuantizeLinear", "DequantizeLinear"})
    return replaced


def _dequantize(q, scale, zero_point=None, axis: int = 1):
    q = q.astype(np.float64)
    if scale.ndim == 1 and q.ndim > 1:  # per-channel along ``axis``
        shape = [1] * q.ndim
        shape[axis] = -1
        scale = scale.reshape(shape)
        zero_point = None if zero_point is None else zero_point.reshape(shape)
    zp = 0 if zero_point is None else zero_point.astype(np.float64)
    return ((q - zp) * scale).astype(np.float32)


def drop_orphans(g, op_types) -> None:
    outputs = {o.name for o in g.output}
    while True:
        used = {i for n in g.node for i in n.input} | outputs
        dead = [n for n in g.node if n.op_type in op_types and not any(o in used for o in n.output)]
        if not dead:
            break
        for n in dead:
            g.node.remove(n)
    # Their scales and zero points are now unused; ONNX Runtime warns about each one on load.
    used = {i for n in g.node for i in n.input}
    for init in [i for i in g.initializer if i.name not in used]:
        g.initializer.remove(init)
