"""Hard-swish in int8 on ONNX Runtime's CPU kernels: ``x * HardSigmoid(x)`` as
``QLinearMul(x, Clip(x))``, with no float tensor in between.

ONNX Runtime has no int8 HardSigmoid, so a Q/DQ graph runs hard-swish as DequantizeLinear ->
HardSigmoid (float) -> QuantizeLinear -> QLinearMul: three passes over a float copy of the
tensor. On lraspp_mobilenet_v3_small at 512x512 that was 7 of INT8's 43 ms (2 cores, ONNX
Runtime 1.32), where FP32 fuses the activation into its convolution for free.

On the quantized grid it is simpler. With ``x = (q - z) * s``,
``HardSigmoid(x) = clip(alpha * x + beta, 0, 1) = (clip(q, z_h, z_h + 1 / (alpha * s)) - z_h) * alpha * s``
for ``z_h = z - beta / (alpha * s)``: an integer Clip of ``x``'s own uint8 tensor, read with scale
``alpha * s`` and zero point ``z_h`` (rounded: off by at most half a step, ``alpha * s / 2``,
finer than the 1/255 the float path rounded to once ``x`` spans more than about 6). That needs
``0 <= z_h``, i.e. ``x``'s range reaching down to ``-beta / alpha`` (-3); a range stopping a
little short is widened to it in calibration when that costs at most :data:`MAX_WIDENING` of
its span, otherwise the hard-swish keeps the float path.

Only hard-swish (the Mul's other input is the same ``x``) is rewritten: a squeeze-excitation
gate keeps its own full-range quantization (its Mul multiplies another tensor).

>>> widen_for_clip(-2.9, 8.0, 1 / 6, 0.5)   # short of -3 by a little: widened
(-3.0, 8.0)
>>> widen_for_clip(-0.01, 0.01, 1 / 6, 0.5)  # would be 300 times coarser: kept
(-0.01, 0.01)
"""

from __future__ import annotations

import numpy as np

from ..lazy import require

MAX_WIDENING = 1.25  # a range may grow by a quarter (a third of a bit) to let hard-swish run in int8


def hardswish_inputs(model) -> dict[str, tuple[float, float]]:
    """``x`` -> (alpha, beta) for every ``Mul(x, HardSigmoid(x))`` in a float graph."""
    g = model.graph
    consumers: dict[str, list] = {}
    for n in g.node:
        for i in n.input:
            consumers.setdefault(i, []).append(n)
    out = {}
    for n in g.node:
        if n.op_type != "HardSigmoid":
            continue
        users = consumers.get(n.output[0], [])
        if users and all(u.op_type == "Mul" and n.input[0] in u.input for u in users):
            out[n.input[0]] = _alpha_beta(n)
    return out


def _alpha_beta(node) -> tuple[float, float]:
    onnx = require("onnx")
    a = {x.name: onnx.helper.get_attribute_value(x) for x in node.attribute}
    return float(a.get("alpha", 0.2)), float(a.get("beta", 0.5))


def widen_for_clip(lo: float, hi: float, alpha: float, beta: float) -> tuple[float, float]:
    """(lo, hi) reaching ``-beta / alpha`` when that widens the span by at most MAX_WIDENING."""
    floor = -beta / alpha
    if lo <= floor or hi - floor > MAX_WIDENING * (hi - lo):
        return lo, hi
    return floor, hi


def int8_hardswish(model) -> tuple[int, int]:
    """Rewrite each quantized hard-swish of a Q/DQ ``model`` in place; returns (rewritten, left float).

    The pattern (as ONNX Runtime's quantizer writes it, uint8 activations):
    ``xq -> DQ -> HardSigmoid -> Q -> DQ -> Mul <- DQ <- xq``; it becomes
    ``xq -> Clip -> DQ(alpha * s, z_h) -> Mul <- DQ <- xq``, which ONNX Runtime fuses into
    one QLinearMul.
    """
    onnx = require("onnx")
    nh = onnx.numpy_helper
    g = model.graph
    producer = {o: n for n in g.node for o in n.output}
    consumers: dict[str, list] = {}
    for n in g.node:
        for i in n.input:
            consumers.setdefault(i, []).append(n)
    inits = {i.name: i for i in g.initializer}
    done = kept = 0
    for hs in [n for n in g.node if n.op_type == "HardSigmoid"]:
        match = _match(hs, producer, consumers, inits)
        if match is None:
            continue
        dq_x, q_h, dq_hs = match
        s = float(nh.to_array(inits[dq_x.input[1]]))
        z = int(nh.to_array(inits[dq_x.input[2]]))
        alpha, beta = _alpha_beta(hs)
        z_h = round(z - beta / (alpha * s))
        if not 0 <= z_h <= 255:
            kept += 1
            continue
        hi = min(255, z_h + round(1 / (alpha * s)))
        base = hs.name or hs.output[0]
        names = [f"{base}/clip_min", f"{base}/clip_max", f"{base}/gate_scale", f"{base}/gate_zero_point"]
        g.initializer.extend([nh.from_array(np.array(z_h, np.uint8), names[0]),
                              nh.from_array(np.array(hi, np.uint8), names[1]),
                              nh.from_array(np.array(alpha * s, np.float32), names[2]),
                              nh.from_array(np.array(z_h, np.uint8), names[3])])
        clip = onnx.helper.make_node("Clip", [dq_x.input[0], names[0], names[1]], [f"{base}/clip_output"],
                                     name=f"{base}/Clip")
        g.node.insert(list(g.node).index(hs), clip)
        for dq in dq_hs:
            dq.input[0], dq.input[1], dq.input[2] = clip.output[0], names[2], names[3]
        g.node.remove(hs)
        g.node.remove(q_h)
        done += 1
    from .graph_edit import drop_orphans
    drop_orphans(g, {"QuantizeLinear", "DequantizeLinear"})
    return done, kept


def _match(hs, producer, consumers, inits):
    """(DQ of x, Q of the gate, DQs of the gate) when ``hs`` is a quantized hard-swish gate; else None."""
    dq_x = producer.get(hs.input[0])
    if dq_x is None or dq_x.op_type != "DequantizeLinear" or len(dq_x.input) < 3:
        return None
    if dq_x.input[1] not in inits or dq_x.input[2] not in inits or inits[dq_x.input[2]].data_type != 2:
        return None  # per-tensor uint8 activations only (2 = TensorProto.UINT8)
    q_users = consumers.get(hs.output[0], [])
    if len(q_users) != 1 or q_users[0].op_type != "QuantizeLinear":
        return None
    q_h = q_users[0]
    dq_hs = consumers.get(q_h.output[0], [])
    if not dq_hs or any(d.op_type != "DequantizeLinear" for d in dq_hs):
        return None
    xq = dq_x.input[0]

    def reads_x(t):
        p = producer.get(t)
        return p is not None and p.op_type == "DequantizeLinear" and p.input[0] == xq

    for d in dq_hs:
        muls = consumers.get(d.output[0], [])
        if not muls or any(m.op_type != "Mul" or not any(reads_x(i) for i in m.input if i != d.output[0])
                           for m in muls):
            return None
    return dq_x, q_h, dq_hs
