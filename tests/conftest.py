"""Shared fixtures: one tiny model trained on synthetic scenes and exported once per session."""

import os

import pytest


@pytest.fixture(scope="session")
def tiny_run(tmp_path_factory):
    """A lraspp_mobilenet_v3_small trained briefly at 64x64: a checkpoint whose predictions mean
    something (an untrained net ties every logit), cheap enough for every test session."""
    from edgeseg.train import TrainConfig, train
    out = tmp_path_factory.mktemp("tiny_run")
    cfg = TrainConfig(model="lraspp_mobilenet_v3_small", data="synthetic", size=(64, 64), batch=8,
                      epochs=3, num_train=96, num_val=16, lr=5e-3, loss="ce+dice", seed=0, out=str(out))
    result = train(cfg, log=lambda *a, **k: None, progress_file=None)
    return result


@pytest.fixture(scope="session")
def tiny_onnx(tiny_run, tmp_path_factory):
    """The tiny checkpoint exported to a float ONNX at 64x64 (logits)."""
    from edgeseg.export import export_onnx
    out = tmp_path_factory.mktemp("tiny_onnx") / "model.onnx"
    export_onnx(tiny_run.last_checkpoint, str(out), log=lambda *a, **k: None)
    return str(out)


@pytest.fixture
def default_sigint():
    """Ctrl-C raising KeyboardInterrupt for the test, as in a terminal: a shell that starts pytest
    in the background (``cmd &`` without job control) hands it SIGINT ignored, and then a test
    that sends itself SIGINT would wait for ever (the CI runs of 2026-12-03 did)."""
    import signal
    before = signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, before)


def pytest_report_header(config):
    return f"edgeseg tests; CPU threads available: {os.cpu_count()}"
