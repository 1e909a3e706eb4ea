"""`edgeseg quantize --target cpu` writes whichever INT8 graph runs faster here: its passes' or the plain Q/DQ one."""

import onnx
import pytest

from edgeseg.quantize import graph_pick
from edgeseg.quantize.cpu_graph import describe


@pytest.fixture(scope="module")
def calib(tiny_onnx):
    from edgeseg.backends import load_backend
    from edgeseg.quantize.calibration import build_calibration_set
    with load_backend(tiny_onnx, device="cpu") as b, pytest.warns(UserWarning, match="calibration frames"):
        return build_calibration_set("synthetic", b.meta, 8, file=None)


@pytest.mark.slow
@pytest.mark.parametrize("margin, chosen", [(0.0, "plain"), (float("inf"), "cpu")])
def test_the_faster_graph_is_written_and_said(tiny_onnx, calib, tmp_path, monkeypatch, margin, chosen):
    from edgeseg.quantize.api import quantize_model
    monkeypatch.setattr(graph_pick, "MARGIN", margin)  # the timing decides; here the margin forces each side
    lines, out = [], str(tmp_path / "q.onnx")
    r = quantize_model(tiny_onnx, calib, out, target="cpu", method="percentile", bench_runs=2, threads=1,
                       log=lines.append, file=None)
    choice = r.report["graph_choice"]
    assert choice["chosen"] == chosen and choice["rounds"] == 2 and choice["plain_ms"] > 0 < choice["cpu_ms"]
    graph = describe(onnx.load(out))
    if chosen == "plain":  # the plain graph quantizes the stem and the class-score tail too
        assert graph["float_convs"] == [] and graph["float_resizes"] == []
    else:
        assert graph["float_convs"]
    said = [line for line in lines if line.startswith("graph: ")]
    assert len(said) == 1 and ("writing it" in said[0]) == (chosen == "plain") and " ms" in said[0]
    with open(r.report_paths[1]) as f:
        assert "- graph written: " + ("the plain Q/DQ graph" if chosen == "plain" else "the cpu target's") in f.read()
    # the deploy verdict is still the one FP32-vs-INT8 line, now about the file written
    assert [line for line in lines if "FP32" in line and "INT8" in line] == [r.report["recommended"]["why"]]


@pytest.mark.slow
def test_no_timing_no_second_graph(tiny_onnx, calib, tmp_path):
    from edgeseg.quantize.api import quantize_model
    r = quantize_model(tiny_onnx, calib, str(tmp_path / "q.onnx"), target="cpu", method="percentile", bench_runs=0,
                       write_reports=False, log=lambda *a: None, file=None)
    assert "graph_choice" not in r.report and r.report["graph"]["float_convs"]  # the cpu passes, as before
