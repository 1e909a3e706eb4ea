"""Zoo models: output shapes at every supported output stride, attributes, registry errors."""

from __future__ import annotations

import math

import pytest
import torch

from edgeseg.errors import ConfigError
from edgeseg.models import SegmentationModel, build_model, list_models
from edgeseg.models.registry import MODELS, model_spec

REQUIRED = ["deeplabv3_mobilenet_v3_large", "deeplabv3_mobilenet_v2", "deeplabv3plus_mobilenet_v2",
            "deeplabv3plus_mobilenet_v3_large", "lraspp_mobilenet_v3_large",
            "lraspp_mobilenet_v3_small", "fcn_mobilenet_v2", "fcn_mobilenet_v3_large",
            "unet_mobilenet_v2"]

# stride of the logits before the final upsample, per head (None: the backbone's output stride)
LOGIT_STRIDE = {"deeplabv3": None, "deeplabv3plus": 4, "lraspp": 8, "fcn": None, "unet": 2}

CASES = [(name, os) for name in sorted(MODELS) for os in model_spec(name).output_strides]


def test_registry_has_the_required_models():
    assert set(REQUIRED) <= set(list_models())
    assert list_models() == sorted(MODELS)


@pytest.mark.parametrize("name,output_stride", CASES, ids=[f"{n}-os{s}" for n, s in CASES])
def test_out_and_aux_shapes(name, output_stride):
    spec = model_spec(name)
    model = build_model(name, num_classes=3, output_stride=output_stride, aux=spec.aux).eval()
    x = torch.randn(1, 3, 64, 48)
    with torch.no_grad():
        out = model(x)
    assert sorted(out) == (["aux", "out"] if spec.aux else ["out"])
    for tensor in out.values():
        assert tensor.shape == (1, 3, 64, 48) and torch.isfinite(tensor).all()
    # the declared output_stride is the real stride of the logits before the final upsample
    head = name.split("_mobilenet")[0]
    assert model.output_stride == (LOGIT_STRIDE[head] or output_stride)
    with torch.no_grad():
        logits = model.classifier(model.backbone.extract(x, model.return_layers))
    assert logits.shape[-2:] == (math.ceil(64 / model.output_stride), math.ceil(48 / model.output_stride))
    assert (model.name, model.num_classes, model.has_aux, model.backbone_stride) == (
        name, 3, spec.aux, output_stride)


@pytest.mark.parametrize("name", sorted(MODELS))
def test_default_output_stride_and_attributes(name):
    model = build_model(name)
    assert isinstance(model, SegmentationModel)
    assert model.backbone_stride == model_spec(name).default_output_stride
    assert (model.num_classes, model.has_aux) == (21, False)
    assert "aux" not in model.eval()(torch.zeros(1, 3, 32, 32))


def test_trains_in_train_mode():
    model = build_model("deeplabv3plus_mobilenet_v3_small", num_classes=2, aux=True).train()
    out = model(torch.randn(2, 3, 64, 64))
    loss = out["out"].mean() + 0.4 * out["aux"].mean()
    loss.backward()
    assert model.backbone[0][0].weight.grad is not None


def test_bn_momentum_reaches_every_batchnorm_and_eps_follows_torchvision():
    model = build_model("lraspp_mobilenet_v3_large", bn_momentum=0.05)
    backbone = {(m.eps, m.momentum) for m in model.backbone.modules() if isinstance(m, torch.nn.BatchNorm2d)}
    head = {(m.eps, m.momentum) for m in model.classifier.modules() if isinstance(m, torch.nn.BatchNorm2d)}
    assert backbone == {(0.001, 0.05)} and head == {(1e-5, 0.05)}
    assert {m.momentum for m in build_model("fcn_mobilenet_v2").modules()
            if isinstance(m, torch.nn.BatchNorm2d)} == {0.1}


def test_head_options():
    plain = build_model("deeplabv3plus_mobilenet_v2")
    light = build_model("deeplabv3plus_mobilenet_v2", separable=True)
    assert sum(p.numel() for p in light.parameters()) < 0.5 * sum(p.numel() for p in plain.parameters())
    rates = build_model("deeplabv3_mobilenet_v3_small", atrous_rates=(6, 12, 18))
    assert [b[0].dilation for b in rates.classifier[0].convs[1:4]] == [(6, 6), (12, 12), (18, 18)]
    assert build_model("lraspp_mobilenet_v3_small", inter_channels=64).classifier.cbr[0].out_channels == 64
    unet = build_model("unet_mobilenet_v3_small", decoder_channels=(32, 16, 16, 8)).eval()
    assert unet(torch.zeros(1, 3, 32, 32))["out"].shape == (1, 21, 32, 32)
    assert build_model("fcn_mobilenet_v3_small", width_mult=0.75).backbone.channels[-1] == 432


def test_unknown_model_suggests_close_names():
    with pytest.raises(ConfigError) as err:
        build_model("deeplabv3_mobilenetv3_large")
    text = str(err.value)
    assert "did you mean 'deeplabv3_mobilenet_v3_large'" in text
    assert "lraspp_mobilenet_v3_small" in text  # the list of names


@pytest.mark.parametrize("kwargs,match", [
    (dict(output_stride=4), "output_stride 4"),
    (dict(num_classes=0), "num_classes"),
    (dict(num_classes=2.5), "num_classes"),
    (dict(bn_momentum=1.5), "bn_momentum"),
    (dict(atrous_rates=(6, 12, 18)), "unknown option"),
])
def test_bad_options_raise_config_errors(kwargs, match):
    with pytest.raises(ConfigError, match=match):
        build_model("lraspp_mobilenet_v3_small", **kwargs)


def test_lraspp_refuses_aux_like_torchvision():
    with pytest.raises(ConfigError, match="no aux head") as err:
        build_model("lraspp_mobilenet_v3_large", aux=True)
    assert "fix:" in str(err.value)
