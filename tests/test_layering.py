"""The one rule of layering: the deploy side imports no torch, at any depth."""

import subprocess
import sys

DEPLOY = ["edgeseg", "edgeseg.runtime", "edgeseg.backends", "edgeseg.metrics", "edgeseg.data",
          "edgeseg.meta", "edgeseg.preprocess", "edgeseg.visualize", "edgeseg.evaluate",
          "edgeseg.bench", "edgeseg.backends.onnxruntime", "edgeseg.quantize", "edgeseg.quantize.api",
          "edgeseg.cli", "edgeseg.runtime.stream", "edgeseg.runtime.sources", "edgeseg.runtime.sinks",
          "edgeseg.runtime.preview", "edgeseg.bench.runner", "edgeseg.bench.device", "edgeseg.compare",
          "edgeseg.backends.tensorrt.runner", "edgeseg.backends.tensorrt.cuda", "edgeseg.backends.tensorrt.header"]


def _run(code):
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)


def test_deploy_side_imports_with_torch_blocked():
    code = ("import sys; sys.modules['torch'] = None\n"
            f"import importlib\nfor m in {DEPLOY!r}: importlib.import_module(m)\n"
            "assert sys.modules['torch'] is None\nprint('ok')")
    proc = _run(code)
    assert proc.returncode == 0 and "ok" in proc.stdout, proc.stderr


def test_deploy_side_runs_a_model_with_torch_blocked(tiny_onnx):
    code = ("import sys; sys.modules['torch'] = None\n"
            "import numpy as np\nfrom edgeseg.runtime import Segmenter\n"
            f"seg = Segmenter({tiny_onnx!r}, device='cpu')\n"
            "r = seg(np.zeros((120, 160, 3), np.uint8))\nprint(r.labels.shape)")
    proc = _run(code)
    assert proc.returncode == 0 and "(120, 160)" in proc.stdout, proc.stderr


def test_blocked_torch_gives_an_install_hint():
    code = ("import sys; sys.modules['torch'] = None\n"
            "from edgeseg.errors import MissingDependencyError\n"
            "from edgeseg.backends import load_backend\n"
            "try:\n    load_backend('x.pt')\nexcept MissingDependencyError as e:\n    print(e)")
    proc = _run(code)
    assert 'pip install "edgeseg[train]"' in proc.stdout, proc.stdout + proc.stderr
