"""to_float16 (TensorRT 11's fp16 path): structure, and the converted graphs run in ONNX Runtime.

ONNX Runtime's CPU provider has float16 kernels for every op these graphs use (Conv, HardSwish,
HardSigmoid, Sigmoid, GlobalAveragePool, Resize, Mul, Add, ArgMax, Q/DQ ...), so each converted model
is run for real and judged against the float32 original by argmax agreement.
"""

import numpy as np
import onnx
import onnxruntime as ort
import pytest
from onnx import TensorProto as T
from onnx import helper as h
from onnx import numpy_helper as nh

from edgeseg.backends.tensorrt.fp16 import to_float16
from edgeseg.errors import EdgesegError, ModelError

from .build_helpers import qdq_model


def _run(model_or_path, x):
    data = model_or_path if isinstance(model_or_path, str) else model_or_path.SerializeToString()
    s = ort.InferenceSession(data, providers=["CPUExecutionProvider"])
    return s.run(None, {s.get_inputs()[0].name: x})[0]


def _frames(shape, n=4, seed=0):
    rng = np.random.default_rng(seed)
    return [rng.normal(0, 1.5, shape).astype(np.float32) for _ in range(n)]


def _elem(vi):
    return vi.type.tensor_type.elem_type


def test_zoo_model_structure(zoo_onnx):
    m32 = onnx.load(zoo_onnx)
    m16 = to_float16(m32)
    onnx.checker.check_model(m16, full_check=True)
    onnx.shape_inference.infer_shapes(m16, strict_mode=True)
    g = m16.graph
    # inputs and outputs keep their names and float32; Casts stand right behind / before them
    assert [(i.name, _elem(i)) for i in g.input] == [(i.name, _elem(i)) for i in m32.graph.input]
    assert [(o.name, _elem(o)) for o in g.output] == [("logits", T.FLOAT)]
    assert g.node[0].op_type == "Cast" and g.node[0].input[0] == "input"
    assert g.node[-1].op_type == "Cast" and g.node[-1].output[0] == "logits"
    # every weight is float16 now, and the file is about half the size
    weights = [i for i in g.initializer if len(i.dims) == 4]
    assert weights and all(i.data_type == T.FLOAT16 for i in weights)
    assert len(m16.SerializeToString()) < 0.6 * len(m32.SerializeToString())
    # the meta travels
    assert {p.key: p.value for p in m16.metadata_props} == {p.key: p.value for p in m32.metadata_props}
    assert all(_elem(v) in (T.FLOAT16, T.INT64, T.INT32, T.BOOL) for v in g.value_info)
    assert m32.graph.node[0].op_type != "Cast"   # the input model was left alone


def test_zoo_model_argmax_agrees_in_onnxruntime(zoo_onnx):
    m16 = to_float16(onnx.load(zoo_onnx))
    agree = []
    for x in _frames((1, 3, 64, 64)):
        a, b = _run(zoo_onnx, x), _run(m16, x)
        assert b.dtype == np.float32 and b.shape == a.shape
        assert np.abs(a - b).max() < 0.05
        agree.append((a.argmax(1) == b.argmax(1)).mean())
    assert np.mean(agree) > 0.99


def test_uint8_frames_to_labels_model(zoo_labels_onnx):
    """uint8 NHWC in (the graph casts and normalises), int32 labels out: non-float I/O untouched."""
    m32 = onnx.load(zoo_labels_onnx)
    m16 = to_float16(m32)
    onnx.checker.check_model(m16, full_check=True)
    assert [_elem(i) for i in m16.graph.input] == [T.UINT8] and [_elem(o) for o in m16.graph.output] == [T.INT32]
    cast_in = next(n for n in m16.graph.node if n.input[0] == "input")
    assert cast_in.op_type == "Cast" and cast_in.attribute[0].i == T.FLOAT16
    rng = np.random.default_rng(3)
    agree = []
    for _ in range(3):
        x = rng.integers(0, 256, (1, 64, 64, 3), dtype=np.uint8)
        a, b = _run(zoo_labels_onnx, x), _run(m16, x)
        assert a.dtype == b.dtype == np.int32 and a.shape == b.shape == (1, 64, 64)
        agree.append((a == b).mean())
    assert np.mean(agree) > 0.99


def test_dynamic_model_runs_at_other_sizes(tiny_dynamic):
    m16 = to_float16(onnx.load(tiny_dynamic))
    onnx.checker.check_model(m16, full_check=True)
    for shape in [(1, 3, 32, 32), (2, 3, 48, 64)]:
        x = _frames(shape, 1)[0]
        a, b = _run(tiny_dynamic, x), _run(m16, x)
        assert b.shape == a.shape and (a.argmax(1) == b.argmax(1)).mean() > 0.99


@pytest.mark.parametrize("opset", [17, 19])
def test_qdq_scales_stay_float32_where_the_op_requires(opset):
    m32 = qdq_model(opset=opset)
    m16 = to_float16(m32)
    onnx.checker.check_model(m16, full_check=True)
    g = m16.graph
    types = {i.name: i.data_type for i in g.initializer}
    suffix = "" if opset < 19 else "__fp16"   # opset 19 allows float16 scales
    scale_type = T.FLOAT if opset < 19 else T.FLOAT16
    assert types["x_scale" + suffix] == scale_type and types["y_scale" + suffix] == scale_type
    assert types["w_q"] == T.INT8 and types.get("b__fp16") == T.FLOAT16
    q_in = next(n for n in g.node if n.name == "q_in")
    if opset < 19:   # QuantizeLinear-13 takes float32 only: the graph input feeds it directly
        assert q_in.input[0] == "x"
        assert any(n.op_type == "Cast" and n.input[0] == "wd" for n in g.node)   # DQ-13 output -> fp16
    x = _frames((1, 3, 16, 16), 1)[0]
    a, b = _run(m32, x), _run(m16, x)
    assert b.dtype == np.float32 and (a.argmax(1) == b.argmax(1)).mean() > 0.98


def _resize_model(computed_scales: bool):
    """x -> Conv -> Resize(scales); the scales a constant, or computed (Cast(Shape) / Shape) as
    exporters do: they must reach Resize in float32 unrounded."""
    w = nh.from_array(np.random.default_rng(1).normal(size=(2, 3, 1, 1)).astype(np.float32), "w")
    nodes = [h.make_node("Conv", ["x", "w"], ["c"])]
    inits = [w, nh.from_array(np.zeros(0, np.float32), "roi")]
    if computed_scales:
        inits += [nh.from_array(np.array([1, 1, 11, 11], np.float32), "num"),
                  nh.from_array(np.array([1, 1, 5, 5], np.float32), "den")]
        nodes += [h.make_node("Div", ["num", "den"], ["ratio"]),
                  h.make_node("Shape", ["c"], ["shp"]),
                  h.make_node("Cast", ["shp"], ["shp_f"], to=T.FLOAT),
                  h.make_node("Div", ["shp_f", "shp_f"], ["ones"]),
                  h.make_node("Mul", ["ratio", "ones"], ["scales"])]
    else:
        inits.append(nh.from_array(np.array([1, 1, 2.2, 2.2], np.float32), "scales"))
    nodes.append(h.make_node("Resize", ["c", "roi", "scales"], ["y"], mode="linear"))
    g = h.make_graph(nodes, "r", [h.make_tensor_value_info("x", T.FLOAT, [1, 3, 30, 30])],
                     [h.make_tensor_value_info("y", T.FLOAT, [1, 2, 66, 66])], inits)
    return h.make_model(g, opset_imports=[h.make_opsetid("", 17)], ir_version=8)


@pytest.mark.parametrize("computed", [False, True])
def test_resize_scales_stay_float32(computed):
    m32 = _resize_model(computed)
    m16 = to_float16(m32)
    onnx.checker.check_model(m16, full_check=True)
    resize = next(n for n in m16.graph.node if n.op_type == "Resize")
    inferred = onnx.shape_inference.infer_shapes(m16)
    types = {v.name: _elem(v) for v in inferred.graph.value_info}
    types.update({i.name: i.data_type for i in m16.graph.initializer})
    assert types[resize.input[2]] == T.FLOAT and types[resize.input[0]] == T.FLOAT16
    if computed:   # the little scale computation ran in float32, Cast(to=FLOAT) kept
        cast = next(n for n in m16.graph.node if n.output[0] == "shp_f")
        assert cast.attribute[0].i == T.FLOAT
    x = _frames((1, 3, 30, 30), 1)[0]
    a, b = _run(m32, x), _run(m16, x)
    assert a.shape == b.shape == (1, 2, 66, 66)   # 30 * 2.2: a float16 scale (2.19921875) gives 65
    assert np.abs(a - b).max() < 0.05


def test_large_constants_are_clipped_not_inf():
    big = nh.from_array(np.array([1e6, -1e6, 3.0], np.float32).reshape(1, 3, 1, 1), "big")
    g = h.make_graph([h.make_node("Mul", ["x", "big"], ["y"])], "g",
                     [h.make_tensor_value_info("x", T.FLOAT, [1, 3, 2, 2])],
                     [h.make_tensor_value_info("y", T.FLOAT, [1, 3, 2, 2])], [big])
    m16 = to_float16(h.make_model(g, opset_imports=[h.make_opsetid("", 17)], ir_version=8))
    arr = nh.to_array(next(i for i in m16.graph.initializer if i.name == "big__fp16"))
    assert np.isfinite(arr).all() and arr.max() == np.finfo(np.float16).max


def test_subgraphs_are_refused():
    then = h.make_graph([h.make_node("Identity", ["x"], ["t"])], "then", [],
                        [h.make_tensor_value_info("t", T.FLOAT, [1])])
    g = h.make_graph([h.make_node("If", ["c"], ["y"], then_branch=then, else_branch=then)], "g",
                     [h.make_tensor_value_info("c", T.BOOL, []), h.make_tensor_value_info("x", T.FLOAT, [1])],
                     [h.make_tensor_value_info("y", T.FLOAT, [1])])
    with pytest.raises(ModelError, match="subgraphs"):
        to_float16(h.make_model(g, opset_imports=[h.make_opsetid("", 17)]))


# -- the range check: nodes whose activations pass float16's range stay float32 ------------------
def _tensors(model, n=4):
    from edgeseg.backends.onnx_meta import get_onnx_meta
    from edgeseg.preprocess import preprocess_batch

    from .build_helpers import frames
    return preprocess_batch(list(frames(n)), get_onnx_meta(model))


def test_range_check_finds_the_nodes_beyond_fp16():
    from edgeseg.backends.tensorrt.fp16 import FP16_MAX, fp16_range_check

    from .build_helpers import overflow_model
    m32 = overflow_model()
    beyond = fp16_range_check(m32, _tensors(m32))
    assert set(beyond) == {"scale_up", "scale_down"}     # the Mul's output, and the Div it feeds
    assert all(v > FP16_MAX for v in beyond.values())
    assert not fp16_range_check(overflow_model(scale=10.0), _tensors(m32))


def _probe(model, name, x):
    """Tensor ``name`` of ``model`` on ``x``, as the graph types it. ONNX Runtime's CPU provider
    runs many float16 ops as Cast -> float32 kernel -> Cast and drops Cast pairs between them, so
    an overflow shows in the tensor itself, not always in the graph's output."""
    probe = onnx.ModelProto()
    probe.CopyFrom(model)
    probe.graph.output.append(h.make_empty_tensor_value_info(name))
    return _run(probe, x) if name == probe.graph.output[0].name else ort.InferenceSession(
        probe.SerializeToString(), providers=["CPUExecutionProvider"]).run([name], {"x": x})[0]


def test_kept_nodes_keep_the_activations_finite():
    from edgeseg.backends.tensorrt.fp16 import fp16_range_check

    from .build_helpers import overflow_model
    m32 = overflow_model()
    xs = [x[None] for x in _tensors(m32)]
    everything = to_float16(m32)
    m = [_probe(everything, "m", x) for x in xs]
    assert m[0].dtype == np.float16 and not all(np.isfinite(a).all() for a in m)   # inf in fp16: the defect
    keep = fp16_range_check(m32, _tensors(m32))
    m16 = to_float16(m32, keep_fp32=keep)
    onnx.checker.check_model(m16, full_check=True)
    for x in xs:
        a = _probe(m16, "m", x)
        assert a.dtype == np.float32 and np.isfinite(a).all()
        assert np.allclose(_run(m16, x), _run(m32, x), rtol=2e-2, atol=2e-2)
    ops = {n.name: n for n in m16.graph.node}
    assert ops["relu1"].output[0] == "r1" and "r1__fp32" in ops["scale_up"].input   # fp16 -> Cast -> fp32
    assert T.FLOAT16 in {i.data_type for i in m16.graph.initializer}                 # conv1 is still fp16
    with pytest.raises(ModelError, match="no such node"):
        to_float16(m32, keep_fp32=["nope"])


def test_convert_without_frames_says_no_range_check_was_made():
    from edgeseg.backends.tensorrt.fp16 import convert_for_build

    from .build_helpers import overflow_model
    c = convert_for_build(overflow_model(), converter="edgeseg")
    assert c.converter == "edgeseg" and c.kept_fp32 == () and c.nodes == 4
    assert any("no range check was made" in ln for ln in c.lines())
    c = convert_for_build(overflow_model(), tensors=_tensors(overflow_model()), converter="edgeseg")
    assert c.kept_fp32 == ("scale_up", "scale_down")
    assert any("kept 2 of 4 nodes in float32" in ln and "4 calibration frames" in ln for ln in c.lines())


def test_auto_uses_the_fallback_without_modelopt(monkeypatch):
    import sys

    from edgeseg.backends.tensorrt.fp16 import convert_for_build
    from edgeseg.errors import MissingDependencyError

    from .build_helpers import overflow_model
    for name in ("modelopt", "modelopt.onnx", "modelopt.onnx.autocast"):   # even if an earlier test imported it
        monkeypatch.setitem(sys.modules, name, None)
    c = convert_for_build(overflow_model(), converter="auto")
    assert c.converter == "edgeseg" and any("ModelOpt AutoCast is not importable" in n for n in c.notes)
    with pytest.raises(MissingDependencyError, match="AutoCast") as e:
        convert_for_build(overflow_model(), converter="autocast")
    assert "nvidia-modelopt" in str(e.value)
    with pytest.raises(EdgesegError, match="fp16 converter"):
        convert_for_build(overflow_model(), converter="magic")


def test_auto_falls_back_when_autocast_fails(monkeypatch):
    import edgeseg.backends.tensorrt.fp16 as F

    from .build_helpers import overflow_model

    def broken(*args, **kw):
        raise RuntimeError("ONNXRuntime failed to run")
    monkeypatch.setattr(F, "_modelopt_autocast", lambda: broken)
    c = F.convert_for_build(overflow_model(), tensors=_tensors(overflow_model()), converter="auto")
    assert c.converter == "edgeseg" and c.kept_fp32 == ("scale_up", "scale_down")
    assert any("AutoCast failed (RuntimeError: ONNXRuntime failed to run)" in n for n in c.notes)
    with pytest.raises(ModelError, match="AutoCast could not convert") as e:
        F.convert_for_build(overflow_model(), converter="autocast")
    assert "fp16_converter='edgeseg'" in str(e.value)


@pytest.mark.slow
def test_autocast_on_a_tiny_onnx(tmp_path):
    """The real ModelOpt AutoCast (CPU, ONNX Runtime): frames decide what stays float32, the meta
    travels, inputs and outputs stay float32 and the result runs."""
    pytest.importorskip("modelopt.onnx.autocast")
    from edgeseg.backends.onnx_meta import get_onnx_meta
    from edgeseg.backends.tensorrt.fp16 import convert_for_build

    from .build_helpers import overflow_model
    m32 = overflow_model()
    path = str(tmp_path / "m.onnx")
    onnx.save(m32, path)
    c = convert_for_build(m32, path=path, tensors=_tensors(m32), converter="autocast")
    assert c.converter == "autocast" and set(c.kept_fp32) == {"scale_up", "scale_down"}
    assert any("AutoCast" in ln and "4 calibration frames" in ln for ln in c.lines())
    assert get_onnx_meta(c.model) == get_onnx_meta(m32)
    assert _elem(c.model.graph.input[0]) == _elem(c.model.graph.output[0]) == T.FLOAT
    assert T.FLOAT16 in {i.data_type for i in c.model.graph.initializer}
    for x in _tensors(m32):
        assert np.allclose(_run(c.model, x[None]), _run(m32, x[None]), rtol=2e-2, atol=2e-2)
    bare = convert_for_build(m32, path=path, converter="autocast")
    assert any("random inputs" in ln for ln in bare.lines())
