"""Training: exact resume, NaN stop keeping the last good checkpoint, 2-process DDP on gloo."""

import json
import os
import subprocess
import sys

import pytest
import torch

from edgeseg.train import TrainConfig, TrainingDiverged, load_checkpoint, save_checkpoint, train
from edgeseg.train.checkpoint import build_from_checkpoint
from edgeseg.train.datasets import epoch_indices

TINY = dict(model="lraspp_mobilenet_v3_small", data="synthetic", size=(64, 64), batch=4,
            num_train=8, num_val=4, seed=3)


def _quiet(cfg):
    return train(cfg, log=lambda *a, **k: None, progress_file=None)


def test_resumed_run_ends_with_the_same_weights(tmp_path):
    straight = _quiet(TrainConfig(**TINY, epochs=2, out=str(tmp_path / "a")))
    # An interrupted run: configured for 2 epochs, stopped after the first (as a crash would).
    cut = _quiet(TrainConfig(**TINY, epochs=2, out=str(tmp_path / "b"), max_minutes=1e-9))
    assert cut.epochs_run == 1 and load_checkpoint(tmp_path / "b" / "last.pt")["epoch"] == 1
    _quiet(TrainConfig(**TINY, epochs=2, out=str(tmp_path / "b"), resume=str(tmp_path / "b" / "last.pt")))
    a = load_checkpoint(straight.last_checkpoint)["model"]
    b = load_checkpoint(tmp_path / "b" / "last.pt")["model"]
    assert a.keys() == b.keys()
    assert all(torch.equal(a[k], b[k]) for k in a), "resume diverged from the uninterrupted run"


def test_checkpoint_carries_what_export_needs(tmp_path):
    r = _quiet(TrainConfig(**TINY, epochs=1, out=str(tmp_path)))
    model, meta = build_from_checkpoint(r.last_checkpoint)
    assert meta.model == TINY["model"] and meta.input_size == (64, 64)
    assert meta.classes[0] == "sky" and len(meta.palette) == meta.num_classes
    out = model(torch.zeros(1, 3, 64, 64))["out"]
    assert out.shape == (1, meta.num_classes, 64, 64)
    hist = json.loads((tmp_path / "history.json").read_text())
    assert hist[0]["epoch"] == 1 and 0 <= hist[0]["val_miou"] <= 1


def test_nan_loss_stops_and_keeps_last_good_checkpoint(tmp_path):
    _quiet(TrainConfig(**TINY, epochs=1, out=str(tmp_path)))
    ck = load_checkpoint(tmp_path / "last.pt")
    # the run's own plan overflows in its second epoch: CE's weighted mean of (1e38,) * 6 is nan
    ck["config"]["class_weights"] = (1e38,) * 6
    save_checkpoint(tmp_path / "last.pt", ck)
    good = (tmp_path / "last.pt").read_bytes()
    with pytest.raises(TrainingDiverged, match="nan") as err:
        _quiet(TrainConfig(**TINY, epochs=2, out=str(tmp_path), resume=str(tmp_path / "last.pt")))
    assert "last good checkpoint" in str(err.value)
    assert (tmp_path / "last.pt").read_bytes() == good
    assert load_checkpoint(tmp_path / "last.pt")["epoch"] == 1


def test_epoch_order_is_a_function_of_seed_and_epoch():
    assert epoch_indices(20, 3, 1) == epoch_indices(20, 3, 1)
    assert epoch_indices(20, 3, 1) != epoch_indices(20, 4, 1)
    shards = [epoch_indices(7, 0, 0, r, 2) for r in range(2)]
    assert len(shards[0]) == len(shards[1]) == 4 and set(shards[0]) | set(shards[1]) == set(range(7))


@pytest.mark.slow
def test_two_process_ddp_on_gloo(tmp_path):
    env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONUNBUFFERED": "1"}
    cmd = [sys.executable, "-m", "torch.distributed.run", "--nproc_per_node", "2",
           "--master_port", "29517", "-m", "edgeseg", "train", "--model", TINY["model"],
           "--data", "synthetic", "--size", "64x64", "--batch", "2", "--num-train", "8",
           "--num-val", "4", "--epochs", "2", "--out", str(tmp_path)]
    proc = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    hist = json.loads((tmp_path / "history.json").read_text())
    assert [h["epoch"] for h in hist] == [1, 2]
    assert all(h["replicas_in_sync"] for h in hist)
    # The all-reduced confusion matrix covers the whole val set, not one rank's half.
    assert hist[-1]["val_pixels"] == 4 * 64 * 64
    assert load_checkpoint(tmp_path / "last.pt")["config"]["batch"] == 2
