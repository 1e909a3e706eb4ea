"""Small ONNX graph edits for mixed precision.

ONNX Runtime's ``nodes_to_exclude`` only stops a node from quantizing its own inputs; the
producer of an input still quantizes its output (QDQ Conv quantizes input *and* output), so an
"excluded" node would go on reading a rounded tensor. Keeping a node in float therefore also
means unhooking the Q/DQ pairs in front of it (other consumers keep theirs).
"""

from __future__ import annotations


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
    _drop_orphans(g, {"QuantizeLinear", "DequantizeLinear"})
    return rewired


def _drop_orphans(g, op_types) -> None:
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
