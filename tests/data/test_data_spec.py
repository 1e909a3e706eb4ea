"""open_dataset: one table of schemes, did-you-mean errors, options checked."""

import pytest

from edgeseg.data import OPENERS, CityscapesDataset, FolderDataset, SyntheticScenes, VOCDataset, open_dataset
from edgeseg.data.base import Sample, SegDataset
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
