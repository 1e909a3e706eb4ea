"""Backbones: feature strides, feature levels, dilation, parameter counts."""

from __future__ import annotations

import pytest
import torch

from edgeseg.errors import ConfigError
from edgeseg.models.backbone import dilation_plan
from edgeseg.models.mobilenet_v2 import mobilenet_v2
from edgeseg.models.mobilenet_v3 import mobilenet_v3_large, mobilenet_v3_small

BACKBONES = {"mobilenet_v2": mobilenet_v2, "mobilenet_v3_large": mobilenet_v3_large,
             "mobilenet_v3_small": mobilenet_v3_small}

# torchvision's `features` parameter counts: the ImageNet model minus its classifier
TORCHVISION_FEATURE_PARAMS = {"mobilenet_v2": 2_223_872, "mobilenet_v3_large": 2_971_952,
                              "mobilenet_v3_small": 927_008}

# torchvision's "stage indices" (blocks that reduce resolution, plus the stem) per backbone
REDUCING_BLOCKS = {"mobilenet_v2": [0, 2, 4, 7, 14], "mobilenet_v3_large": [0, 2, 4, 7, 13],
                   "mobilenet_v3_small": [0, 1, 2, 4, 9]}


@pytest.mark.parametrize("name", BACKBONES)
@pytest.mark.parametrize("output_stride", [8, 16, 32])
def test_every_block_has_the_stride_it_claims(name, output_stride):
    net = BACKBONES[name](output_stride=output_stride).eval()
    x = torch.zeros(1, 3, 64, 64)
    feats = net.extract(x, {str(i): i for i in range(len(net))})
    for i in range(len(net)):
        stride = net.stride_of(i)
        assert stride == min(net.nominal_strides[i], output_stride)
        assert feats[str(i)].shape == (1, net.channels[i], 64 // stride, 64 // stride), i
    assert net(x).shape == feats[str(len(net) - 1)].shape
    assert net.output_stride == output_stride


@pytest.mark.parametrize("name", BACKBONES)
def test_reducing_blocks_are_flagged_like_torchvision(name):
    net = BACKBONES[name]()
    assert [i for i, r in enumerate(net.reduces) if r] == REDUCING_BLOCKS[name]
    # "first" at a stride is the reducing block, "last" is the end of the stage
    for stride, index in zip((2, 4, 8, 16, 32), REDUCING_BLOCKS[name]):
        assert net.feature_index(stride, "first") == index
        last = net.feature_index(stride, "last")
        assert net.nominal_strides[last] == stride
        assert last + 1 == len(net) or net.nominal_strides[last + 1] > stride


def test_feature_levels_used_by_the_heads():
    large = mobilenet_v3_large(output_stride=16)
    assert (large.feature_index(8), large.channels[4]) == (4, 40)   # LR-ASPP low / aux: C2
    assert (len(large) - 1, large.channels[-1]) == (16, 960)        # ASPP / LR-ASPP high: C5
    assert large.feature_index(4, "last") == 3                      # DeepLabV3+ low level
    assert mobilenet_v3_small().channels[mobilenet_v3_small().feature_index(8)] == 24


@pytest.mark.parametrize("name", BACKBONES)
def test_parameter_counts_match_torchvision_features(name):
    for output_stride in (8, 32):  # dilation changes no weight
        net = BACKBONES[name](output_stride=output_stride)
        assert sum(p.numel() for p in net.parameters()) == TORCHVISION_FEATURE_PARAMS[name]


def test_dilation_replaces_stride_like_torchvision():
    # torchvision mobilenet_v3_large(dilated=True): the C4 stage runs at stride 1, dilation 2
    net = mobilenet_v3_large(output_stride=16)
    dw = net[13].block[1][0]
    assert (dw.stride, dw.dilation, dw.padding) == ((1, 1), (2, 2), (4, 4))
    assert not net[13].use_res_connect and net[14].use_res_connect
    net8 = mobilenet_v3_large(output_stride=8)
    assert net8[7].block[1][0].dilation == (2, 2) and net8[13].block[1][0].dilation == (4, 4)
    assert dilation_plan([2, 2, 2, 2, 2], 8) == [(2, 1, 2), (2, 1, 4), (2, 1, 8), (1, 2, 16), (1, 4, 32)]


def test_batchnorm_settings():
    assert {(m.eps, m.momentum) for m in mobilenet_v3_large().modules()
            if isinstance(m, torch.nn.BatchNorm2d)} == {(0.001, 0.1)}
    assert {(m.eps, m.momentum) for m in mobilenet_v2(bn_momentum=0.01).modules()
            if isinstance(m, torch.nn.BatchNorm2d)} == {(1e-5, 0.01)}
    with pytest.raises(ConfigError, match="bn_momentum"):
        mobilenet_v3_small(bn_momentum=0.0)


def test_width_mult_scales_channels():
    net = mobilenet_v3_small(width_mult=0.5).eval()
    assert net.channels[-1] == 6 * 48 and net(torch.zeros(1, 3, 32, 32)).shape[1] == 288
    assert mobilenet_v2(width_mult=0.5).channels[:3] == (16, 8, 16)


def test_bad_requests_raise_config_errors():
    with pytest.raises(ConfigError, match="output_stride 4"):
        mobilenet_v2(output_stride=4)
    with pytest.raises(ConfigError, match="no feature level at stride 64"):
        mobilenet_v2().feature_index(64)
    with pytest.raises(ConfigError, match="unknown feature position"):
        mobilenet_v2().feature_index(8, "middle")
