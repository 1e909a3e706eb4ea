"""--resume continues the checkpoint's optimiser exactly: an explicit setting that differs is
refused naming the flag and both values, an unset one takes the checkpoint's, the log prints
what the run uses, and a checkpoint of another model or class count is refused clearly."""

import numpy as np
import pytest

from edgeseg.data.base import Sample
from edgeseg.data.synthetic import SyntheticScenes
from edgeseg.errors import ConfigError, ModelError
from edgeseg.train import TrainConfig, load_checkpoint, save_checkpoint, train

ONE_STEP = {"model": "lraspp_mobilenet_v3_small", "data": "synthetic", "size": (64, 64), "batch": 4,
            "num_train": 4, "num_val": 2, "seed": 3}


@pytest.fixture(scope="module")
def first_epoch(tmp_path_factory):
    """One epoch at an explicit lr 4e-3 (not the AdamW default 2e-3) and weight decay 0.05."""
    out = tmp_path_factory.mktemp("first_epoch")
    train(TrainConfig(**ONE_STEP, epochs=1, lr=4e-3, weight_decay=0.05, out=str(out)),
          log=lambda *a, **k: None, progress_file=None)
    return str(out / "last.pt")


def _resume(ckpt, out, **kw):
    lines = []
    cfg = TrainConfig(**{**ONE_STEP, "epochs": 2, "out": str(out), "resume": ckpt, **kw})
    train(cfg, log=lambda *a, **k: lines.append(" ".join(map(str, a))), progress_file=None)
    return "\n".join(lines)


def test_a_conflicting_lr_is_refused_naming_the_flag_and_both_values(first_epoch, tmp_path):
    with pytest.raises(ConfigError) as err:
        _resume(first_epoch, tmp_path, lr=1e-3)
    assert "--lr" in err.value.what and "0.004" in err.value.expected and "0.001" in err.value.got
    assert err.value.path == first_epoch and not (tmp_path / "last.pt").exists()


def test_every_conflicting_optimiser_flag_is_named_at_once(first_epoch, tmp_path):
    with pytest.raises(ConfigError) as err:
        _resume(first_epoch, tmp_path, optimizer="sgd", weight_decay=0.0, batch=2, num_train=8)
    for flag in ("--optimizer", "--weight-decay", "--batch"):
        assert flag in err.value.what
    assert "adamw" in err.value.expected and "sgd" in err.value.got


def test_unset_settings_take_the_checkpoint_values_and_the_log_says_so(first_epoch, tmp_path):
    log = _resume(first_epoch, tmp_path)  # no lr / weight_decay: the checkpoint's, not the defaults
    assert "lr 0.004" in log and "weight decay 0.05" in log and "lr 0.002" not in log
    ck = load_checkpoint(tmp_path / "last.pt")
    assert ck["epoch"] == 2 and ck["scheduler"]["base_lrs"][0] == pytest.approx(4e-3)
    assert ck["optimizer"]["param_groups"][0]["weight_decay"] == pytest.approx(0.05)
    assert ck["config"]["lr"] == pytest.approx(4e-3) and ck["config"]["weight_decay"] == pytest.approx(0.05)


def test_the_same_explicit_lr_and_more_epochs_extend_the_run(first_epoch, tmp_path):
    log = _resume(first_epoch, tmp_path, lr=4e-3, epochs=3)
    assert "at epoch 1" in log and "3 epochs" in log and "lr 0.004" in log
    assert load_checkpoint(tmp_path / "last.pt")["epoch"] == 3


def test_a_finished_run_is_not_resumed_silently(first_epoch, tmp_path):
    with pytest.raises(ConfigError, match="--epochs") as err:
        _resume(first_epoch, tmp_path, epochs=1)
    assert "> 1" in err.value.expected


def test_a_checkpoint_of_another_model_is_a_model_error_naming_both(first_epoch, tmp_path):
    with pytest.raises(ModelError) as err:
        _resume(first_epoch, tmp_path, model="fcn_mobilenet_v3_small")
    assert "fcn_mobilenet_v3_small" in err.value.expected and "lraspp_mobilenet_v3_small" in err.value.got


class ThreeClasses:
    """Synthetic scenes folded onto three classes: data with another class count."""

    classes, palette = ("a", "b", "c"), ((0, 0, 0), (255, 0, 0), (0, 255, 0))

    def __init__(self, num):
        self.scenes = SyntheticScenes(num, size=(64, 64), seed=1)

    def __len__(self):
        return len(self.scenes)

    def __getitem__(self, i):
        s = self.scenes[i]
        return Sample(s.image, (s.mask % 3).astype(np.uint8), s.name)


def test_a_checkpoint_with_another_class_count_is_a_model_error_naming_both(first_epoch, tmp_path):
    cfg = TrainConfig(**{**ONE_STEP, "epochs": 2, "out": str(tmp_path), "resume": first_epoch})
    with pytest.raises(ModelError) as err:
        train(cfg, train_data=ThreeClasses(4), val_data=ThreeClasses(2), log=lambda *a, **k: None,
              progress_file=None)
    assert "6 classes" in err.value.expected and "sky" in err.value.expected
    assert "3 classes" in err.value.got and "a, b, c" in err.value.got
    assert err.value.path == first_epoch


def test_another_output_stride_is_refused_as_a_conflict(first_epoch, tmp_path):
    with pytest.raises(ConfigError, match="--output-stride") as err:
        _resume(first_epoch, tmp_path, output_stride=8)
    assert "16" in err.value.expected and "8" in err.value.got


def test_weights_that_do_not_fit_the_model_are_a_model_error(first_epoch, tmp_path):
    ck = load_checkpoint(first_epoch)
    dropped = min(ck["model"])
    del ck["model"][dropped]
    save_checkpoint(tmp_path / "cut.pt", {k: v for k, v in ck.items() if k != "format"})
    with pytest.raises(ModelError, match="does not fit") as err:
        _resume(str(tmp_path / "cut.pt"), tmp_path / "out")
    assert dropped in err.value.got and err.value.path == str(tmp_path / "cut.pt")
