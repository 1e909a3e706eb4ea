"""Session fixtures for the foreign-graph tests: every graph exported once, real frames, a SegFormer."""

import numpy as np
import pytest

from .models import SIZE, build_graphs, export_segformer, segformer_meta, tiny_segformer

pytest.importorskip("onnxruntime", reason='needs onnxruntime: pip install "edgeseg[onnx]"')


@pytest.fixture(scope="session")
def graphs(tmp_path_factory):
    """name -> Graph (path, meta, torch module) for each shape other exporters write."""
    return build_graphs(tmp_path_factory.mktemp("foreign"))


@pytest.fixture(scope="session")
def frames():
    """Real frames: synthetic street scenes, at the network size (so labels compare pixel for
    pixel, with no resize to the frame) and at another size (so preprocess resizes)."""
    from edgeseg.data import open_dataset
    at_size = [s.image for s in open_dataset("synthetic", split="val", size=SIZE, num=4)]
    other = [s.image for s in open_dataset("synthetic", split="test", size=(90, 130), num=2)]
    return {"network": at_size, "other": other}


@pytest.fixture(scope="session")
def calib(frames):
    from edgeseg.data import open_dataset
    from edgeseg.quantize.calibration import CalibrationSet
    images = [s.image for s in open_dataset("synthetic", split="train", size=SIZE, num=8)]
    return CalibrationSet(np.stack(images), SIZE, source="synthetic street scenes")


@pytest.fixture(scope="session")
def segformer(tmp_path_factory):
    """(HF model, its ONNX without meta, the meta a user writes for it)."""
    pytest.importorskip("transformers", reason='needs transformers: pip install "edgeseg[dev]"')
    model = tiny_segformer()
    path = export_segformer(model, tmp_path_factory.mktemp("segformer") / "segformer.onnx")
    return model, path, segformer_meta()
