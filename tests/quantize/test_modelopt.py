"""``--quantizer modelopt``: NVIDIA TensorRT Model Optimizer's ONNX PTQ behind quantize_model.

Optional: skipped where nvidia-modelopt is not installed (CI). Where it is, a tiny zoo model is
exported at 64x64, quantized for TensorRT on CPU, checked for TensorRT's Q/DQ rules (int8,
zero point 0, per-channel weights) and run with ONNX Runtime against FP32.
"""

import sys

import numpy as np
import pytest

pytest.importorskip("modelopt.onnx.quantization",
                    reason='nvidia-modelopt is optional: pip install "nvidia-modelopt[onnx]"')
torch = pytest.importorskip("torch", reason="the test model is exported from torch")

pytestmark = [pytest.mark.slow,
              pytest.mark.filterwarnings("ignore:You are using the legacy TorchScript:DeprecationWarning")]

import onnx  # noqa: E402
import onnxruntime as ort  # noqa: E402

from edgeseg.backends.onnx_meta import get_onnx_meta, set_onnx_meta  # noqa: E402
from edgeseg.errors import ConfigError, MissingDependencyError  # noqa: E402
from edgeseg.meta import ModelMeta  # noqa: E402
from edgeseg.models import build_model  # noqa: E402
from edgeseg.quantize.api import quantize_model  # noqa: E402
from edgeseg.quantize.calibration import CalibrationSet  # noqa: E402
from edgeseg.quantize.modelopt_quantizer import quantize_modelopt  # noqa: E402
from edgeseg.quantize.qdq_check import check_tensorrt_qdq  # noqa: E402

SIZE = (64, 64)
CLASSES = ("road", "car", "person", "sky", "tree", "sign")
MODEL = "lraspp_mobilenet_v3_small"
HEAD = "/m/classifier/low_classifier/Conv"


class _Logits(torch.nn.Module):
    def __init__(self, m):
        super().__init__()
        self.m = m

    def forward(self, x):
        return self.m(x)["out"]


def _frames(n, seed):
    return np.random.default_rng(seed).integers(0, 256, (n, *SIZE, 3), dtype=np.uint8)


@pytest.fixture(scope="module")
def fp32(tmp_path_factory):
    path = str(tmp_path_factory.mktemp("modelopt") / "fp32.onnx")
    torch.manual_seed(0)
    net = build_model(MODEL, num_classes=len(CLASSES)).eval()
    with torch.no_grad():  # untrained heads' biases pick one class everywhere: agreement would be trivial
        for name, p in net.named_parameters():
            if name.startswith("classifier.") and name.endswith("_classifier.bias"):
                p.zero_()
    model = _Logits(net)
    torch.onnx.export(model, torch.zeros(1, 3, *SIZE), path, dynamo=False, opset_version=17,
                      input_names=["input"], output_names=["logits"])
    proto = onnx.load(path)
    set_onnx_meta(proto, ModelMeta(model=MODEL, classes=CLASSES, input_size=SIZE))
    onnx.save(proto, path)
    return path


@pytest.fixture(scope="module")
def calib():
    return CalibrationSet(_frames(16, seed=1), SIZE, "random")


@pytest.fixture(scope="module")
def int8(fp32, calib):
    out = fp32.replace("fp32.onnx", "int8.onnx")
    return quantize_model(fp32, calib, out, target="tensorrt", quantizer="modelopt",
                          method="entropy", bench_runs=0, log=lambda *a: None, file=None)


def _labels(path, x):
    sess = ort.InferenceSession(path, providers=["CPUExecutionProvider"])
    name = sess.get_inputs()[0].name
    return np.concatenate([sess.run(None, {name: x[i:i + 1]})[0] for i in range(len(x))]).argmax(1)


def test_tensorrt_qdq_and_agreement_with_fp32(fp32, int8):
    rep = check_tensorrt_qdq(int8.path)
    assert rep.ok, rep.problems
    assert rep.per_channel_weights > 0 and not rep.float_weights
    assert int8.report["qdq_check"]["ok"] and int8.report["quantizer"] == "modelopt"
    # Weights stay float initializers behind Q/DQ pairs; biases stay float (TensorRT's form).
    model = onnx.load(int8.path)
    q_inputs = {n.input[0] for n in model.graph.node if n.op_type == "QuantizeLinear"}
    assert any(i.name in q_inputs and i.data_type == onnx.TensorProto.FLOAT for i in model.graph.initializer)
    assert not any(i.data_type == onnx.TensorProto.INT32 for i in model.graph.initializer)
    # Meta carried on; FP32 I/O kept (modelopt's default would have made the graph float16).
    meta = get_onnx_meta(model)
    assert meta.classes == CLASSES and meta.precision == "int8"
    assert meta.provenance["quantize"]["quantizer"] == "modelopt"
    assert model.graph.input[0].type.tensor_type.elem_type == onnx.TensorProto.FLOAT

    x = CalibrationSet(_frames(8, seed=2), SIZE, "held-out").tensors(meta)
    ref = _labels(fp32, x)
    assert (np.bincount(ref.ravel(), minlength=len(CLASSES)) > ref.size // 100).sum() >= 3
    agree = float((ref == _labels(int8.path, x)).mean())  # 0.97 with modelopt 0.47 (ORT 1.31)
    assert agree > 0.9, f"INT8 argmax agrees with FP32 on only {agree:.1%} of pixels"


def test_keep_float_is_an_exact_node_name(fp32, calib, tmp_path):
    r = quantize_model(fp32, calib, str(tmp_path / "mixed.onnx"), target="tensorrt",
                       quantizer="modelopt", method="minmax", keep_float=[HEAD], bench_runs=0,
                       log=lambda *a: None, file=None)
    rep = check_tensorrt_qdq(r.path)
    assert rep.ok and rep.float_weights == [HEAD]
    assert r.meta.precision == "mixed"


def test_percentile_is_refused_naming_modelopts_methods(fp32, calib, tmp_path):
    meta = get_onnx_meta(onnx.load(fp32))
    with pytest.raises(ConfigError, match="percentile") as err:
        quantize_modelopt(fp32, str(tmp_path / "p.onnx"), calib, meta, "percentile", [])
    assert "max, entropy" in str(err.value) and "--quantizer ort" in str(err.value)


def test_ort_quantizer_still_works_after_modelopt(fp32, calib, int8, tmp_path):
    # modelopt patches onnxruntime.quantization process-wide; quantize_modelopt undoes it.
    r = quantize_model(fp32, calib, str(tmp_path / "ort.onnx"), target="tensorrt", quantizer="ort",
                       method="minmax", bench_runs=0, log=lambda *a: None, file=None)
    assert check_tensorrt_qdq(r.path).ok


def test_missing_modelopt_says_how_to_install(fp32, calib, tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "modelopt.onnx.quantization", None)
    meta = get_onnx_meta(onnx.load(fp32))
    with pytest.raises(MissingDependencyError, match=r'pip install "nvidia-modelopt\[onnx\]"'):
        quantize_modelopt(fp32, str(tmp_path / "m.onnx"), calib, meta, "entropy", [])
