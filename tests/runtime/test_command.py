"""``edgeseg run`` arguments and runner (the lead wires it into cli.COMMANDS)."""

import argparse
import json
import os

from edgeseg.runtime import command


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
