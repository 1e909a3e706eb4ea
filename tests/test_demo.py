"""``edgeseg demo --quick`` end to end into tmp_path: every step's artefact is there and usable."""

import argparse
import json
import os

import cv2

from edgeseg.bench.schema import validate
from edgeseg.cli import demo as demo_command


def test_demo_quick_end_to_end(tmp_path, capsys):
    out = tmp_path / "demo"
    p = argparse.ArgumentParser()
    demo_command.add_args(p)
    assert demo_command.run(p.parse_args(["--quick", "--out", str(out)])) == 0
    stdout = capsys.readouterr().out
    assert "[1/7]" in stdout and "val mIoU" in stdout
    # it benchmarks first, then streams the variant the benchmark found fastest
    assert stdout.index("[5/7] accuracy and latency") < stdout.index("streaming ") < stdout.index("[6/7] stream")
    for name in ("train/best.pt", "model.onnx", "model.cpu.int8.onnx", "calib.npz", "clip.mp4",
                 "overlay.mp4", "snapshot.png", "scenes.png", "SUMMARY.md", "demo.json", "bench.json"):
        assert (out / name).is_file(), name
    cap = cv2.VideoCapture(str(out / "overlay.mp4"))
    frames = 0
    while cap.read()[0]:
        frames += 1
    assert frames == 6
    snap = cv2.imread(str(out / "snapshot.png"))
    assert snap is not None and snap.shape[1] > 2 * 64  # frame | overlay | legend
    res = json.loads((out / "demo.json").read_text())
    assert [r["precision"] for r in res["table"]] == ["fp32", "int8"]
    assert all(r["status"] == "ok" and r["latency"]["p50_ms"] > 0 for r in res["table"])
    bench = json.loads((out / "bench.json").read_text())
    assert validate(bench) == []
    fastest = [r for r in bench["variants"] if r["fastest"]]
    assert len(fastest) == 1
    deployed = res["deployed"]
    assert deployed["precision"] == fastest[0]["precision"]
    assert deployed["model_path"] == ("model.onnx" if deployed["precision"] == "fp32" else "model.cpu.int8.onnx")
    p50 = {r["precision"]: r["latency"]["p50_ms"] for r in res["table"]}
    assert f"{p50['fp32']:.2f} ms" in deployed["why"] and f"{p50['int8']:.2f} ms" in deployed["why"]
    if deployed["precision"] == "fp32":
        assert "INT8 is not faster on this machine" in deployed["why"]
    summary = (out / "SUMMARY.md").read_text()
    assert "val mIoU" in summary and "snapshot.png" in summary and deployed["why"] in summary
    assert os.path.isabs(res["paths"]["onnx"]) is False
