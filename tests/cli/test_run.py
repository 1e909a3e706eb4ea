"""``edgeseg run`` arguments and runner (the lead wires it into cli.COMMANDS)."""

import argparse
import json
import os
import signal
import subprocess
import sys
import time

import cv2
import pytest

from edgeseg.cli import run as command
from edgeseg.utils.signals import stop_signals_interrupt


def test_run_command_end_to_end(tiny_onnx, tmp_path):
    p = argparse.ArgumentParser(prog="edgeseg run")
    command.add_args(p)
    args = p.parse_args(["synthetic://?size=64x96&fps=30&frames=5&live=0", "--model", tiny_onnx,
                         "--sink", f"masks://{tmp_path}/m", "--sink", f"file://{tmp_path}/o.mp4",
                         "--device", "cpu", "--stats-json", str(tmp_path / "stats.json"), "--report-every", "0"])
    assert command.run(args) == 0
    assert sorted(os.listdir(tmp_path / "m")) == [f"{i:06d}.png" for i in range(5)]
    stats = json.loads((tmp_path / "stats.json").read_text())
    assert stats["frames_out"] == 5 and stats["policy"] == "all"


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGHUP])
def test_service_stop_signals_drain_and_close_the_video(tiny_onnx, tmp_path, sig):
    # docker stop / systemctl stop send SIGTERM, a closed SSH session SIGHUP: the default action
    # kills Python mid-write and leaves an MP4 with no index
    out, stats_path = tmp_path / "live.mp4", tmp_path / "stats.json"
    proc = subprocess.Popen([sys.executable, "-m", "edgeseg", "run", "synthetic://?size=64x96&fps=30", "--model",
                             tiny_onnx, "--device", "cpu", "--sink", f"file://{out}", "--report-every", "0.3",
                             "--stats-json", str(stats_path)],
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        for line in proc.stdout:  # the first stats line: frames are being written
            if line.startswith("stream:"):
                break
        proc.send_signal(sig)
        rest = proc.communicate(timeout=60)[0]
    finally:
        proc.kill()
    assert proc.returncode == 128 + sig, rest
    assert "interrupted" in rest and "Traceback" not in rest
    stats = json.loads(stats_path.read_text())
    assert stats["frames_out"] == stats["frames_in"] > 0
    assert cv2.VideoCapture(str(out)).get(cv2.CAP_PROP_FRAME_COUNT) == stats["frames_out"]


def test_stop_signals_are_restored_and_inherited_ignores_kept():
    before = signal.getsignal(signal.SIGTERM)
    with stop_signals_interrupt() as got:
        with pytest.raises(KeyboardInterrupt):
            os.kill(os.getpid(), signal.SIGTERM)
            time.sleep(1)  # the handler runs at the next bytecode boundary
    assert got.signum == signal.SIGTERM and got.exit_status == 143
    assert signal.getsignal(signal.SIGTERM) is before
    signal.signal(signal.SIGHUP, signal.SIG_IGN)  # as under nohup
    try:
        with stop_signals_interrupt():
            assert signal.getsignal(signal.SIGHUP) is signal.SIG_IGN
    finally:
        signal.signal(signal.SIGHUP, signal.SIG_DFL)
