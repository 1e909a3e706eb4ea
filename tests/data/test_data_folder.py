"""Image/mask folders: pairing, classes, splits, and every bad input naming its file."""

import cv2
import numpy as np
import pytest

from edgeseg.data import FolderDataset, Sample
from edgeseg.errors import DataError

from .data_fixtures import blocks_mask, image_for, write


def test_pairs_by_stem_and_infers_classes(folder_tree):
    ds = FolderDataset(folder_tree)
    assert len(ds) == 2 and ds.num_classes == 3
    assert ds.classes == ("class0", "class1", "class2") and len(ds.palette) == 3
    s = ds[1]
    assert isinstance(s, Sample) and s.name == "b"
    assert s.image.shape == (24, 32, 3) and s.image.dtype == np.uint8
    assert np.array_equal(s.mask, blocks_mask(24, 32, 3, seed=1))
    assert np.array_equal(s.image, image_for(s.mask))          # .bmp is lossless
    assert ds[-1].name == "b" and [x.name for x in ds] == ["a", "b"]
    with pytest.raises(IndexError):
        ds[2]
    assert ds.check() == 2


def test_classes_txt_and_num_classes(folder_tree):
    assert FolderDataset(folder_tree, num_classes=5).classes[-1] == "class4"
    (folder_tree / "classes.txt").write_text("road\ncar\nperson\nsky\n")
    assert FolderDataset(folder_tree).classes == ("road", "car", "person", "sky")
    with pytest.raises(DataError, match="num_classes conflicts"):
        FolderDataset(folder_tree, num_classes=3)


def test_split_subfolders(tmp_path):
    root = tmp_path / "s"
    for split, n in (("train", 3), ("val", 1)):
        for i in range(n):
            mask = blocks_mask(16, 16, 2, seed=i)
            write(root / "images" / split / f"{split}{i}.jpg", image_for(mask))
            write(root / "masks" / split / f"{split}{i}.png", mask)
    assert len(FolderDataset(root, split="train")) == 3
    assert [s.name for s in FolderDataset(root, split="val")] == ["val0"]
    with pytest.raises(DataError, match="split folder not found") as e:
        FolderDataset(root, split="test")
    assert "train, val" in str(e.value)


def test_missing_mask_names_image_and_expected_mask(folder_tree):
    (folder_tree / "masks" / "a.png").unlink()
    with pytest.raises(DataError, match="image has no mask") as e:
        FolderDataset(folder_tree, num_classes=3)
    msg = str(e.value)
    assert str(folder_tree / "images" / "a.png") in msg and str(folder_tree / "masks" / "a.png") in msg


def test_size_mismatch_names_the_mask(folder_tree):
    write(folder_tree / "masks" / "b.png", np.zeros((12, 32), np.uint8))
    ds = FolderDataset(folder_tree)
    ds[0]
    with pytest.raises(DataError, match="mask size differs") as e:
        ds[1]
    assert str(folder_tree / "masks" / "b.png") in str(e.value) and "24x32" in str(e.value)
    with pytest.raises(DataError, match="mask size differs"):
        ds.check()


def test_out_of_range_class_id_names_the_mask(folder_tree):
    (folder_tree / "classes.txt").write_text("a\nb\nc\n")
    mask = blocks_mask(24, 32, 3, seed=0)
    mask[5, 5] = 7
    mask[0, 0] = 255                                            # ignore is always allowed
    write(folder_tree / "masks" / "a.png", mask)
    with pytest.raises(DataError, match="outside the data set's classes") as e:
        FolderDataset(folder_tree)[0]
    assert str(folder_tree / "masks" / "a.png") in str(e.value) and "id(s) 7" in str(e.value)


def test_corrupt_image_names_the_file(folder_tree):
    (folder_tree / "images" / "a.png").write_bytes(b"\x89PNG\r\n\x1a\nthis is not an image")
    with pytest.raises(DataError, match="cannot be decoded") as e:
        FolderDataset(folder_tree, num_classes=3).check()
    assert str(folder_tree / "images" / "a.png") in str(e.value)


def test_colour_mask_is_rejected(folder_tree):
    colour = np.zeros((24, 32, 3), np.uint8)
    colour[..., 2] = 128
    write(folder_tree / "masks" / "a.png", colour)
    with pytest.raises(DataError, match="colour image, not class ids") as e:
        FolderDataset(folder_tree, num_classes=3)[0]
    assert "a.png" in str(e.value)


def test_empty_or_wrong_root(tmp_path):
    with pytest.raises(DataError, match="image folder not found"):
        FolderDataset(tmp_path)
    (tmp_path / "images").mkdir()
    with pytest.raises(DataError, match="no images found"):
        FolderDataset(tmp_path)


def test_images_only(folder_tree):
    (folder_tree / "masks" / "a.png").unlink()
    s = FolderDataset(folder_tree, num_classes=3, masks=False)[0]
    assert s.mask is None and s.image.shape == (24, 32, 3)


def test_jpeg_image_is_read_as_bgr(tmp_path):
    root = tmp_path / "j"
    img = np.zeros((16, 16, 3), np.uint8)
    img[..., 2] = 250                                           # red in BGR
    write(root / "images" / "r.jpeg", img)
    write(root / "masks" / "r.png", np.zeros((16, 16), np.uint8))
    got = FolderDataset(root)[0].image
    assert got[..., 2].mean() > 200 and got[..., 0].mean() < 30
    assert cv2.imread(str(root / "images" / "r.jpeg")).shape == got.shape


def test_reads_every_image_suffix_of_the_grammar(folder_tree):
    # data/base.py used to list .jpg/.jpeg/.png/.bmp only; it now shares uri.IMAGE_SUFFIXES.
    for name, ext in (("c", ".tif"), ("d", ".webp"), ("e", ".TIFF")):
        mask = blocks_mask(24, 32, 3, seed=3)
        write(folder_tree / "images" / f"{name}{ext}", image_for(mask))
        write(folder_tree / "masks" / f"{name}.png", mask)
    ds = FolderDataset(folder_tree)
    assert [s.name for s in ds] == ["a", "b", "c", "d", "e"]
    assert np.array_equal(ds[2].image, image_for(blocks_mask(24, 32, 3, seed=3)))  # .tif is lossless


def test_a_tif_beside_a_png_of_the_same_stem_is_now_a_clash(folder_tree):
    write(folder_tree / "images" / "a.tif", np.zeros((24, 32, 3), np.uint8))
    with pytest.raises(DataError, match="two images share one stem"):
        FolderDataset(folder_tree)


def test_a_stray_id_is_reported_with_its_files_not_made_a_class(folder_tree):
    # One stray pixel of 200 once made a 3-class set 201 classes; training then died in validation.
    mask = blocks_mask(24, 32, 3, seed=1)
    mask[3, 4] = 200
    mask[0, 0] = 255                                            # ignore is fine
    write(folder_tree / "masks" / "b.png", mask)
    with pytest.raises(DataError, match="not contiguous from 0") as e:
        FolderDataset(folder_tree)
    msg = str(e.value)
    assert "0-2, 200" in msg                                    # the ids found
    assert f"200 in {folder_tree / 'masks' / 'b.png'} (1 pixel)" in msg
    assert str(folder_tree / "masks" / "a.png") not in msg      # a.png holds only expected ids
    assert "classes.txt" in msg and "num_classes=N" in msg
    # declaring the classes is the way out: the stray id is then named per file on reading
    ds = FolderDataset(folder_tree, num_classes=3)
    with pytest.raises(DataError, match="outside the data set's classes") as e:
        ds.check()
    assert str(folder_tree / "masks" / "b.png") in str(e.value) and "id(s) 200" in str(e.value)


def test_ids_that_do_not_start_at_0_are_reported(tmp_path):
    root = tmp_path / "s"
    for i in range(3):
        mask = blocks_mask(16, 16, 2, seed=i) + 1               # ids 1..2, no 0
        write(root / "images" / f"{i}.png", image_for(mask))
        write(root / "masks" / f"{i}.png", mask)
    with pytest.raises(DataError, match="not contiguous from 0") as e:
        FolderDataset(root)
    assert "ids found: 1-2" in str(e.value) and "missing: 0" in str(e.value)
    assert FolderDataset(root, num_classes=3).num_classes == 3


def test_the_files_listed_for_a_stray_id_are_capped(tmp_path):
    root = tmp_path / "s"
    for i in range(12):
        mask = np.zeros((8, 8), np.uint8)
        mask[0, :2] = 9
        write(root / "images" / f"{i:02d}.png", image_for(mask))
        write(root / "masks" / f"{i:02d}.png", mask)
    with pytest.raises(DataError) as e:
        FolderDataset(root)
    msg = str(e.value)
    assert "9 in 12 files" in msg and "00.png (2 pixels)" in msg and "and 9 more" in msg


@pytest.mark.parametrize("bad", [0, -1, 2.5, True])
def test_num_classes_must_be_a_positive_whole_number(folder_tree, bad):
    from edgeseg.errors import ConfigError
    with pytest.raises(ConfigError, match="num_classes") as e:
        FolderDataset(folder_tree, num_classes=bad)
    assert ">= 1" in str(e.value)
