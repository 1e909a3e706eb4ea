"""The cpu target's graph passes (edgeseg/quantize/cpu_graph.py), each on real ONNX Runtime sessions:
exact where they claim to be, int8 where they claim to be, and absent from the tensorrt target."""

import dataclasses
import os

import numpy as np
import onnx
import onnxruntime as ort
import pytest
from onnx import TensorProto, helper, numpy_helper

from edgeseg.meta import ModelMeta
from edgeseg.quantize.api import quantize_model
from edgeseg.quantize.calibration import CalibrationSet
from edgeseg.quantize.cpu_graph import describe, stem_nodes
from edgeseg.quantize.float_rewrites import resize_after_conv, split_padding_taps, tied_tensors, trim_padding_taps
from edgeseg.quantize.ort_quantizer import compute_ranges, prepare_model, quantize_with_ranges
from edgeseg.quantize.qdq_check import check_tensorrt_qdq
from edgeseg.quantize.targets import TARGETS

QUIET = {"bench_runs": 0, "log": lambda *a: None, "file": None}


def _session(model_or_path, optimized=None):
    so = ort.SessionOptions()
    so.intra_op_num_threads = 1
    so.log_severity_level = 3
    if optimized:
        so.optimized_model_filepath = optimized
    src = model_or_path.SerializeToString() if isinstance(model_or_path, onnx.ModelProto) else model_or_path
    return ort.InferenceSession(src, so, providers=["CPUExecutionProvider"])


def _run(model_or_path, x):
    s = _session(model_or_path)
    return s.run(None, {s.get_inputs()[0].name: x})[0]


def _model(nodes, inits, in_shape, out_channels, opset=17):
    g = helper.make_graph(nodes, "g", [helper.make_tensor_value_info("x", TensorProto.FLOAT, in_shape)],
                          [helper.make_tensor_value_info("y", TensorProto.FLOAT, None)],
                          [numpy_helper.from_array(v, k) for k, v in inits.items()])
    m = helper.make_model(g, opset_imports=[helper.make_opsetid("", opset)])
    m.ir_version = 8
    return onnx.shape_inference.infer_shapes(m)


def test_trim_padding_taps_is_exact():
    rng = np.random.default_rng(0)
    w = {f"w{i}": rng.standard_normal((4, 4, 3, 3)).astype(np.float32) for i in range(3)}
    nodes = [helper.make_node("Conv", ["x", "w0"], ["a"], name="rate6", dilations=[6, 6], pads=[6] * 4),
             helper.make_node("Conv", ["x", "w1"], ["b"], name="rate2", dilations=[2, 2], pads=[2] * 4),
             helper.make_node("Conv", ["x", "w2"], ["c"], name="rate4", dilations=[4, 4], pads=[4] * 4),
             helper.make_node("Sum", ["a", "b", "c"], ["y"], name="sum")]
    model = _model(nodes, w, [1, 4, 8, 3], 4)  # H 8, W 3: rate 6 reads padding off centre in W only ...
    x = rng.standard_normal((1, 4, 8, 3)).astype(np.float32)
    before = _run(model, x)
    assert trim_padding_taps(model) == ["rate6", "rate4"]  # ... rate 4 too; rate 2 reaches inside both ways
    weights = {i.name: list(i.dims[2:]) for i in model.graph.initializer}
    kernels = {n.name: weights[n.input[1]] for n in model.graph.node if n.op_type == "Conv"}
    assert kernels == {"rate6": [3, 1], "rate2": [3, 3], "rate4": [3, 1]}
    np.testing.assert_allclose(_run(model, x), before, rtol=1e-5, atol=1e-5)


def test_split_padding_taps_is_exact_and_only_where_taps_read_padding():
    rng = np.random.default_rng(4)
    w = {f"w{i}": rng.standard_normal((6, 5, 3, 3)).astype(np.float32) for i in range(4)}
    w["b0"] = rng.standard_normal(6).astype(np.float32)
    w["lo"], w["hi"] = np.array(0, np.float32), np.array(6, np.float32)
    nodes = [helper.make_node("Conv", ["x", "w0", "b0"], ["a"], name="rate4", dilations=[4, 4], pads=[4] * 4),
             helper.make_node("Relu", ["a"], ["ar"], name="rate4/relu"),
             helper.make_node("Conv", ["x", "w1"], ["b"], name="rate5", dilations=[5, 5], pads=[5] * 4),
             helper.make_node("Clip", ["b", "lo", "hi"], ["bc"], name="rate5/clip"),
             helper.make_node("Conv", ["x", "w2"], ["c"], name="rate3", dilations=[3, 3], pads=[3] * 4),
             helper.make_node("Conv", ["x", "w3"], ["d"], name="plain3x3", pads=[1] * 4),
             helper.make_node("Sum", ["ar", "bc", "c", "d"], ["y"], name="sum")]
    model = _model(nodes, w, [1, 5, 9, 8], 6)  # rate 4 and 5 on a 9x8 map: most taps read padding
    x = rng.standard_normal((1, 5, 9, 8)).astype(np.float32)
    before = _run(model, x)
    assert split_padding_taps(model) == ["rate4", "rate5", "rate3"]  # a 3x3 at rate 1 reads inside: kept
    ops = [n.op_type for n in model.graph.node]
    # rate 4 on 8 columns: no column reads both outer taps, so 3 x 2 blocks; the others 3 x 3
    assert ops.count("Conv") == 6 + 9 + 9 + 1 and ops.count("Relu") == 6 and ops.count("Clip") == 9
    assert not any(n.name in ("rate4", "rate5", "rate3", "rate4/relu", "rate5/clip") for n in model.graph.node)
    np.testing.assert_allclose(_run(model, x), before, rtol=1e-5, atol=1e-5)
    # every block of one split with its row concatenations and the output: one range each
    groups = {g[0]: len(g) for g in tied_tensors(model)}
    assert groups == {"ar": 6 + 3 + 1, "bc": 13, "c": 13}


def test_float_stem_takes_the_residual_block_on_the_stem_output_only():
    rng = np.random.default_rng(7)
    inits = {"w0": rng.standard_normal((8, 3, 3, 3)).astype(np.float32),
             "dw": rng.standard_normal((8, 1, 3, 3)).astype(np.float32),
             "pw": rng.standard_normal((8, 8, 1, 1)).astype(np.float32),
             "w2": rng.standard_normal((8, 8, 3, 3)).astype(np.float32)}

    def net(residual):
        nodes = [helper.make_node("Conv", ["x", "w0"], ["s"], name="stem", pads=[1] * 4),
                 helper.make_node("Relu", ["s"], ["sr"], name="stem/relu"),
                 helper.make_node("Conv", ["sr", "dw"], ["d"], name="b1/dw", group=8, pads=[1] * 4),
                 helper.make_node("Relu", ["d"], ["dr"], name="b1/relu"),
                 helper.make_node("Conv", ["dr", "pw"], ["p"], name="b1/pw")]
        nodes += [helper.make_node("Add", ["sr", "p"], ["a"], name="b1/add")] if residual else []
        nodes += [helper.make_node("Conv", ["a" if residual else "p", "w2"], ["y"], name="b2", pads=[1] * 4)]
        return _model(nodes, inits, [1, 3, 8, 8], 8)
    assert stem_nodes(net(True)) == ["stem", "stem/relu", "b1/dw", "b1/relu", "b1/pw", "b1/add"]
    assert stem_nodes(net(False)) == ["stem", "stem/relu"]  # no residual: the block is int8


def test_resize_after_conv_is_exact_and_only_where_it_narrows():
    rng = np.random.default_rng(3)
    inits = {"w": rng.standard_normal((4, 16, 1, 1)).astype(np.float32), "b": rng.standard_normal(4).astype(np.float32),
             "w3": rng.standard_normal((4, 16, 3, 3)).astype(np.float32), "sizes": np.array([1, 16, 12, 12], np.int64)}
    nodes = [helper.make_node("Resize", ["x", "", "", "sizes"], ["r"], name="up", mode="linear",
                              coordinate_transformation_mode="half_pixel"),
             helper.make_node("Conv", ["r", "w", "b"], ["c"], name="score"),
             helper.make_node("Resize", ["x", "", "", "sizes"], ["r3"], name="up3", mode="linear"),
             helper.make_node("Conv", ["r3", "w3"], ["c3"], name="score3x3", pads=[1] * 4),
             helper.make_node("Add", ["c", "c3"], ["y"], name="add")]
    model = _model(nodes, inits, [1, 16, 5, 5], 4)
    x = rng.standard_normal((1, 16, 5, 5)).astype(np.float32)
    before = _run(model, x)
    assert resize_after_conv(model, ["score", "score3x3"]) == ["score"]  # a 3x3 conv does not commute
    order = [n.name for n in model.graph.node]
    score = next(n for n in model.graph.node if n.name == "score")
    assert order.index("score") < order.index("up") and score.input[0] == "x"
    np.testing.assert_allclose(_run(model, x), before, rtol=1e-4, atol=1e-4)


def _saved_net(tmp_path, name, nodes, inits, size: int, seed: int):
    """(path, meta, 8 random calibration frames) for a 3-channel, 4-class net of ``size`` x ``size``."""
    path = str(tmp_path / f"{name}.onnx")
    onnx.save(_model(nodes, inits, [1, 3, size, size], 4), path)
    meta = ModelMeta(model=name, classes=("a", "b", "c", "d"), input_size=(size, size))
    frames = np.random.default_rng(seed).integers(0, 256, (8, size, size, 3)).astype(np.uint8)
    return path, meta, CalibrationSet(frames, (size, size), source="random")


def _outputs(path, x):
    """The model's output for each frame of ``x``, run one frame at a time."""
    return np.concatenate([_run(path, x[i:i + 1]) for i in range(len(x))])


def _mean_error(path, x, ref) -> float:
    return float(np.abs(_outputs(path, x) - ref).mean())


def _hardswish_net(tmp_path):
    """A float stem conv -> hard-swish (HardSigmoid + Mul, as ONNX Runtime inlines it) -> 1x1 conv."""
    rng = np.random.default_rng(1)
    inits = {"w0": rng.standard_normal((8, 3, 3, 3)).astype(np.float32) * 0.7, "b0": np.zeros(8, np.float32),
             "w1": rng.standard_normal((8, 8, 3, 3)).astype(np.float32) * 0.3,
             "w2": rng.standard_normal((4, 8, 1, 1)).astype(np.float32) * 0.3}
    nodes = [helper.make_node("Conv", ["x", "w0", "b0"], ["c0"], name="/net/stem/Conv", pads=[1] * 4),
             helper.make_node("Relu", ["c0"], ["r0"], name="/net/stem/Relu"),
             helper.make_node("Conv", ["r0", "w1"], ["c1"], name="/net/block/Conv", pads=[1] * 4),
             helper.make_node("HardSigmoid", ["c1"], ["hs"], name="/net/block/act/HardSwish/HardSigmoid",
                              alpha=1 / 6, beta=0.5),
             helper.make_node("Mul", ["c1", "hs"], ["h1"], name="/net/block/act/HardSwish/Mul"),
             helper.make_node("Conv", ["h1", "w2"], ["y"], name="/net/head/Conv")]
    return _saved_net(tmp_path, "net", nodes, inits, 16, seed=2)


def test_split_convs_sharing_one_weight_and_many_blocks():
    rng = np.random.default_rng(8)
    inits = {"w": rng.standard_normal((4, 4, 3, 3)).astype(np.float32),
             "big": rng.standard_normal((4, 4, 13, 13)).astype(np.float32)}
    nodes = [helper.make_node("Conv", ["x", "w"], ["a"], name="rate4", dilations=[4, 4], pads=[4] * 4),
             helper.make_node("Conv", ["x", "w"], ["b"], name="rate5", dilations=[5, 5], pads=[5] * 4),
             helper.make_node("Conv", ["x", "big"], ["c"], name="k13", pads=[6] * 4),  # 13 row bands
             helper.make_node("Sum", ["a", "b", "c"], ["y"], name="sum")]
    model = _model(nodes, inits, [1, 4, 14, 14], 4)
    x = rng.standard_normal((1, 4, 14, 14)).astype(np.float32)
    before = _run(model, x)
    assert split_padding_taps(model) == ["rate4", "rate5", "k13"]
    names = [n.name for n in model.graph.node]
    assert len(names) == len(set(names))
    onnx.checker.check_model(model, full_check=True)
    np.testing.assert_allclose(_run(model, x), before, rtol=1e-4, atol=1e-4)


def _aspp_net(tmp_path):
    """A 1x1 stem -> a rate-6 3x3 conv + Relu on a 12x12 map (an ASPP branch) -> 1x1 scores."""
    rng = np.random.default_rng(5)
    inits = {"w0": rng.standard_normal((8, 3, 1, 1)).astype(np.float32),
             "w1": rng.standard_normal((8, 8, 3, 3)).astype(np.float32) * 0.3, "b1": np.full(8, 0.1, np.float32),
             "w2": rng.standard_normal((4, 8, 1, 1)).astype(np.float32) * 0.3}
    nodes = [helper.make_node("Conv", ["x", "w0"], ["s"], name="/net/stem/Conv"),
             helper.make_node("Conv", ["s", "w1", "b1"], ["a"], name="/net/aspp/Conv", dilations=[6, 6], pads=[6] * 4),
             helper.make_node("Relu", ["a"], ["r"], name="/net/aspp/Relu"),
             helper.make_node("Conv", ["r", "w2"], ["y"], name="/net/head/Conv")]
    return _saved_net(tmp_path, "aspp", nodes, inits, 12, seed=6)


def test_split_blocks_share_one_scale_and_can_stay_float(tmp_path):
    path, meta, calib = _aspp_net(tmp_path)
    prepared = prepare_model(path, str(tmp_path / "prepared.onnx"))
    ranges = compute_ranges(prepared, calib, meta, "minmax", TARGETS["cpu"], file=None)
    out = quantize_with_ranges(prepared, str(tmp_path / "cpu.onnx"), ranges, "minmax", TARGETS["cpu"])
    plain_target = dataclasses.replace(TARGETS["cpu"], passes=())
    plain = quantize_with_ranges(prepared, str(tmp_path / "plain.onnx"),
                                 compute_ranges(prepared, calib, meta, "minmax", plain_target, file=None),
                                 "minmax", plain_target)
    # one int8 kernel for the four blocks (their kernels overlap), sliced when ONNX Runtime loads it
    kernels = [i for i in onnx.load(out).graph.initializer if i.data_type == TensorProto.INT8 and len(i.dims) == 4]
    assert sorted(list(i.dims) for i in kernels) == [[4, 8, 1, 1], [8, 8, 3, 3]]
    _session(out, optimized=str(tmp_path / "opt.onnx"))
    g = onnx.load(str(tmp_path / "opt.onnx")).graph
    inits = {i.name: numpy_helper.to_array(i) for i in g.initializer}
    ops = [n.op_type for n in g.node]
    # rate 6 on 12 rows: rows 0-5 read taps 1-2, rows 6-11 taps 0-1: 2 x 2 blocks, 2 row concats + 1
    assert ops.count("QLinearConv") == 4 + 1 and ops.count("QLinearConcat") == 3
    for n in g.node:
        if n.op_type == "QLinearConcat":  # y_scale, y_zp, then (x, scale, zp) per input: all one scale
            scales = {float(inits[n.input[i]]) for i in [0] + list(range(3, len(n.input), 3))}
            assert len(scales) == 1, n.name
    x = np.concatenate([calib.tensors(meta, i, i + 1) for i in range(len(calib))])
    ref = _outputs(path, x)
    err = {k: _mean_error(p, x, ref) for k, p in (("cpu", out), ("plain", plain))}
    assert err["cpu"] <= 1.5 * err["plain"] + 1e-6, err
    # the plain graph quantizes from the cpu target's ranges too (the graph pick does): the split
    # convolution's own output, gone from the cpu graph, has the range of its blocks
    again = quantize_with_ranges(prepared, str(tmp_path / "plain2.onnx"), ranges, "minmax", plain_target)
    assert _mean_error(again, x, ref) <= 1.5 * err["plain"] + 1e-6
    # kept float by the name it had before the split (the accuracy budget names it so): all its blocks
    kept = quantize_with_ranges(prepared, str(tmp_path / "kept.onnx"), ranges, "minmax", TARGETS["cpu"],
                                ["/net/aspp/Conv"])
    blocks = [n for n in onnx.load(kept).graph.node if n.name.startswith("/net/aspp/Conv/tapblock")]
    assert len(blocks) == 4 and all(n.op_type == "Conv" for n in blocks)
    np.testing.assert_allclose(_run(kept, x[:1]), ref[:1], atol=0.1 * float(np.abs(ref).max()))


def test_int8_hardswish_runs_as_one_qlinearmul(tmp_path):
    path, meta, calib = _hardswish_net(tmp_path)
    prepared = prepare_model(path, str(tmp_path / "prepared.onnx"))
    out = {}
    for name, target in (("cpu", TARGETS["cpu"]), ("plain", dataclasses.replace(TARGETS["cpu"], passes=()))):
        ranges = compute_ranges(prepared, calib, meta, "minmax", target, file=None)
        out[name] = quantize_with_ranges(prepared, str(tmp_path / f"{name}.onnx"), ranges, "minmax", target)
    g = onnx.load(out["cpu"]).graph
    assert [n.op_type for n in g.node].count("Clip") == 1 and "HardSigmoid" not in [n.op_type for n in g.node]
    # ONNX Runtime fuses the rewritten pattern into QLinearMul: no float HardSigmoid left to run.
    _session(out["cpu"], optimized=str(tmp_path / "opt.onnx"))
    ops = [n.op_type for n in onnx.load(str(tmp_path / "opt.onnx")).graph.node]
    assert "QLinearMul" in ops and "HardSigmoid" not in ops
    # and it is as close to FP32 as the float path it replaces
    x = np.concatenate([calib.tensors(meta, i, i + 1) for i in range(len(calib))])
    ref = _outputs(path, x)
    err = {k: _mean_error(p, x, ref) for k, p in out.items()}
    assert err["cpu"] <= 1.5 * err["plain"] + 1e-6, err
    assert err["cpu"] < 0.05 * float(np.abs(ref).mean()), err


def test_cpu_graph_on_a_trained_model(tiny_onnx, tmp_path):
    calib = CalibrationSet.load(_calib(tiny_onnx, tmp_path))
    r = quantize_model(tiny_onnx, calib, str(tmp_path / "cpu.onnx"), target="cpu", method="percentile", **QUIET)
    graph = r.report["graph"]
    assert "/network/backbone.0/backbone.0.0/Conv" in graph["float_convs"]          # FP32 stem
    assert {"/network/classifier/low_classifier/Conv", "/network/classifier/high_classifier/Conv"} \
        <= set(graph["float_convs"])                                                  # FP32 class scores
    # the Resizes on the score path (LR-ASPP's high branch upsampled into the class sum, and the
    # resize to the output) stay float; nothing earlier does
    assert set(graph["float_resizes"]) == {"/network/classifier/Resize", "/network/Resize"}
    assert graph["int8_hardswish"] > 0
    model = onnx.load(r.path)
    assert not any(n.op_type == "QuantizeLinear" and n.input[0] == model.graph.input[0].name for n in model.graph.node)
    assert describe(model) == graph
    # As ONNX Runtime runs it: the stem a fused FP32 conv + hard-swish, the resize to the output in float.
    opt = str(tmp_path / "opt.onnx")
    _session(r.path, optimized=opt)
    nodes = onnx.load(opt).graph.node
    fused = [n for n in nodes if n.op_type == "Conv" and any(a.name == "activation" and a.s == b"HardSwish"
                                                             for a in n.attribute)]
    assert len(fused) == 1
    assert not any(n.op_type == "DequantizeLinear" and "logits" in n.output[0] for n in nodes)


def test_tensorrt_target_has_none_of_the_cpu_passes(tiny_onnx, tmp_path):
    calib = CalibrationSet.load(_calib(tiny_onnx, tmp_path))
    r = quantize_model(tiny_onnx, calib, str(tmp_path / "trt.onnx"), target="tensorrt", method="percentile", **QUIET)
    model = onnx.load(r.path)
    assert check_tensorrt_qdq(model).ok and "graph" not in r.report
    assert not any(n.op_type == "Clip" for n in model.graph.node)
    assert check_tensorrt_qdq(model).float_weights == []  # stem and class-score convs quantized too
    assert any(n.op_type == "QuantizeLinear" and n.input[0] == model.graph.input[0].name for n in model.graph.node)


def _calib(tiny_onnx, tmp_path) -> str:
    path = str(tmp_path / "calib.npz")
    if not os.path.exists(path):
        from edgeseg.backends import load_backend
        from edgeseg.quantize.calibration import build_calibration_set
        with load_backend(tiny_onnx, device="cpu") as b, pytest.warns(UserWarning, match="calibration frames"):
            build_calibration_set("synthetic", b.meta, 16, file=None).save(path)
    return path
