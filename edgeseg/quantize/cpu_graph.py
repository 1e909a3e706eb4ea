"""The ``cpu`` target's graph: what ONNX Runtime's CPU kernels run faster than a plain Q/DQ graph.

Found from ONNX Runtime's per-node profiles of the zoo's MobileNetV3 models (FP32 and INT8
interleaved in one process; ``benchmarks/int8_cpu.py`` prints them). A plain Q/DQ graph lost to
FP32 on lraspp_mobilenet_v3_small (0.9x at 512x512) because of work around the int8
convolutions that FP32 fuses away. Each pass below removes one such cost; the ``tensorrt``
target uses none of them.

======================  ===================================================================
pass                    why
======================  ===================================================================
``trim_padding_taps``   exact: dilated taps that only read padding are dropped before
                        quantization, and a convolution whose taps read padding for part of
                        its output is split into blocks that read only the input
                        (:mod:`.float_rewrites`): QLinearConv multiplies the padding, where
                        FP32's NCHWc convolution skips it
``float_stem``          the first convolution (3 input channels) and its activation stay
                        FP32: int8 im2col over 3 channels ran 1.5x slower than FP32's fused
                        NCHWc conv + hard-swish, and the input Quantize + Transpose go away;
                        so does a residual block on its output (MobileNetV3-Large's first)
``float_tail``          the class-score convolutions and the Resize to the output stay FP32:
                        ONNX Runtime's NCHWc Upsample was 3x its uint8 or NCHW float Resize
                        (5 ms of lraspp_small's 43 ms at 512), and scores are not rounded;
                        an upsampling right before a class-score conv moves after it (exact)
``int8_hardswish``      ``x * HardSigmoid(x)`` as ``QLinearMul(x, Clip(x))`` (:mod:`.hardswish`)
======================  ===================================================================

Kept as measured (2 cores, ONNX Runtime 1.32, AVX2 without VNNI): int8 depthwise QLinearConv
takes 0.8-1.0x FP32's depthwise time, but FP32 fuses the hard-swish into it where int8 runs
Clip + QLinearMul after it; keeping depthwise, squeeze-excitation or whole hard-swish blocks in
float lost more to the DequantizeLinear / Quantize / layout changes (NHWC int8 <-> NCHWc float)
at each border than it won (0.84-0.93x against 1.14x for lraspp_mobilenet_v3_small at 512).
Tried again on AVX-512 VNNI (Intel Xeon, 2 cores, ONNX Runtime 1.32, deeplabv3_mobilenet_v3_large
at 512x512): depthwise convolutions in float, weights given zero point -1 (so ONNX Runtime leaves
its symmetric ConvSym kernels for im2col + QGEMM), an int8 stem, ORT_ENABLE_EXTENDED (no NCHWc)
and the output tail as a MatMul all ran slower than this graph or the same. Those were timed call
by call, when the other session's spinning worker threads ran against each call (:mod:`.speed`);
timed in blocks on an AMD EPYC with AVX-512 VNNI, this graph without its float stem ran 0.95x,
without its float tail 0.97x, without int8 hard-swish 0.79x. What is left is kernel speed there:
ONNX Runtime's int8 depthwise QLinearConv took about 3x FP32's NCHWc depthwise time (backbone.3's
72-channel 3x3 at 128x128: 0.52-0.61 ms against 0.16-0.17) and its broadcast QLinearMul of the
squeeze-excitation gates about twice FP32's Mul.
Float nodes read the DequantizeLinear of their int8 input (their
producer stays an int8 kernel) and float constants (:func:`.graph_edit.float_constants_for`).

>>> from edgeseg.quantize.targets import TARGETS
>>> TARGETS["cpu"].passes
('trim_padding_taps', 'float_stem', 'float_tail', 'int8_hardswish')
"""

from __future__ import annotations

import re

from ..lazy import require
from .float_rewrites import (
    name_unnamed_nodes,
    resize_after_conv,
    share_split_weights,
    split_padding_taps,
    trim_padding_taps,
)
from .graph_edit import float_constants_for
from .hardswish import int8_hardswish

# Ops between the network input and the stem convolution when normalisation is in the graph.
_NORMALISE = {"Cast", "Sub", "Div", "Mul", "Add", "Transpose", "Identity"}
# Ops between the class-score convolutions and the output that move or add scores, no more.
_TAIL = {"Resize", "Upsample", "Identity", "Add", "Transpose", "Reshape", "Squeeze", "Unsqueeze"}
STEM_MAX_CHANNELS = 4  # an RGB(A) stem: im2col over so few channels starves the int8 GEMM


def _maps(g):
    producer = {o: n for n in g.node for o in n.output}
    consumers: dict[str, list] = {}
    for n in g.node:
        for i in n.input:
            consumers.setdefault(i, []).append(n)
    return producer, consumers, {i.name: i for i in g.initializer}


def activation_of(conv, consumers) -> list[str]:
    """The nodes of ``conv``'s activation: a Relu/Clip, or the HardSigmoid + Mul of a hard-swish."""
    users = consumers.get(conv.output[0], [])
    if len(users) == 1 and users[0].op_type in ("Relu", "Clip"):
        return [users[0].name]
    hs = [u for u in users if u.op_type == "HardSigmoid"]
    muls = [u for u in users if u.op_type == "Mul"]
    if len(users) == 2 and hs and muls and consumers.get(hs[0].output[0], []) == muls:
        return [hs[0].name, muls[0].name]
    return []


def residual_after(t: str, consumers, longest: int = 8) -> list[str]:
    """The nodes of the residual block that reads ``t``: a chain of single-reader nodes from one
    reader of ``t`` to an Add that ``t`` also feeds, and that Add; empty when ``t`` feeds none."""
    users = consumers.get(t, [])
    adds = [u for u in users if u.op_type == "Add"]
    if len(users) != 2 or len(adds) != 1:
        return []
    add, n = adds[0], next(u for u in users if u is not adds[0])
    chain = []
    for _ in range(longest):
        chain.append(n.name)
        readers = consumers.get(n.output[0], []) if n.output else []
        if len(readers) != 1:
            return []
        if readers[0] is add:
            return chain + [add.name]
        n = readers[0]
    return []


def stem_nodes(model) -> list[str]:
    """The convolution(s) reading the network input (through in-graph normalisation) with at most
    STEM_MAX_CHANNELS input channels, their activations and that normalisation, and the residual
    block that reads the stem's output directly (MobileNetV3-Large's first block: its 16 channels
    in int8 cost deeplabv3_mobilenet_v3_large 0.25 of its 0.69-point drop, and its int8 Add ran
    in NCHW between two transposes, 0.3 ms at 512x512; in float it runs fused in NCHWc)."""
    g = model.graph
    _, consumers, inits = _maps(g)
    out, convs, todo, seen = [], 0, [i.name for i in g.input if i.name not in inits], set()
    while todo:
        t = todo.pop()
        for n in consumers.get(t, []):
            if n.name in seen:
                continue
            seen.add(n.name)
            if n.op_type == "Conv" and len(n.input) > 1 and n.input[1] in inits:
                w = inits[n.input[1]]
                group = next((a.i for a in n.attribute if a.name == "group"), 1)
                if w.dims[1] * group <= STEM_MAX_CHANNELS:
                    act = activation_of(n, consumers)
                    out += [n.name] + act
                    last = next(m for m in g.node if m.name == (act[-1] if act else n.name))
                    out += residual_after(last.output[0], consumers)
                    convs += 1
            elif n.op_type in _NORMALISE and all(i in inits or i == t for i in n.input if i):
                out.append(n.name)
                todo.extend(n.output)
    return out if convs else []


def tail_nodes(model) -> list[str]:
    """The Resize(s) to each output, the score-moving ops before them and the convolutions that
    produce those scores; empty when no Resize is on the way."""
    g = model.graph
    producer, _, inits = _maps(g)
    out, todo, seen = [], [o.name for o in g.output], set()
    while todo:
        t = todo.pop()
        n = producer.get(t)
        if n is None or n.name in seen:
            continue
        seen.add(n.name)
        if n.op_type in _TAIL:
            out.append(n.name)
            data = n.input[:1] if n.op_type in ("Resize", "Upsample", "Reshape") else n.input
            todo.extend(i for i in data if i and i not in inits)
        elif n.op_type == "Conv" and len(n.input) > 1 and n.input[1] in inits:
            out.append(n.name)
    has_resize = any(n.op_type in ("Resize", "Upsample") for n in g.node if n.name in set(out))
    return out if has_resize else []


POLICY = {"float_stem": stem_nodes, "float_tail": tail_nodes}


def target_graph(model_path: str, target, out_path: str) -> str:
    """The float graph ``target`` quantizes: ``model_path`` itself when the target has no passes,
    else a copy with its nodes named and its exact rewrites applied, written to ``out_path``."""
    if not target.passes:
        return model_path
    onnx = require("onnx")
    model = onnx.load(model_path)
    name_unnamed_nodes(model)
    if "trim_padding_taps" in target.passes:
        trim_padding_taps(model)
        split_padding_taps(model)
    if "float_tail" in target.passes:  # an upsampling before a class-score conv runs after it (exact)
        tail = set(tail_nodes(model))
        resize_after_conv(model, [n.name for n in model.graph.node if n.op_type == "Conv" and n.name in tail])
    onnx.save(model, out_path)
    return out_path


def policy_float_nodes(model, target) -> list[str]:
    """Nodes ``target`` keeps in float in every model (its stem and tail passes)."""
    names: list[str] = []
    for name, find in POLICY.items():
        if name in target.passes:
            names += [n for n in find(model) if n not in names]
    return names


def finish_graph(model, float_model, target, float_nodes) -> dict:
    """The passes on the quantized ``model`` (in place): float constants for ``float_nodes``,
    int8 hard-swish. Returns what each did."""
    done = {}
    if target.passes:
        done["float_constants"] = float_constants_for(model, float_model, float_nodes)
    if "trim_padding_taps" in target.passes:
        done["shared_kernels"] = share_split_weights(model, float_model)
    if "int8_hardswish" in target.passes:
        done["int8_hardswish"], done["float_hardswish"] = int8_hardswish(model)
    return done


def describe(model) -> dict:
    """What a finished cpu graph holds, for the report: float convolutions and resizes, int8
    hard-swish count, trimmed convolutions."""
    g = model.graph
    producer, _, inits = _maps(g)

    def float_weights(n):
        return len(n.input) > 1 and n.input[1] in inits

    def float_data(n):
        p = producer.get(n.input[0])
        return p is None or p.op_type != "DequantizeLinear" or _reads_float_output(n, g)

    return {"float_convs": [n.name for n in g.node if n.op_type == "Conv" and float_weights(n)],
            "float_resizes": [n.name for n in g.node if n.op_type in ("Resize", "Upsample") and float_data(n)],
            "int8_hardswish": sum(n.op_type == "Clip" and len(n.input) > 1 and n.input[1] in inits
                                  and inits[n.input[1]].data_type == 2 for n in g.node),  # uint8 Clip
            "trimmed_convs": sum(n.op_type == "Conv" and "_trimmed" in n.input[1] for n in g.node),
            "split_convs": len({n.name.rsplit("/tapblock", 1)[0] for n in g.node
                                if n.op_type in ("Conv", "QLinearConv") and re.search(r"/tapblock\d+_\d+$", n.name)})}


def _reads_float_output(n, g) -> bool:
    """``n``'s output goes on in float (no QuantizeLinear after it)."""
    users = [m for m in g.node if n.output[0] in m.input]
    return not users or any(m.op_type != "QuantizeLinear" for m in users)
