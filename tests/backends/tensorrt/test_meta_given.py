"""``Segmenter(path, meta=...)``: a model file that carries no meta (a trtexec plan, a foreign ONNX)
runs when the meta is given, as a ModelMeta or as the path of a meta JSON."""

import numpy as np
import pytest

from edgeseg.errors import ConfigError, ModelError
from edgeseg.runtime import Segmenter

from .engine_files import META
from .fake_cuda import FakeCuda
from .fake_tensorrt import fake_plan


@pytest.fixture
def trtexec_plan(tmp_path):
    path = tmp_path / "trtexec.engine"
    path.write_bytes(fake_plan())
    return str(path)


def test_segmenter_runs_a_raw_plan_with_the_meta_given(fake_trt, trtexec_plan, tmp_path):
    frame = np.random.default_rng(0).integers(0, 255, (24, 32, 3), np.uint8)
    meta_file = tmp_path / "tiny.meta.json"
    meta_file.write_text(META.to_json(indent=2))
    for meta in (META, str(meta_file), meta_file):
        with Segmenter(trtexec_plan, meta=meta, cuda=FakeCuda(), trt_log=None) as seg:
            assert seg.backend.kind == "tensorrt" and seg.meta == META
            r = seg(frame)
            assert r.labels.shape == (24, 32) and int(r.labels.max()) < 3


def test_segmenter_without_meta_says_how_to_give_it(fake_trt, trtexec_plan):
    with pytest.raises(ModelError, match="without its sidecar") as err:
        Segmenter(trtexec_plan, cuda=FakeCuda(), trt_log=None)
    assert "--meta FILE" in str(err.value) and "meta=" in str(err.value)


def test_segmenter_meta_for_a_foreign_onnx(tiny_onnx_no_meta):
    """The same meta= on ONNX Runtime, for real: an ONNX without edgeseg's meta."""
    with Segmenter(tiny_onnx_no_meta, device="cpu", meta=META) as seg:
        assert seg.backend.kind == "onnxruntime" and seg.meta == META
        assert seg(np.zeros((16, 16, 3), np.uint8)).labels.shape == (16, 16)


@pytest.mark.parametrize("content,match", [(None, "not found"), ("{oops", "not valid JSON"),
                                           ('{"model": "m"}', "incomplete")])
def test_bad_meta_files_are_named(tmp_path, trtexec_plan, content, match):
    meta_file = tmp_path / "m.meta.json"
    if content is not None:
        meta_file.write_text(content)
    with pytest.raises(ModelError, match=match) as err:
        Segmenter(trtexec_plan, meta=str(meta_file))
    assert str(meta_file) in str(err.value)


def test_meta_beside_an_open_backend_is_refused(fake_trt, trtexec_plan):
    with Segmenter(trtexec_plan, meta=META, cuda=FakeCuda(), trt_log=None) as seg, \
            pytest.raises(ConfigError, match="meta"):
        Segmenter(seg.backend, meta=META)
    with pytest.raises(ConfigError, match="ModelMeta or the path"):
        Segmenter(trtexec_plan, meta=42)
