"""Quantize's temp folders carry the PID, and a run removes those that killed runs left behind."""

import os
import subprocess
import sys
import tempfile

import pytest

from edgeseg.quantize.api import quantize_model
from edgeseg.utils.atomic import pid_alive

from .test_quantize_inputs import QUIET, _calib, _model

PREFIXES = ("edgeseg-quantize-", "edgeseg-calib-", "edgeseg-quant-")


def _dead_pid() -> int:
    """The id of a process that has exited (and been reaped), checked to be free."""
    for _ in range(20):
        proc = subprocess.Popen([sys.executable, "-c", "pass"])
        proc.wait()
        if not pid_alive(proc.pid):
            return proc.pid
    pytest.skip("every exited child's pid was reused at once")


@pytest.fixture
def temp_root(tmp_path, monkeypatch):
    root = tmp_path / "tmp"
    root.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(root))
    return root


def test_a_run_removes_the_temp_folders_of_dead_runs_only(tmp_path, temp_root):
    dead, live = _dead_pid(), os.getpid()
    planted = {}
    for prefix in PREFIXES:
        for who, pid in (("dead", dead), ("live", live)):
            folder = temp_root / f"{prefix}pid{pid}-abc"
            folder.mkdir()
            (folder / "prepared.onnx").write_bytes(b"left by a killed run")
            planted[prefix, who] = folder
    model = _model(tmp_path / "model.onnx")
    quantize_model(model, _calib(), str(tmp_path / "q.onnx"), method="minmax", target="cpu", **QUIET)
    assert (tmp_path / "q.onnx").exists()
    for (prefix, who), folder in planted.items():
        assert folder.exists() == (who == "live"), (prefix, who)
    # and the run's own folders are gone too: only the live plants are left
    assert sorted(os.listdir(temp_root)) == sorted(f.name for (_, w), f in planted.items() if w == "live")

