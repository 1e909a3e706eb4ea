"""Export round trips through real ONNX Runtime sessions: parity, meta, uint8 input, labels output,
dynamic axes, static batch, opset, one self-contained file."""

import hashlib
import os

import numpy as np
import onnx
import pytest
import torch

from edgeseg.backends import load_backend
from edgeseg.backends.onnxruntime import OnnxRuntimeBackend
from edgeseg.export import export_onnx, read_onnx_meta
from edgeseg.preprocess import preprocess, preprocess_batch
from edgeseg.train.checkpoint import build_from_checkpoint

from edgeseg.meta import ModelMeta

from .export_helpers import SIZE, TinyNet, frames


def _run(path, batch):
    with load_backend(path, device="cpu") as b:
        return b.infer(batch)


def test_logits_export_matches_torch_and_prints_each_step(logits_export, checkpoint):
    r, lines = logits_export
    assert r.parity["argmax_agreement"] == 1.0 and r.parity["max_abs_diff"] < 1e-4
    assert r.parity["inputs"] >= 4 and r.simplified and r.opset == 17
    steps = [line.split(":")[0] for line in lines]
    assert steps[:4] == ["export", "simplify", "check", "parity"], lines
    assert "argmax agreement 100.00%" in lines[3] and "max abs diff" in lines[3]
    # And on frames the parity step never saw, through the one preprocessing.
    model, meta = build_from_checkpoint(checkpoint)
    batch = preprocess_batch(frames(), meta)
    with torch.no_grad():
        ref = model(torch.from_numpy(batch))["out"].numpy()
    got = _run(r.path, batch[:1])  # static batch 1
    assert np.abs(got - ref[:1]).max() < 1e-4
    assert (got.argmax(1) == ref[:1].argmax(1)).mean() == 1.0
    assert len(np.unique(ref.argmax(1))) > 1, "a constant prediction would prove nothing"


def test_meta_round_trips_with_export_provenance(logits_export, checkpoint):
    r, _ = logits_export
    with OnnxRuntimeBackend(r.path, device="cpu") as b:
        assert b.meta == r.meta
        assert b.inputs[0].shape == (1, 3, 64, 64) and b.inputs[0].dtype == "float32"
        assert b.outputs[0].shape == (1, 3, 64, 64)
    assert read_onnx_meta(r.path) == r.meta
    _, ckpt_meta = build_from_checkpoint(checkpoint)
    assert r.meta.classes == ckpt_meta.classes and r.meta.palette == ckpt_meta.palette
    assert (r.meta.input_dtype, r.meta.layout, r.meta.output_kind) == ("float32", "NCHW", "logits")
    prov = r.meta.provenance
    assert prov["trainer"] == "edgeseg train"  # training provenance kept
    exp = prov["export"]
    assert exp["opset"] == 17 and exp["torch"] == torch.__version__ and exp["simplified"] is True
    assert "TorchScript" in exp["exporter"] and exp["source"] == "best.pt"
    assert exp["source_sha256"] == hashlib.sha256(checkpoint.read_bytes()).hexdigest()


def test_written_file_is_one_self_contained_file_at_the_requested_opset(logits_export):
    r, _ = logits_export
    assert os.listdir(os.path.dirname(r.path)) == ["model.onnx"]  # no .onnx.data, no temp left
    proto = onnx.load(r.path, load_external_data=False)
    assert not any(t.data_location == onnx.TensorProto.EXTERNAL for t in proto.graph.initializer)
    assert [o.version for o in proto.opset_import if o.domain in ("", "ai.onnx")] == [17]
    assert r.ops == tuple(sorted({n.op_type for n in proto.graph.node}))
    onnx.checker.check_model(proto, full_check=True)


def test_other_opset_is_written_as_requested(checkpoint, tmp_path):
    r = export_onnx(checkpoint, tmp_path / "m16.onnx", opset=16, parity=False, log=None)
    proto = onnx.load(r.path)
    assert r.opset == 16 and proto.opset_import[0].version == 16
    assert r.parity is None and r.meta.provenance["export"]["opset"] == 16


@pytest.mark.parametrize("color", ["bgr", "rgb"])
def test_uint8_graph_gives_the_float_graphs_argmax(logits_export, checkpoint, tmp_path, color):
    float_result, _ = logits_export
    r = export_onnx(checkpoint, tmp_path / "u8.onnx", input_dtype="uint8", color_order=color, log=None)
    m = r.meta
    assert (m.input_dtype, m.layout, m.color_order) == ("uint8", "NHWC", color.upper())
    net = float_result.meta
    assert m.mean == (net.mean[::-1] if color == "bgr" else net.mean)  # mean/std in input order
    with load_backend(r.path, device="cpu") as u8, load_backend(float_result.path, device="cpu") as fp:
        assert u8.inputs[0].dtype == "uint8" and u8.inputs[0].shape == (1, *SIZE, 3)
        for frame in frames():
            x = preprocess(frame, u8.meta)
            assert x.dtype == np.uint8 and x.shape == (1, *SIZE, 3)
            a, b = u8.infer(x), fp.infer(preprocess(frame, fp.meta))
            assert (a.argmax(1) == b.argmax(1)).mean() == 1.0
            assert np.abs(a - b).max() < 1e-4
    assert {"Cast", "Transpose"} <= set(r.ops)
    assert ("Gather" in r.ops) == (color == "bgr")  # the channel swap exists only for BGR input


def test_labels_graph_returns_argmax_of_logits_graph_as_int32(logits_export, checkpoint, tmp_path):
    logits, _ = logits_export
    r = export_onnx(checkpoint, tmp_path / "labels.onnx", output_kind="labels", batch=2, log=None)
    assert r.meta.output_kind == "labels" and r.parity["max_abs_diff"] is None
    assert r.parity["argmax_agreement"] == 1.0 and "ArgMax" in r.ops
    batch = preprocess_batch(frames()[:2], r.meta)
    with load_backend(r.path, device="cpu") as b:
        assert b.inputs[0].shape == (2, 3, 64, 64) and b.outputs[0].shape == (2, 64, 64)
        labels = b.infer(batch)
    assert labels.dtype == np.int32 and labels.shape == (2, *SIZE)
    expected = np.concatenate([_run(logits.path, batch[i:i + 1]) for i in range(2)]).argmax(1)
    assert np.array_equal(labels, expected)


def test_dynamic_graph_runs_at_two_sizes_and_batches(checkpoint, tmp_path):
    r = export_onnx(checkpoint, tmp_path / "dyn.onnx", dynamic=True, log=None)
    assert r.parity["inputs"] >= 8  # the parity step ran a second size and batch too
    model, meta = build_from_checkpoint(checkpoint)
    with load_backend(r.path, device="cpu") as b:
        assert b.inputs[0].shape == (None, 3, None, None)
        assert b.outputs[0].shape == (None, 3, None, None)  # the class axis stays static
        for n, size in ((1, (64, 64)), (3, (96, 160))):
            batch = preprocess_batch(frames(n), meta.replace(input_size=size))[:n]
            with torch.no_grad():
                ref = model(torch.from_numpy(batch))["out"].numpy()
            got = b.infer(batch)
            assert got.shape == (n, 3, *size)
            assert np.abs(got - ref).max() < 1e-3 * max(1.0, np.abs(ref).max())
            assert (got.argmax(1) == ref.argmax(1)).mean() > 0.999


def test_size_off_the_stride_works_with_a_warning(checkpoint, tmp_path):
    lines = []
    r = export_onnx(checkpoint, tmp_path / "odd.onnx", size="65x67", log=lines.append)
    assert r.meta.input_size == (65, 67) and r.parity["argmax_agreement"] >= 0.995
    warning = [line for line in lines if line.startswith("warning:")]
    assert warning and "not a multiple of 16" in warning[0] and "64x64" in warning[0]  # os 16


def test_float_graph_may_take_bgr_and_swaps_channels_itself(tmp_path):
    meta = ModelMeta(model="tiny", classes=("a", "b"), input_size=(32, 32))
    torch.manual_seed(0)
    net = TinyNet().eval()
    rgb = export_onnx(net, tmp_path / "rgb.onnx", meta=meta, log=None)
    bgr = export_onnx(net, tmp_path / "bgr.onnx", meta=meta, color_order="bgr", log=None)
    assert bgr.meta.color_order == "BGR" and bgr.meta.mean == meta.mean[::-1] and "Gather" in bgr.ops
    frame = frames(1, size=(32, 32))[0]
    a = _run(rgb.path, preprocess(frame, rgb.meta))
    b = _run(bgr.path, preprocess(frame, bgr.meta))
    assert np.abs(a - b).max() < 1e-5
