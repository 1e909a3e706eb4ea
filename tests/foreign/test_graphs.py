"""Segmenter on graphs edgeseg did not export: each shape gives the labels its torch module gives on
real frames, and a meta that does not fit the graph is a clear error when the model opens."""

import numpy as np
import pytest

from edgeseg.errors import ModelError
from edgeseg.postprocess import labels_to_frame, softmax
from edgeseg.runtime import Segmenter

from .models import SIZE

SCORE_GRAPHS = ["quarter_logits", "logits", "probs", "nhwc_uint8", "nchw_uint8", "float16_input", "torchvision",
                "torchvision_aux_first"]
LABEL_GRAPHS = ["labels_int64", "labels_int32", "labels_uint8_quarter"]


def _agreement(a, b) -> float:
    assert a.shape == b.shape
    return float((np.asarray(a) == np.asarray(b)).mean())


@pytest.mark.parametrize("name", SCORE_GRAPHS)
def test_score_graphs_label_frames_as_their_torch_module_does(graphs, frames, name):
    g = graphs[name]
    with Segmenter(g.path, device="cpu", meta=g.meta, scores=True) as seg:
        for frame in frames["network"]:
            x = seg.preprocess(frame)
            assert x.dtype == np.dtype(g.meta.input_dtype)
            r = seg(frame)
            assert r.labels.shape == SIZE and r.scores.shape == (len(g.meta.classes), *SIZE)
            assert _agreement(r.labels, g.reference_labels(x)) >= 0.999
            np.testing.assert_allclose(r.scores.sum(0), 1, atol=1e-5)
        # another frame size: labels at the frame's size, from the same network-size decision
        frame = frames["other"][0]
        r = seg(frame)
        assert r.labels.shape == frame.shape[:2]
        want = labels_to_frame(g.reference_labels(seg.preprocess(frame)).astype(np.uint8), frame.shape[:2])
        assert _agreement(r.labels, want) >= 0.999


def test_probabilities_are_not_softmaxed_twice(graphs, frames):
    g = graphs["probs"]
    with Segmenter(g.path, device="cpu", meta=g.meta, scores=True) as seg:
        x = seg.preprocess(frames["network"][0])
        r = seg(frames["network"][0])
    np.testing.assert_allclose(r.scores, g.torch_output(x)[0], atol=1e-5)   # the graph's own probabilities
    assert np.abs(r.scores - softmax(g.torch_output(x)[0])).max() > 1e-3      # a second softmax would differ


def test_quarter_size_scores_are_upsampled_like_torch_interpolate(graphs, frames):
    import torch
    g = graphs["quarter_logits"]
    with Segmenter(g.path, device="cpu", meta=g.meta, scores=True) as seg:
        assert seg.backend.output.shape[2:] == (16, 16)
        x = seg.preprocess(frames["network"][1])
        r = seg(frames["network"][1])
    up = torch.nn.functional.interpolate(torch.from_numpy(g.torch_output(x)), size=SIZE, mode="bilinear",
                                         align_corners=False)
    assert np.abs(r.scores - torch.softmax(up, 1)[0].numpy()).max() <= 1e-5


@pytest.mark.parametrize("name", LABEL_GRAPHS)
def test_label_graphs_give_exactly_the_modules_ids(graphs, frames, name):
    g = graphs[name]
    with Segmenter(g.path, device="cpu", meta=g.meta, scores=True) as seg:
        assert seg.backend.output.dtype == g.meta.label_dtype
        for frame in frames["network"]:
            x = seg.preprocess(frame)
            r = seg(frame)
            assert r.scores is None and r.labels.dtype == np.uint8
            np.testing.assert_array_equal(r.labels, g.reference_labels(x))


def test_torchvision_outputs_run_the_one_the_meta_names(graphs, frames):
    a, b = graphs["torchvision"], graphs["torchvision_aux_first"]
    frame = frames["network"][2]
    with Segmenter(a.path, device="cpu", meta=a.meta) as sa, Segmenter(b.path, device="cpu", meta=b.meta) as sb:
        assert [o.name for o in sb.backend.outputs] == ["aux", "out"] and sb.backend.output.name == "out"
        main = sa(frame).labels
        np.testing.assert_array_equal(main, sb(frame).labels)   # the same 'out' head, wherever it sits
    # without output_name the first output runs: for the aux-first export that is the aux head
    with Segmenter(b.path, device="cpu", meta=b.meta.replace(output_name=None)) as first:
        assert first.backend.output.name == "aux"
        assert _agreement(first(frame).labels, main) < 0.9


def test_dynamic_graph_runs_at_each_frames_size_rounded_to_32(graphs, frames):
    g = graphs["dynamic"]
    with Segmenter(g.path, device="cpu", meta=g.meta) as seg:
        assert seg.backend.inputs[0].shape[2:] == (None, None)
        for frame, net in ((frames["other"][0], (96, 128)), (frames["network"][0], SIZE),
                           (frames["other"][1][:50, :70], (64, 64))):
            x = seg.preprocess(frame)
            assert x.shape == (1, 3, *net)
            r = seg(frame)
            want = labels_to_frame(g.reference_labels(x).astype(np.uint8), frame.shape[:2])
            assert r.labels.shape == frame.shape[:2] and _agreement(r.labels, want) >= 0.999
    # the same graph at the meta's fixed size, when the meta says so
    with Segmenter(g.path, device="cpu", meta=g.meta.replace(run_size="fixed")) as seg:
        assert seg.preprocess(frames["other"][0]).shape == (1, 3, *SIZE)


# -- a meta that does not fit the graph: clear at load time, with the option that fixes it ----------
WRONG = [
    ("labels_int64", {"output_kind": "logits", "label_dtype": None}, "holds logits, but it is int64",
     "--output-kind labels"),
    ("probs", {"output_kind": "labels"}, "holds class ids (labels), but it is float", "--output-kind logits"),
    ("quarter_logits", {"classes": ("a", "b", "c"), "palette": ()}, "has 5 channels, but the meta names 3 classes",
     "--classes"),
    ("quarter_logits", {"output_stride": 8}, "not at 1/8 of the input", "output_stride"),
    ("nhwc_uint8", {"input_dtype": "float32"}, "takes uint8 pixels", "input type from the graph"),
    ("nhwc_uint8", {"layout": "NCHW"}, "does not have 3 colour channels where NCHW", "--layout nhwc"),
    ("nchw_uint8", {"input_dtype": "float32"}, "takes uint8 pixels", "input type from the graph"),
    ("float16_input", {"input_dtype": "float32"}, "takes float16", "input_dtype='float16'"),
    ("logits", {"layout": "NHWC"}, "does not have 3 colour channels where NHWC", "--layout nchw"),
    ("torchvision", {"output_name": "logits"}, "names an output the graph does not have", "--output NAME"),
    ("logits", {"input_size": (128, 128)}, "input size differs from the graph", "--input-size 64x64"),
    ("logits", {"run_size": "frame", "size_multiple": 32}, "has a fixed size, but the meta says run at each frame",
     "--input-size 64x64"),
    ("labels_int64", {"label_dtype": "int32"}, "label type differs", "--output-kind labels"),
]


@pytest.mark.parametrize("name, changes, what, fix", WRONG, ids=[f"{w[0]}-{'-'.join(w[1])}" for w in WRONG])
def test_a_meta_that_does_not_fit_is_refused_when_the_model_opens(graphs, name, changes, what, fix):
    g = graphs[name]
    with pytest.raises(ModelError) as err:
        Segmenter(g.path, device="cpu", meta=g.meta.replace(**changes))
    text = str(err.value)
    assert what in text and fix in text and g.path in text
    if name == "torchvision":
        assert "'out' (1x5x64x64 float32), 'aux' (1x5x64x64 float32)" in text


def test_a_graph_without_meta_says_how_to_give_one(graphs):
    with pytest.raises(ModelError, match="carries no edgeseg meta"):
        Segmenter(graphs["logits"].path, device="cpu")
