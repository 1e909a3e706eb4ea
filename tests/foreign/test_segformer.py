"""A model family edgeseg did not build, from another library's own code: a tiny random-weight
SegFormer from transformers, exported with torch.onnx (its logits are at 1/4 of the input).

edgeseg's class scores (Segmenter scores: logits resized to the network size, then softmax) must
equal the HF model's own (its logits upsampled with interpolate(bilinear, align_corners=False),
then softmax) on the same frames; a random-weight label map is spatially noisy, so scores are
compared, and argmax agreement at network size. Then quantize, compare and bench it."""

import numpy as np
import pytest

from edgeseg.compare import compare_models
from edgeseg.runtime import Segmenter

from .models import CLASSES, SIZE, torch_reference

torch = pytest.importorskip("torch")
F = torch.nn.functional


def _hf_probs(model, x: np.ndarray) -> np.ndarray:
    with torch_reference():
        logits = model(pixel_values=torch.from_numpy(x)).logits
        return F.interpolate(logits, size=SIZE, mode="bilinear", align_corners=False).softmax(1)[0].numpy()


def test_segformer_class_scores_equal_the_hf_models(segformer, frames):
    model, path, meta = segformer
    worst, agree, pixels = 0.0, 0, 0
    with Segmenter(path, device="cpu", meta=meta, scores=True) as seg:
        assert seg.backend.output.shape == (1, len(CLASSES), SIZE[0] // 4, SIZE[1] // 4)   # 1/4-size logits
        for frame in frames["network"] + frames["other"]:
            x = seg.preprocess(frame)
            r = seg(frame)
            want = _hf_probs(model, x)
            assert r.scores.shape == want.shape == (len(CLASSES), *SIZE)
            worst = max(worst, float(np.abs(r.scores - want).max()))
            agree += int((r.scores.argmax(0) == want.argmax(0)).sum())
            pixels += want[0].size
            if frame.shape[:2] == SIZE:   # labels at network size: the argmax of those scores
                assert (r.labels == want.argmax(0)).mean() >= 0.999
    assert worst <= 1e-5, worst
    assert agree / pixels >= 0.999


def test_segformer_labels_equal_hfs_own_post_processing(segformer, frames):
    """SegformerImageProcessor.post_process_semantic_segmentation: logits upsampled to the target
    size, then argmax, the authors' way; edgeseg's labels for network-size frames match it."""
    pytest.importorskip("PIL", reason="transformers' image processors need Pillow: pip install pillow")
    from transformers import SegformerImageProcessor
    model, path, meta = segformer
    processor = SegformerImageProcessor()
    with Segmenter(path, device="cpu", meta=meta) as seg:
        for frame in frames["network"]:
            with torch_reference():
                outputs = model(pixel_values=torch.from_numpy(seg.preprocess(frame)))
            want = processor.post_process_semantic_segmentation(outputs, target_sizes=[SIZE])[0].numpy()
            assert (seg(frame).labels == want).mean() >= 0.999


def test_preprocess_equals_segformer_image_processor(segformer, frames):
    """RGB, /255, ImageNet mean/std: at the network size (resize aside), the same tensor."""
    pytest.importorskip("PIL", reason="transformers' image processors need Pillow: pip install pillow")
    from transformers import SegformerImageProcessor

    from edgeseg.preprocess import preprocess
    _, _, meta = segformer
    processor = SegformerImageProcessor(do_resize=False)
    for frame in frames["network"][:2]:
        want = processor(images=frame[..., ::-1].copy(), return_tensors="np")["pixel_values"]
        got = preprocess(frame, meta)
        assert got.shape == want.shape == (1, 3, *SIZE)
        assert np.abs(got - want).max() <= 1e-5


def test_segformer_quantize_compare_and_bench(segformer, calib, frames, tmp_path):
    from edgeseg.backends.onnx_meta import get_onnx_meta
    from edgeseg.bench.runner import BenchConfig, run_bench
    from edgeseg.quantize.api import quantize_model
    onnx = pytest.importorskip("onnx")
    _, path, meta = segformer
    r = quantize_model(path, calib, str(tmp_path / "segformer.int8.onnx"), target="cpu", method="minmax",
                       meta=meta, bench_runs=0, write_reports=False, log=lambda *a: None, file=None)
    assert get_onnx_meta(onnx.load(r.path), r.path) == r.meta and r.meta.output_stride == 4
    rep = compare_models(path, r.path, frames["network"] + frames["other"], device="cpu", meta_a=meta)
    assert rep.agreement >= 0.9, rep.table()
    assert rep.compared_at == "network 64x64" and rep.max_abs_diff is not None
    cfg = BenchConfig(models=(path, r.path), backends=("onnxruntime",), runs=3, warmup=1, meta={path: meta},
                      keep_times=False, workdir=str(tmp_path))
    results = run_bench(cfg, log=lambda *a: None)
    assert [x["status"] for x in results] == ["ok", "ok"], [x["reason"] for x in results]
    assert [x["precision"] for x in results] == ["fp32", "int8"]
