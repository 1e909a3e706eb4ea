"""Each calibration method and target on a real trained model, run by ONNX Runtime."""

import numpy as np
import onnx
import pytest

from edgeseg.backends import load_backend
from edgeseg.data import open_dataset
from edgeseg.errors import ConfigError
from edgeseg.preprocess import preprocess
from edgeseg.quantize.api import quantize_model
from edgeseg.quantize.calibration import build_calibration_set
from edgeseg.quantize.qdq_check import check_tensorrt_qdq


@pytest.fixture(scope="module")
def calib(tiny_onnx):
    with load_backend(tiny_onnx, device="cpu") as b:
        with pytest.warns(UserWarning, match="calibration frames"):
            return build_calibration_set("synthetic", b.meta, 24, file=None)


def _agreement(fp32_path, q_path, frames):
    with load_backend(fp32_path, device="cpu") as a, load_backend(q_path, device="cpu") as b:
        x = [preprocess(f, a.meta) for f in frames]
        return float(np.mean([(a(i).argmax(1) == b(i).argmax(1)).mean() for i in x]))


# Argmax agreement with FP32 each method must keep on held-out scenes. Entropy (TensorRT's KL
# threshold) clips MobileNetV3's hard-swish tails: it lost 5.6 mIoU points on the synthetic
# model where percentile lost 0.2, so it is offered but not the default.
AGREEMENT = {"minmax": 0.85, "percentile": 0.85, "entropy": 0.55}


@pytest.mark.parametrize("method", ["minmax", "entropy", "percentile"])
@pytest.mark.parametrize("target", ["tensorrt", "cpu"])
def test_method_and_target(tiny_onnx, calib, tmp_path, method, target):
    out = str(tmp_path / f"{method}-{target}.onnx")
    r = quantize_model(tiny_onnx, calib, out, method=method, target=target, bench_runs=0,
                       log=lambda *a: None, file=None)
    model = onnx.load(out)
    qs = [n for n in model.graph.node if n.op_type == "QuantizeLinear"]
    assert qs, "no Q/DQ nodes written"
    zp_types = {onnx.numpy_helper.to_array(next(i for i in model.graph.initializer if i.name == q.input[2])).dtype
                for q in qs}
    if target == "tensorrt":
        assert check_tensorrt_qdq(out).ok, check_tensorrt_qdq(out).problems[:5]
        assert zp_types == {np.dtype(np.int8)}
        assert r.report["qdq_check"]["per_channel_weights"] > 10
    else:
        assert np.dtype(np.uint8) in zp_types  # U8S8: uint8 activations
        assert not check_tensorrt_qdq(out).ok
    assert r.meta.precision == "int8" and r.meta.classes[0] == "sky"
    assert r.meta.provenance["quantize"]["method"] == method
    frames = [s.image for s in open_dataset("synthetic", split="test", size=(64, 64), num=6)]
    assert _agreement(tiny_onnx, out, frames) > AGREEMENT[method]


def test_entropy_and_minmax_really_differ(tiny_onnx, calib, tmp_path):
    """ORT's own Entropy method gave exactly the MinMax scales; ours must not."""
    scales = {}
    for method in ("minmax", "entropy"):
        out = str(tmp_path / f"{method}.onnx")
        quantize_model(tiny_onnx, calib, out, method=method, target="tensorrt", bench_runs=0,
                       log=lambda *a: None, file=None)
        m = onnx.load(out)
        scales[method] = {i.name: float(onnx.numpy_helper.to_array(i).max()) for i in m.graph.initializer
                          if i.name.endswith("_scale") and "output" in i.name}
    common = scales["minmax"].keys() & scales["entropy"].keys()
    smaller = sum(scales["entropy"][k] < scales["minmax"][k] * 0.99 for k in common)
    assert smaller >= len(common) // 4, "entropy calibration clipped almost nothing"


def test_report_and_budget_within(tiny_onnx, calib, tmp_path):
    out = str(tmp_path / "cpu.onnx")
    r = quantize_model(tiny_onnx, calib, out, target="cpu", method="percentile", val="synthetic",
                       val_num=8, max_miou_drop=100.0, bench_runs=3, log=lambda *a: None, file=None)
    rep = r.report
    assert 0 <= rep["fp32"]["miou"] <= 1 and 0 <= rep["int8"]["miou"] <= 1
    assert set(rep["per_class"]) == set(r.meta.classes)
    assert rep["fp32"]["latency"]["p50_ms"] > 0 and rep["speedup"] > 0
    assert rep["calibration"]["num"] == 24 and abs(sum(rep["calibration"]["class_histogram"].values()) - 1) < 1e-6
    assert r.report_paths[0].endswith(".report.json") and "| mIoU (%)" in open(r.report_paths[1]).read()


def test_bad_inputs(tiny_onnx, calib, tmp_path):
    with pytest.raises(ConfigError, match="unknown calibration method"):
        quantize_model(tiny_onnx, calib, method="kl", file=None)
    with pytest.raises(ConfigError, match="did you mean 'tensorrt'"):
        quantize_model(tiny_onnx, calib, target="tensorrtt", file=None)
    q = str(tmp_path / "q.onnx")
    quantize_model(tiny_onnx, calib, q, method="minmax", bench_runs=0, log=lambda *a: None, file=None)
    with pytest.raises(ConfigError, match="already quantized"):
        quantize_model(q, calib, file=None)
    with pytest.raises(ConfigError, match="conflicts with --target cpu"):
        quantize_model(tiny_onnx, calib, target="cpu", quantizer="modelopt", file=None)
