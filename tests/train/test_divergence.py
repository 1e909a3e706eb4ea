"""A run that diverges never writes non-finite numbers, and its message says which checkpoint is
really the last good one (or that there is none)."""

import os
import shutil
from pathlib import Path

import pytest
import torch

from edgeseg.errors import ModelError
from edgeseg.train import TrainConfig, TrainingDiverged, load_checkpoint, train
from edgeseg.train.checkpoint import build_from_checkpoint, check_finite, save_checkpoint

# One step per epoch. At lr 1e6 that one step leaves finite weights so large that the eval-mode
# network outputs NaN: such a checkpoint is as unusable as one holding NaN.
ONE_STEP = {"model": "lraspp_mobilenet_v3_small", "data": "synthetic", "size": (64, 64), "batch": 4,
            "num_train": 4, "num_val": 2, "seed": 3, "warmup_epochs": 0.0}
# CE's weighted mean sums the weight of every pixel: 4 x 64 x 64 x 1e38 overflows, the loss is nan.
OVERFLOWING_CLASS_WEIGHTS = (1e38,) * 6


def _quiet(cfg):
    return train(cfg, log=lambda *a, **k: None, progress_file=None)


def test_non_finite_weights_are_never_saved_and_no_checkpoint_is_claimed(tmp_path):
    with pytest.raises(TrainingDiverged) as err:
        _quiet(TrainConfig(**ONE_STEP, epochs=1, lr=1e6, out=str(tmp_path)))
    assert "non-finite" in err.value.what and "epoch 1" in err.value.what and "1e+06" in err.value.got
    assert err.value.kept is None and "no checkpoint" in err.value.fix
    assert "last good checkpoint" not in str(err.value)
    assert not (tmp_path / "last.pt").exists() and not (tmp_path / "best.pt").exists()


def _overflowing_plan(ckpt):
    """Give the checkpoint's run class weights that overflow: a resume (exact, with the checkpoint's
    settings) computes a nan loss at its first step, from finite weights."""
    ck = load_checkpoint(ckpt)
    ck["config"]["class_weights"] = OVERFLOWING_CLASS_WEIGHTS
    save_checkpoint(ckpt, ck)


def test_loss_nan_on_a_resumed_run_names_the_checkpoint_it_resumed_from(tmp_path):
    first = _quiet(TrainConfig(**ONE_STEP, epochs=1, out=str(tmp_path / "a")))
    _overflowing_plan(first.last_checkpoint)
    good = Path(first.last_checkpoint).read_bytes()
    with pytest.raises(TrainingDiverged, match="nan") as err:
        _quiet(TrainConfig(**ONE_STEP, epochs=2, out=str(tmp_path / "b"), resume=first.last_checkpoint))
    # b/last.pt was never written: the good checkpoint is the one the run resumed from
    assert err.value.kept == first.last_checkpoint and first.last_checkpoint in err.value.fix
    assert not (tmp_path / "b" / "last.pt").exists()
    assert Path(first.last_checkpoint).read_bytes() == good


def test_loss_nan_keeps_the_last_pt_of_the_same_folder(tmp_path):
    _quiet(TrainConfig(**ONE_STEP, epochs=1, out=str(tmp_path)))
    _overflowing_plan(tmp_path / "last.pt")
    good = (tmp_path / "last.pt").read_bytes()
    with pytest.raises(TrainingDiverged) as err:
        _quiet(TrainConfig(**ONE_STEP, epochs=2, out=str(tmp_path), resume=str(tmp_path / "last.pt")))
    assert err.value.kept == str(tmp_path / "last.pt") and "epoch 1" in err.value.fix
    assert (tmp_path / "last.pt").read_bytes() == good


def _poisoned_copy(src, dst):
    ck = load_checkpoint(src)
    name = next(k for k, v in ck["model"].items() if v.is_floating_point())
    ck["model"][name] = torch.full_like(ck["model"][name], float("nan"))
    torch.save(ck, dst)  # save_checkpoint itself refuses to write NaN
    return name


def test_a_checkpoint_with_nan_weights_is_refused_for_use_and_for_resume(tiny_run, tmp_path):
    bad = str(tmp_path / "nan.pt")
    name = _poisoned_copy(tiny_run.last_checkpoint, bad)
    with pytest.raises(ModelError, match="non-finite") as err:
        build_from_checkpoint(bad)
    assert err.value.path == bad and name in err.value.got
    with pytest.raises(ModelError, match="non-finite"):
        _quiet(TrainConfig(model="lraspp_mobilenet_v3_small", size=(64, 64), batch=8, epochs=4,
                           num_train=96, num_val=16, lr=5e-3, loss="ce+dice", out=str(tmp_path / "r"),
                           resume=bad))
    assert not os.path.exists(tmp_path / "r" / "last.pt")


def test_save_checkpoint_refuses_non_finite_weights(tmp_path):
    with pytest.raises(ModelError, match="non-finite"):
        save_checkpoint(tmp_path / "x.pt", {"model": {"w": torch.tensor([float("nan")])}})
    assert not (tmp_path / "x.pt").exists()


def test_pretrained_weights_with_nan_are_refused():
    from edgeseg.models import build_model, load_pretrained
    state = build_model("lraspp_mobilenet_v3_small", num_classes=2).state_dict()
    state["classifier.low_classifier.bias"] = torch.full_like(state["classifier.low_classifier.bias"], float("nan"))
    with pytest.raises(ModelError, match="non-finite") as err:
        load_pretrained(build_model("lraspp_mobilenet_v3_small", num_classes=2), state)
    assert "classifier.low_classifier.bias (2 nan of 2)" in err.value.got


def test_check_finite_walks_nested_state_and_ignores_integer_tensors():
    check_finite({"w": torch.ones(2), "n": torch.tensor(3), "opt": {"state": {0: {"m": torch.zeros(1)}}}}, "x")
    with pytest.raises(ModelError) as err:
        check_finite({"opt": {"state": {0: {"exp_avg": torch.tensor([1.0, float("inf")])}}}}, "x.pt",
                     what="optimizer state")
    assert "opt.state.0.exp_avg" in err.value.got and "1 inf" in err.value.got
    assert err.value.expected == "finite optimizer state"


def test_a_finite_checkpoint_passes(tiny_run, tmp_path):
    shutil.copy(tiny_run.last_checkpoint, tmp_path / "ok.pt")
    model, meta = build_from_checkpoint(str(tmp_path / "ok.pt"))
    assert meta.num_classes == 6 and not model.training
