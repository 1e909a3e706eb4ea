"""TensorRTBackend on a CPU: its error paths for real (header errors come before any TensorRT
call), and its whole logic (I/O discovery, buffers, two streams, submit/collect) against the fake
TensorRT and an in-memory CUDA, on engines written by hand and by the fake builder."""

import gc
import json
import sys
import warnings
import weakref

import numpy as np
import pytest

from edgeseg.backends import backend_kind, load_backend
from edgeseg.backends.tensorrt.builder import build_engine
from edgeseg.backends.tensorrt.runner import TensorRTBackend, Ticket
from edgeseg.errors import ConfigError, DataError, EdgesegError, MissingDependencyError, ModelError

from .conftest import cuda_gpu_present
from .engine_files import META, engine_bytes, write_legacy_engine
from .fake_cuda import FakeCuda
from .fake_tensorrt import DEFAULT_VERSION, fake_plan, reference


def _open(path, **kw):
    return TensorRTBackend(path, cuda=FakeCuda(), trt_log=None, **kw)


# -- real error paths, no TensorRT needed ------------------------------------------------------
def test_truncated_engine_is_a_model_error(tmp_path):
    data = engine_bytes(fake_plan())
    for cut in (4, 20, len(data) - 5):
        path = tmp_path / f"cut{cut}.engine"
        path.write_bytes(data[:cut])
        with pytest.raises(ModelError) as err:
            TensorRTBackend(str(path))
        assert str(path) in str(err.value)


def test_foreign_files_are_model_errors(tmp_path, tiny_onnx_no_meta):
    raw_plan = tmp_path / "raw.plan"   # a bare TensorRT plan without a sidecar, and no meta given
    raw_plan.write_bytes(b"ftrt" + bytes(200))
    renamed = tmp_path / "model.engine"  # an ONNX file given an engine's name
    with open(tiny_onnx_no_meta, "rb") as f:
        renamed.write_bytes(f.read())
    for path in (raw_plan, renamed):
        with pytest.raises(ModelError, match="engine"):
            load_backend(str(path))


def test_onnx_without_meta_fails_before_tensorrt(tiny_onnx_no_meta):
    assert backend_kind(tiny_onnx_no_meta, "tensorrt") == "tensorrt"
    with pytest.raises(ModelError, match="carries no edgeseg meta"):
        load_backend(tiny_onnx_no_meta, backend="tensorrt")


def test_missing_tensorrt_names_jetpack(engine_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "tensorrt", None)
    with pytest.raises(MissingDependencyError, match="JetPack") as err:
        TensorRTBackend(engine_path())
    # The header is read first, so the message also names the TensorRT and GPU the plan needs.
    assert f"TensorRT {DEFAULT_VERSION}" in str(err.value) and "compute capability" in str(err.value)


def test_option_errors(engine_path, tmp_path):
    with pytest.raises(ConfigError, match="not on cpu"):
        TensorRTBackend(engine_path(), device="cpu")
    with pytest.raises(ConfigError, match="only apply when building from ONNX"):
        TensorRTBackend(engine_path(), precision="int8")
    with pytest.raises(ModelError, match="not found"):
        TensorRTBackend(str(tmp_path / "nope.engine"))


# -- the backend's logic, on fakes ---------------------------------------------------------------
def test_infer_logits_and_meta_from_header(fake_trt, engine_path):
    with _open(engine_path()) as b:
        assert b.meta == META and b.kind == "tensorrt" and b.tensorrt_version == "10.3.0"
        assert b.inputs[0].shape == (1, 3, 8, 8) and b.outputs[0].shape == (1, 3, 8, 8)
        x = np.random.default_rng(0).normal(size=(1, 3, 8, 8)).astype(np.float32)
        np.testing.assert_array_equal(b(x), reference(x, 3, False))
        with pytest.raises(DataError, match="wrong shape"):
            b(np.zeros((1, 3, 16, 16), np.float32))
        with pytest.raises(DataError, match="wrong dtype"):
            b(np.zeros((1, 3, 8, 8), np.float64))
    assert b.closed
    with pytest.raises(DataError, match="closed"):
        b(x)


def test_labels_engine(fake_trt, engine_path):
    meta = META.replace(output_kind="labels")
    with _open(engine_path(plan=fake_plan(labels=True), meta=meta.to_dict())) as b:
        x = np.random.default_rng(1).normal(size=(1, 3, 8, 8)).astype(np.float32)
        out = b(x)
        assert out.dtype == np.int32 and out.shape == (1, 8, 8)
        np.testing.assert_array_equal(out, reference(x, 3, True))
    with pytest.raises(ModelError, match="holds logits, but it is int32") as err:
        _open(engine_path(plan=fake_plan(labels=True)))  # meta says logits
    assert "--output-kind labels" in str(err.value)
    with pytest.raises(ModelError, match="holds class ids .labels., but it is float"):
        _open(engine_path(plan=fake_plan()), meta=meta)  # a logits engine given a labels meta


def test_the_meta_picks_one_of_several_outputs(fake_trt, engine_path):
    """torchvision's graphs have 'out' and 'aux'; with 'aux' first only output_name gets the main head."""
    plan = fake_plan(names=("input", "aux", "out"))
    x = np.random.default_rng(2).normal(size=(1, 3, 8, 8)).astype(np.float32)
    with _open(engine_path(plan=plan)) as b:   # no output_name: the first, as before
        assert [o.name for o in b.outputs] == ["aux", "out"] and b.output.name == "aux"
        np.testing.assert_array_equal(b(x), reference(x, 3, False))
    with _open(engine_path(plan=plan), meta=META.replace(output_name="out")) as b:
        assert b.output.name == "out"
        np.testing.assert_array_equal(b(x), -reference(x, 3, False))   # the fake's second output
        t = b.submit(x)
        np.testing.assert_array_equal(b.collect(t), -reference(x, 3, False))
    with pytest.raises(ModelError, match="names an output the graph does not have") as err:
        _open(engine_path(plan=plan), meta=META.replace(output_name="logits"))
    assert "'aux' (1x3x8x8 float32), 'out' (1x3x8x8 float32)" in str(err.value)
    assert "--output NAME" in str(err.value)


def test_a_meta_for_another_model_fails_when_the_engine_opens(fake_trt, engine_path):
    with pytest.raises(ModelError, match="4 classes") as err:
        _open(engine_path(), meta=META.replace(classes=("a", "b", "c", "d"), palette=()))
    assert "--classes" in str(err.value)
    with pytest.raises(ModelError, match="input size differs") as err:
        _open(engine_path(), meta=META.replace(input_size=(16, 16)))
    assert "--input-size 8x8" in str(err.value)


def test_submit_collect_overlaps_two_streams(fake_trt, engine_path):
    with _open(engine_path()) as b:
        xs = [np.full((1, 3, 8, 8), i, np.float32) for i in range(3)]
        t0, t1 = b.submit(xs[0]), b.submit(xs[1])
        assert isinstance(t0, Ticket) and t0.slot != t1.slot
        executes = fake_trt.calls("execute_async_v3")
        assert len(set(executes)) == 2  # two contexts, two streams
        with pytest.raises(ConfigError, match="busy"):
            b.submit(xs[2])
        np.testing.assert_array_equal(b.collect(t1), reference(xs[1], 3, False))
        np.testing.assert_array_equal(b.collect(t0), reference(xs[0], 3, False))
        with pytest.raises(ConfigError, match="already collected"):
            b.collect(t0)
        np.testing.assert_array_equal(b.collect(b.submit(xs[2])), reference(xs[2], 3, False))


def test_dynamic_shapes_and_profile_errors(fake_trt, engine_path):
    plan = fake_plan(input_shape=(-1, 3, -1, -1), profile=[[1, 3, 8, 8], [1, 3, 16, 16], [2, 3, 32, 32]])
    with _open(engine_path(plan=plan)) as b:
        assert b.inputs[0].shape == (None, 3, None, None)
        for shape in [(1, 3, 16, 16), (2, 3, 8, 32), (1, 3, 16, 16)]:
            x = np.ones(shape, np.float32)
            np.testing.assert_array_equal(b(x), reference(x, 3, False))
        with pytest.raises(DataError, match="outside the engine's optimisation profile") as err:
            b(np.ones((1, 3, 64, 64), np.float32))
        assert "(2, 3, 32, 32)" in str(err.value)


def test_header_is_checked_before_deserializing(fake_trt, engine_path):
    with pytest.raises(ModelError, match="another GPU"):
        _open(engine_path(compute_capability="7.2"))
    assert not fake_trt.calls("deserialize_cuda_engine")


def test_failed_deserialization_quotes_tensorrt(fake_trt, engine_path):
    with pytest.raises(ModelError, match="could not deserialize") as err:
        _open(engine_path(plan=b"garbage plan bytes"))
    assert "magic tag does not match" in str(err.value)


def test_version_compatible_allows_host_code(fake_trt, engine_path):
    with _open(engine_path(version_compatible=True)) as b:
        assert b._runtime.engine_host_code_allowed is True
    with _open(engine_path()) as b:
        assert b._runtime.engine_host_code_allowed is False


def test_old_tensorrt_is_refused(fake_trt, engine_path):
    fake_trt("8.6.1")
    with pytest.raises(ModelError, match="TensorRT 10 or 11"):
        _open(engine_path())


@pytest.mark.parametrize("version", ["10.3.0", "11.4.0"])
def test_an_engine_from_the_fake_builder_runs(fake_trt, tiny_dynamic, tmp_path, version):
    """build -> load through the one fake: the runtime runs the plan the builder wrote for the
    network it parsed (names, shapes, profile, classes), on the same fake GPU (so no warning)."""
    fake_trt(version)
    built = build_engine(tiny_dynamic, tmp_path / "m.engine", precision="fp16",
                         shapes="1x3x32x32:1x3x32x32:2x3x64x64", progress=None, log=None)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        b = _open(built.path)
    with b:
        assert b.tensorrt_version == version and b.meta.classes == ("bg", "fg")
        assert [(s.name, s.shape) for s in b.inputs] == [("input", (None, 3, None, None))]
        assert [(s.name, s.shape, s.dtype) for s in b.outputs] == [("logits", (None, 2, None, None), "float32")]
        for shape in [(1, 3, 32, 32), (2, 3, 64, 64), (1, 3, 48, 40)]:
            x = np.random.default_rng(2).normal(size=shape).astype(np.float32)
            np.testing.assert_array_equal(b(x), reference(x, 2, False))
        with pytest.raises(DataError, match="outside the engine's optimisation profile"):
            b(np.ones((1, 3, 128, 128), np.float32))
    assert len(fake_trt.calls("deserialize_cuda_engine")) == 1


def test_real_cuda_python_without_gpu_is_a_clear_error(fake_trt, engine_path):
    """The fake TensorRT, then the real CUDA layer: on this machine it must say there is no GPU."""
    pytest.importorskip("cuda.bindings", reason="cuda-python is not installed")
    if cuda_gpu_present():
        pytest.skip("a GPU is present: the no-GPU path does not apply")
    with pytest.raises(EdgesegError, match="no NVIDIA driver / GPU was found"):
        TensorRTBackend(engine_path(), cuda="cuda-python")


# -- the engine file pair and the meta given by hand ---------------------------------------------
def test_plan_without_sidecar_loads_with_the_meta_given(fake_trt, tmp_path):
    """A trtexec plan: no sidecar, so no pre-check of versions; TensorRT itself deserializes it."""
    path = tmp_path / "trtexec.engine"
    path.write_bytes(fake_plan())
    with pytest.raises(ModelError, match="without its sidecar") as err:
        _open(str(path))
    assert "--meta FILE" in str(err.value) and "meta=" in str(err.value)
    assert not fake_trt.calls("deserialize_cuda_engine")
    x = np.random.default_rng(3).normal(size=(1, 3, 8, 8)).astype(np.float32)
    with _open(str(path), meta=META) as b:
        assert b.meta == META and b._runtime.engine_host_code_allowed is False
        np.testing.assert_array_equal(b(x), reference(x, 3, False))
    meta_file = tmp_path / "tiny.meta.json"       # the meta as a JSON file (edgeseg run --meta FILE)
    meta_file.write_text(META.to_json())
    with _open(str(path), meta=str(meta_file)) as b:
        assert b.meta == META


def test_missing_tensorrt_without_sidecar_still_explains(tmp_path, monkeypatch):
    path = tmp_path / "trtexec.engine"
    path.write_bytes(fake_plan())
    monkeypatch.setitem(sys.modules, "tensorrt", None)
    with pytest.raises(MissingDependencyError, match="JetPack") as err:
        TensorRTBackend(str(path), meta=META)
    assert "the version that built it" in str(err.value)


def test_sidecar_of_another_plan_fails_before_deserializing(fake_trt, engine_path, tmp_path):
    path = engine_path()
    with open(path, "wb") as f:
        f.write(fake_plan(classes=5))
    with pytest.raises(ModelError, match="belongs to another plan"):
        _open(path)
    assert not fake_trt.calls("deserialize_cuda_engine")


def test_newer_sidecar_is_refused(fake_trt, engine_path):
    path = engine_path()
    with open(path + ".meta.json", encoding="utf-8") as f:
        d = json.load(f)
    with open(path + ".meta.json", "w", encoding="utf-8") as f:
        json.dump({**d, "meta_version": 99}, f)
    with pytest.raises(ModelError, match="newer edgeseg"):
        _open(path)


def test_legacy_headered_engine_still_runs(fake_trt, tmp_path):
    path = write_legacy_engine(tmp_path / "old.engine", fake_plan())
    x = np.ones((1, 3, 8, 8), np.float32)
    with _open(path) as b:
        assert b.meta == META
        np.testing.assert_array_equal(b(x), reference(x, 3, False))
    (call,) = fake_trt.calls("deserialize_cuda_engine")
    assert call[1] == len(fake_plan())          # TensorRT got the plan alone, not the header


def test_tensorrt_11_runs_a_version_compatible_tensorrt_10_engine(fake_trt, engine_path):
    fake_trt("11.4.0")
    with _open(engine_path(version_compatible=True)) as b:
        assert b.tensorrt_version == "11.4.0" and b._runtime.engine_host_code_allowed is True
    with pytest.raises(ModelError, match="exact TensorRT version"):
        _open(engine_path(name="plain.engine"))


def test_close_frees_engine_and_runtime(fake_trt, engine_path):
    """Nothing of the backend keeps TensorRT's objects after close(): the engine and (through the
    bindings' keep_alive) the runtime go now, in this thread, not later in the garbage collector."""
    plan = fake_plan(input_shape=(-1, 3, -1, -1), profile=[[1, 3, 8, 8], [1, 3, 8, 8], [2, 3, 16, 16]])
    b = _open(engine_path(plan=plan))
    b(np.ones((1, 3, 8, 8), np.float32))
    with pytest.raises(DataError, match="outside the engine's optimisation profile"):
        b(np.ones((1, 3, 32, 32), np.float32))   # the profile is still reachable while open
    engine, runtime = weakref.ref(b._engine), weakref.ref(b._runtime)
    b.close()
    gc.collect()
    assert engine() is None and runtime() is None
