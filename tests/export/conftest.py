"""Shared fixtures: a tiny checkpoint in edgeseg's format (no training) and its exported graph."""

import pytest

from .export_helpers import make_checkpoint


@pytest.fixture(scope="session")
def checkpoint(tmp_path_factory):
    path = tmp_path_factory.mktemp("ckpt") / "best.pt"
    make_checkpoint(path)
    return path


@pytest.fixture(scope="session")
def logits_export(checkpoint, tmp_path_factory):
    """The default export (float NCHW in, logits out), shared by the tests that only read it."""
    from edgeseg.export import export_onnx
    lines = []
    result = export_onnx(checkpoint, tmp_path_factory.mktemp("logits") / "model.onnx", log=lines.append)
    return result, lines
