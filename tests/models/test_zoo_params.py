"""Parameter counts (torchvision's exactly, the rest pinned) and GFLOPs in torchvision's convention."""

from __future__ import annotations

import pytest
import torch

from edgeseg.errors import ConfigError
from edgeseg.models import build_model, list_models, model_info
from edgeseg.models.info import count_gmacs

# Published by torchvision for its 21-class COCO-VOC models (weights meta "num_params").
TORCHVISION = [
    ("deeplabv3_mobilenet_v3_large", True, 11_029_328),
    ("deeplabv3_mobilenet_v3_large", False, 11_025_477),
    ("lraspp_mobilenet_v3_large", False, 3_221_538),
]

# Regression pin: every zoo model at 21 classes, default options, no aux head.
# A change here changes checkpoints' shapes; update only on purpose.
PINNED = {
    "deeplabv3_mobilenet_v2": 12_653_077,
    "deeplabv3_mobilenet_v3_large": 11_025_477,
    "deeplabv3_mobilenet_v3_small": 6_129_717,
    "deeplabv3plus_mobilenet_v2": 12_764_917,
    "deeplabv3plus_mobilenet_v3_large": 11_137_317,
    "deeplabv3plus_mobilenet_v3_small": 6_241_173,
    "fcn_mobilenet_v2": 5_917_653,
    "fcn_mobilenet_v3_large": 5_051_093,
    "fcn_mobilenet_v3_small": 1_676_837,
    "lraspp_mobilenet_v2": 2_555_210,
    "lraspp_mobilenet_v3_large": 3_221_538,
    "lraspp_mobilenet_v3_small": 1_077_954,
    "unet_mobilenet_v2": 2_771_269,
    "unet_mobilenet_v3_large": 3_501_429,
    "unet_mobilenet_v3_small": 1_322_085,
}


@pytest.mark.parametrize("name,aux,params", TORCHVISION)
def test_torchvision_parameter_counts(name, aux, params):
    assert sum(p.numel() for p in build_model(name, 21, aux=aux).parameters()) == params


def test_every_zoo_model_is_pinned():
    assert sorted(PINNED) == list_models()
    got = {name: sum(p.numel() for p in build_model(name, 21).parameters()) for name in PINNED}
    assert got == PINNED


def test_gflops_match_torchvision_published_figures():
    # torchvision lists 2.086 and 10.452 "GFLOPS" (multiply-adds) at 520x520
    lraspp = model_info("lraspp_mobilenet_v3_large", size=(520, 520))
    assert lraspp["gflops"] == pytest.approx(2.086, abs=1e-3)
    info = model_info("deeplabv3_mobilenet_v3_large", size=(520, 520), aux=True)
    assert info == {"params": 11_029_328, "gflops": pytest.approx(10.452, abs=1e-3)}


def test_gmacs_of_known_layers_and_mode_is_restored():
    conv = torch.nn.Conv2d(8, 16, 3, padding=1, groups=2)
    assert count_gmacs(conv, (10, 10), in_channels=8) == pytest.approx(16 * 100 * 4 * 9 / 1e9)
    model = build_model("lraspp_mobilenet_v3_small").train()
    info = model_info(model, size=(64, 64))
    assert model.training and info["params"] == PINNED["lraspp_mobilenet_v3_small"]
    with pytest.raises(ConfigError, match="build options"):
        model_info(model, aux=True)
