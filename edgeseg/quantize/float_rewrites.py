"""Exact rewrites of the float graph that the ``cpu`` target quantizes (never of the FP32 model).

* :func:`name_unnamed_nodes`: ONNX Runtime's pre-processing inlines HardSwish as HardSigmoid +
  Mul and leaves both nameless. Named after the module they came from
  (``/net/block.0/act/HardSwish/Mul``), they can be kept float, rewritten and found in profiles.
* :func:`trim_padding_taps`: a dilated convolution whose dilation is at least its input's height
  (width) reads only zero padding with every tap off the centre row (column): DeepLabV3's ASPP
  branch of rate 36 on a 32x32 map is a 1x1 convolution. ONNX Runtime's FP32 NCHWc convolution
  skips such taps; its QLinearConv (im2col) multiplies all nine, so that branch cost as much as
  the rate-12 one, about 0.2 of deeplabv3_mobilenet_v3_large's 0.5 s INT8 run at 512x512 on 2
  cores. Dropping the taps changes no value.
* :func:`resize_after_conv`: a 1x1 convolution after a bilinear (or nearest) Resize commutes with
  it (each output pixel is a weighted mean, weights summing to 1, so the bias passes through): in
  LR-ASPP's head the 128-channel upsampling then runs on the 6 class scores, and the class-score
  convolution at the lower resolution. Exact up to float rounding.

>>> from onnx import TensorProto, helper, numpy_helper
>>> import numpy as np
>>> w = numpy_helper.from_array(np.ones((4, 4, 3, 3), np.float32), "w")
>>> conv = helper.make_node("Conv", ["x", "w"], ["y"], name="aspp", dilations=[36, 36], pads=[36] * 4)
>>> g = helper.make_graph([conv], "g", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 4, 32, 32])],
...                       [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 4, 32, 32])], [w])
>>> m = helper.make_model(g)
>>> trim_padding_taps(m), [i.dims for i in m.graph.initializer]
(['aspp'], [[4, 4, 1, 1]])
"""

from __future__ import annotations

import numpy as np

from ..lazy import require


def name_unnamed_nodes(model) -> int:
    """Give every nameless node a unique name (the inlined hard-swish after its module); returns how many."""
    g = model.graph
    taken = {n.name for n in g.node if n.name}
    consumers: dict[str, list] = {}
    for n in g.node:
        for i in n.input:
            consumers.setdefault(i, []).append(n)

    def unique(name: str) -> str:
        k, out = 1, name
        while out in taken:
            k, out = k + 1, f"{name}_{k}"
        taken.add(out)
        return out

    named = 0
    for n in g.node:  # Muls first: a HardSigmoid is named after the Mul it feeds
        if not n.name and n.op_type == "Mul" and "HardSwish_output" in n.output[0]:
            n.name = unique(n.output[0].rsplit("_output", 1)[0] + "/Mul")
            named += 1
    for n in g.node:
        if n.name:
            continue
        users = consumers.get(n.output[0], []) if n.output else []
        if n.op_type == "HardSigmoid" and len(users) == 1 and users[0].name.endswith("HardSwish/Mul"):
            n.name = unique(users[0].name[:-len("Mul")] + "HardSigmoid")
        else:
            n.name = unique(f"{n.op_type}_{n.output[0] if n.output else len(taken)}")
        named += 1
    return named


def static_shapes(model) -> dict[str, list[int]]:
    """Tensor name -> its static shape, for the tensors shape inference could size completely."""
    g = model.graph
    out = {}
    for v in list(g.input) + list(g.value_info) + list(g.output):
        dims = v.type.tensor_type.shape.dim
        if dims and all(d.HasField("dim_value") and d.dim_value > 0 for d in dims):
            out[v.name] = [d.dim_value for d in dims]
    return out


def _attrs(node) -> dict:
    onnx = require("onnx")
    return {a.name: onnx.helper.get_attribute_value(a) for a in node.attribute}


def _trimmable(k: int, d: int, p0: int, p1: int, size: int) -> bool:
    """The outer taps of this spatial axis never land inside the input (same-size output)."""
    return k > 1 and k % 2 == 1 and p0 == p1 == d * (k - 1) // 2 and d >= size


def trim_padding_taps(model) -> list[str]:
    """Shrink each stride-1 convolution's kernel to the taps that can read the input; returns the
    names of the convolutions changed. Needs static shapes (run shape inference first)."""
    onnx = require("onnx")
    g = model.graph
    inits = {i.name: i for i in g.initializer}
    shapes = static_shapes(model)
    changed = []
    for n in g.node:
        if n.op_type != "Conv" or len(n.input) < 2 or n.input[1] not in inits:
            continue
        a = _attrs(n)
        shape = shapes.get(n.input[0])
        if (shape is None or len(shape) != 4 or a.get("strides", [1, 1]) != [1, 1]
                or a.get("auto_pad", b"NOTSET") not in (b"NOTSET", "NOTSET")):
            continue
        w = onnx.numpy_helper.to_array(inits[n.input[1]])
        (kh, kw), dil = w.shape[2:], a.get("dilations", [1, 1])
        pads = a.get("pads", [0, 0, 0, 0])
        trim = (_trimmable(kh, dil[0], pads[0], pads[2], shape[2]), _trimmable(kw, dil[1], pads[1], pads[3], shape[3]))
        if not any(trim):
            continue
        rows = slice(kh // 2, kh // 2 + 1) if trim[0] else slice(None)
        cols = slice(kw // 2, kw // 2 + 1) if trim[1] else slice(None)
        small = np.ascontiguousarray(w[:, :, rows, cols])
        name = n.input[1] + "_trimmed"
        g.initializer.append(onnx.numpy_helper.from_array(small, name))
        n.input[1] = name
        for attr in [x for x in n.attribute if x.name in ("kernel_shape", "dilations", "pads")]:
            n.attribute.remove(attr)
        n.attribute.extend([
            onnx.helper.make_attribute("kernel_shape", list(small.shape[2:])),
            onnx.helper.make_attribute("dilations", [1 if trim[0] else dil[0], 1 if trim[1] else dil[1]]),
            onnx.helper.make_attribute("pads", [0 if trim[0] else pads[0], 0 if trim[1] else pads[1],
                                                0 if trim[0] else pads[2], 0 if trim[1] else pads[3]])])
        changed.append(n.name)
    _drop_unused_initializers(g)
    return changed


def _drop_unused_initializers(g) -> None:
    used = {i for n in g.node for i in n.input}
    for init in [i for i in g.initializer if i.name not in used]:
        g.initializer.remove(init)


def _is_pointwise(conv, inits) -> bool:
    a = _attrs(conv)
    w = inits.get(conv.input[1]) if len(conv.input) > 1 else None
    return (w is not None and list(w.dims[2:]) == [1, 1] and a.get("group", 1) == 1
            and a.get("strides", [1, 1]) == [1, 1] and not any(a.get("pads", [0, 0, 0, 0])))


def _is_weighted_mean(resize) -> bool:
    """A Resize whose every output is a convex combination of inputs (no crop, no extrapolation)."""
    a = _attrs(resize)
    mode = a.get("mode", b"nearest")
    ctm = a.get("coordinate_transformation_mode", b"half_pixel")
    return (mode in (b"nearest", b"linear", "nearest", "linear") and not a.get("antialias", 0)
            and ctm not in (b"tf_crop_and_resize", "tf_crop_and_resize") and not a.get("axes"))


def resize_after_conv(model, conv_names) -> list[str]:
    """Swap each ``Resize -> Conv`` (the Conv named in ``conv_names``, 1x1, fewer outputs than
    inputs, the Resize read by nothing else) into ``Conv -> Resize``; returns the convs moved."""
    onnx = require("onnx")
    g = model.graph
    inits = {i.name: i for i in g.initializer}
    producer = {o: n for n in g.node for o in n.output}
    readers: dict[str, int] = {}
    for n in g.node:
        for i in n.input:
            readers[i] = readers.get(i, 0) + 1
    outputs = {o.name for o in g.output}
    moved, stale = [], set()
    for conv in [n for n in g.node if n.op_type == "Conv" and n.name in set(conv_names)]:
        resize = producer.get(conv.input[0])
        if (resize is None or resize.op_type != "Resize" or readers.get(resize.output[0]) != 1
                or resize.output[0] in outputs or not _is_pointwise(conv, inits) or not _is_weighted_mean(resize)):
            continue
        w = inits[conv.input[1]]
        if w.dims[0] >= w.dims[1]:
            continue  # the swap pays only when the conv narrows the channels
        sizes = resize.input[3] if len(resize.input) > 3 and resize.input[3] else None
        if sizes is not None:
            if sizes not in inits:
                continue
            dims = onnx.numpy_helper.to_array(inits[sizes]).copy()
            dims[1] = w.dims[0]
            name = f"{sizes}_{w.dims[0]}ch"
            g.initializer.append(onnx.numpy_helper.from_array(dims, name))
            resize.input[3] = name
        stale.add(resize.output[0])
        x, low, out = resize.input[0], conv.output[0] + "_before_resize", conv.output[0]
        conv.input[0], conv.output[0] = x, low
        resize.input[0], resize.output[0] = low, out
        # keep the graph topologically sorted: the conv now runs where the resize did
        nodes = list(g.node)
        i, j = nodes.index(resize), nodes.index(conv)
        nodes[i], nodes[j] = conv, resize
        del g.node[:]
        g.node.extend(nodes)
        moved.append(conv.name)
    for v in [v for v in g.value_info if v.name in stale]:  # the tensor no longer exists
        g.value_info.remove(v)
    _drop_unused_initializers(g)
    return moved
