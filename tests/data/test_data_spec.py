"""open_dataset: one table of schemes, did-you-mean errors, options checked; the URI spellings
open the same data as the short ones."""

import numpy as np
import pytest

from edgeseg.data import OPENERS, CityscapesDataset, FolderDataset, SyntheticScenes, VOCDataset, open_dataset
from edgeseg.data.base import Sample, SegDataset
from edgeseg.data.spec import PARAMS, check_data_spec
from edgeseg.errors import ConfigError, DataError


def test_schemes_come_from_one_table():
    assert set(OPENERS) == {"synthetic", "folder", "voc", "cityscapes"}


def test_a_new_scheme_needs_only_a_table_row(monkeypatch):
    class One(SegDataset):
        classes = ("x",)

        def __len__(self):
            return 1

    monkeypatch.setitem(OPENERS, "one", lambda arg, split, kw: One())
    assert isinstance(open_dataset("one:anything"), One)


def test_synthetic_defaults_and_counts():
    train = open_dataset("synthetic")
    assert isinstance(train, SyntheticScenes) and len(train) == 2000 and train.size == (256, 256)
    assert len(open_dataset("synthetic", "val")) == 200 == len(open_dataset("synthetic", "test"))
    ds = open_dataset("synthetic:5", "val", size=(32, 48))
    assert len(ds) == 5 and ds.size == (32, 48)
    assert isinstance(ds[0], Sample) and ds[0].image.shape == (32, 48, 3)
    assert len(open_dataset("synthetic", num=7)) == 7
    assert open_dataset("synthetic", "train").seed != open_dataset("synthetic", "val").seed


def test_synthetic_errors():
    with pytest.raises(ConfigError, match="conflicts"):
        open_dataset("synthetic:5", num=6)
    with pytest.raises(DataError, match="whole number"):
        open_dataset("synthetic:many")
    with pytest.raises(DataError, match="unknown synthetic split"):
        open_dataset("synthetic", "holdout")
    with pytest.raises(ConfigError, match="unknown option for synthetic data sets: sise"):
        open_dataset("synthetic", sise=(32, 32))


def test_real_layouts(folder_tree, voc_tree, cityscapes_tree):
    assert isinstance(open_dataset(f"folder:{folder_tree}"), FolderDataset)
    assert len(open_dataset(f"folder:{folder_tree}", num_classes=4).classes) == 4
    assert len(open_dataset(f"voc:{voc_tree.parent}", "val")) == 1
    assert isinstance(open_dataset(f"voc:{voc_tree}"), VOCDataset)
    assert isinstance(open_dataset(f"cityscapes:{cityscapes_tree}", "val"), CityscapesDataset)
    with pytest.raises(ConfigError, match="unknown option for voc"):
        open_dataset(f"voc:{voc_tree}", size=(64, 64))


@pytest.mark.parametrize("spec, suggestion", [("vco:/data/VOC2012", "voc:/data/VOC2012"),
                                               ("synthtic", "synthetic"),
                                               ("Cityscape:/x", "cityscapes:/x"),
                                               ("folders:/x", "folder:/x")])
def test_unknown_scheme_suggests(spec, suggestion):
    with pytest.raises(DataError) as e:
        open_dataset(spec)
    msg = str(e.value)
    assert f"did you mean '{suggestion}'" in msg
    assert "cityscapes, folder, synthetic, voc" in msg


def test_bare_folder_gets_a_hint(folder_tree):
    with pytest.raises(DataError, match=f"folder:{folder_tree}"):
        open_dataset(str(folder_tree))
    with pytest.raises(DataError, match="SCHEME:PATH"):
        open_dataset("zzzz")


@pytest.mark.parametrize("scheme", ["folder", "voc", "cityscapes"])
def test_missing_path_is_named(tmp_path, scheme):
    missing = tmp_path / "nope"
    with pytest.raises(DataError, match="path not found") as e:
        open_dataset(f"{scheme}:{missing}")
    assert str(missing) in str(e.value)
    with pytest.raises(DataError, match="needs a path"):
        open_dataset(f"{scheme}:")


# -- the URI spellings (edgeseg.uri grammar) ----------------------------------------------------------
def _same_samples(a, b, first=None):
    assert type(a) is type(b) and len(a) == len(b) and a.classes == b.classes
    for i in range(len(a) if first is None else first):
        sa, sb = a[i], b[i]
        assert sa.name == sb.name and np.array_equal(sa.image, sb.image)
        assert (sa.mask is None and sb.mask is None) or np.array_equal(sa.mask, sb.mask)


@pytest.mark.parametrize("long, short, kw", [
    ("synthetic://", "synthetic", {}),
    ("synthetic://?num=3", "synthetic:3", {}),
    ("synthetic://?num=3&size=32x48", "synthetic:3", {"size": (32, 48)}),
    ("synthetic://?num=2&size=32&seed=7", "synthetic", {"num": 2, "size": (32, 32), "seed": 7}),
    ("SYNTHETIC://?num=2", "synthetic:2", {}),
])
@pytest.mark.parametrize("split", ["train", "val"])
def test_synthetic_uri_opens_the_same_scenes(long, short, kw, split):
    a, b = open_dataset(long, split), open_dataset(short, split, **kw)
    assert (len(a), a.size, a.seed) == (len(b), b.size, b.seed)
    _same_samples(a, b, first=2)


@pytest.mark.parametrize("spec, kw", [("synthetic:0", {}), ("synthetic:00", {}), ("synthetic://?num=0", {}),
                                      ("synthetic", {"num": 0}), ("synthetic", {"num": -3}),
                                      ("synthetic", {"num": 2.5}), ("synthetic", {"num": "many"}),
                                      ("synthetic://?num=-1", {})])
def test_an_empty_or_negative_synthetic_set_is_refused_with_the_range(spec, kw):
    # An empty set scored as an all-n/a table, with exit 0.
    with pytest.raises(ConfigError, match="images >= 1"):
        open_dataset(spec, "val", **kw)
    if not kw:
        with pytest.raises(ConfigError, match="images >= 1"):
            check_data_spec(spec)                               # the same, before anything is opened


@pytest.mark.parametrize("spec", ["folder:///x?num_classes=0", "folder:///x?num_classes=-2"])
def test_zero_classes_is_refused_with_the_range(spec):
    with pytest.raises(ConfigError, match="classes >= 1"):
        check_data_spec(spec)


def test_check_data_spec_opens_nothing(tmp_path):
    assert check_data_spec(f"folder:{tmp_path / 'not-yet'}").scheme == "folder"   # paths: checked on opening
    assert check_data_spec("synthetic://?num=3&size=32x48&seed=2").arg == ""
    with pytest.raises(DataError, match="unknown data set scheme"):
        check_data_spec("vco:/data")
    with pytest.raises(DataError, match="needs a path"):
        check_data_spec("voc:")
    with pytest.raises(ConfigError, match="unknown option"):
        check_data_spec("voc:///d?mask=x")


def test_real_layouts_as_uris(folder_tree, voc_tree, cityscapes_tree):
    _same_samples(open_dataset(f"folder://{folder_tree}"), open_dataset(f"folder:{folder_tree}"))
    _same_samples(open_dataset(f"folder://{folder_tree}?num_classes=4"),
                  open_dataset(f"folder:{folder_tree}", num_classes=4))
    _same_samples(open_dataset(f"folder://{folder_tree}?classes=bg,road,car&masks=0"),
                  open_dataset(f"folder:{folder_tree}", classes=("bg", "road", "car"), masks=False))
    _same_samples(open_dataset(f"voc://{voc_tree.parent}", "val"), open_dataset(f"voc:{voc_tree.parent}", "val"))
    _same_samples(open_dataset(f"voc://{voc_tree}?mask_dir=SegmentationClass"),
                  open_dataset(f"voc:{voc_tree}", mask_dir="SegmentationClass"))
    _same_samples(open_dataset(f"cityscapes://{cityscapes_tree}?annotations=gtFine", "val"),
                  open_dataset(f"cityscapes:{cityscapes_tree}", "val"))


def test_uri_paths_are_percent_decoded(folder_tree, tmp_path):
    spaced = tmp_path / "my set"
    folder_tree.rename(spaced)
    assert len(open_dataset("folder://" + str(spaced).replace(" ", "%20"))) == 2
    assert len(open_dataset(f"folder:{spaced}")) == 2   # the short spelling takes the path as typed


def test_uri_option_and_keyword_conflict_names_both():
    with pytest.raises(ConfigError, match="num is given twice") as e:
        open_dataset("synthetic://?num=5", num=6)
    assert "num=5 in the spec 'synthetic://?num=5'" in e.value.got and "num=6 as an option" in e.value.got
    with pytest.raises(ConfigError, match="size is given twice") as e:
        open_dataset("synthetic://?size=32x32", size=(64, 64))
    assert "size=32x32" in e.value.got and "(64, 64)" in e.value.got
    # The same value both ways is no conflict, whatever form the keyword takes.
    assert open_dataset("synthetic://?size=32x32&num=2", size=[32, 32], num=2).size == (32, 32)
    # None is "the default", which the spec may set (callers forward optional counts as None).
    assert len(open_dataset("synthetic://?num=3", num=None)) == 3
    # A count in the path and in the query is the short spelling's conflict.
    with pytest.raises(ConfigError, match="conflicts with num="):
        open_dataset("synthetic://5?num=6")


@pytest.mark.parametrize("spec, bad, options, hint", [
    ("synthetic://?nmu=5", "nmu", "num, size, seed, speed, turn, fps", "did you mean 'num'?"),
    ("synthetic://?loop=5", "loop", "num, size, seed, speed, turn, fps", "drop the option"),
    ("voc:///d?mask_dr=A", "mask_dr", "mask_dir", "did you mean 'mask_dir'?"),
    ("cityscapes:///d?annotation=gtFine", "annotation", "annotations", "did you mean 'annotations'?"),
    ("folder:///d?palette=0,0,0", "palette", "num_classes, classes, masks", "drop the option"),
])
def test_unknown_uri_option_lists_the_schemes_options(spec, bad, options, hint):
    with pytest.raises(ConfigError, match=f"unknown option for .* data sets: {bad}") as e:
        open_dataset(spec)
    assert e.value.expected == options and hint in e.value.fix


@pytest.mark.parametrize("spec, key", [("synthetic://?num=many", "num"), ("synthetic://?num=-1", "num"),
                                       ("synthetic://?size=0x5", "size"), ("synthetic://?size=axb", "size"),
                                       ("synthetic://?seed=x", "seed"), ("folder:///d?masks=maybe", "masks"),
                                       ("folder:///d?num_classes=", "num_classes"), ("voc:///d?mask_dir=", "mask_dir")])
def test_unreadable_uri_option_is_named(spec, key):
    with pytest.raises(ConfigError, match=f"cannot read {key}= in the data spec") as e:
        open_dataset(spec)
    assert spec in e.value.fix


@pytest.mark.parametrize("spec, suggestion", [("vco:///data/VOC2012", "voc:///data/VOC2012"),
                                               ("synthtic://?num=5", "synthetic://?num=5"),
                                               ("folders:///x?num_classes=3", "folder:///x?num_classes=3")])
def test_unknown_uri_scheme_suggests_in_the_uri_spelling(spec, suggestion):
    with pytest.raises(DataError, match="unknown data set scheme") as e:
        open_dataset(spec)
    assert e.value.fix == f"did you mean '{suggestion}'?"


def test_uri_options_table_matches_the_openers():
    assert set(PARAMS) == set(OPENERS)
    # every URI option is a keyword its opener takes (here: the ones openable without files)
    for key, text in {"num": "2", "size": "32x32", "seed": "1"}.items():
        assert key in PARAMS["synthetic"]
        open_dataset(f"synthetic://?{key}={text}", num=2)


def test_a_table_row_without_uri_options_gets_the_strings(monkeypatch):
    seen = {}

    def one(arg, split, kw):
        seen.update(kw, arg=arg)
        return SegDataset()

    monkeypatch.setitem(OPENERS, "one", one)
    open_dataset("one:///p?level=3", flag=True)
    assert seen == {"arg": "/p", "level": "3", "flag": True}
