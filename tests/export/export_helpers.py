"""Helpers for the export tests: a calibrated zoo model and a checkpoint in edgeseg's format."""

import numpy as np
import torch

from edgeseg.meta import ModelMeta
from edgeseg.models import build_model
from edgeseg.train.checkpoint import save_checkpoint

MODEL = "lraspp_mobilenet_v3_small"
SIZE = (64, 64)
CLASSES = ("road", "car", "sky")


def calibrated(name: str = MODEL, num_classes: int = 3, seed: int = 0) -> torch.nn.Module:
    """A zoo model whose BatchNorm statistics are measured on random images, like after training:
    freshly initialised nets give logits ~1e-10 with ties everywhere, which proves nothing."""
    torch.manual_seed(seed)
    net = build_model(name, num_classes=num_classes)
    for m in net.modules():
        if isinstance(m, torch.nn.modules.batchnorm._BatchNorm):
            m.reset_running_stats()
            m.momentum = None  # cumulative average over the calibration batches
    net.train()
    with torch.no_grad():
        for _ in range(3):
            net(torch.rand(4, 3, *SIZE) * 4 - 2)
    return net.eval()


def make_checkpoint(path, name: str = MODEL, seed: int = 0) -> ModelMeta:
    meta = ModelMeta(model=name, classes=CLASSES, input_size=SIZE,
                     provenance={"trainer": "edgeseg train", "data": "synthetic", "epochs": 1})
    save_checkpoint(path, {"model": calibrated(name, len(CLASSES), seed).state_dict(),
                           "meta": meta.to_dict(), "model_args": {}, "epoch": 1})
    return meta


def frames(count: int = 3, size=(90, 120), seed: int = 7):
    """BGR frames at a size other than the graph's, so preprocess also resizes."""
    rng = np.random.default_rng(seed)
    out = [rng.integers(0, 256, (*size, 3), dtype=np.uint8) for _ in range(count)]
    yy, xx = np.mgrid[0:size[0], 0:size[1]]
    out.append(np.stack([xx * 2, yy * 2, (xx + yy)], -1).clip(0, 255).astype(np.uint8))
    return out


class TinyNet(torch.nn.Module):
    """Two convs and an upsample: exports in a fraction of a second."""

    def __init__(self, classes=2):
        super().__init__()
        self.body = torch.nn.Sequential(torch.nn.Conv2d(3, 8, 3, 2, 1), torch.nn.ReLU(),
                                        torch.nn.Conv2d(8, classes, 1))

    def forward(self, x):
        return {"out": torch.nn.functional.interpolate(self.body(x), size=x.shape[-2:],
                                                       mode="bilinear", align_corners=False)}
