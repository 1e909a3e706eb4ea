"""Loading torchvision checkpoints without torchvision: fake state_dicts from the key fixture."""

from __future__ import annotations

import urllib.error

import pytest
import torch

from edgeseg.errors import ConfigError, ModelError
from edgeseg.models import CHECKPOINTS, build_model, load_pretrained
from edgeseg.models.mobilenet_v2 import mobilenet_v2
from edgeseg.models.mobilenet_v3 import mobilenet_v3_large, mobilenet_v3_small

PUBLISHED = {  # torchvision 0.28's file names (hash prefix checked on download)
    "mobilenet_v2": "mobilenet_v2-b0353104.pth",
    "mobilenet_v2.imagenet1k_v2": "mobilenet_v2-7ebf99e0.pth",
    "mobilenet_v3_large": "mobilenet_v3_large-8738ca79.pth",
    "mobilenet_v3_large.imagenet1k_v2": "mobilenet_v3_large-5c1a4163.pth",
    "mobilenet_v3_small": "mobilenet_v3_small-047dcff4.pth",
    "deeplabv3_mobilenet_v3_large": "deeplabv3_mobilenet_v3_large-fc3c493d.pth",
    "lraspp_mobilenet_v3_large": "lraspp_mobilenet_v3_large-d234d4ea.pth",
}

# ImageNet checkpoint -> (bare backbone, a zoo model on that backbone)
IMAGENET_TARGETS = {
    "mobilenet_v2": (mobilenet_v2, "deeplabv3plus_mobilenet_v2"),
    "mobilenet_v3_large": (mobilenet_v3_large, "lraspp_mobilenet_v3_large"),
    "mobilenet_v3_small": (mobilenet_v3_small, "unet_mobilenet_v3_small"),
}


def fake_state_dict(keys_and_shapes, seed=0):
    g = torch.Generator().manual_seed(seed)
    return {k: (torch.tensor(7, dtype=torch.long) if k.endswith("num_batches_tracked")
                else torch.randn(shape, generator=g)) for k, shape in keys_and_shapes}


def assert_landed(state, model_state, rename):
    """Every checkpoint tensor (but the ImageNet classifier) is in the model, value for value."""
    landed = 0
    for key, value in state.items():
        if key.startswith("classifier.") and rename is not None:
            continue
        ours = model_state[rename(key) if rename else key]
        assert ours.shape == value.shape and torch.equal(ours, value), key
        landed += 1
    return landed


def test_published_urls():
    assert {n: c.file_name for n, c in CHECKPOINTS.items()} == PUBLISHED
    assert all(c.url == "https://download.pytorch.org/models/" + c.file_name for c in CHECKPOINTS.values())


@pytest.mark.parametrize("name", IMAGENET_TARGETS)
def test_imagenet_checkpoint_maps_features_onto_the_backbone(name, tv_keys, tmp_path):
    state = fake_state_dict(tv_keys[name])
    assert any(k.startswith("classifier.") for k in state)
    path = tmp_path / f"{name}.pth"
    torch.save(state, path)
    make_backbone, model_name = IMAGENET_TARGETS[name]

    backbone = load_pretrained(make_backbone(output_stride=16), path)
    n = assert_landed(state, backbone.state_dict(), lambda k: k[len("features."):])
    assert n == len(backbone.state_dict())

    model = build_model(model_name, num_classes=5, pretrained_backbone=str(path))
    assert_landed(state, model.state_dict(), lambda k: "backbone." + k[len("features."):])
    assert model.backbone[0][0].weight[0, 0, 0, 0] == state["features.0.0.weight"][0, 0, 0, 0]


def test_old_checkpoints_without_num_batches_tracked_load(tv_keys, tmp_path):
    # mobilenet_v2-b0353104.pth predates BatchNorm's num_batches_tracked buffer
    state = {k: v for k, v in fake_state_dict(tv_keys["mobilenet_v2"]).items()
             if not k.endswith("num_batches_tracked")}
    torch.save(state, tmp_path / "old.pth")
    model = load_pretrained(build_model("fcn_mobilenet_v2"), tmp_path / "old.pth")
    assert torch.equal(model.backbone[18][1].running_var, state["features.18.1.running_var"])


@pytest.mark.parametrize("name", ["deeplabv3_mobilenet_v3_large", "lraspp_mobilenet_v3_large"])
def test_segmentation_checkpoint_loads_key_for_key(name, tv_keys, tmp_path):
    state = fake_state_dict(tv_keys[name])
    torch.save(state, tmp_path / "seg.pth")
    aux = any(k.startswith("aux_classifier.") for k in state)
    model = load_pretrained(build_model(name, 21, aux=aux), tmp_path / "seg.pth")
    assert list(model.state_dict()) == [k for k, _ in tv_keys[name]]  # same keys, same order
    assert assert_landed(state, model.state_dict(), None) == len(state)


def test_aux_head_is_dropped_for_a_model_without_one(tv_keys, tmp_path):
    state = fake_state_dict(tv_keys["deeplabv3_mobilenet_v3_large"])
    torch.save(state, tmp_path / "dl.pth")
    model = load_pretrained(build_model("deeplabv3_mobilenet_v3_large"), tmp_path / "dl.pth")
    assert torch.equal(model.classifier[4].bias, state["classifier.4.bias"])
    assert not model.has_aux


def test_segmentation_checkpoint_fills_a_bare_backbone(tv_keys):
    state = fake_state_dict(tv_keys["lraspp_mobilenet_v3_large"])
    backbone = load_pretrained(mobilenet_v3_large(output_stride=16), state)
    assert torch.equal(backbone[16][0].weight, state["backbone.16.0.weight"])


def test_mismatches_list_the_first_keys(tv_keys, tmp_path):
    state = fake_state_dict(tv_keys["lraspp_mobilenet_v3_large"])
    torch.save(state, tmp_path / "lraspp.pth")
    with pytest.raises(ModelError) as err:  # 21-class checkpoint into a 3-class model
        load_pretrained(build_model("lraspp_mobilenet_v3_large", 3), tmp_path / "lraspp.pth")
    assert "shape: classifier.low_classifier.weight (21, 40, 1, 1) != (3, 40, 1, 1)" in str(err.value)
    assert "lraspp.pth" in str(err.value)
    with pytest.raises(ModelError, match=r"missing: .*\(\+\d+ more\)"):  # a different backbone
        load_pretrained(build_model("lraspp_mobilenet_v3_small"), tmp_path / "lraspp.pth")
    no_aux = {k: v for k, v in fake_state_dict(tv_keys["deeplabv3_mobilenet_v3_large"]).items()
              if not k.startswith("aux_classifier.")}
    with pytest.raises(ModelError, match="missing: aux_classifier.0.weight"):
        load_pretrained(build_model("deeplabv3_mobilenet_v3_large", aux=True), no_aux)


def test_unwraps_training_checkpoints_and_ddp_prefixes(tmp_path):
    src = build_model("fcn_mobilenet_v3_small", 2)
    wrapped = {"epoch": 3, "model": {"module." + k: v for k, v in src.state_dict().items()}}
    torch.save(wrapped, tmp_path / "ckpt.pth")
    dst = load_pretrained(build_model("fcn_mobilenet_v3_small", 2), tmp_path / "ckpt.pth")
    assert torch.equal(dst.classifier[4].weight, src.classifier[4].weight)


def test_unreadable_or_foreign_files(tmp_path):
    (tmp_path / "junk.pth").write_bytes(b"not a checkpoint")
    with pytest.raises(ModelError, match="could not read checkpoint"):
        load_pretrained(build_model("fcn_mobilenet_v3_small"), tmp_path / "junk.pth")
    torch.save([1, 2, 3], tmp_path / "list.pth")
    with pytest.raises(ModelError, match="not a state_dict"):
        load_pretrained(build_model("fcn_mobilenet_v3_small"), tmp_path / "list.pth")
    with pytest.raises(ModelError, match="unusable weights source"):
        load_pretrained(build_model("fcn_mobilenet_v3_small"), 42)
    with pytest.raises(ModelError, match="did you mean 'mobilenet_v3_small'"):
        load_pretrained(build_model("fcn_mobilenet_v3_small"), "mobilenet_v3_smal")


def no_network(*args, **kwargs):
    raise urllib.error.URLError("[Errno -3] Temporary failure in name resolution")


def test_known_name_downloads_through_the_hub_cache(monkeypatch, tv_keys):
    calls = []

    def fake_hub(url, **kwargs):
        calls.append((url, kwargs))
        return fake_state_dict(tv_keys["mobilenet_v3_small"])

    monkeypatch.setattr(torch.hub, "load_state_dict_from_url", fake_hub)
    model = build_model("lraspp_mobilenet_v3_small", pretrained_backbone=True)
    url, kwargs = calls[0]
    assert url == CHECKPOINTS["mobilenet_v3_small"].url
    assert kwargs["weights_only"] is True and kwargs["check_hash"] is True
    assert kwargs["map_location"] == "cpu"
    assert model.backbone.name == "mobilenet_v3_small"


def test_offline_download_says_to_pass_a_path(monkeypatch):
    monkeypatch.setattr(torch.hub, "load_state_dict_from_url", no_network)
    with pytest.raises(ModelError) as err:
        load_pretrained(build_model("lraspp_mobilenet_v3_large"), "lraspp_mobilenet_v3_large")
    text = str(err.value)
    assert "lraspp_mobilenet_v3_large-d234d4ea.pth" in text and "pass its path" in text
    assert "URLError" in text


def test_a_checkpoint_for_another_model_is_refused_before_downloading(monkeypatch):
    monkeypatch.setattr(torch.hub, "load_state_dict_from_url", no_network)
    with pytest.raises(ModelError, match="does not fit this model") as err:
        load_pretrained(build_model("fcn_mobilenet_v2"), "mobilenet_v3_large")
    assert "mobilenet_v2" in str(err.value)
    with pytest.raises(ModelError, match="deeplabv3_mobilenet_v3_large"):
        load_pretrained(build_model("lraspp_mobilenet_v3_large"), "deeplabv3_mobilenet_v3_large")


def test_width_mult_backbone_cannot_take_imagenet_weights(tv_keys):
    with pytest.raises(ModelError, match="shape"):
        load_pretrained(mobilenet_v3_small(width_mult=0.75), fake_state_dict(tv_keys["mobilenet_v3_small"]))
    with pytest.raises(ConfigError):
        build_model("lraspp_mobilenet_v3_small", pretrained_backbone=True, width_mult=0.75, nope=1)
