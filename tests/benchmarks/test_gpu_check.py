"""benchmarks/gpu_check.sh on this machine: its arguments, its pytest steps, and a real run that
finds no GPU, skips the GPU steps with the reason and still writes its JSON."""

import importlib.util
import json
import os
import subprocess
import sys
import textwrap

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
SCRIPT = os.path.join(ROOT, "benchmarks", "gpu_check.sh")


def _module():
    spec = importlib.util.spec_from_file_location("gpu_check", os.path.join(ROOT, "benchmarks", "gpu_check.py"))
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


gpu_check = _module()


def _sh(*args, timeout=120):
    return subprocess.run(["bash", SCRIPT, *args], capture_output=True, text=True, timeout=timeout, check=False,
                          env={**os.environ, "PYTHON": sys.executable})


def _gpu_here() -> bool:
    env = gpu_check.probe()
    return gpu_check.no_gpu_reason(env) is None


def test_help_names_every_option():
    proc = _sh("--help")
    assert proc.returncode == 0, proc.stderr
    for opt in ("--quick", "--out DIR", "--budget", "--models", "--size", "--runs"):
        assert opt in proc.stdout
    assert "TensorRT" in proc.stdout and "8 minutes" in proc.stdout


@pytest.mark.parametrize("args, says", [
    (["--budget", "900"], "at most 460 seconds"), (["--budget", "-1"], "> 0"), (["--size", "0x3"], "--size"),
    (["--models", "lraspp_mobilenet_v3_lrage"], "unknown model"), (["--runs", "0"], "integer >= 1"),
    (["--bogus"], "unrecognized arguments"), (["--out", "FILE"], "existing file")])
def test_bad_arguments_exit_2_without_a_traceback(tmp_path, args, says):
    if "FILE" in args:
        (tmp_path / "f").write_text("x")
        args = [str(tmp_path / "f") if a == "FILE" else a for a in args]
    proc = _sh(*args, "--out", str(tmp_path / "out")) if "--out" not in args else _sh(*args)
    assert proc.returncode == 2, proc.stdout + proc.stderr
    assert says in proc.stderr and "Traceback" not in proc.stderr
    assert not (tmp_path / "out").exists()  # nothing ran, nothing written


def test_without_a_gpu_it_skips_with_the_reason_and_writes_its_json(tmp_path):
    if _gpu_here():
        pytest.skip("a GPU is present: the no-GPU path does not apply (the script runs its GPU steps)")
    out = tmp_path / "results"
    proc = _sh("--quick", "--out", str(out), timeout=240)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "no GPU: skipped the cuda-layer tests, the gpu/tensorrt tests and the torch zoo benchmark" in proc.stdout
    assert "Traceback" not in proc.stderr
    (path,) = out.glob("gpu-check-quick-*.json")
    assert f"wrote {path}" in proc.stdout
    doc = json.loads(path.read_text())
    assert doc["benchmark"] == "gpu_check" and doc["quick"] is True and doc["exit_code"] == 0
    assert set(doc["steps"]) == {"cuda-layer", "marked", "torch-zoo"}
    for name, step in doc["steps"].items():
        assert step["status"] == "skipped" and step["reason"].startswith("no GPU: "), (name, step)
    assert len(doc["skipped"]) == 3 and doc["failed_steps"] == []
    assert doc["environment"]["gpu"] is None and doc["environment"]["gpu_error"]
    assert doc["device"]["cpu_cores"] >= 1 and doc["command"].endswith(f"--quick --out {out}")
    if importlib.util.find_spec("tensorrt") is None:
        assert doc["environment"]["tensorrt"] == "not installed"


# -- the pytest steps, on real pytest runs -----------------------------------------------------
def _tests(tmp_path, body: str) -> str:
    path = tmp_path / "test_sample.py"
    path.write_text(textwrap.dedent(body))
    return str(path)


def test_a_failing_test_fails_the_step(tmp_path):
    path = _tests(tmp_path, """
        import pytest
        def test_ok(): pass
        def test_skip(): pytest.skip("no GPU here")
        def test_broken(): assert 1 == 2
    """)
    r = gpu_check.run_pytest([path], timeout=120, cwd=str(tmp_path))
    assert r["status"] == "failed" and r["returncode"] == 1
    assert r["counts"] == {"passed": 1, "failed": 1, "error": 0, "skipped": 1}
    assert [f["test"].split("::")[-1] for f in r["failures"]] == ["test_broken"]
    assert "test_broken" in r["reason"] and r["skips"] == ["no GPU here"]


def test_passes_and_skips_are_ok_and_only_skips_are_a_skip(tmp_path):
    path = _tests(tmp_path, """
        import pytest
        def test_ok(): pass
        def test_skip(): pytest.skip("TensorRT is not installed")
    """)
    r = gpu_check.run_pytest([path], timeout=120, cwd=str(tmp_path))
    assert r["status"] == "ok" and r["reason"] is None
    r = gpu_check.run_pytest([path, "-k", "skip"], timeout=120, cwd=str(tmp_path))
    assert r["status"] == "skipped" and "TensorRT is not installed" in r["reason"]
    r = gpu_check.run_pytest([path, "-k", "nothing_matches"], timeout=120, cwd=str(tmp_path))
    assert r["returncode"] == 5 and r["status"] == "skipped" and r["reason"] == "no tests selected"


def test_a_hung_step_is_a_failure(tmp_path):
    path = _tests(tmp_path, """
        import time
        def test_hangs(): time.sleep(60)
    """)
    r = gpu_check.run_pytest([path], timeout=5, cwd=str(tmp_path))
    assert r["status"] == "failed" and r["returncode"] is None and "timed out after 5 s" in r["reason"]


def test_no_gpu_reason_names_both_probes():
    base = {"gpu": None, "torch_gpu": None, "cuda_python": "13.0", "gpu_error": "cudaErrorNoDevice",
            "torch": "2.5.0+cpu", "torch_cuda": None}
    assert gpu_check.no_gpu_reason(base) == "cudaErrorNoDevice; torch 2.5.0+cpu sees no CUDA device (a CPU-only build)"
    assert gpu_check.no_gpu_reason({**base, "cuda_python": None, "torch": None}) == \
        "cuda-python not installed; torch not installed"
    assert gpu_check.no_gpu_reason({**base, "torch_gpu": "NVIDIA H200"}) is None
    assert gpu_check.no_gpu_reason({**base, "gpu": {"name": "Orin"}}) is None
