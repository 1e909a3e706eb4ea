"""``author_meta`` / ``meta_for_model`` / ``write_model_meta``: a meta for graphs other exporters
write (MMDeploy labels, NHWC uint8, 1/4-size logits, Softmax probabilities, torchvision's out/aux,
dynamic H/W), built from the graph's facts, a base meta and options, refused where the graph says
otherwise; written into the ONNX with the graph untouched, or beside an engine with its facts kept.

The graphs are real ONNX files, checked by onnx and run once by ONNX Runtime (the shapes they
declare are the shapes they give); the builders are reused by tests/cli/test_meta.py."""

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from edgeseg.errors import ConfigError, DataError, ModelError
from edgeseg.meta import IMAGENET_MEAN, IMAGENET_STD, ModelMeta
from edgeseg.meta_author import MetaOptions, author_meta, meta_for_model
from edgeseg.meta_write import write_model_meta
from edgeseg.presets import preset

onnx = pytest.importorskip("onnx", reason='needs onnx: pip install "edgeseg[onnx]"')
ort = pytest.importorskip("onnxruntime", reason='needs onnxruntime: pip install "edgeseg[onnx]"')
from onnx import TensorProto, helper, numpy_helper

from .backends.tensorrt.conftest import fake_trt  # noqa: F401 (fixture)
from .backends.tensorrt.engine_files import write_engine, write_legacy_engine
from .backends.tensorrt.fake_tensorrt import fake_plan

F, U8, I64, I32 = TensorProto.FLOAT, TensorProto.UINT8, TensorProto.INT64, TensorProto.INT32
MMSEG_MEAN, MMSEG_STD = "123.675,116.28,103.53", "58.395,57.12,57.375"


# -- graphs in the shapes other exporters write ---------------------------------------------------
def _conv(name, x, y, cin, cout, k=1, stride=1, seed=0):
    w = numpy_helper.from_array(np.random.default_rng(seed).normal(size=(cout, cin, k, k)).astype(np.float32), name)
    return helper.make_node("Conv", [x, name], [y], kernel_shape=[k, k], strides=[stride, stride]), w


def _vi(name, dtype, shape):
    return helper.make_tensor_value_info(name, dtype, shape)


def save_graph(folder, name, nodes, inits, inputs, outputs, feed_shape, feed_dtype=np.float32, props=None,
               **save_kw) -> str:
    graph = helper.make_graph(nodes, name, inputs, outputs, initializer=inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)], producer_name="someone-else")
    model.ir_version = 8
    for k, v in (props or {}).items():
        entry = model.metadata_props.add()
        entry.key, entry.value = k, v
    onnx.checker.check_model(model, full_check=True)
    path = os.path.join(str(folder), f"{name}.onnx")
    onnx.save(model, path, **save_kw)
    sess = ort.InferenceSession(path, providers=["CPUExecutionProvider"])
    got = sess.run(None, {inputs[0].name: np.zeros(feed_shape, feed_dtype)})
    for out, value in zip(outputs, got):
        dims = [d.dim_value or None for d in out.type.tensor_type.shape.dim]
        assert all(d is None or d == g for d, g in zip(dims, value.shape)), (out.name, dims, value.shape)
    return path


def mmdeploy_labels(folder, size=(32, 32)) -> str:
    """MMDeploy's end2end.onnx for a segmentor: float NCHW in, int64 N,1,H,W label ids out."""
    conv, w = _conv("w", "input", "scores", 3, 5)
    argmax = helper.make_node("ArgMax", ["scores"], ["output"], axis=1, keepdims=1)
    return save_graph(folder, "end2end", [conv, argmax], [w], [_vi("input", F, [1, 3, *size])],
                      [_vi("output", I64, [1, 1, *size])], (1, 3, *size), props={"framework": "mmdeploy"})


def nhwc_uint8(folder) -> str:
    cast = helper.make_node("Cast", ["input"], ["f"], to=F)
    tr = helper.make_node("Transpose", ["f"], ["nchw"], perm=[0, 3, 1, 2])
    conv, w = _conv("w", "nchw", "output", 3, 4)
    return save_graph(folder, "nhwc", [cast, tr, conv], [w], [_vi("input", U8, [1, 24, 32, 3])],
                      [_vi("output", F, [1, 4, 24, 32])], (1, 24, 32, 3), np.uint8)


def quarter_logits(folder, classes=19) -> str:
    conv, w = _conv("w", "input", "output", 3, classes, k=4, stride=4)
    return save_graph(folder, "quarter", [conv], [w], [_vi("input", F, [1, 3, 64, 96])],
                      [_vi("output", F, [1, classes, 16, 24])], (1, 3, 64, 96))


def softmax_probs(folder) -> str:
    conv, w = _conv("w", "input", "scores", 3, 4)
    sm = helper.make_node("Softmax", ["scores"], ["output"], axis=1)
    return save_graph(folder, "probs", [conv, sm], [w], [_vi("input", F, [1, 3, 16, 16])],
                      [_vi("output", F, [1, 4, 16, 16])], (1, 3, 16, 16))


def torchvision_out_aux(folder, size=(16, 16)) -> str:
    c1, w1 = _conv("w1", "input", "out", 3, 21, seed=1)
    c2, w2 = _conv("w2", "input", "aux", 3, 21, seed=2)
    return save_graph(folder, "deeplabv3", [c1, c2], [w1, w2], [_vi("input", F, [1, 3, *size])],
                      [_vi("out", F, [1, 21, *size]), _vi("aux", F, [1, 21, *size])], (1, 3, *size))


def dynamic_hw(folder, classes=6) -> str:
    conv, w = _conv("w", "input", "output", 3, classes)
    return save_graph(folder, "dyn", [conv], [w], [_vi("input", F, [1, 3, "height", "width"])],
                      [_vi("output", F, [1, classes, "height", "width"])], (1, 3, 20, 28))


def _graph_bytes(path) -> bytes:
    return onnx.load(path).graph.SerializeToString()


# -- building: the graph's facts, then options ----------------------------------------------------
def test_mmdeploy_labels_with_mmseg_mean_std_in_255_units(tmp_path):
    path = mmdeploy_labels(tmp_path)
    r = author_meta(path, classes="voc", mean=MMSEG_MEAN, std=MMSEG_STD)
    m = r.meta
    assert (m.output_kind, m.label_dtype, m.output_name, m.input_size, m.layout) == \
        ("labels", "int64", None, (32, 32), "NCHW")
    assert m.mean == IMAGENET_MEAN and m.std == IMAGENET_STD   # 123.675/255 is stored as 0.485, not 0.48499999
    assert m.classes == preset("voc").classes and m.palette == preset("voc").palette
    assert m.model == "end2end" and m.needed_version() == 3     # label_dtype is a version-3 field
    assert r.sources["output_kind"] == "graph" and r.sources["classes"] == "options"
    assert r.sources["input_size"] == "graph" and r.sources["model"] == "default"
    prov = m.provenance["meta"]
    assert prov["by"] == "edgeseg meta" and "label_dtype" in prov["from_graph"] and "mean" in prov["from_options"]


def test_labels_output_without_classes_cannot_tell_the_count(tmp_path):
    with pytest.raises(ModelError, match="cannot tell how many classes") as err:
        meta_for_model(mmdeploy_labels(tmp_path))
    assert "--classes" in str(err.value) and "int64" in str(err.value)


def test_nhwc_uint8_input_and_classes_from_the_channels(tmp_path):
    r = author_meta(nhwc_uint8(tmp_path))
    m = r.meta
    assert (m.layout, m.input_dtype, m.input_size, m.output_kind) == ("NHWC", "uint8", (24, 32), "logits")
    assert m.classes == ("class_0", "class_1", "class_2", "class_3") and r.sources["classes"] == "graph"
    assert any("class_0..class_3" in n and "--classes" in n for n in r.notes)
    assert not any("ImageNet" in n for n in r.notes)   # a uint8 graph normalises itself


def test_quarter_size_logits_get_an_output_stride_and_the_cityscapes_palette(tmp_path):
    m = meta_for_model(quarter_logits(tmp_path), classes="cityscapes")
    assert (m.output_stride, m.input_size, m.output_kind) == (4, (64, 96), "logits")
    assert m.palette == preset("cityscapes").palette and m.palette[0] == (128, 64, 128)
    assert m.needed_version() == 3


def test_a_preset_whose_count_disagrees_with_the_channels_is_refused(tmp_path):
    with pytest.raises(ConfigError, match="names 21 classes, but output 'output' scores 19") as err:
        meta_for_model(quarter_logits(tmp_path), classes="voc")
    assert "background, aeroplane" in str(err.value)


def test_softmax_output_is_probs_and_stamped_version_3(tmp_path):
    path = softmax_probs(tmp_path)
    m = meta_for_model(path, classes="a,b,c,d")
    assert m.output_kind == "probs" and m.to_dict()["meta_version"] == 3
    assert ModelMeta.from_json(m.to_json()) == m
    r = author_meta(path, classes="a,b,c,d", output_kind="logits")   # the user wins, and is told
    assert r.meta.output_kind == "logits" and any("looks like probs (from Softmax)" in n for n in r.notes)


def test_torchvision_out_and_aux(tmp_path):
    path = torchvision_out_aux(tmp_path)
    m = meta_for_model(path, classes="voc")
    assert m.output_name is None and m.needed_version() == 1   # the first output, 'out': nothing to record
    assert meta_for_model(path, classes="voc", output="aux").output_name == "aux"
    with pytest.raises(ModelError, match="--output names no output") as err:
        meta_for_model(path, classes="voc", output="auxx")
    text = str(err.value)
    assert "'out' 1x21x16x16 float32" in text and "'aux'" in text and "did you mean 'aux'?" in text


def test_dynamic_height_and_width(tmp_path):
    path = dynamic_hw(tmp_path)
    with pytest.raises(ModelError, match="dynamic") as err:
        meta_for_model(path)
    assert "--input-size HxW" in str(err.value) and "frame" in str(err.value)
    m = meta_for_model(path, input_size="256x320")
    assert (m.input_size, m.run_size, m.size_multiple) == ((256, 320), "fixed", 1)
    m = meta_for_model(path, input_size="frame")
    assert (m.run_size, m.size_multiple, m.input_size) == ("frame", 32, (512, 512))
    m = meta_for_model(path, input_size="frame", stride=14)
    assert (m.size_multiple, m.input_size) == (14, (518, 518))   # the nominal size, rounded to the stride
    assert m.needed_version() == 3


def test_a_fixed_graph_refuses_other_sizes_and_the_frame_size(tmp_path):
    path = softmax_probs(tmp_path)
    with pytest.raises(ModelError, match="differs from the graph's fixed input") as err:
        meta_for_model(path, input_size="32x32")
    assert "--input-size 16x16" in str(err.value)
    with pytest.raises(ModelError, match="cannot run at the frame's size"):
        meta_for_model(path, input_size="frame")


def test_output_kind_that_the_output_cannot_hold(tmp_path):
    with pytest.raises(ModelError, match="logits, but output 'output' holds integers"):
        meta_for_model(mmdeploy_labels(tmp_path), classes="voc", output_kind="logits")
    with pytest.raises(ModelError, match="labels, but output 'output' holds float32"):
        meta_for_model(softmax_probs(tmp_path), classes="a,b,c,d", output_kind="labels")


def test_layout_that_contradicts_the_input(tmp_path):
    with pytest.raises(ModelError, match="says NHWC, but the graph's input is NCHW") as err:
        meta_for_model(softmax_probs(tmp_path), classes="a,b,c,d", layout="nhwc")
    assert "--layout nchw" in str(err.value)


def test_colours_count_must_match_the_classes(tmp_path):
    colors = tmp_path / "colors.txt"
    colors.write_text("0 0 0\n255 0 0\n")
    with pytest.raises(ConfigError, match="has 2 colours for 4 classes"):
        meta_for_model(softmax_probs(tmp_path), classes="a,b,c,d", colors=str(colors))
    colors.write_text("0 0 0\n255 0 0\n0 255 0\n0 0 255 128\n")
    m = meta_for_model(softmax_probs(tmp_path), classes="a,b,c,d", colors=str(colors))
    assert m.palette == ((0, 0, 0), (255, 0, 0), (0, 255, 0), (0, 0, 255))


def test_labels_file_whose_count_disagrees_names_the_file(tmp_path):
    labels = tmp_path / "labels.txt"
    labels.write_text("# my classes\na\nb\nc\nd\n")
    with pytest.raises(ConfigError, match="names 5 classes") as err:
        meta_for_model(softmax_probs(tmp_path), classes=str(labels))
    assert str(labels) in str(err.value) and "read as a class name, as segNet does" in str(err.value)


def test_mean_std_units():
    assert MetaOptions(mean="0.5,0.5,0.5", std="0.25,0.25,0.25").mean_std() == ((0.5,) * 3, (0.25,) * 3)
    mean, std = MetaOptions(scale=255, mean="0,0,0", std="1,1,1").mean_std()   # raw 0..255 pixels
    assert mean == (0.0,) * 3 and std == pytest.approx((1 / 255,) * 3, rel=1e-12)
    with pytest.raises(ConfigError, match="with scale 1") as err:
        MetaOptions(scale=1, mean=MMSEG_MEAN).mean_std()
    assert "--scale 255" in str(err.value)
    with pytest.raises(ConfigError, match="neither is given"):
        MetaOptions(scale=255)
    with pytest.raises(ConfigError, match="scale is the pixel range"):
        MetaOptions(scale=100, mean="1,2,3")
    with pytest.raises(ConfigError, match="std needs three finite numbers > 0"):
        MetaOptions(std="1,0,1")
    with pytest.raises(ConfigError, match="stride rounds the frame"):
        MetaOptions(input_size="64x64", stride=16)


def test_base_meta_fields_survive_and_options_override_them(tmp_path):
    path = torchvision_out_aux(tmp_path)
    base = ModelMeta(model="deeplab", classes=preset("voc").classes, input_size=(16, 16), mean=(0.5,) * 3,
                     std=(0.5,) * 3, color_order="BGR", provenance={"export": {"tool": "torchvision"}})
    write_model_meta(path, base)
    r = author_meta(path, model_name="deeplab-v3")           # base: the file's own meta
    m = r.meta
    assert (m.model, m.mean, m.color_order, m.classes) == ("deeplab-v3", (0.5,) * 3, "BGR", base.classes)
    assert r.sources["mean"] == "base" and r.sources["model"] == "options"
    assert m.provenance["export"] == {"tool": "torchvision"}   # the base's provenance is kept
    assert m.needed_version() == 1                            # nothing version-3 was added
    given = base.replace(classes=tuple("abcdefghijklmnopqrstu"), palette=())
    assert meta_for_model(path, base=given).classes == given.classes   # a base given by hand wins over the file's


def test_a_base_meta_that_contradicts_the_graph_is_refused_naming_the_option(tmp_path):
    path = softmax_probs(tmp_path)
    ModelMeta(model="x", classes=("a", "b"), input_size=(16, 16)).write_sidecar(path)
    with pytest.raises(ConfigError, match="the meta names 2 classes, but output 'output' scores 4"):
        meta_for_model(path)
    assert meta_for_model(path, classes="a,b,c,d").num_classes == 4   # the option fixes it


def test_edgesegs_own_label_export_keeps_its_meta_version(tmp_path):
    """An int32 N,H,W label output with a plain (version 1) meta, as `edgeseg export --output labels`
    writes it: re-authored, it stays version 1 (label_dtype is not added from the graph)."""
    conv, w = _conv("w", "input", "scores", 3, 3)
    argmax = helper.make_node("ArgMax", ["scores"], ["i64"], axis=1, keepdims=0)
    cast = helper.make_node("Cast", ["i64"], ["labels"], to=I32)
    path = save_graph(tmp_path, "own", [conv, argmax, cast], [w], [_vi("input", F, [1, 3, 8, 8])],
                      [_vi("labels", I32, [1, 8, 8])], (1, 3, 8, 8))
    write_model_meta(path, ModelMeta(model="own", classes=("a", "b", "c"), input_size=(8, 8), output_kind="labels"))
    m = meta_for_model(path, mean="0.5,0.5,0.5")
    assert (m.output_kind, m.label_dtype, m.needed_version()) == ("labels", None, 1)
    assert meta_for_model(path, output="labels").label_dtype == "int32"   # a named output brings its facts


# -- writing -----------------------------------------------------------------------------------------
def test_written_into_the_onnx_with_the_graph_untouched(tmp_path):
    path = mmdeploy_labels(tmp_path)
    before, props = _graph_bytes(path), onnx.load(path).metadata_props
    x = np.random.default_rng(0).normal(size=(1, 3, 32, 32)).astype(np.float32)
    ref = ort.InferenceSession(path, providers=["CPUExecutionProvider"]).run(None, {"input": x})[0]
    meta = meta_for_model(path, classes="voc")
    w = write_model_meta(path, meta)
    assert (w.path, w.where, w.meta_version) == (path, "onnx", 3)
    after = onnx.load(path)
    assert after.graph.SerializeToString() == before          # nodes, initializers, inputs, outputs
    keys = {p.key: p.value for p in after.metadata_props}
    assert keys["framework"] == "mmdeploy" and len(props) + 1 == len(keys)   # other props kept
    assert ModelMeta.from_json(keys["edgeseg.meta"]) == meta
    assert json.loads(keys["edgeseg.meta"])["meta_version"] == 3
    sess = ort.InferenceSession(path, providers=["CPUExecutionProvider"])
    np.testing.assert_array_equal(sess.run(None, {"input": x})[0], ref)
    assert sess.get_modelmeta().custom_metadata_map["edgeseg.meta"] == keys["edgeseg.meta"]
    write_model_meta(path, meta.replace(model="again"))          # a second write replaces, not adds
    assert [p.key for p in onnx.load(path).metadata_props].count("edgeseg.meta") == 1
    assert not [f for f in os.listdir(tmp_path) if ".tmp" in f]   # no temp file left


def test_a_model_with_external_data_keeps_working(tmp_path):
    path = save_graph(tmp_path, "external", *_big_conv(), (1, 3, 16, 16), save_as_external_data=True,
                      all_tensors_to_one_file=True, location="external.bin", size_threshold=0)
    data = (tmp_path / "external.bin").read_bytes()
    before = onnx.load(path, load_external_data=False).graph.SerializeToString()
    write_model_meta(path, meta_for_model(path))
    assert (tmp_path / "external.bin").read_bytes() == data
    assert onnx.load(path, load_external_data=False).graph.SerializeToString() == before
    x = np.ones((1, 3, 16, 16), np.float32)
    out = ort.InferenceSession(path, providers=["CPUExecutionProvider"]).run(None, {"input": x})[0]
    assert out.shape == (1, 8, 16, 16)
    from edgeseg.runtime.segmenter import Segmenter
    with Segmenter(path) as seg:                               # the runtime reads the meta from the file
        assert seg.meta.num_classes == 8 and seg(np.zeros((20, 30, 3), np.uint8)).labels.shape == (20, 30)


def _big_conv():
    conv, w = _conv("w", "input", "output", 3, 8, k=3)
    conv.attribute.append(helper.make_attribute("pads", [1, 1, 1, 1]))
    return [conv], [w], [_vi("input", F, [1, 3, 16, 16])], [_vi("output", F, [1, 8, 16, 16])]


def test_sidecar_for_a_read_only_folder_and_never_behind_the_files_own_meta(tmp_path):
    path = torchvision_out_aux(tmp_path)
    before = Path(path).read_bytes()
    w = write_model_meta(path, meta_for_model(path, classes="voc"), sidecar=True)
    assert w.path == path + ".meta.json" and Path(path).read_bytes() == before
    from edgeseg.runtime.segmenter import Segmenter
    with Segmenter(path) as seg:
        assert seg.meta.classes == preset("voc").classes
    write_model_meta(path, meta_for_model(path, classes="voc"))
    with pytest.raises(ModelError, match="wins over a sidecar"):
        write_model_meta(path, meta_for_model(path, classes="voc"), sidecar=True)


def test_written_into_the_onnx_notes_a_sidecar_it_now_shadows(tmp_path):
    path = torchvision_out_aux(tmp_path)
    write_model_meta(path, meta_for_model(path, classes="voc"), sidecar=True)
    w = write_model_meta(path, meta_for_model(path, classes="voc"))
    assert any("the sidecar is ignored" in n for n in w.notes)


def test_a_raw_trtexec_plan_gets_a_meta_only_sidecar_the_tensorrt_backend_runs(tmp_path, fake_trt):  # noqa: F811
    from edgeseg.backends.tensorrt.header import open_engine
    from edgeseg.backends.tensorrt.runner import TensorRTBackend

    from .backends.tensorrt.fake_cuda import FakeCuda
    path = str(tmp_path / "trtexec.plan")
    with open(path, "wb") as f:
        f.write(fake_plan())
    with pytest.raises(ModelError, match="input size is not readable without TensorRT"):
        meta_for_model(path, classes="road,car,sky")
    r = author_meta(path, classes="road,car,sky", input_size="8x8")
    assert any("NCHW assumed" in n for n in r.notes) and any("logits assumed" in n for n in r.notes)
    w = write_model_meta(path, r.meta)
    assert w.path == path + ".meta.json" and "engine" not in json.loads(Path(w.path).read_text())
    assert open_engine(path).meta == r.meta and open_engine(path).header is None
    with TensorRTBackend(path, cuda=FakeCuda(), trt_log=None) as b:
        assert b.meta.classes == ("road", "car", "sky")
        assert b(np.zeros((1, 3, 8, 8), np.float32)).shape == (1, 3, 8, 8)


def test_an_engine_pairs_facts_are_kept_and_still_check(tmp_path):
    from edgeseg.backends.tensorrt.header import open_engine, read_header
    path = write_engine(tmp_path / "model.engine", fake_plan())
    facts = json.loads(Path(path + ".meta.json").read_text())["engine"]
    m = meta_for_model(path, classes="a,b,c", mean="0.5,0.5,0.5", std="0.5,0.5,0.5")   # base: the sidecar's meta
    assert m.input_size == (8, 8) and m.precision == "fp32"
    w = write_model_meta(path, m)
    side = json.loads(Path(w.path).read_text())
    assert side["engine"] == facts and side["meta_version"] == 2 and side["classes"] == ["a", "b", "c"]
    assert read_header(path, verify=True).meta == m and open_engine(path).meta == m
    w = write_model_meta(path, m.replace(output_kind="probs"))
    assert json.loads(Path(w.path).read_text())["meta_version"] == 3 and read_header(path).meta.output_kind == "probs"


def test_a_legacy_engine_is_unwrapped_first(tmp_path):
    path = write_legacy_engine(tmp_path / "old.engine", fake_plan())
    with pytest.raises(ModelError, match="older headered format") as err:
        write_model_meta(path, ModelMeta(model="x", classes=("a", "b", "c"), input_size=(8, 8)))
    assert "edgeseg build --unwrap" in str(err.value)
    assert not os.path.exists(path + ".meta.json")


def test_a_checkpoint_is_not_written(tmp_path):
    path = tmp_path / "best.pt"
    path.write_bytes(b"x")
    with pytest.raises(ModelError, match="ONNX or a TensorRT engine"):
        write_model_meta(path, ModelMeta(model="x", classes=("a",), input_size=(8, 8)))


def test_bad_label_file_lines_are_data_errors_naming_the_line(tmp_path):
    labels = tmp_path / "labels.txt"
    labels.write_text("road\n\ncar\n")
    with pytest.raises(DataError, match="blank line 2") as err:
        meta_for_model(softmax_probs(tmp_path), classes=str(labels))
    assert f"{labels}, line 2" in str(err.value)


# -- a model family edgeseg did not build --------------------------------------------------------------
@pytest.fixture(scope="module")
def segformer(tmp_path_factory):
    """A tiny random-weight SegFormer from transformers' own code, exported with torch.onnx as its
    users do (logits at 1/4 of the input)."""
    pytest.importorskip("transformers", reason='needs transformers (the dev extra)')
    import warnings

    import torch
    from transformers import SegformerConfig, SegformerForSemanticSegmentation
    cfg = SegformerConfig(num_encoder_blocks=2, depths=[1, 1], sr_ratios=[2, 1], hidden_sizes=[8, 16],
                          patch_sizes=[7, 3], strides=[4, 2], num_attention_heads=[1, 1], mlp_ratios=[2, 2],
                          decoder_hidden_size=16, num_labels=5)
    torch.manual_seed(0)
    model = SegformerForSemanticSegmentation(cfg).eval()

    class Logits(torch.nn.Module):
        def __init__(self, m):
            super().__init__()
            self.m = m

        def forward(self, x):
            return self.m(pixel_values=x).logits

    path = str(tmp_path_factory.mktemp("segformer") / "segformer.onnx")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")   # the TorchScript exporter's deprecation and tracer warnings
        torch.onnx.export(Logits(model), (torch.zeros(1, 3, 64, 64),), path, dynamo=False, opset_version=17,
                          input_names=["pixel_values"], output_names=["logits"])
    return path


def test_a_hugging_face_segformer_export(segformer):
    r = author_meta(segformer, classes="a,b,c,d,e", mean="0.485,0.456,0.406", std="0.229,0.224,0.225")
    m = r.meta
    assert (m.output_stride, m.input_size, m.output_kind, m.num_classes, m.layout) == (4, (64, 64), "logits", 5, "NCHW")
    assert r.sources["output_stride"] == "graph" and not r.notes
    with pytest.raises(ConfigError, match="names 150 classes, but output 'logits' scores 5"):
        meta_for_model(segformer, classes="ade20k")
    before = _graph_bytes(segformer)
    write_model_meta(segformer, m)
    assert _graph_bytes(segformer) == before
    from edgeseg.runtime.segmenter import Segmenter
    with Segmenter(segformer) as seg:
        assert seg.meta == m and seg(np.zeros((48, 80, 3), np.uint8)).labels.shape == (48, 80)


def test_without_the_onnx_package_the_sidecar_is_written_and_the_file_refused(tmp_path):
    """A robot with ONNX Runtime only: the graph is read through ONNX Runtime, the sidecar written."""
    path = torchvision_out_aux(tmp_path)
    code = ("import sys; sys.modules['onnx'] = None; sys.modules['torch'] = None\n"
            "from edgeseg.cli import main\n"
            f"print('rc', main(['meta', {path!r}, '--classes', 'voc', '--sidecar']))\n"
            f"print('rc', main(['meta', {path!r}, '--classes', 'voc']))\n")
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, cwd=root,
                          check=False)
    assert proc.stdout.count("rc 0") == 1 and "rc 2" in proc.stdout, proc.stdout + proc.stderr
    assert "needs the onnx package" in proc.stderr and "--sidecar" in proc.stderr
    assert ModelMeta.read_sidecar(path).classes == preset("voc").classes


def test_inspect_follows_the_output_the_meta_chose(tmp_path):
    from edgeseg.inspect import inspect_model
    path = torchvision_out_aux(tmp_path)
    assert inspect_model(path).output == "out"
    write_model_meta(path, meta_for_model(path, classes="voc", output="aux"))
    r = inspect_model(path)
    assert r.output == "aux" and "the meta runs output 'aux'" in r.assumptions
    assert not any("check the meta" in s for s in r.assumptions)
