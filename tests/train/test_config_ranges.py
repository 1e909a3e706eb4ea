"""Bad training options fail before any data is rendered: in TrainConfig (the Python API) with a
ConfigError naming the field and its range, and in ``edgeseg train``'s parser (exit 2)."""

import argparse

import pytest

from edgeseg.cli.train import add_args
from edgeseg.errors import ConfigError
from edgeseg.train.config import TrainConfig

NAN, INF = float("nan"), float("inf")


@pytest.mark.parametrize("field, value, expected", [
    ("lr", NAN, "> 0"), ("lr", 0.0, "> 0"), ("lr", -1e-3, "> 0"), ("lr", INF, "> 0"),
    ("workers", -1, ">= 0"), ("val_every", 0, ">= 1"), ("epochs", 0, ">= 1"), ("batch", 0, ">= 1"),
    ("num_train", 0, ">= 1"), ("num_val", 0, ">= 1"), ("epochs", 2.5, "integer"), ("batch", True, "integer"),
    ("seed", -1, ">= 0"), ("weight_decay", -1.0, ">= 0"), ("warmup_epochs", NAN, ">= 0"),
    ("poly_power", -1.0, ">= 0"), ("aux_weight", -0.5, ">= 0"), ("grad_clip", NAN, ">= 0"),
    ("bn_momentum", 1.5, "<= 1"), ("momentum", 1.0, "< 1"), ("ohem_thresh", 0.0, "> 0"),
    ("ohem_min_kept", 0, ">= 1"), ("max_minutes", 0.0, "> 0"), ("max_minutes", NAN, "> 0"),
    ("class_weights", (1.0, NAN), ">= 0"), ("class_weights", (1.0, -2.0), ">= 0"),
    ("class_weights", (0.0, 0.0), "one > 0"), ("class_weights", (), "one > 0"),
])
def test_config_refuses_out_of_range_values_naming_the_field(field, value, expected):
    with pytest.raises(ConfigError) as err:
        TrainConfig(model="m", **{field: value})
    assert field in err.value.what and "--" in err.value.what
    assert expected in err.value.expected and err.value.got is not None


def test_config_refuses_an_out_that_is_a_file(tmp_path):
    f = tmp_path / "runs"
    f.write_text("x")
    with pytest.raises(ConfigError, match=r"out \(--out\)") as err:
        TrainConfig(model="m", out=str(f))
    assert "folder" in err.value.expected


def test_paths_are_kept_as_plain_strings(tmp_path):
    # a pathlib.Path in the config would be pickled into the checkpoint, which then loads only unsafely
    cfg = TrainConfig(model="m", out=tmp_path / "run", resume=tmp_path / "last.pt")
    assert cfg.out == str(tmp_path / "run") and type(cfg.resume) is str


def test_config_refuses_resume_with_pretrained():
    with pytest.raises(ConfigError, match="--pretrained"):
        TrainConfig(model="m", resume="runs/last.pt", pretrained="x.pth")


@pytest.mark.parametrize("field, value", [("num_train", 1), ("num_val", 1), ("workers", 0), ("seed", 0),
                                          ("grad_clip", 0.0), ("weight_decay", 0.0), ("warmup_epochs", 0.0),
                                          ("lr", 1e-6), ("class_weights", (0.0, 1.0))])
def test_config_keeps_edge_values_that_are_valid(field, value):
    assert getattr(TrainConfig(model="m", **{field: value}), field) == value


def _parse(argv):
    p = argparse.ArgumentParser(prog="edgeseg train")
    add_args(p)
    return p.parse_args(["--model", "m", *argv])


BAD_FLAGS = [(["--lr", "nan"], "--lr"), (["--lr", "0"], "--lr"), (["--lr", "-1"], "--lr"),
             (["--workers", "-1"], "--workers"), (["--val-every", "0"], "--val-every"),
             (["--epochs", "0"], "--epochs"), (["--batch", "0"], "--batch"),
             (["--num-train", "0"], "--num-train"), (["--num-val", "0"], "--num-val"),
             (["--seed", "-1"], "--seed"), (["--weight-decay", "-1"], "--weight-decay"),
             (["--warmup-epochs", "nan"], "--warmup-epochs"), (["--aux-weight", "-1"], "--aux-weight"),
             (["--grad-clip", "-1"], "--grad-clip"), (["--bn-momentum", "2"], "--bn-momentum"),
             (["--max-minutes", "0"], "--max-minutes"), (["--class-weights", "1,nan"], "--class-weights"),
             (["--class-weights", "0,0"], "--class-weights"), (["--size", "0x64"], "--size")]


@pytest.mark.parametrize("argv, flag", BAD_FLAGS)
def test_cli_refuses_bad_values_at_parse_time(argv, flag, capsys):
    with pytest.raises(SystemExit) as exit_:
        _parse(argv)
    err = capsys.readouterr().err
    assert exit_.value.code == 2 and f"argument {flag}" in err and "expected" in err and "Traceback" not in err


def test_cli_refuses_an_out_that_is_a_file(tmp_path, capsys):
    (tmp_path / "f").write_text("x")
    with pytest.raises(SystemExit):
        _parse(["--out", str(tmp_path / "f")])
    assert "argument --out" in capsys.readouterr().err


def test_cli_values_reach_the_config_unchanged():
    a = _parse(["--num-train", "1", "--workers", "0", "--lr", "0.004", "--class-weights", "0,1.5"])
    assert (a.num_train, a.workers, a.lr, a.class_weights) == (1, 0, 0.004, (0.0, 1.5))
