"""``edgeseg bench`` on the session's tiny ONNX model, for real on ONNX Runtime CPU."""

import argparse
import json

import pytest

from edgeseg.bench.report import compare_table, read_document
from edgeseg.bench.schema import validate
from edgeseg.cli import bench as command


def _bench(argv):
    p = argparse.ArgumentParser()
    command.add_args(p)
    return command.run(p.parse_args(argv))


@pytest.fixture(scope="module")
def result(tiny_onnx, tmp_path_factory):
    out = tmp_path_factory.mktemp("bench") / "vm-test.json"
    assert _bench([tiny_onnx, "--backends", "ort,trt", "--precisions", "fp32,fp16,int8",
                   "--sizes", "64x64,128x64", "--runs", "4", "--warmup", "1", "--threads", "1",
                   "--data", "synthetic:4", "--plot", "--out", str(out)]) == 0
    return out


def test_json_validates_and_holds_every_variant(result):
    doc = json.loads(result.read_text())
    assert validate(doc) == []
    assert doc["device"]["onnxruntime"] != "n/a" and doc["device"]["cpu_cores"] >= 1
    # 2 backends x 3 precisions x 2 sizes: nothing dropped
    assert len(doc["variants"]) == 12
    ok = {(r["backend"], r["precision"], tuple(r["size"])) for r in doc["variants"] if r["status"] == "ok"}
    assert ok == {("onnxruntime", "fp32", (64, 64)), ("onnxruntime", "int8", (64, 64))}
    fp32 = next(r for r in doc["variants"] if r["status"] == "ok" and r["precision"] == "fp32")
    lat = fp32["latency"]
    assert lat["runs"] == 4 and 0 < lat["min_ms"] <= lat["p50_ms"] <= lat["p99_ms"]
    assert fp32["memory"]["host_peak_mb"] > 0 and fp32["model_bytes"] > 0
    assert 0 <= fp32["miou"] <= 1
    int8 = next(r for r in doc["variants"] if r["status"] == "ok" and r["precision"] == "int8")
    assert any("quantized on the fly" in n for n in int8["notes"])


def test_fastest_variant_is_marked(result):
    from edgeseg.bench.report import table
    doc = json.loads(result.read_text())
    ran = [r for r in doc["variants"] if r["status"] == "ok"]   # FP32 and INT8 of one model at 64x64
    assert sorted(r["fastest"] for r in ran) == [False, True]
    assert min(ran, key=lambda r: r["latency"]["p50_ms"])["fastest"] is True
    assert all(r["fastest"] is None for r in doc["variants"] if r["status"] != "ok")
    rows = [line for line in table(doc).splitlines() if "FASTEST" in line and "onnxruntime" in line]
    best = next(r for r in ran if r["fastest"])
    assert len(rows) == 1 and f" {best['precision']} " in rows[0]


def test_unrunnable_variants_carry_their_reason(result):
    doc = json.loads(result.read_text())
    reasons = {(r["backend"], r["precision"], tuple(r["size"])): r["reason"] for r in doc["variants"]}
    assert reasons[("tensorrt", "fp32", (64, 64))].startswith("tensorrt: not installed")
    assert "no fp16 kernels" in reasons[("onnxruntime", "fp16", (64, 64))]
    assert "dynamic model" in reasons[("onnxruntime", "fp32", (128, 64))]


def test_plots_written(result):
    import cv2
    for name in ("latency-miou", "latency-hist"):
        img = cv2.imread(str(result)[:-5] + f"-{name}.png")
        assert img is not None and img.shape[2] == 3


def test_compare_merges_devices(result, tmp_path, capsys):
    doc = json.loads(result.read_text())
    other = dict(doc, device=dict(doc["device"], host="jetson-test", board="NVIDIA Jetson Orin Nano"))
    b = tmp_path / "orin.json"
    b.write_text(json.dumps(other))
    assert _bench(["--compare", str(result), str(b)]) == 0
    text = capsys.readouterr().out
    head = text.splitlines()[0]
    assert "nvidia-jetson-orin-nano" in head and "vm" in head
    assert len(text.splitlines()) == 1 + 12  # one row per variant, devices side by side
    assert compare_table([read_document(str(result))]).count("tensorrt") == 6


def test_compare_rejects_a_broken_file(tmp_path):
    from edgeseg.errors import DataError
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({"schema": "edgeseg-bench/1"}))
    with pytest.raises(DataError, match="not an edgeseg bench result"):
        read_document(str(bad))


def test_stream_mode(tiny_onnx, tmp_path):
    from edgeseg.bench.runner import BenchConfig, run_bench
    from edgeseg.data import write_video
    clip = tmp_path / "clip.mp4"
    write_video(str(clip), num_frames=5, size=(64, 64))
    [r] = run_bench(BenchConfig(models=(tiny_onnx,), backends=("ort",), runs=2, warmup=0,
                                stream=str(clip)), log=lambda *a: None)
    assert r["stream"]["frames"] == 5 and r["stream"]["fps"] > 0
    assert {"infer_ms", "preprocess_ms"} <= set(r["stream"]["stages_ms"])
    assert r["stream"]["runtime"] == "edgeseg.runtime.stream"


def test_sizes_are_read_by_the_grammar():
    from edgeseg.errors import ConfigError
    p = argparse.ArgumentParser()
    command.add_args(p)
    c = command.config_from_args(p.parse_args(["m.onnx", "--sizes", "64x96, 128,256X128"]))
    assert c.sizes == ((64, 96), (128, 128), (256, 128))   # one number is a square, as everywhere
    for bad in ("0x64", "64xq", "1x2x3"):
        with pytest.raises(ConfigError) as err:
            command.config_from_args(p.parse_args(["m.onnx", "--sizes", bad]))
        assert err.value.what == "cannot read the --sizes entry" and err.value.got == repr(bad)
