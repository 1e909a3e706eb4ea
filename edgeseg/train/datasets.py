"""Thin torch wrappers over the numpy data readers, with deterministic per-epoch sampling.

Each sample's augmentation RNG is derived from (seed, epoch, index), and each epoch's order
from (seed, epoch), so a run resumed at an epoch boundary sees exactly the data an
uninterrupted run would, whatever the number of loader workers.

>>> import numpy as np
>>> order = epoch_indices(10, epoch=0, seed=0, rank=0, world_size=2)
>>> len(order), len(set(order) & set(epoch_indices(10, epoch=0, seed=0, rank=1, world_size=2)))
(5, 0)
"""

from __future__ import annotations

import numpy as np
import torch

from ..data.base import Sample
from ..meta import ModelMeta
from ..preprocess import normalize
from ..utils.progress import Progress, STDERR


class TorchSegDataset(torch.utils.data.Dataset):
    """(image, mask) tensors: augmented crops normalised by the shared :func:`normalize`."""

    def __init__(self, dataset, meta: ModelMeta, augment=None, seed: int = 0):
        self.dataset, self.meta, self.augment, self.seed = dataset, meta, augment, seed
        self.epoch = 0

    def set_epoch(self, epoch: int) -> None:
        self.epoch = epoch

    def __len__(self) -> int:
        return len(self.dataset)

    def __getitem__(self, i: int):
        s = self.dataset[i]
        image, mask = s.image, s.mask
        if self.augment is not None:
            image, mask = self.augment(image, mask, np.random.default_rng([self.seed, self.epoch, i]))
        return torch.from_numpy(normalize(image, self.meta)), torch.from_numpy(mask.astype(np.int64))


class MaterializedDataset:
    """Every sample of a reader held in memory: generating synthetic scenes on the fly cost
    28-47% of each training step, so they are rendered once up front (with progress)."""

    def __init__(self, dataset, desc: str = "prepare data", file=STDERR):
        self.classes, self.palette = dataset.classes, dataset.palette
        self.ignore_index = getattr(dataset, "ignore_index", 255)
        self.samples: list[Sample] = []
        with Progress(len(dataset), desc, file=file, unit="img") as bar:
            for i in range(len(dataset)):
                self.samples.append(dataset[i])
                bar.update(1)

    @property
    def num_classes(self) -> int:
        return len(self.classes)

    def __len__(self) -> int:
        return len(self.samples)

    def __getitem__(self, i: int) -> Sample:
        return self.samples[i]


def epoch_indices(n: int, epoch: int, seed: int, rank: int = 0, world_size: int = 1) -> list[int]:
    """This rank's share of the epoch's permutation, padded so every rank gets as many."""
    order = np.random.default_rng([seed, epoch, 7919]).permutation(n)
    per_rank = -(-n // world_size)
    padded = np.concatenate([order, order[: per_rank * world_size - n]])
    return padded[rank::world_size].tolist()


def make_loader(ds: TorchSegDataset, indices: list[int], batch: int, workers: int):
    """A DataLoader over ``indices`` in the given order; incomplete last batches are dropped
    because BatchNorm on a batch of one is undefined in training."""
    return torch.utils.data.DataLoader(
        torch.utils.data.Subset(ds, indices), batch_size=batch, shuffle=False,
        num_workers=workers, drop_last=True, persistent_workers=False,
        pin_memory=torch.cuda.is_available())
