"""The DeepStream nvinfer config and the segNet files, read back the way their tools read them.

The config is parsed with GKeyFile's rules (what nvinfer uses) and checked against the fixture of
documented Gst-nvinfer keys: every key emitted is documented, the required ones are there, each
value parses as nvinfer parses it. The normalisation numbers are checked against edgeseg's own
preprocessing on a real frame.
"""

import json
import math
import os
import re

import numpy as np
import pytest

from edgeseg.backends.tensorrt.deepstream import nvinfer_normalisation, write_deepstream
from edgeseg.errors import ConfigError, ModelError
from edgeseg.meta import ModelMeta
from edgeseg.preprocess import normalize

from . import engine_files
from .fake_tensorrt import fake_plan

FIXTURE = os.path.join(os.path.dirname(__file__), "..", "..", "fixtures", "deepstream", "nvinfer_keys.json")
with open(FIXTURE, encoding="utf-8") as _f:
    KEYS = json.load(_f)

IMAGENET = ModelMeta(model="lraspp_mobilenet_v3_large", classes=("road", "car", "person"), input_size=(256, 512))
UNIT = ModelMeta(model="unit", classes=("a", "b"), input_size=(64, 64), mean=(0, 0, 0), std=(1, 1, 1),
                 color_order="BGR")


# -- GKeyFile, as nvinfer reads it -------------------------------------------------------------
def read_keyfile(text: str) -> dict:
    """{group: {key: raw value}}; refuses what GKeyFile would refuse or nvinfer would misread."""
    groups, group = {}, None
    for n, line in enumerate(text.splitlines(), 1):
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        if line.startswith("["):
            assert line.endswith("]"), f"line {n}: bad group header {line!r}"
            group = line[1:-1]
            assert group not in groups, f"group [{group}] twice"
            groups[group] = {}
            continue
        assert group is not None, f"line {n}: key before any group"
        key, sep, value = line.partition("=")
        assert sep, f"line {n}: no '=' in {line!r}"
        key = key.strip()
        assert key not in groups[group], f"key {key} twice"
        groups[group][key] = value.lstrip()
    return groups


def _unescape(value: str) -> str:
    return re.sub(r"\\(.)", lambda m: {"s": " ", "n": "\n", "t": "\t", "r": "\r"}.get(m.group(1), m.group(1)), value)


def parse_value(raw: str, rule: dict):
    """The value as nvinfer gets it from g_key_file_get_<type>, or AssertionError."""
    kind = rule["type"]
    items = [v for v in raw.split(";")] if kind.endswith("_list") else None
    if items is not None and items and items[-1] == "":
        items = items[:-1]  # GKeyFile allows a trailing separator
    if kind == "int":
        assert re.fullmatch(r"-?\d+", raw), raw
        value = int(raw)
    elif kind == "float":
        value = float(raw)
        assert math.isfinite(value), raw
    elif kind == "bool":
        assert raw in ("true", "false", "0", "1"), raw
        value = raw in ("true", "1")
    elif kind in ("string", "path"):
        value = _unescape(raw)
        assert value, "empty string"
    elif kind == "int_list":
        assert all(re.fullmatch(r"-?\d+", v) for v in items), raw
        value = [int(v) for v in items]
    elif kind == "float_list":
        value = [float(v) for v in items]
        assert all(math.isfinite(v) for v in value), raw
    elif kind == "string_list":
        value = [_unescape(v) for v in items]
        assert value and all(value), raw
    else:
        raise AssertionError(f"unknown rule type {kind}")
    for v in value if isinstance(value, list) else [value]:
        if "choices" in rule:
            assert str(v) in rule["choices"], f"{v} not in {sorted(rule['choices'])}"
        if "min" in rule:
            assert v >= rule["min"], f"{v} < {rule['min']}"
        if "max" in rule:
            assert v <= rule["max"], f"{v} > {rule['max']}"
    if "length" in rule:
        assert len(value) == rule["length"], f"{len(value)} values, nvinfer wants {rule['length']}"
    if "max_length" in rule:
        assert len(value) <= rule["max_length"], value
    return value


def parsed_config(path) -> dict:
    with open(path, encoding="utf-8") as f:
        groups = read_keyfile(f.read())
    assert list(groups) == [KEYS["group"]]
    props = groups[KEYS["group"]]
    undocumented = sorted(set(props) - set(KEYS["keys"]))
    assert not undocumented, f"keys not in the documented list: {undocumented}"
    return {k: parse_value(v, KEYS["keys"][k]) for k, v in props.items()}


@pytest.fixture
def engine(tmp_path):
    return engine_files.write_engine(tmp_path / "model.engine", fake_plan(input_shape=(1, 3, 256, 512)),
                                     meta=IMAGENET)


@pytest.fixture
def onnx_file(tmp_path):
    path = tmp_path / "model.onnx"
    path.write_bytes(b"onnx stand-in: only its path goes into the config")
    return str(path)


# -- the fixture itself ------------------------------------------------------------------------
def test_fixture_names_its_documentation_and_covers_the_issue_keys():
    assert KEYS["sources"]["documentation"].startswith("https://docs.nvidia.com/metropolis/deepstream/")
    assert "DS_plugin_gst-nvinfer" in KEYS["sources"]["documentation"]
    issue = {"network-type", "model-engine-file", "onnx-file", "labelfile-path", "infer-dims", "network-mode",
             "model-color-format", "net-scale-factor", "offsets", "num-detected-classes", "segmentation-threshold",
             "output-blob-names", "batch-size"}
    assert issue <= set(KEYS["keys"])
    assert set(KEYS["required_for_segmentation"]) <= set(KEYS["keys"])


# -- the config against the documented keys ----------------------------------------------------
@pytest.mark.parametrize("meta", [IMAGENET, UNIT, IMAGENET.replace(layout="NHWC")], ids=["imagenet", "unit", "nhwc"])
def test_config_keys_are_documented_required_present_and_parse(meta, engine, onnx_file, tmp_path):
    paths = write_deepstream(engine, meta, onnx_file)
    props = parsed_config(paths["config"])
    missing = sorted(set(KEYS["required_for_segmentation"]) - set(props))
    assert not missing, missing
    assert props["network-type"] == 2 and props["process-mode"] == 1
    assert props["num-detected-classes"] == meta.num_classes
    assert props["infer-dims"] == [3, *meta.input_size]
    assert props["output-blob-names"] == ["logits"]
    assert props["model-color-format"] == {"RGB": 0, "BGR": 1}[meta.color_order]
    assert props.get("network-input-order", 0) == (1 if meta.layout == "NHWC" else 0)
    assert props["segmentation-threshold"] == 0.0 and props["batch-size"] == 1
    assert props["maintain-aspect-ratio"] is False  # edgeseg stretches, so nvinfer must too
    # nvinfer resolves relative paths against the config's folder
    folder = os.path.dirname(paths["config"])
    for key, target in (("model-engine-file", engine), ("onnx-file", onnx_file),
                        ("labelfile-path", paths["deepstream_labels"])):
        assert os.path.samefile(os.path.join(folder, props[key]), target), key


def test_paths_resolve_from_another_folder(engine, onnx_file, tmp_path):
    out = tmp_path / "deepstream" / "configs"
    paths = write_deepstream(engine, IMAGENET, onnx_file, out_dir=out, input_shape=(4, 3, 256, 512))
    assert os.path.dirname(paths["config"]) == str(out)
    props = parsed_config(paths["config"])
    assert props["model-engine-file"].startswith("..")
    assert os.path.samefile(out / props["model-engine-file"], engine)
    assert os.path.samefile(out / props["onnx-file"], onnx_file)
    assert props["batch-size"] == 4  # from the engine's input shape


def test_onnx_is_optional(engine):
    props = parsed_config(write_deepstream(engine, IMAGENET)["config"])
    assert "onnx-file" not in props and "model-engine-file" in props


@pytest.mark.parametrize("precision, meta_precision, mode", [
    ("fp32", "fp32", 0), ("fp16", "fp32", 2), ("int8", "int8", 1), ("best", "int8", 1), ("best", "fp32", 2),
    (None, "int8", 1), (None, "fp16", 2), (None, "fp32", 0), (None, "mixed", 1)])
def test_network_mode_follows_the_build_precision(engine, precision, meta_precision, mode):
    meta = IMAGENET.replace(precision=meta_precision)
    assert parsed_config(write_deepstream(engine, meta, precision=precision)["config"])["network-mode"] == mode


# -- the numbers ---------------------------------------------------------------------------------
def _config_text(paths) -> str:
    with open(paths["config"], encoding="utf-8") as f:
        return f.read()


def test_imagenet_offsets_scale_and_stated_error(engine):
    paths = write_deepstream(engine, IMAGENET)
    text = _config_text(paths)
    assert "\noffsets=123.675;116.28;103.53\n" in text
    props = parsed_config(paths["config"])
    assert props["net-scale-factor"] == pytest.approx(1 / (255 * 0.226), rel=1e-9)
    assert round(props["net-scale-factor"], 5) == 0.01735
    # the worst channel is R: std 0.229 against the mean std 0.226
    assert "worst channel R: 1.33%" in text and "cannot be expressed" in text
    assert "R +1.33%, G -0.88%, B -0.44%" in text


def test_unit_std_is_exact(engine):
    paths = write_deepstream(engine, UNIT)
    text = _config_text(paths)
    props = parsed_config(paths["config"])
    assert props["offsets"] == [0.0, 0.0, 0.0]
    assert props["net-scale-factor"] == pytest.approx(1 / 255, rel=1e-9)
    assert "exact" in text and "approximation" not in text


@pytest.mark.parametrize("meta", [IMAGENET, UNIT, IMAGENET.replace(color_order="BGR", mean=IMAGENET.mean[::-1],
                                                                   std=IMAGENET.std[::-1])],
                         ids=["imagenet-rgb", "unit-bgr", "imagenet-bgr"])
def test_nvinfer_formula_matches_edgeseg_preprocessing_within_the_stated_error(engine, meta):
    """y = net-scale-factor * (x - offsets[c]) on the planes nvinfer feeds (model-color-format),
    against edgeseg's normalize() of the same BGR frame."""
    props = parsed_config(write_deepstream(engine, meta)["config"])
    frame = np.random.default_rng(0).integers(0, 256, (32, 48, 3), dtype=np.uint8)  # BGR, as OpenCV reads
    planes = frame[..., ::-1] if props["model-color-format"] == 0 else frame
    x = planes.transpose(2, 0, 1).astype(np.float64)
    ds = props["net-scale-factor"] * (x - np.asarray(props["offsets"])[:, None, None])
    ours = normalize(frame, meta).astype(np.float64)
    n = nvinfer_normalisation(meta)
    for c in range(3):
        np.testing.assert_allclose(ds[c], ours[c] * (1 + n.channel_errors[c]), rtol=1e-5, atol=1e-5)
    worst = max(abs(ds[c] - ours[c]).max() / abs(ours[c]).max() for c in range(3))
    assert worst == pytest.approx(n.worst_error, abs=1e-4)


# -- labels and colors ---------------------------------------------------------------------------
def test_labels_and_colors_files(engine):
    meta = IMAGENET.replace(classes=("road", "car;truck", " side\nwalk ", ""),
                            palette=((1, 2, 3), (4, 5, 6), (7, 8, 9), (255, 255, 255)))
    paths = write_deepstream(engine, meta)
    with open(paths["labels"], encoding="utf-8") as f:
        assert f.read().splitlines() == ["road", "car;truck", "side walk", "class_3"]
    with open(paths["deepstream_labels"], encoding="utf-8") as f:
        # nvinfer splits a labels line at ';' and skips empty lines: one name per class, no ';'
        lines = f.read().splitlines()
    assert lines == ["road", "car,truck", "side walk", "class_3"]
    assert all(line and ";" not in line for line in lines)
    with open(paths["colors"], encoding="utf-8") as f:
        rows = [tuple(int(v) for v in line.split()) for line in f.read().splitlines()]
    assert rows == [(1, 2, 3), (4, 5, 6), (7, 8, 9), (255, 255, 255)]  # segNet: "r g b" per line
    assert "'car;truck' -> 'car,truck'" in _config_text(paths)


def test_only_the_four_files_are_written_and_rewrites_replace_them(engine, tmp_path):
    before = set(os.listdir(tmp_path))
    paths = write_deepstream(engine, IMAGENET)
    assert set(os.listdir(tmp_path)) - before == {os.path.basename(p) for p in paths.values()}
    write_deepstream(engine, IMAGENET.replace(classes=("x", "y"), palette=()))
    assert parsed_config(paths["config"])["num-detected-classes"] == 2
    assert set(os.listdir(tmp_path)) - before == {os.path.basename(p) for p in paths.values()}  # no temp files


def test_log_says_what_is_approximate(engine):
    said = []
    write_deepstream(engine, IMAGENET, log=said.append)
    assert len(said) == 1 and "worst channel R" in said[0]  # ImageNet RGB: segNet's own preprocessing fits
    said.clear()
    write_deepstream(engine, UNIT, log=said.append)
    assert len(said) == 1 and "segNet" in said[0] and "BGR" in said[0]


# -- refusals ------------------------------------------------------------------------------------
@pytest.mark.parametrize("changes, flag", [
    ({"input_dtype": "uint8", "layout": "NHWC", "color_order": "BGR"}, "--input uint8"),
    ({"output_kind": "labels"}, "--output labels")])
def test_uint8_input_or_labels_output_is_refused_with_the_flags_that_fit(engine, tmp_path, changes, flag):
    before = set(os.listdir(tmp_path))
    with pytest.raises(ConfigError, match="does not fit DeepStream") as err:
        write_deepstream(engine, IMAGENET.replace(**changes))
    assert flag in str(err.value)
    assert "--input float --output logits" in str(err.value)
    assert set(os.listdir(tmp_path)) == before


def test_headered_or_missing_engine_is_refused(tmp_path):
    old = engine_files.write_legacy_engine(tmp_path / "old.engine", fake_plan())
    with pytest.raises(ModelError, match="old header") as err:
        write_deepstream(old, IMAGENET)
    assert "raw TensorRT plan" in str(err.value)
    with pytest.raises(ModelError, match="engine not found"):
        write_deepstream(tmp_path / "missing.engine", IMAGENET)
    with pytest.raises(ModelError, match="ONNX model not found"):
        write_deepstream(engine_files.write_engine(tmp_path / "m.engine", fake_plan()), IMAGENET,
                         tmp_path / "missing.onnx")


@pytest.mark.parametrize("kw, what", [
    ({"batch_size": 0}, "batch_size"), ({"batch_size": 1025}, "batch_size"), ({"batch_size": True}, "batch_size"),
    ({"segmentation_threshold": -0.1}, "segmentation_threshold"),
    ({"segmentation_threshold": float("nan")}, "segmentation_threshold"),
    ({"precision": "int4"}, "precision"), ({"output_name": "a;b"}, "output_name"), ({"output_name": ""}, "output_name"),
    ({"input_shape": (1, 4, 64, 64)}, "input_shape"), ({"input_shape": (3, 64, 64)}, "input_shape"),
    ({"gpu_id": -1}, "gpu_id")])
def test_bad_options_are_refused_before_writing(engine, tmp_path, kw, what):
    before = set(os.listdir(tmp_path))
    with pytest.raises(ConfigError, match=what):
        write_deepstream(engine, IMAGENET, **kw)
    assert set(os.listdir(tmp_path)) == before


def test_out_dir_that_is_a_file_is_refused(engine, tmp_path):
    (tmp_path / "afile").write_text("x")
    with pytest.raises(ConfigError, match="folder is a file"):
        write_deepstream(engine, IMAGENET, out_dir=tmp_path / "afile")


# -- with a real exported ONNX -----------------------------------------------------------------
def test_real_export_output_name_and_dims_match_the_config(tiny_static, tmp_path):
    """The default output-blob-names and infer-dims are those of a graph edgeseg export wrote."""
    onnx = pytest.importorskip("onnx")
    from edgeseg.backends.onnx_meta import get_onnx_meta
    model = onnx.load(tiny_static)
    meta = get_onnx_meta(model, tiny_static)
    engine = engine_files.write_engine(tmp_path / "tiny.engine", fake_plan(input_shape=(1, 3, 32, 32)), meta=meta)
    props = parsed_config(write_deepstream(engine, meta, tiny_static)["config"])
    assert props["output-blob-names"] == [o.name for o in model.graph.output]
    dims = [d.dim_value for d in model.graph.input[0].type.tensor_type.shape.dim]
    assert props["infer-dims"] == dims[1:]


# -- graphs edgeseg did not export ---------------------------------------------------------------
def test_output_blob_is_the_output_the_meta_chose(engine):
    """torchvision's graphs list 'aux' before 'out' in some exports: nvinfer must read 'out' then."""
    meta = IMAGENET.replace(output_name="out")
    assert parsed_config(write_deepstream(engine, meta)["config"])["output-blob-names"] == ["out"]
    assert parsed_config(write_deepstream(engine, meta, output_name="out")["config"])["output-blob-names"] == ["out"]
    with pytest.raises(ConfigError, match="conflict") as err:
        write_deepstream(engine, meta, output_name="aux")
    assert "'aux'" in str(err.value) and "'out'" in str(err.value)
    assert parsed_config(write_deepstream(engine, IMAGENET)["config"])["output-blob-names"] == ["logits"]


def test_probabilities_fit_nvinfer_and_the_threshold_note_says_so(engine):
    with open(write_deepstream(engine, IMAGENET.replace(output_kind="probs"))["config"], encoding="utf-8") as f:
        text = f.read()
    assert "outputs probabilities" in text and "network-type=2" in text


def test_a_foreign_labels_output_is_refused_with_the_meta_option_that_fits(engine):
    with pytest.raises(ConfigError, match="does not fit DeepStream") as err:
        write_deepstream(engine, IMAGENET.replace(output_kind="labels", output_name="output"))
    assert "edgeseg meta" in str(err.value) and "--output NAME" in str(err.value)
