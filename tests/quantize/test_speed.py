"""FP32 vs INT8 on this machine (edgeseg/quantize/speed.py): interleaved timing, the one-line verdict,
and quantize's report saying which file to deploy."""

import time

import pytest

from edgeseg.bench.latency import stats_from_times
from edgeseg.quantize.speed import SpeedComparison, compare_interleaved, int8_isa, interleaved_times


def _comparison(fp32_ms, int8_ms, ratios):
    return SpeedComparison(stats_from_times([fp32_ms]), stats_from_times([int8_ms]), sorted(ratios)[len(ratios) // 2],
                           ratios, len(ratios), 10, 2, "AMD EPYC (AVX2, no VNNI)")


def test_verdict_says_when_int8_is_not_faster_and_what_to_use():
    slow = _comparison(2.62, 3.36, [0.77, 0.78, 0.80])
    assert slow.faster == "fp32"
    line = slow.verdict("runs/model.onnx")
    assert line.startswith("INT8 is not faster on this machine: FP32 2.62 ms, INT8 3.36 ms (0.78x")
    assert "AMD EPYC (AVX2, no VNNI), 2 threads" in line and line.endswith("use the FP32 model runs/model.onnx instead")
    assert "\n" not in line
    fast = _comparison(3.0, 2.0, [1.0, 1.0, 1.0])  # exactly as fast counts: INT8 is also 4x smaller
    assert fast.faster == "int8" and fast.verdict().startswith("INT8 is 1.00x FP32 on this machine")
    assert slow.to_dict()["faster"] == "fp32" and slow.to_dict()["fp32"]["p50_ms"] == 2.62


def test_models_alternate_in_blocks_and_the_figure_is_the_median_round():
    order = []
    c = compare_interleaved(lambda x: order.append("fp32"), lambda x: order.append("int8"), None,
                            rounds=3, calls=4, warmup=1, settle=0)
    # one warm-up call each, then per round blocks of one untimed call and 2 timed ones, in turn
    # and in reverse turn
    assert order == ["fp32", "int8"] + (["fp32"] * 3 + ["int8"] * 6 + ["fp32"] * 3) * 3
    assert len(c.round_speedups) == 3 and c.calls == 4 and c.fp32.runs == 12
    assert c.speedup == sorted(c.round_speedups)[1]


def test_each_block_starts_after_the_settle_idle():
    # The idle is what lets the other model's ONNX Runtime worker threads stop spinning.
    stamps = []
    interleaved_times([lambda x: stamps.append(("a", time.perf_counter())),
                       lambda x: stamps.append(("b", time.perf_counter()))], None,
                      rounds=2, calls=2, warmup=0, settle=0.05)
    # blocks of one untimed and one timed call: a, b, then b, a in reverse turn, in each round
    assert "".join(n for n, _ in stamps) == "aabbbbaa" * 2
    for i in range(1, len(stamps)):
        idle = stamps[i][1] - stamps[i - 1][1]
        assert idle >= 0.05 if i % 2 == 0 else idle < 0.05, (i, idle)


def test_isa_names_vnni_or_its_absence():
    assert int8_isa({"avx2", "fma"}) == "AVX2, no VNNI"
    assert int8_isa({"avx2", "avx_vnni"}) == "AVX-VNNI"
    assert int8_isa(set()) == "unknown ISA"


@pytest.mark.slow
def test_quantize_reports_what_to_deploy_here(tiny_onnx, tmp_path):
    from edgeseg.backends import load_backend
    from edgeseg.quantize.api import quantize_model
    from edgeseg.quantize.calibration import build_calibration_set
    with load_backend(tiny_onnx, device="cpu") as b, pytest.warns(UserWarning, match="calibration frames"):
        calib = build_calibration_set("synthetic", b.meta, 8, file=None)
    lines = []
    out = str(tmp_path / "q.onnx")
    r = quantize_model(tiny_onnx, calib, out, target="cpu", method="percentile", bench_runs=4, threads=1,
                       log=lines.append, file=None)
    speed, rec = r.report["speed"], r.report["recommended"]
    assert speed["rounds"] == 4 and len(speed["round_speedups"]) == 4 and "(" in speed["cpu"]
    assert rec["precision"] == speed["faster"] and rec["model"] == (out if speed["faster"] == "int8" else tiny_onnx)
    said = [line for line in lines if "FP32" in line and "INT8" in line and " ms" in line]
    assert said == [rec["why"]]
    if speed["faster"] == "fp32":
        assert "use the FP32 model" in rec["why"]
    with open(r.report_paths[1]) as f:
        md = f.read()
    assert f"deploy here: **{rec['precision'].upper()}**" in md and "interleaved" in md
