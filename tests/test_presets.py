"""Presets (official names and palettes) and segNet's labels.txt / colors.txt, read as segNet reads
them and exactly as ``edgeseg build --deepstream`` writes them."""

import json
import os
from pathlib import Path

import pytest

from edgeseg.errors import ConfigError, DataError
from edgeseg.meta import ModelMeta
from edgeseg.presets import PRESET_NAMES, preset, read_colors, read_labels, resolve_classes

FIXTURE = os.path.join(os.path.dirname(__file__), "fixtures", "presets", "mmseg_metainfo.json")


def _mmseg():
    with open(FIXTURE, encoding="utf-8") as f:
        return json.load(f)


@pytest.mark.parametrize("name", PRESET_NAMES)
def test_presets_are_mmsegmentations_names_and_palettes(name):
    """The fixture is MMSegmentation 1.2.2's METAINFO, read from its wheel (not typed)."""
    p, ref = preset(name), _mmseg()[name]
    assert list(p.classes) == ref["classes"] and [list(c) for c in p.palette] == ref["palette"]
    assert p.num_classes == {"voc": 21, "cityscapes": 19, "ade20k": 150}[name]


def test_ade20k_has_150_classes_and_builds_a_meta():
    p = preset("ADE20K")
    assert p.classes[0] == "wall" and p.classes[-1] == "flag" and p.classes[7] == "bed "   # MMSeg's own spelling
    assert p.palette[0] == (120, 120, 120) and p.palette[-1] == (92, 0, 255)
    meta = ModelMeta(model="segformer", classes=p.classes, palette=p.palette, input_size=(512, 512))
    assert ModelMeta.from_json(meta.to_json()) == meta and meta.num_classes == 150


def test_voc_palette_is_the_devkit_bit_pattern():
    pal = preset("voc").palette
    assert pal[0] == (0, 0, 0) and pal[1] == (128, 0, 0) and pal[20] == (0, 64, 128)


def test_an_unknown_preset_says_which_exist():
    with pytest.raises(ConfigError, match="unknown class preset") as err:
        preset("cityscape")
    assert "did you mean 'cityscapes'?" in str(err.value) and "voc | cityscapes | ade20k" in str(err.value)


def test_labels_as_segnet_reads_them(tmp_path):
    p = tmp_path / "labels.txt"
    p.write_bytes("\ufeffroad\r\nn01440764 tench\r\n# not a comment\r\nnotebooks paper\r\n\r\n\n".encode())
    assert read_labels(p) == ("road", "tench", "# not a comment", "notebooks paper")


def test_a_blank_line_inside_the_labels_is_an_error_naming_it(tmp_path):
    p = tmp_path / "labels.txt"
    p.write_text("road\n   \ncar\n")
    with pytest.raises(DataError, match="blank line 2 in the labels file") as err:
        read_labels(p)
    assert f"{p}, line 2" in str(err.value) and 'class named ""' in str(err.value)


def test_labels_file_errors(tmp_path):
    with pytest.raises(DataError, match="labels file not found"):
        read_labels(tmp_path / "missing.txt")
    (tmp_path / "blank.txt").write_text("\n\n")
    with pytest.raises(DataError, match="names no class"):
        read_labels(tmp_path / "blank.txt")
    (tmp_path / "latin1.txt").write_bytes("road\ncaf\xe9\n".encode("latin-1"))
    with pytest.raises(DataError, match="not UTF-8") as err:
        read_labels(tmp_path / "latin1.txt")
    assert "line 2" in str(err.value)


def test_colors_as_segnet_reads_them(tmp_path):
    p = tmp_path / "colors.txt"
    p.write_text("128 64 128\n0\t0\t142 255\n70 70 70.0\n\n")
    assert read_colors(p) == ((128, 64, 128), (0, 0, 142), (70, 70, 70))


@pytest.mark.parametrize("line, why", [("128,64,128", "commas"), ("128 64", "two numbers"), ("1 2 3 4 5", "five"),
                                       ("256 0 0", "over 255"), ("-1 0 0", "negative"), ("0.5 0 0", "a fraction"),
                                       ("# road", "a comment")])
def test_a_bad_colour_line_is_an_error_naming_it(tmp_path, line, why):
    p = tmp_path / "colors.txt"
    p.write_text(f"0 0 0\n{line}\n")
    with pytest.raises(DataError, match="a colour line is not r g b in 0..255") as err:
        read_colors(p)
    assert f"{p}, line 2" in str(err.value) and repr(line) in str(err.value), why


def test_a_blank_colour_line_inside_is_an_error(tmp_path):
    p = tmp_path / "colors.txt"
    p.write_text("0 0 0\n\n1 1 1\n")
    with pytest.raises(DataError, match="blank line 2") as err:
        read_colors(p)
    assert "white (255 255 255)" in str(err.value)


def test_resolve_classes(tmp_path):
    assert resolve_classes("voc").source == "preset voc" and resolve_classes("voc").palette is not None
    assert resolve_classes("road,").classes == ("road",)
    labels = tmp_path / "labels.txt"
    labels.write_text("a\nb\n")
    spec = resolve_classes(str(labels))
    assert spec.classes == ("a", "b") and spec.palette is None and spec.source == str(labels)
    with pytest.raises(ConfigError, match="empty class name"):
        resolve_classes("a,,b")
    with pytest.raises(ConfigError, match="did you mean 'ade20k'"):
        resolve_classes("ade20")
    with pytest.raises(DataError, match="labels file not found"):
        resolve_classes(str(tmp_path / "nope.txt"))


def test_round_trip_with_the_deepstream_writer(tmp_path):
    """What build --deepstream writes for segNet, these readers read back: names (line breaks and
    runs of spaces folded, as the writer does), colours, and DeepStream's own labels file."""
    from edgeseg.backends.tensorrt.deepstream import write_deepstream
    engine = tmp_path / "model.engine"
    engine.write_bytes(b"ftrt" + bytes(32))
    ade = preset("ade20k")
    classes = ("road", "traffic  light", "car;truck", "line\nbreak", *ade.classes[4:])
    meta = ModelMeta(model="m", classes=classes, palette=ade.palette, input_size=(64, 64))
    paths = write_deepstream(str(engine), meta)
    names = read_labels(paths["labels"])
    assert names == ("road", "traffic light", "car;truck", "line break", *(" ".join(c.split()) for c in ade.classes[4:]))
    assert read_colors(paths["colors"]) == meta.palette
    assert read_labels(paths["deepstream_labels"])[2] == "car,truck"   # nvinfer splits at ';'
    again = ModelMeta(model="m", classes=names, palette=read_colors(paths["colors"]), input_size=(64, 64))
    paths2 = write_deepstream(str(engine), again, out_dir=tmp_path / "again")
    for key in ("labels", "colors"):
        assert Path(paths2[key]).read_text() == Path(paths[key]).read_text()    # a fixed point: written, read, written
