"""The precision plan: every precision on TensorRT 10.x and 11.x, with and without Q/DQ and DLA."""

import pathlib
import re

import pytest

from edgeseg.backends.tensorrt.plan import PRECISIONS, TrtCapabilities, parse_trt_version, precision_plan
from edgeseg.errors import ConfigError, EdgesegError

# (precision, qdq) -> (network flags, builder flags, convert_fp16, engine precision)
TABLE_10 = {
    ("fp32", False): ((), (), False, "fp32"),
    ("fp16", False): ((), ("FP16",), False, "fp16"),
    ("int8", True): ((), ("INT8",), False, "int8"),
    ("best", False): ((), ("FP16",), False, "fp16"),
    ("best", True): ((), ("FP16", "INT8"), False, "mixed"),
}
TABLE_11 = {
    ("fp32", False): (("STRONGLY_TYPED",), (), False, "fp32"),
    ("fp16", False): (("STRONGLY_TYPED",), (), True, "fp16"),
    ("int8", True): (("STRONGLY_TYPED",), (), False, "int8"),
    ("best", False): (("STRONGLY_TYPED",), (), True, "fp16"),
    ("best", True): (("STRONGLY_TYPED",), (), False, "int8"),
}
REFUSED = {("fp32", True): "conflicts with a Q/DQ", ("fp16", True): "conflicts with a Q/DQ",
           ("int8", False): "needs a Q/DQ model"}


@pytest.mark.parametrize("version,table", [("10.3.0", TABLE_10), ("10.13.0.35", TABLE_10),
                                           ("11.0.0", TABLE_11), ("11.4.0.106", TABLE_11)])
@pytest.mark.parametrize("precision", PRECISIONS)
@pytest.mark.parametrize("qdq", [False, True])
def test_plan_table_without_dla(version, table, precision, qdq):
    if (precision, qdq) in REFUSED:
        with pytest.raises(ConfigError, match=REFUSED[(precision, qdq)]):
            precision_plan(version, precision, qdq=qdq)
        return
    p = precision_plan(version, precision, qdq=qdq)
    assert (p.network_flags, p.builder_flags, p.convert_fp16, p.engine_precision) == table[(precision, qdq)]
    assert p.dla_core is None and p.precision == precision
    assert p.tensorrt == parse_trt_version(version)


@pytest.mark.parametrize("version", ["10.3.0", "11.4.1"])
@pytest.mark.parametrize("precision,qdq", [("fp16", False), ("best", False), ("best", True)])
def test_dla_adds_gpu_fallback(version, precision, qdq):
    plain = precision_plan(version, precision, qdq=qdq)
    p = precision_plan(version, precision, qdq=qdq, dla_core=1)
    assert p.builder_flags == plain.builder_flags + ("GPU_FALLBACK",)
    assert p.dla_core == 1 and p.convert_fp16 == plain.convert_fp16
    assert p.engine_precision == plain.engine_precision
    assert any("DLA core 1" in n for n in p.notes)


def test_dla_int8_on_tensorrt_10_adds_fp16():
    """DLA runs fp16 or int8 only: with INT8 alone the layers outside Q/DQ pairs stay fp32 and
    all of them fall back to the GPU, so a DLA int8 plan on 10.x sets FP16 beside INT8."""
    p = precision_plan("10.3.0", "int8", qdq=True, dla_core=0)
    assert set(p.builder_flags) == {"FP16", "INT8", "GPU_FALLBACK"}
    assert p.engine_precision == "mixed" and not p.convert_fp16
    assert any("FP16 beside INT8" in n for n in p.notes)
    assert not any("run in fp32" in n for n in p.notes)   # the GPU-only note no longer holds
    assert "FP16" not in precision_plan("10.3.0", "int8", qdq=True).builder_flags  # GPU: as before


def test_dla_int8_on_tensorrt_11_says_float32_layers_fall_back():
    p = precision_plan("11.4.1", "int8", qdq=True, dla_core=0)
    assert p.builder_flags == ("GPU_FALLBACK",) and not p.convert_fp16
    assert any("fall back to the GPU" in n and "float32" in n for n in p.notes)


@pytest.mark.parametrize("version", ["10.3.0", "11.4.1"])
def test_dla_refuses_fp32(version):
    with pytest.raises(ConfigError, match="DLA runs fp16 or int8 only") as e:
        precision_plan(version, "fp32", qdq=False, dla_core=0)
    assert "--precision fp16" in str(e.value)


@pytest.mark.parametrize("version", ["11.0.0", "11.1.2", "11.3.1"])
def test_dla_refused_where_tensorrt_11_has_none(version):
    with pytest.raises(ConfigError, match="cannot build for DLA") as e:
        precision_plan(version, "fp16", qdq=False, dla_core=0)
    assert "TensorRT 10.x" in str(e.value) and "11.0 - 11.3" in str(e.value)


def test_int8_refusal_points_to_quantize():
    with pytest.raises(ConfigError) as e:
        precision_plan("10.3.0", "int8", qdq=False)
    msg = str(e.value)
    assert "edgeseg quantize" in msg and "--target tensorrt" in msg and "calibrator" not in msg.lower()


@pytest.mark.parametrize("version,words", [("8.6.1", ["TensorRT >= 10", "JetPack 6"]),
                                           ("8.5.2", ["JetPack 5", "JetPack 6"]),
                                           ("7.1.3", ["TensorRT >= 10"]),
                                           ("12.0.0", ["newer than this edgeseg"])])
def test_unsupported_majors(version, words):
    with pytest.raises(EdgesegError) as e:
        precision_plan(version, "fp16", qdq=False)
    for w in words:
        assert w in str(e.value)


def test_bad_inputs():
    with pytest.raises(ConfigError, match="unknown precision"):
        precision_plan("10.3.0", "fp8", qdq=False)
    with pytest.raises(ConfigError, match="DLA core"):
        precision_plan("10.3.0", "fp16", qdq=False, dla_core=-1)
    with pytest.raises(ConfigError, match="TensorRT version"):
        parse_trt_version("latest")


def test_capabilities_branch_points():
    ten, eleven = TrtCapabilities.for_version("10.3.0"), TrtCapabilities.for_version("11.4.1")
    assert ten.weakly_typed and not ten.strongly_typed_only and ten.dla
    assert not eleven.weakly_typed and eleven.strongly_typed_only and eleven.dla


def test_plan_is_pure_and_frozen():
    a = precision_plan("10.3.0", "best", qdq=True, dla_core=0)
    assert a == precision_plan((10, 3, 0), "best", qdq=True, dla_core=0)
    with pytest.raises(AttributeError):
        a.precision = "fp32"


def test_no_calibrator_anywhere_in_the_builder():
    """INT8 is explicit quantization only: no calibrator class is used by edgeseg.backends.tensorrt."""
    folder = pathlib.Path(__file__).resolve().parents[3] / "edgeseg" / "backends" / "tensorrt"
    files = sorted(folder.rglob("*.py"))
    assert len(files) >= 10, folder  # the package really is where this test looks
    for f in files:
        code = f.read_text()
        assert not re.search(r"int8_calibrator|IInt8\w*Calibrator\w*\(|CalibrationAlgoType", code), f
