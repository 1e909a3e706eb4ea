"""Data sets as numpy arrays (no torch): readers, synthetic street scenes, paired augmentations.

Images are HxWx3 uint8 BGR; masks HxW uint8 class ids with 255 = ignore.

>>> ds = open_dataset("synthetic:2", size=(64, 64))
>>> s = ds[0]
>>> s.image.shape, s.mask.shape, ds.classes == SYNTHETIC_CLASSES
((64, 64, 3), (64, 64), True)
"""

from .augment import ColorJitter, Compose, HorizontalFlip, RandomCrop, RandomScale, train_augment
from .base import IGNORE_INDEX, ListDataset, Sample, SegDataset, read_image, read_mask
from .cityscapes import CITYSCAPES_CLASSES, CITYSCAPES_PALETTE, CityscapesDataset
from .folder import FolderDataset
from .png import read_index_png, write_index_png
from .spec import OPENERS, open_dataset
from .synthetic import SYNTHETIC_CLASSES, SYNTHETIC_PALETTE, SyntheticScenes, render_scene, synthetic_split
from .video import SyntheticDrive, SyntheticVideo, write_video
from .voc import VOC_CLASSES, VOC_PALETTE, VOCDataset

__all__ = [
    "CITYSCAPES_CLASSES",
    "CITYSCAPES_PALETTE",
    "IGNORE_INDEX",
    "OPENERS",
    "SYNTHETIC_CLASSES",
    "SYNTHETIC_PALETTE",
    "VOC_CLASSES",
    "VOC_PALETTE",
    "CityscapesDataset",
    "ColorJitter",
    "Compose",
    "FolderDataset",
    "HorizontalFlip",
    "ListDataset",
    "RandomCrop",
    "RandomScale",
    "Sample",
    "SegDataset",
    "SyntheticDrive",
    "SyntheticScenes",
    "SyntheticVideo",
    "VOCDataset",
    "open_dataset",
    "read_image",
    "read_index_png",
    "read_mask",
    "render_scene",
    "synthetic_split",
    "train_augment",
    "write_index_png",
    "write_video",
]
