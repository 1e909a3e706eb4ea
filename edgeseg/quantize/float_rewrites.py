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
* :func:`split_padding_taps`: where the outer taps read padding for only part of the output (the
  rate-12 and rate-24 branches on the same map), the convolution is split into blocks of output
  that read the same taps, each a smaller convolution on the input slice it reads.
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

import re

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


# Split a convolution only where this share of its multiply-adds or less reads the input: the
# blocks cost a Slice and a kernel launch each (~20 us on 2 cores), which a 1.4x saving repays.
SPLIT_MAX_USEFUL = 0.7
SPLIT_MIN_PIXELS = 64  # on a smaller map the blocks would be a few pixels each: not worth the nodes
TIED_MARK = "__tapblock"  # in the names of the tensors one split's outputs are made of
PRE_MARK = "__tapconv"  # a block's output before the activation copied into it
WEIGHT_MARK = "__taps"  # a block's kernel: <conv>__taps<kh>x<kw>_<first row>_<first col>_<row>_<col>


def _bands(k: int, d: int, p: int, size: int) -> list[tuple[int, int, int, int]]:
    """The output rows (columns) of a same-size conv in runs that read the same taps:
    ``(first output, end output, first tap, end tap)``, each tap range the taps inside the input."""
    out = []
    for y in range(size):
        i0 = next(i for i in range(k) if y - p + i * d >= 0)
        i1 = next(i for i in range(k, 0, -1) if y - p + (i - 1) * d <= size - 1)
        if out and out[-1][2:] == (i0, i1):
            out[-1] = (out[-1][0], y + 1, i0, i1)
        else:
            out.append((y, y + 1, i0, i1))
    return out


def _useful_share(rows, cols, k: tuple[int, int], size: tuple[int, int]) -> float:
    taps = sum((r1 - r0) * (i1 - i0) for r0, r1, i0, i1 in rows) * sum((c1 - c0) * (j1 - j0) for c0, c1, j0, j1 in cols)
    return taps / (k[0] * k[1] * size[0] * size[1])


def split_padding_taps(model) -> list[str]:
    """Split each dense stride-1 same-size convolution whose taps read padding for much of its
    output (a dilated ASPP branch on a small map) into one convolution per block of output that
    reads the same taps, each on the slice of input those taps read, without padding; the blocks'
    outputs (after the Relu/Clip that followed, copied into each) are concatenated back. Returns
    the names of the convolutions split. Exact: the dropped taps multiplied zeros.

    ONNX Runtime's FP32 NCHWc convolution already skips such taps; its QLinearConv (im2col) does
    not: deeplabv3_mobilenet_v3_large's rate-12 and rate-24 ASPP branches at 512x512 (32x32 maps,
    56 % and 25 % of their taps inside the input) took 2.7 ms each in int8, against FP32's 10.9
    and 4.6. Run after :func:`trim_padding_taps` (which handles taps that never read the input).
    Concatenating int8 blocks copies them only if they share one scale: :func:`tied_tensors`
    names the tensors whose calibrated ranges must be one.

    >>> from onnx import TensorProto, helper, numpy_helper
    >>> w = numpy_helper.from_array(np.ones((4, 4, 3, 3), np.float32), "w")
    >>> conv = helper.make_node("Conv", ["x", "w"], ["c"], name="aspp", dilations=[24, 24], pads=[24] * 4)
    >>> relu = helper.make_node("Relu", ["c"], ["y"], name="relu")
    >>> g = helper.make_graph([conv, relu], "g", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 4, 32, 32])],
    ...                       [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 4, 32, 32])], [w])
    >>> m = helper.make_model(g)
    >>> split_padding_taps(m), sorted({tuple(i.dims[2:]) for i in m.graph.initializer if WEIGHT_MARK in i.name})
    (['aspp'], [(1, 1), (1, 2), (2, 1), (2, 2)])
    >>> [len(t) for t in tied_tensors(m)]
    [13]
    """
    onnx = require("onnx")
    helper, nph = onnx.helper, onnx.numpy_helper
    g = model.graph
    inits = {i.name: i for i in g.initializer}
    shapes = static_shapes(model)
    consumers: dict[str, list] = {}
    for n in g.node:
        for i in n.input:
            consumers.setdefault(i, []).append(n)
    outputs = {o.name for o in g.output}
    split, nodes, dropped, stale = [], [], set(), set()
    if next((o.version for o in model.opset_import if o.domain in ("", "ai.onnx")), 0) < 10:
        return split  # Slice takes its bounds as inputs from opset 10
    for n in list(g.node):
        a = _attrs(n)
        shape = shapes.get(n.input[0]) if n.input else None
        ok = (n.op_type == "Conv" and len(n.input) > 1 and n.input[1] in inits and shape is not None
              and len(shape) == 4 and a.get("strides", [1, 1]) == [1, 1] and a.get("group", 1) == 1
              and a.get("auto_pad", b"NOTSET") in (b"NOTSET", "NOTSET") and n.output[0] not in outputs)
        if ok:
            w = nph.to_array(inits[n.input[1]])
            (kh, kw), dil = w.shape[2:], a.get("dilations", [1, 1])
            pads = a.get("pads", [0, 0, 0, 0])
            ok = (kh > 1 or kw > 1) and pads[0] == pads[2] and pads[1] == pads[3] \
                and pads[0] == dil[0] * (kh - 1) // 2 and pads[1] == dil[1] * (kw - 1) // 2 \
                and kh % 2 == 1 and kw % 2 == 1
        if ok:
            rows, cols = _bands(kh, dil[0], pads[0], shape[2]), _bands(kw, dil[1], pads[1], shape[3])
            ok = (len(rows) * len(cols) > 1 and shape[2] * shape[3] >= SPLIT_MIN_PIXELS
                  and _useful_share(rows, cols, (kh, kw), shape[2:]) <= SPLIT_MAX_USEFUL)
        if not ok:
            nodes.append(n)
            continue
        users = consumers.get(n.output[0], [])
        act = users[0] if len(users) == 1 and users[0].op_type in ("Relu", "Clip") else None
        final = act.output[0] if act is not None else n.output[0]
        bias = n.input[2] if len(n.input) > 2 and n.input[2] else None
        row_outs = []
        for r, (y0, y1, i0, i1) in enumerate(rows):
            blocks = []
            for c, (x0, x1, j0, j1) in enumerate(cols):
                tag = f"{final}{TIED_MARK}_{r}_{c}"
                sub = np.ascontiguousarray(w[:, :, i0:i1, j0:j1])
                wname = f"{n.name}{WEIGHT_MARK}{kh}x{kw}_{i0}_{j0}_{r}_{c}"  # per conv: two may share a weight
                g.initializer.append(nph.from_array(sub, wname))
                starts = [y0 - pads[0] + i0 * dil[0], x0 - pads[1] + j0 * dil[1]]
                ends = [y1 - pads[0] + (i1 - 1) * dil[0], x1 - pads[1] + (j1 - 1) * dil[1]]
                source = n.input[0]
                if starts != [0, 0] or ends != list(shape[2:]):  # else the taps reach every row and column
                    consts = [nph.from_array(np.array(v, np.int64), f"{tag}_{k}")
                              for k, v in (("starts", starts), ("ends", ends), ("axes", [2, 3]))]
                    g.initializer.extend(consts)
                    source = f"{tag}_in"
                    nodes.append(helper.make_node("Slice", [n.input[0], *(t.name for t in consts)], [source],
                                                  name=f"{n.name}/tapblock{r}_{c}/Slice"))
                out = f"{n.output[0]}{PRE_MARK}_{r}_{c}" if act is not None else tag
                nodes.append(helper.make_node(
                    "Conv", [source, wname] + ([bias] if bias else []), [out], name=f"{n.name}/tapblock{r}_{c}",
                    kernel_shape=list(sub.shape[2:]), pads=[0, 0, 0, 0],
                    dilations=[dil[0] if i1 - i0 > 1 else 1, dil[1] if j1 - j0 > 1 else 1]))
                if act is not None:
                    nodes.append(helper.make_node(act.op_type, [out, *act.input[1:]], [tag],
                                                  name=f"{act.name}/tapblock{r}_{c}", **_attrs(act)))
                blocks.append(tag)
            row = f"{final}{TIED_MARK}_row{r}" if len(rows) > 1 else final
            nodes.append(helper.make_node("Concat", blocks, [row], name=f"{n.name}/row{r}/Concat", axis=3))
            row_outs.append(row)
        if len(rows) > 1:
            nodes.append(helper.make_node("Concat", row_outs, [final], name=f"{n.name}/Concat", axis=2))
        if act is not None:  # its copies in the blocks replace it
            dropped.add(id(act))
            stale.add(n.output[0])
        split.append(n.name)
    if split:
        del g.node[:]
        g.node.extend(m for m in nodes if id(m) not in dropped)
        for v in [v for v in g.value_info if v.name in stale]:
            g.value_info.remove(v)
        _drop_unused_initializers(g)
    return split


def tied_tensors(model) -> list[list[str]]:
    """Groups of tensors that must share one quantization range: each split convolution's
    blocks, their row concatenations and the whole (:func:`split_padding_taps`)."""
    groups: dict[str, list[str]] = {}
    for n in model.graph.node:
        for o in n.output:
            if TIED_MARK in o and not o.endswith("_in"):
                groups.setdefault(o.split(TIED_MARK)[0], []).append(o)
    return [[final, *names] for final, names in groups.items()]


def split_sources(model) -> dict[str, list[str]]:
    """For each convolution :func:`split_padding_taps` split before an activation: its output's
    name (gone from the graph) -> its blocks' outputs before their activation copies. The
    plain Q/DQ graph, quantized from the same ranges, still has that tensor."""
    out: dict[str, list[str]] = {}
    for n in model.graph.node:
        for o in n.output:
            if PRE_MARK in o:
                out.setdefault(o.split(PRE_MARK)[0], []).append(o)
    return out


def share_split_weights(model, float_model) -> int:
    """In a Q/DQ ``model`` quantized from a graph :func:`split_padding_taps` rewrote
    (``float_model``), store each split convolution's int8 kernel once and give each block a
    Slice of it: the blocks' kernels overlap (a rate-12 3x3 split nine ways holds 49 taps), which
    made deeplabv3_mobilenet_v3_large's INT8 file 2.4x larger. The shared kernel is quantized
    per output channel at the largest of the blocks' scales, the scale the unsplit kernel had;
    ONNX Runtime folds the Slices when it loads the model. Returns how many kernels it shares."""
    onnx = require("onnx")
    helper, nph = onnx.helper, onnx.numpy_helper
    g = model.graph
    inits = {i.name: i for i in g.initializer}
    floats = {i.name: i for i in float_model.graph.initializer}
    float_convs = {n.name: n for n in float_model.graph.node if n.op_type == "Conv" and len(n.input) > 1}
    producer = {o: n for n in g.node for o in n.output}

    def dq_of(tensor, constant=True):
        dq = producer.get(tensor)
        ok = dq is not None and dq.op_type == "DequantizeLinear" and dq.input[1] in inits
        return dq if ok and (not constant or all(i in inits for i in dq.input)) else None
    groups: dict[str, list] = {}
    for n in g.node:
        f = float_convs.get(n.name) if n.op_type == "Conv" else None
        m = re.fullmatch(r"(.*)" + WEIGHT_MARK + r"(\d+)x(\d+)_(\d+)_(\d+)_\d+_\d+", f.input[1]) if f else None
        x_dq, w_dq = (dq_of(n.input[0], constant=False), dq_of(n.input[1])) if m else (None, None)
        if m and w_dq is not None and x_dq is not None:
            b_dq = dq_of(n.input[2]) if len(n.input) > 2 and n.input[2] else None
            groups.setdefault(m.group(1), []).append((f, x_dq, w_dq, b_dq, *map(int, m.groups()[1:])))
    shared, slices = 0, []  # appended after the loop: appending to g.node moves the DQ nodes held
    for orig, blocks in groups.items():
        f, *_, kh, kw, _, _ = blocks[0]
        w = np.zeros((*floats[f.input[1]].dims[:2], kh, kw), np.float32)
        for f, *_, i0, j0 in blocks:
            sub = nph.to_array(floats[f.input[1]])
            w[:, :, i0:i0 + sub.shape[2], j0:j0 + sub.shape[3]] = sub
        # each block's scale is its own kernel's largest |w| per channel: their largest is the whole's
        scale = np.max([nph.to_array(inits[b[2].input[1]]) for b in blocks], axis=0).astype(np.float32)
        q = np.clip(np.rint(w / scale.reshape(-1, 1, 1, 1)), -127, 127).astype(np.int8)
        g.initializer.append(nph.from_array(q, f"{orig}_shared_quantized"))
        for f, x_dq, w_dq, b_dq, _, _, i0, j0 in blocks:
            name = f.input[1]
            bh, bw = floats[name].dims[2:]
            consts = [nph.from_array(np.array(v, np.int64), f"{name}_{k}") for k, v in
                      (("starts", [i0, j0]), ("ends", [i0 + bh, j0 + bw]), ("axes", [2, 3]))]
            g.initializer.extend([*consts, nph.from_array(scale, f"{name}_shared_scale")])
            slices.append(helper.make_node("Slice", [f"{orig}_shared_quantized", *(c.name for c in consts)],
                                           [f"{name}_sliced"], name=f"{name}/Slice"))
            w_dq.input[0], w_dq.input[1] = f"{name}_sliced", f"{name}_shared_scale"
            if b_dq is not None:  # int32 bias at input scale x weight scale
                b_scale = (float(nph.to_array(inits[x_dq.input[1]])) * scale).astype(np.float32)
                b_q = np.rint(nph.to_array(floats[f.input[2]]) / b_scale).astype(np.int32)
                g.initializer.extend([nph.from_array(b_q, f"{name}_bias_quantized"),
                                      nph.from_array(b_scale, f"{name}_bias_scale")])
                b_dq.input[0], b_dq.input[1] = f"{name}_bias_quantized", f"{name}_bias_scale"
        shared += 1
    if shared:  # the Slices read only initializers: first in the graph is in order
        nodes = slices + list(g.node)
        del g.node[:]
        g.node.extend(nodes)
        _drop_unused_initializers(g)
    return shared


def blocks_of(model, names) -> list[str]:
    """``names`` (nodes to keep float, named in the graph before the rewrites) with each node that
    :func:`split_padding_taps` replaced, a convolution or its activation, given as its blocks' copies.

    >>> from onnx import helper
    >>> g = helper.make_graph([helper.make_node("Relu", ["x"], ["y"], name="c/tapblock0_0"),
    ...                        helper.make_node("Relu", ["y"], ["z"], name="c/tapblock0_1")], "g", [], [])
    >>> blocks_of(helper.make_model(g), ["c", "other"])
    ['c/tapblock0_0', 'c/tapblock0_1', 'other']
    """
    present = [n.name for n in model.graph.node]
    have = set(present)
    out = []
    for name in names:
        copies = [] if name in have else [p for p in present if re.fullmatch(re.escape(name) + r"/tapblock\d+_\d+", p)]
        out += copies or [name]
    return out


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
