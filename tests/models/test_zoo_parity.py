"""Numerical parity with torchvision: golden outputs always, the real modules when importable."""

from __future__ import annotations

import importlib

import pytest
import torch

from edgeseg.models import build_model, load_pretrained
from edgeseg.models.mobilenet_v2 import mobilenet_v2
from edgeseg.models.mobilenet_v3 import mobilenet_v3_large, mobilenet_v3_small

# golden entry -> (torchvision state_dict fixture, our module built to take it)
OURS = {
    "mobilenet_v2": ("mobilenet_v2", lambda: mobilenet_v2(output_stride=32)),
    "mobilenet_v3_large": ("mobilenet_v3_large", lambda: mobilenet_v3_large(output_stride=32)),
    "mobilenet_v3_small": ("mobilenet_v3_small", lambda: mobilenet_v3_small(output_stride=32)),
    "mobilenet_v3_large@16": ("mobilenet_v3_large", lambda: mobilenet_v3_large(output_stride=16)),
    "mobilenet_v3_small@16": ("mobilenet_v3_small", lambda: mobilenet_v3_small(output_stride=16)),
    "deeplabv3_mobilenet_v3_large": ("deeplabv3_mobilenet_v3_large",
                                     lambda: build_model("deeplabv3_mobilenet_v3_large", 21, aux=True)),
    "lraspp_mobilenet_v3_large": ("lraspp_mobilenet_v3_large",
                                  lambda: build_model("lraspp_mobilenet_v3_large", 21)),
}


def run(module, x) -> dict[str, torch.Tensor]:
    with torch.no_grad():
        out = module.eval()(x)
    return out if isinstance(out, dict) else {"out": out}


def strided_slice(t: torch.Tensor) -> torch.Tensor:
    """The slice stored in the golden file: ``[0, ::C//8, ::H//4, ::W//4]`` (steps at least 1)."""
    _, c, h, w = t.shape
    return t[0, ::max(1, c // 8), ::max(1, h // 4), ::max(1, w // 4)].flatten()


@pytest.mark.parametrize("entry", OURS)
def test_reproduces_torchvision_golden_outputs(entry, tv_keys, tv_golden, make_state_dict, golden_x,
                                               tmp_path):
    fixture, build = OURS[entry]
    path = tmp_path / "golden.pth"
    torch.save(make_state_dict(tv_keys[fixture], seed=0), path)  # through the public loader, from a file
    outputs = run(load_pretrained(build(), path), golden_x)
    expected = tv_golden["models"][entry]
    assert sorted(outputs) == sorted(expected)
    for key, want in expected.items():
        got = outputs[key].double()
        assert list(got.shape) == want["shape"]
        assert got.mean().item() == pytest.approx(want["mean"], abs=1e-5)
        assert got.std().item() == pytest.approx(want["std"], abs=1e-4)
        assert got.abs().max().item() == pytest.approx(want["absmax"], abs=1e-4)
        torch.testing.assert_close(strided_slice(got), torch.tensor(want["slice"], dtype=torch.float64),
                                   atol=1e-4, rtol=0)


def _torchvision():
    try:
        return importlib.import_module("torchvision.models.segmentation")
    except Exception as exc:  # not installed, or a build whose C extension cannot load here
        pytest.skip(f"torchvision is not importable here ({type(exc).__name__}: {exc}); "
                    "parity stays covered by the golden outputs")


TORCHVISION_BUILDERS = {
    "deeplabv3_mobilenet_v3_large": lambda seg: seg.deeplabv3_mobilenet_v3_large(
        weights=None, weights_backbone=None, num_classes=21, aux_loss=True),
    "lraspp_mobilenet_v3_large": lambda seg: seg.lraspp_mobilenet_v3_large(
        weights=None, weights_backbone=None, num_classes=21),
}


@pytest.mark.parametrize("name", TORCHVISION_BUILDERS)
def test_matches_real_torchvision(name, make_state_dict, golden_x):
    seg = _torchvision()
    theirs = TORCHVISION_BUILDERS[name](seg)
    state = make_state_dict([(k, list(v.shape)) for k, v in theirs.state_dict().items()], seed=3)
    theirs.load_state_dict(state)
    ours = load_pretrained(OURS[name][1](), state)
    want, got = run(theirs, golden_x), run(ours, golden_x)
    assert sorted(want) == sorted(got)
    for key in want:
        torch.testing.assert_close(got[key], want[key], atol=1e-5, rtol=0)
