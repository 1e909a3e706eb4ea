"""A Softmax that ends the graph stays float when the rest is quantized.

Graphs from other tools often end in Softmax (``output_kind="probs"``). Quantized, probabilities
fall on 1/255 steps (uint8, the cpu target) or 1/127 (symmetric int8, TensorRT's), so close
classes tie and argmax picks the first: on a tiny 5-class net argmax agreement with FP32 fell
from 98.8 % to 98.0 % (cpu) and from 95.2 % to 91.0 % (tensorrt) against the same net kept with
a float Softmax, which matched its logits-only twin (98.6 % / 94.4 %). A float Softmax costs
little: it is one op over the class maps, after every convolution.

ONNX Runtime excludes nodes by name, and graphs written with ``onnx.helper`` may have none, so
the nodes kept float are named here first (in the working copy, never the user's file).

>>> import onnx
>>> from onnx import helper as h, TensorProto as T
>>> g = h.make_graph([h.make_node("Relu", ["x"], ["s"]), h.make_node("Softmax", ["s"], ["p"], axis=1)], "g",
...                  [h.make_tensor_value_info("x", T.FLOAT, [1, 2, 4, 4])],
...                  [h.make_tensor_value_info("p", T.FLOAT, [1, 2, 4, 4])])
>>> m = h.make_model(g)
>>> final_softmax_nodes(m)
['edgeseg_final_softmax_0']
"""

from __future__ import annotations

import os

from ..lazy import require

SOFTMAX_OPS = ("Softmax", "LogSoftmax")
# Ops that only move, reshape or resize scores between a Softmax and the graph's output.
_AFTER_SOFTMAX = {"Identity", "Reshape", "Transpose", "Squeeze", "Unsqueeze", "Flatten", "Resize", "Upsample"}


def final_softmax_nodes(model) -> list[str]:
    """Names of the Softmax/LogSoftmax nodes that end ``model``'s outputs (behind ops that only
    move or resize scores); unnamed ones get a name, in ``model`` itself."""
    g = model.graph
    producer = {o: n for n in g.node for o in n.output}
    found, seen, todo = [], set(), [o.name for o in g.output]
    while todo:
        t = todo.pop()
        node = producer.get(t)
        if node is None or id(node) in seen:
            continue
        seen.add(id(node))
        if node.op_type in SOFTMAX_OPS:
            found.append(node)
        elif node.op_type in _AFTER_SOFTMAX:
            todo.extend(i for i in node.input[:1] if i)
    taken = {n.name for n in g.node}
    names = []
    for i, node in enumerate(found):
        if not node.name:
            name = f"edgeseg_final_softmax_{i}"
            while name in taken:
                name += "_"
            node.name = name
            taken.add(name)
        names.append(node.name)
    return names


def keep_final_softmax_float(path: str | os.PathLike) -> list[str]:
    """:func:`final_softmax_nodes` of the ONNX at ``path`` (a working copy: it is rewritten when a
    node had to be named); the names to pass to the quantizer's exclusion list."""
    onnx = require("onnx", "INT8 quantization")
    model = onnx.load(os.fspath(path))
    unnamed = sum(not n.name for n in model.graph.node)
    names = final_softmax_nodes(model)
    if sum(not n.name for n in model.graph.node) != unnamed:
        onnx.save(model, os.fspath(path))
    return names


__all__ = ["final_softmax_nodes", "keep_final_softmax_float"]
