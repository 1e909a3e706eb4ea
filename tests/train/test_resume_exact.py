"""--resume is exact: a resumed run uses the checkpoint's saved settings, and only what the user
really passed overrides them. A default is never mistaken for a flag: resuming an SGD / batch-4
run with nothing but ``--resume`` (and perhaps ``--epochs``) is not refused for "--optimizer" or
"--batch", and nothing falls back to a default (loss, warm-up, aux head, size, data...)."""

import shutil

import pytest

from edgeseg.cli import EXIT_USAGE, main
from edgeseg.errors import ConfigError
from edgeseg.train import TrainConfig, load_checkpoint, train

MODEL = "lraspp_mobilenet_v3_small"
# Nothing here is a TrainConfig default: a resume that fell back on one would show.
PLAN = {"model": MODEL, "data": "synthetic:8", "size": (64, 64), "batch": 4, "optimizer": "sgd", "lr": 5e-3,
        "weight_decay": 1e-3, "loss": "ce+dice", "warmup_epochs": 0.0, "poly_power": 2.0, "grad_clip": 1.0,
        "seed": 3}


def _run(cfg):
    lines = []
    train(cfg, log=lambda *a, **k: lines.append(" ".join(map(str, a))), progress_file=None)
    return "\n".join(lines)


@pytest.fixture(scope="module")
def stopped(tmp_path_factory):
    """A run planned for 2 epochs that stopped after the first (--max-minutes, as a crash would)."""
    out = tmp_path_factory.mktemp("stopped")
    train(TrainConfig(**PLAN, epochs=2, max_minutes=1e-9, out=str(out)), log=lambda *a, **k: None,
          progress_file=None)
    assert load_checkpoint(out / "last.pt")["epoch"] == 1
    return str(out / "last.pt")


def _copy(ckpt, folder):
    folder.mkdir()
    shutil.copy(ckpt, folder / "last.pt")
    return str(folder / "last.pt")


@pytest.fixture(scope="module")
def finished(stopped, tmp_path_factory):
    """The stopped run resumed with nothing but --resume: (its last.pt, the log)."""
    ckpt = _copy(stopped, tmp_path_factory.mktemp("finished") / "run")
    return ckpt, _run(TrainConfig(model=MODEL, resume=ckpt))


def test_resume_without_epochs_finishes_the_checkpoints_plan_in_its_folder(finished):
    ckpt, log = finished
    ck = load_checkpoint(ckpt)  # no --out: the run goes on where its last.pt is
    assert ck["epoch"] == 2 and ck["config"]["epochs"] == 2 and len(ck["history"]) == 2
    assert "at epoch 1" in log and "2 epochs" in log


def test_a_finished_plan_without_epochs_says_nothing_to_resume(finished, tmp_path):
    ckpt, _ = finished
    with pytest.raises(ConfigError, match="nothing to resume") as err:
        train(TrainConfig(model=MODEL, resume=ckpt, out=str(tmp_path)), log=lambda *a, **k: None,
              progress_file=None)
    assert "> 2" in err.value.expected and "--epochs" in err.value.fix and err.value.path == ckpt


def test_resume_with_only_epochs_uses_the_checkpoints_settings_and_recomputes_the_schedule(stopped, tmp_path):
    # --epochs, --out, --val-every, --device and --max-minutes may differ: they change no optimisation
    log = _run(TrainConfig(model=MODEL, resume=stopped, epochs=3, out=str(tmp_path), val_every=5, device="cpu",
                           max_minutes=60.0))
    ck = load_checkpoint(tmp_path / "last.pt")
    assert ck["epoch"] == 3 and [h["epoch"] for h in ck["history"]] == [1, 2, 3]
    assert "val_miou" not in ck["history"][1] and "val_miou" in ck["history"][2]  # --val-every 5 (and the last)
    saved = ck["config"]
    for name, value in PLAN.items():
        assert saved[name] == (pytest.approx(value) if isinstance(value, float) else value), name
    assert saved["epochs"] == 3 and saved["max_minutes"] == 60.0
    assert ck["scheduler"]["base_lrs"][0] == pytest.approx(5e-3)
    assert ck["optimizer"]["param_groups"][0]["momentum"] == pytest.approx(0.9)
    assert ck["optimizer"]["param_groups"][0]["lr"] == 0.0  # the poly schedule ends at the new total
    for words in ("sgd lr 0.005", "weight decay 0.001", "batch 4", "loss ce+dice", "3 epochs", "64x64",
                  "synthetic:8"):
        assert words in log, words


@pytest.mark.parametrize("given, flag, saved, got", [
    ({"optimizer": "adamw"}, "--optimizer", "sgd", "adamw"),
    ({"batch": 2}, "--batch", "4", "2"),
    ({"lr": 1e-3}, "--lr", "0.005", "0.001"),
    ({"loss": "ce"}, "--loss", "ce+dice", "ce"),
    ({"warmup_epochs": 0.5}, "--warmup-epochs", "0", "0.5"),
    ({"size": (96, 96)}, "--size", "64x64", "96x96"),
    ({"grad_clip": None}, "--grad-clip", "1", "off"),
    ({"class_weights": (1.0, 2.0, 1.0, 1.0, 1.0, 1.0)}, "--class-weights", "none", "1,2,1,1,1,1"),
    ({"data": "synthetic"}, "--data", "synthetic:8", "synthetic"),
    ({"seed": 0}, "--seed", "3", "0"),
    ({"aux": True}, "--aux", "off", "on"),
])
def test_an_explicit_flag_that_changes_the_run_is_refused_naming_it_and_both_values(stopped, tmp_path, given,
                                                                                      flag, saved, got):
    with pytest.raises(ConfigError) as err:
        train(TrainConfig(model=MODEL, resume=stopped, out=str(tmp_path), **given), log=lambda *a, **k: None,
              progress_file=None)
    others = ("--optimizer", "--batch", "--lr", "--loss", "--size", "--seed")
    assert flag in err.value.what and not any(f in err.value.what for f in others if f != flag)
    assert f"{flag} {saved}" in err.value.expected and f"{flag} {got}" in err.value.got
    assert err.value.path == stopped and not (tmp_path / "last.pt").exists()


def test_an_aux_run_resumes_with_its_aux_head(tmp_path):
    aux_plan = {"model": "fcn_mobilenet_v3_small", "data": "synthetic:4", "size": (64, 64), "batch": 4, "aux": True}
    train(TrainConfig(**aux_plan, epochs=1, out=str(tmp_path)), log=lambda *a, **k: None, progress_file=None)
    _run(TrainConfig(model="fcn_mobilenet_v3_small", resume=str(tmp_path / "last.pt"), epochs=2))
    ck = load_checkpoint(tmp_path / "last.pt")
    assert ck["epoch"] == 2 and ck["config"]["aux"] is True and ck["model_args"]["aux"] is True


def test_the_cli_resumes_with_only_resume_and_epochs_and_refuses_a_real_conflict(stopped, tmp_path, capsys):
    ckpt = _copy(stopped, tmp_path / "run")
    assert main(["train", "--model", MODEL, "--resume", ckpt, "--epochs", "3"]) == 0
    ck = load_checkpoint(ckpt)
    assert ck["epoch"] == 3 and ck["config"]["optimizer"] == "sgd" and ck["config"]["batch"] == 4
    assert ck["config"]["data"] == "synthetic:8" and ck["config"]["loss"] == "ce+dice"
    out = capsys.readouterr()
    assert "sgd lr 0.005" in out.out and "batch 4" in out.out
    assert main(["train", "--model", MODEL, "--resume", stopped, "--loss", "ce", "--out", str(tmp_path / "x")]) \
        == EXIT_USAGE
    err = capsys.readouterr().err
    assert "--loss conflicts" in err and "--loss ce+dice" in err and "--optimizer" not in err.split("fix:")[0]
    assert not (tmp_path / "x" / "last.pt").exists()


def test_config_records_which_fields_were_given():
    cfg = TrainConfig(MODEL, "synthetic:8", epochs=3)
    assert cfg.given == {"model", "data", "epochs"}
    assert cfg.replace(batch=2).given == {"model", "data", "epochs", "batch"}
    assert TrainConfig.from_dict(cfg.to_dict()).given == set(cfg.to_dict())
