"""Shapes, optimisation profiles and the workspace size: parsing and validation."""

import pytest

from edgeseg.backends.tensorrt.shapes import ProfileShape, parse_dynamic, parse_shape, parse_workspace, resolve_profile
from edgeseg.errors import ConfigError

DYN = (None, 3, None, None)


def test_parse_shape_and_dynamic():
    assert parse_shape("1x3x512x512") == (1, 3, 512, 512) == parse_shape(" 1X3x512x512 ")
    assert parse_dynamic("1x3x256x256:1x3x512x512:4x3x1024x1024") == (
        (1, 3, 256, 256), (1, 3, 512, 512), (4, 3, 1024, 1024))


@pytest.mark.parametrize("text,match", [("1x3x512", None), ("1,3,512,512", "cannot read the shape"),
                                        ("1x0x5x5", "> 0"), ("", "cannot read"), ("ax3", "cannot read")])
def test_parse_shape_errors(text, match):
    if match is None:
        assert parse_shape(text) == (1, 3, 512)
        return
    with pytest.raises(ConfigError, match=match):
        parse_shape(text)


@pytest.mark.parametrize("text,match", [
    ("1x3x256x256:1x3x512x512", "three shapes"),
    ("1x3x256x256:1x3x512x512:4x3x1024", "differ in rank"),
    ("1x3x512x512:1x3x256x256:4x3x1024x1024", "min <= opt <= max"),
    ("1x3x256x256:4x3x512x512:2x3x1024x1024", "dimension 0"),
    ("1x3x256x256:1x3x512x512:4x3xbigx1024", "cannot read")])
def test_parse_dynamic_errors(text, match):
    with pytest.raises(ConfigError, match=match):
        parse_dynamic(text)


def test_profile_for_a_static_model():
    p = resolve_profile("input", (1, 3, 64, 64))
    assert p.is_static and p.opt == (1, 3, 64, 64) and p.cli() == "--shape 1x3x64x64"
    assert resolve_profile("input", (1, 3, 64, 64), spec="1x3x64x64") == p
    with pytest.raises(ConfigError, match="static in its dimension 2") as e:
        resolve_profile("input", (1, 3, 64, 64), spec="1x3x128x128")
    assert "export with --dynamic" in str(e.value)
    with pytest.raises(ConfigError, match="static in its dimension 0"):
        resolve_profile("input", (1, 3, 64, 64), spec="1x3x64x64:2x3x64x64:4x3x64x64")


def test_profile_for_a_dynamic_model():
    p = resolve_profile("input", DYN, spec="1x3x256x256:1x3x512x512:4x3x1024x1024")
    assert (p.min, p.opt, p.max) == ((1, 3, 256, 256), (1, 3, 512, 512), (4, 3, 1024, 1024))
    assert p.cli() == "--dynamic 1x3x256x256:1x3x512x512:4x3x1024x1024"
    assert p.to_dict() == {"min": [1, 3, 256, 256], "opt": [1, 3, 512, 512], "max": [4, 3, 1024, 1024]}
    s = resolve_profile("input", DYN, spec="2x3x320x480")
    assert s.is_static and s.opt == (2, 3, 320, 480)
    # no spec: batch 1 at the meta's input size
    assert resolve_profile("input", DYN, default_hw=(64, 96)).opt == (1, 3, 64, 96)
    assert resolve_profile("input", (None, None, None, 3), layout="NHWC", default_hw=(64, 96)).opt == (1, 64, 96, 3)
    with pytest.raises(ConfigError, match="say which shapes"):
        resolve_profile("input", DYN)


def test_profile_validation_errors():
    with pytest.raises(ConfigError, match="wrong rank") as e:
        resolve_profile("input", DYN, spec="1x3x256:1x3x512:1x3x1024")
    assert "4 dimensions" in str(e.value)
    with pytest.raises(ConfigError, match="channel") as e:
        resolve_profile("input", DYN, spec="1x4x256x256")
    assert "3" in str(e.value)
    with pytest.raises(ConfigError, match="channel dimension .* fixed by the model"):
        resolve_profile("input", (None, None, None, None), spec="1x1x256x256")
    with pytest.raises(ConfigError, match="min <= opt <= max"):
        resolve_profile("input", DYN, spec="1x3x512x512:1x3x256x256:1x3x1024x1024")
    with pytest.raises(ConfigError, match="channel"):   # NHWC: the last axis is the channel
        resolve_profile("input", (None, None, None, 3), layout="NHWC", spec="1x64x64x4")


def test_profile_specs_in_other_forms_agree():
    a = resolve_profile("input", DYN, spec="1x3x64x64:1x3x128x128:2x3x256x256")
    b = resolve_profile("input", DYN, spec=((1, 3, 64, 64), (1, 3, 128, 128), (2, 3, 256, 256)))
    c = resolve_profile("input", DYN, spec={"min": [1, 3, 64, 64], "opt": "1x3x128x128", "max": [2, 3, 256, 256]})
    d = resolve_profile("input", DYN, spec=a)
    assert a == b == c == d
    assert ProfileShape.from_dict("input", a.to_dict()) == a


@pytest.mark.parametrize("text,value", [("2G", 2 << 30), ("512M", 512 << 20), ("1.5G", 3 << 29),
                                        ("2GB", 2 << 30), ("2GiB", 2 << 30), ("64k", 64 << 10),
                                        ("1048576", 1 << 20), (4096, 4096)])
def test_parse_workspace(text, value):
    assert parse_workspace(text) == value


@pytest.mark.parametrize("text", ["", "lots", "2X", "-1G", "0", "0M", "1.2.3G"])
def test_parse_workspace_errors(text):
    with pytest.raises(ConfigError, match="workspace") as e:
        parse_workspace(text)
    assert "2G" in str(e.value)


def test_dla_needs_static_profiles():
    """DLA has no dynamic shapes: with GPU fallback a min != max profile sends every layer to
    the GPU, so the profile is refused naming the input and the dimension that varies."""
    from edgeseg.backends.tensorrt.shapes import check_dla_profiles
    static = resolve_profile("input", DYN, spec="1x3x256x256")
    check_dla_profiles({"input": static}, core=0)            # min = opt = max: fine
    dyn = resolve_profile("input", DYN, spec="1x3x256x256:1x3x512x512:1x3x512x512")
    with pytest.raises(ConfigError, match="DLA needs a static shape") as e:
        check_dla_profiles({"other": static, "input": dyn}, core=1)
    msg = str(e.value)
    assert "input 'input'" in msg and "dimension 2 (height)" in msg and "256, 512, 512" in msg
    assert "--shape 1x3x512x512" in msg and "drop --dla" in msg
    batch = resolve_profile("input", DYN, spec="1x3x64x64:2x3x64x64:4x3x64x64")
    with pytest.raises(ConfigError, match=r"dimension 0 \(batch\)"):
        check_dla_profiles({"input": batch}, core=0)
    nhwc = resolve_profile("x", (None, None, None, 3), layout="NHWC", spec="1x64x64x3:1x64x96x3:1x64x96x3")
    with pytest.raises(ConfigError, match=r"dimension 2 \(width\)"):
        check_dla_profiles({"x": nhwc}, core=0, layout="NHWC")
