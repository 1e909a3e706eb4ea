"""The deploy pipeline on graphs edgeseg did not export, with their meta given in Python:
quantize --target cpu (scores only), compare (each side decoded with its own meta), bench."""

import numpy as np
import pytest

from edgeseg.backends import load_backend
from edgeseg.backends.onnx_meta import get_onnx_meta
from edgeseg.compare import compare_models
from edgeseg.errors import ConfigError, ModelError
from edgeseg.quantize.api import quantize_model

onnx = pytest.importorskip("onnx", reason='needs onnx: pip install "edgeseg[onnx]"')

QUIET = {"bench_runs": 0, "write_reports": False, "log": lambda *a: None, "file": None}
# graph -> the fewest argmax agreement its INT8 keeps with FP32 on the test frames (random weights, 8
# calibration frames, minmax): 100 % measured with ONNX Runtime 1.32 for each (max |score diff| 0.01-0.06).
QUANTIZED = {"quarter_logits": 0.98, "probs": 0.98, "nhwc_uint8": 0.98, "nchw_uint8": 0.98, "float16_input": 0.98,
             "torchvision_aux_first": 0.98, "dynamic": 0.98}


@pytest.fixture(scope="module")
def int8(graphs, calib, tmp_path_factory):
    """graph name -> the INT8 ONNX that quantize wrote for it (cpu target), made once."""
    out = tmp_path_factory.mktemp("int8")
    return {name: quantize_model(graphs[name].path, calib, str(out / f"{name}.int8.onnx"), target="cpu",
                                 method="minmax", meta=graphs[name].meta, **QUIET)
            for name in QUANTIZED}


@pytest.mark.parametrize("name", sorted(QUANTIZED))
def test_quantize_cpu_carries_the_given_meta_and_keeps_the_labels(graphs, int8, frames, name):
    g, r = graphs[name], int8[name]
    written = get_onnx_meta(onnx.load(r.path), r.path)
    assert written == r.meta and written.precision == "int8"
    for field in ("classes", "input_size", "layout", "input_dtype", "output_kind", "output_name", "run_size",
                  "size_multiple", "output_stride", "mean", "std"):
        assert getattr(written, field) == getattr(g.meta, field), field
    rep = compare_models(g.path, r.path, frames["network"] + frames["other"], device="cpu", meta_a=g.meta)
    assert rep.agreement >= QUANTIZED[name], rep.table()
    assert rep.max_abs_diff is not None and rep.a.output_kind == rep.b.output_kind == g.meta.output_kind


def test_a_graph_final_softmax_stays_float(int8):
    """Probabilities on uint8 steps tie at argmax; the Softmax runs on float scores."""
    model = onnx.load(int8["probs"].path)
    producer = {o: n for n in model.graph.node for o in n.output}
    last = producer[model.graph.output[0].name]
    assert last.op_type == "Softmax"
    assert producer[last.input[0]].op_type not in ("DequantizeLinear", "QuantizeLinear")
    assert any(n.op_type == "QuantizeLinear" for n in model.graph.node)   # the convolutions are INT8


@pytest.mark.parametrize("name", ["labels_int64", "labels_uint8_quarter"])
def test_quantize_refuses_label_outputs_and_says_how_to_get_scores(graphs, calib, tmp_path, name):
    g = graphs[name]
    with pytest.raises(ConfigError, match="quantize needs class scores") as err:
        quantize_model(g.path, calib, str(tmp_path / "x.onnx"), target="cpu", meta=g.meta, **QUIET)
    text = str(err.value)
    assert "edgeseg meta MODEL --output NAME" in text and "export" in text and "output_kind labels" in text
    assert not (tmp_path / "x.onnx").exists()


def test_quantize_checks_the_meta_against_the_graph_before_calibrating(graphs, tmp_path):
    g = graphs["nhwc_uint8"]
    with pytest.raises(ModelError, match="takes uint8 pixels"):   # no calibration source needed to say so
        quantize_model(g.path, str(tmp_path / "missing-folder"), str(tmp_path / "x.onnx"), target="cpu",
                       meta=g.meta.replace(input_dtype="float32"), **QUIET)


def test_quantize_takes_the_meta_as_a_json_path(graphs, calib, tmp_path):
    g = graphs["torchvision"]
    path = tmp_path / "tv.meta.json"
    path.write_text(g.meta.to_json())
    r = quantize_model(g.path, calib, str(tmp_path / "tv.int8.onnx"), target="cpu", method="minmax",
                       meta=str(path), **QUIET)
    assert r.meta.output_name == "out" and r.meta.precision == "int8"
    with load_backend(r.path, device="cpu") as b:   # the INT8 file needs no meta given any more
        assert b.output.name == "out"


def test_compare_decodes_each_side_with_its_own_meta(graphs, frames):
    """The same net as logits and as MMDeploy-style int64 labels: every pixel agrees."""
    a, b = graphs["logits"], graphs["labels_int64"]
    rep = compare_models(a.path, b.path, frames["network"], device="cpu", meta_a=a.meta, meta_b=b.meta)
    assert rep.agreement == 1.0 and rep.compared_at == "network 64x64"
    assert rep.max_abs_diff is None and "class ids" in " ".join(rep.notes)
    # logits at input size against the 1/4-size logits of the same backbone: decoded to one size
    q = graphs["quarter_logits"]
    rep = compare_models(a.path, q.path, frames["other"], device="cpu", meta_a=a.meta, meta_b=q.meta)
    assert rep.agreement >= 0.999 and rep.max_abs_diff is None   # shapes differ: no raw difference
    # probabilities against probabilities: the score difference is of probabilities
    p = graphs["probs"]
    rep = compare_models(p.path, p.path, frames["network"][:2], device="cpu", meta_a=p.meta, meta_b=p.meta)
    assert rep.max_abs_diff == 0.0 and "max |prob diff|" in rep.table()


def test_compare_without_the_meta_names_the_side(graphs, frames):
    g = graphs["logits"]
    with pytest.raises(ModelError, match="carries no edgeseg meta"):
        compare_models(g.path, g.path, frames["network"][:1], device="cpu", meta_a=g.meta)   # B has none


def test_bench_runs_a_foreign_model_with_its_meta(graphs, tmp_path):
    from edgeseg.bench.runner import BenchConfig, run_bench
    from edgeseg.data.video import write_video
    g = graphs["quarter_logits"]
    video = tmp_path / "street.mp4"
    write_video(video, num_frames=6, fps=6.0, size=(72, 96), seed=1)
    cfg = BenchConfig(models=(g.path,), backends=("onnxruntime",), runs=3, warmup=1, meta=g.meta,
                      stream=str(video), keep_times=False, workdir=str(tmp_path))
    (res,) = run_bench(cfg, log=lambda *a: None)
    assert res["status"] == "ok", res["reason"]
    assert res["latency"]["p50_ms"] > 0 and res["stream"]["frames"] == 6
    with pytest.raises(ModelError, match="meta file not found"):   # read when the config is built
        BenchConfig(models=(g.path,), meta=str(tmp_path / "nope.meta.json"))


def test_evaluate_scores_label_outputs_and_frame_sized_runs(graphs, frames):
    """mIoU of the MMDeploy-style labels graph equals its logits twin's (ids counted as votes), and
    a graph run at each frame's size takes a batch of images of several sizes."""
    from edgeseg.data.base import Sample
    from edgeseg.evaluate import evaluate, predict_scores
    rng = np.random.default_rng(0)
    data = [Sample(im, rng.integers(0, 5, im.shape[:2]).astype(np.uint8), f"im{i}")
            for i, im in enumerate(frames["network"] + frames["other"])]
    reports = {}
    for name in ("logits", "labels_int64", "dynamic", "quarter_logits"):
        g = graphs[name]
        with load_backend(g.path, device="cpu", meta=g.meta) as b:   # batch 1: the graphs' batch is fixed
            reports[name] = evaluate(b, data, g.meta, batch=1)
    assert reports["labels_int64"].miou == reports["logits"].miou
    assert reports["quarter_logits"].miou == pytest.approx(reports["logits"].miou, abs=1e-3)
    assert 0 < reports["dynamic"].miou < 1
    g = graphs["dynamic"]
    images = [frames["other"][0], frames["network"][0]]
    with load_backend(g.path, device="cpu", meta=g.meta) as b:
        scores = predict_scores(b, images, g.meta)
    assert [s.shape for s in scores] == [(5, 90, 130), (5, 64, 64)]


def test_bench_meta_mapping_names_only_benchmarked_models(graphs):
    from edgeseg.bench.runner import BenchConfig
    g = graphs["logits"]
    with pytest.raises(ConfigError, match="not benchmarked"):
        BenchConfig(models=(g.path,), meta={"other.onnx": g.meta})
