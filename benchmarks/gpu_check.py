"""The GPU check for the first NVIDIA machine without TensorRT (driver, CUDA, cuda-python, torch,
ONNX Runtime; no network). Run it through ``benchmarks/gpu_check.sh``; it uses only what is
installed, says what it skipped, and exits non-zero only when something really failed.

Steps, each with its share of the time budget (the whole run stays under 8 minutes):

  probe        the GPU (cuda-python and torch), driver, CUDA, and which packages are installed
  cuda-layer   tests/backends/tensorrt/cuda marked gpu, through cuda-python: device query, pinned
               and device buffers, async copies on streams, events, worker threads, 1,000 cycles
  marked       python -m pytest -m "gpu or tensorrt" (TensorRT's tests skip, with their reason)
  torch-zoo    every zoo model on the GPU through the torch backend, fp32 and fp16 (autocast),
               batch 1/4/8: the reference figure until a TensorRT machine exists

    benchmarks/gpu_check.sh                   # everything, JSON in benchmarks/results/
    benchmarks/gpu_check.sh --quick           # 3 models at 256x256, fewer runs (about a minute)
    benchmarks/gpu_check.sh --out /tmp/check  # JSON elsewhere

Without a GPU every GPU step is skipped with the reason ("no GPU: skipped ...") and the JSON still
records the machine and the skips; the exit status is then 0.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime
import json
import os
import subprocess
import sys
import time
import xml.etree.ElementTree as ET
from functools import partial

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

from edgeseg.cli._common import int_at_least, output_dir, positive_float
from edgeseg.utils.atomic import atomic_write_text, private_tempdir

QUICK_MODELS = ("lraspp_mobilenet_v3_small", "lraspp_mobilenet_v3_large", "deeplabv3_mobilenet_v3_large")
BATCHES = (1, 4, 8)
PRECISIONS = ("fp32", "fp16")
BUDGET_S, QUICK_BUDGET_S = 420.0, 240.0
MAX_BUDGET_S = 460.0   # gpu_check.sh kills the run at 470 s: the whole check stays under 8 minutes
CAPS_S = {"cuda-layer": 150.0, "marked": 200.0}  # a step's most; the zoo takes what is left
RESERVE_S = 10.0   # kept back for writing the report
STARTED = time.monotonic()


# -- probe ---------------------------------------------------------------------------------------
def _version(module: str) -> str | None:
    from importlib import metadata
    try:
        return metadata.version(module)
    except metadata.PackageNotFoundError:
        return None


def probe() -> dict:
    """What is installed and whether a GPU answers; never raises."""
    env = {"python": sys.version.split()[0], "cuda_python": _version("cuda-python") or _version("cuda-bindings"),
           "tensorrt": _version("tensorrt") or "not installed", "onnxruntime": _version("onnxruntime"),
           "torch": None, "torch_cuda": None, "torch_gpu": None, "gpu": None, "gpu_error": None}
    try:
        from edgeseg.backends.tensorrt.cuda.device import gpu_info
        g = gpu_info(0)
        env["gpu"] = {"name": g.name, "compute_capability": g.compute_capability}
    except Exception as exc:  # noqa: BLE001 - any failure here means "no usable GPU", said below
        env["gpu_error"] = getattr(exc, "got", None) or str(exc).splitlines()[0]
    try:
        import torch
        env["torch"], env["torch_cuda"] = torch.__version__, torch.version.cuda
        if torch.cuda.is_available():
            env["torch_gpu"] = torch.cuda.get_device_name(0)
    except ImportError:
        pass
    try:
        import onnxruntime
        env["onnxruntime_providers"] = list(onnxruntime.get_available_providers())
    except ImportError:
        env["onnxruntime_providers"] = []
    return env


def no_gpu_reason(env: dict) -> str | None:
    """None when a GPU answers (cuda-python or torch), else why not, in one line."""
    if env["gpu"] or env["torch_gpu"]:
        return None
    torch_part = ("torch not installed" if env["torch"] is None
                  else f"torch {env['torch']} sees no CUDA device"
                  + ("" if env["torch_cuda"] else " (a CPU-only build)"))
    gpu_part = env["gpu_error"] if env["cuda_python"] else "cuda-python not installed"
    return f"{gpu_part}; {torch_part}"


# -- pytest steps ----------------------------------------------------------------------------------
def junit_results(path: str) -> list[dict]:
    """[{test, outcome, message}] from a pytest --junitxml file."""
    if not os.path.exists(path):
        return []
    out = []
    for case in ET.parse(path).getroot().iter("testcase"):
        test = f"{case.get('classname', '')}::{case.get('name', '')}"
        outcome, message = "passed", ""
        for child in case:
            if child.tag in ("failure", "error", "skipped"):
                outcome = {"failure": "failed", "error": "error", "skipped": "skipped"}[child.tag]
                message = (child.get("message") or child.text or "").strip().splitlines()[0:1]
                message = message[0][:300] if message else ""
                break
        out.append({"test": test, "outcome": outcome, "message": message})
    return out


def run_pytest(args: list[str], timeout: float, cwd: str = ROOT, env: dict | None = None) -> dict:
    """One pytest run in a subprocess: status ok | failed | skipped, counts, skip reasons."""
    with private_tempdir("edgeseg-gpujunit-") as tmp:
        xml = os.path.join(tmp, "junit.xml")
        cmd = [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-q", "-rs", f"--junitxml={xml}", *args]
        t0 = time.monotonic()
        try:
            proc = subprocess.run(cmd, cwd=cwd, env={**os.environ, **(env or {})}, capture_output=True,
                                  text=True, timeout=max(timeout, 1.0), check=False)
            rc, tail = proc.returncode, (proc.stdout + proc.stderr)[-2000:]
        except subprocess.TimeoutExpired as exc:
            # TimeoutExpired carries bytes even with text=True
            out = exc.stdout.decode(errors="replace") if isinstance(exc.stdout, bytes) else exc.stdout or ""
            rc, tail = None, f"timed out after {timeout:.0f} s: {out[-1500:]}"
        cases = junit_results(xml)
    counts = {k: sum(c["outcome"] == k for c in cases) for k in ("passed", "failed", "error", "skipped")}
    result = {"command": " ".join(cmd[1:]).replace(xml, "JUNIT"), "returncode": rc,
              "seconds": round(time.monotonic() - t0, 1), "counts": counts,
              "skips": sorted({c["message"] for c in cases if c["outcome"] == "skipped"}),
              "failures": [c for c in cases if c["outcome"] in ("failed", "error")]}
    if rc == 5:  # pytest: no tests collected / selected
        result.update(status="skipped", reason="no tests selected")
    elif rc == 0 and not result["failures"]:
        all_skipped = counts["passed"] == 0 and counts["skipped"] > 0
        result.update(status="skipped" if all_skipped else "ok",
                      reason="every test skipped: " + "; ".join(result["skips"][:3]) if all_skipped else None)
    else:
        result.update(status="failed", reason=tail if rc is None or not result["failures"] else
                      f"{len(result['failures'])} failed: " + ", ".join(f["test"] for f in result["failures"][:5]),
                      output_tail=tail)
    return result


# -- torch zoo benchmark ---------------------------------------------------------------------------
def _timed(fn, runs: int, warmup: int) -> list[float]:
    for _ in range(warmup):
        fn()
    times = []
    for _ in range(runs):
        t0 = time.perf_counter()
        fn()
        times.append((time.perf_counter() - t0) * 1e3)
    return times


def bench_model(name: str, size, batches, runs: int, warmup: int, work: str) -> list[dict]:
    """Rows for one zoo model: backend end to end (numpy in, logits back on the host, as a
    TensorRT backend returns them) and the model alone on device tensors (CUDA events)."""
    import numpy as np
    import torch

    from edgeseg.backends import load_backend
    from edgeseg.bench.latency import stats_from_times
    from edgeseg.data import SYNTHETIC_CLASSES
    from edgeseg.meta import ModelMeta
    from edgeseg.models import build_model
    from edgeseg.train.checkpoint import save_checkpoint

    torch.manual_seed(0)
    model = build_model(name, num_classes=len(SYNTHETIC_CLASSES)).eval()  # random weights: speed only
    meta = ModelMeta(model=name, classes=SYNTHETIC_CLASSES, input_size=size)
    ckpt = os.path.join(work, f"{name}.pt")
    save_checkpoint(ckpt, {"model": model.state_dict(), "meta": meta.to_dict(), "model_args": {}, "epoch": 0})
    backend = load_backend(ckpt, device="cuda")
    model = model.cuda()
    rows = []
    try:
        for precision in PRECISIONS:
            for batch in batches:
                amp = (torch.autocast("cuda", dtype=torch.float16) if precision == "fp16"
                       else contextlib.nullcontext())
                x = np.random.default_rng(0).standard_normal((batch, 3, *size)).astype(np.float32)
                xd = torch.from_numpy(x).cuda()
                row = {"model": name, "precision": precision, "batch": batch, "size": list(size)}
                try:
                    torch.cuda.reset_peak_memory_stats()
                    with amp:
                        host = stats_from_times(_timed(partial(backend.infer, x), runs, warmup))
                        with torch.inference_mode():
                            start, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
                            for _ in range(warmup):
                                model(xd)
                            start.record()
                            for _ in range(runs):
                                model(xd)
                            end.record()
                            torch.cuda.synchronize()
                    row.update(status="ok", backend=host.to_dict(), gpu_mean_ms=start.elapsed_time(end) / runs,
                               images_per_s=batch * 1e3 / host.p50_ms,
                               peak_gpu_mb=torch.cuda.max_memory_allocated() / 2**20)
                except torch.cuda.OutOfMemoryError:
                    torch.cuda.empty_cache()
                    row.update(status="skipped", reason="out of GPU memory")
                rows.append(row)
    finally:
        backend.close()
        model.cpu()  # give the GPU back before the next model
        torch.cuda.empty_cache()
    return rows


def bench_zoo(models, size, batches, runs: int, warmup: int, deadline: float, log) -> dict:
    rows, skipped, failed = [], [], []
    with private_tempdir("edgeseg-gpucheck-") as work:
        for i, name in enumerate(models):
            left = deadline - time.monotonic()
            if left < 20:  # a model takes ~5-15 s here: stop before the budget runs out
                skipped.append(f"{name}: time budget spent")
                continue
            t0 = time.monotonic()
            try:
                got = bench_model(name, size, batches, runs, warmup, work)
            except Exception as exc:  # noqa: BLE001 - recorded as a real failure, the next model runs
                failed.append({"model": name, "error": f"{type(exc).__name__}: {str(exc).splitlines()[0][:300]}"})
                log(f"  {name}: FAILED {failed[-1]['error']}")
                continue
            rows += got
            ok = [r for r in got if r["status"] == "ok"]
            log(f"  [{i + 1}/{len(models)}] {name}: " + "  ".join(
                f"{r['precision']} b{r['batch']} {r['backend']['p50_ms']:.1f} ms" for r in ok)
                + f"  ({time.monotonic() - t0:.0f} s)")
    status = "failed" if failed else ("ok" if rows else "skipped")
    return {"status": status, "rows": rows, "skipped_models": skipped, "failures": failed,
            "reason": None if rows or failed else "; ".join(skipped) or "no models"}


# -- the run ---------------------------------------------------------------------------------------
def parse_args(argv=None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="benchmarks/gpu_check.sh", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--quick", action="store_true", help="3 models at 256x256, 5 runs, a 4-minute budget")
    p.add_argument("--out", type=output_dir, default=os.path.join(ROOT, "benchmarks", "results"),
                   metavar="DIR", help="folder for the JSON report (default benchmarks/results)")
    p.add_argument("--budget", type=_budget, metavar="SECONDS",
                   help=f"time for the whole run, at most {MAX_BUDGET_S:.0f} (default {BUDGET_S:.0f}, "
                        f"--quick {QUICK_BUDGET_S:.0f})")
    p.add_argument("--models", help="comma-separated zoo models (default: every model; --quick: 3)")
    p.add_argument("--size", help="input HxW for the zoo benchmark (default 512x512; --quick 256x256)")
    p.add_argument("--runs", type=int_at_least(1), help="timed runs per variant (default 20; --quick 5)")
    a = p.parse_args(argv)
    from edgeseg import uri
    from edgeseg.errors import ConfigError
    try:
        a.size = uri.parse_size(a.size or ("256x256" if a.quick else "512x512"), what="--size", example="512x512")
    except ConfigError as exc:
        p.error(f"{str(exc).splitlines()[0]}: {a.size!r} (expected HxW such as 512x512)")
    try:
        from edgeseg.models.registry import MODELS  # the zoo's table (imports torch, builds nothing)
    except ImportError:  # no torch: the zoo step is skipped, names cannot be checked
        MODELS = {m.strip(): None for m in (a.models.split(",") if a.models else QUICK_MODELS)}
    a.models = ([m.strip() for m in a.models.split(",") if m.strip()] if a.models
                else list(QUICK_MODELS) if a.quick else sorted(MODELS))
    unknown = sorted(set(a.models) - set(MODELS))
    if unknown or not a.models:
        p.error(f"--models: unknown model(s) {', '.join(unknown) or '(none given)'}; "
                f"expected names from: {', '.join(sorted(MODELS))}")
    a.budget = a.budget or (QUICK_BUDGET_S if a.quick else BUDGET_S)
    a.runs = a.runs or (5 if a.quick else 20)
    a.argv = list(sys.argv[1:] if argv is None else argv)
    return a


def _budget(text: str) -> float:
    value = positive_float(text)
    if value > MAX_BUDGET_S:
        raise argparse.ArgumentTypeError(f"expected at most {MAX_BUDGET_S:.0f} seconds (the check stays under "
                                         f"8 minutes), got {text!r}")
    return value


def _say(name: str, step: dict, log) -> None:
    """One line per finished step (and its skip reasons), as it finishes."""
    if "counts" in step:
        c = step["counts"]
        log(f"{name}: {step['status']}: {c['passed']} passed, {c['failed'] + c['error']} failed, "
            f"{c['skipped']} skipped ({step['seconds']} s)")
        for why in step["skips"][:8]:
            log(f"  skipped: {why}")
    elif "rows" in step:
        ok = sum(r["status"] == "ok" for r in step["rows"])
        log(f"{name}: {step['status']}: {ok} variants measured, {len(step['failures'])} models failed, "
            f"{len(step['skipped_models'])} models skipped")
    if step["status"] == "failed":
        log(f"{name}: FAILED: {step.get('reason') or step.get('failures')}")


def run(a, log=print) -> dict:
    deadline = STARTED + a.budget - RESERVE_S
    models = a.models
    from edgeseg.bench.device import device_info
    env = probe()
    report = {"benchmark": "gpu_check", "created": datetime.datetime.now().isoformat(timespec="seconds"),
              "command": " ".join(["benchmarks/gpu_check.sh", *a.argv]), "quick": a.quick,
              "budget_s": a.budget, "device": device_info(), "environment": env, "steps": {}, "skipped": []}
    gpu = env["gpu"] or {"name": env["torch_gpu"]}
    log(f"gpu_check: GPU {gpu['name'] or 'none'}, cuda-python {env['cuda_python'] or 'not installed'}, "
        f"torch {env['torch'] or 'not installed'}, TensorRT {env['tensorrt']}")
    no_gpu = no_gpu_reason(env)
    steps = report["steps"]

    def skip(step: str, reason: str, say: bool = True):
        steps[step] = {"status": "skipped", "reason": reason}
        if say:
            log(f"skipped {step}: {reason}")

    if no_gpu:
        for step in ("cuda-layer", "marked", "torch-zoo"):
            skip(step, f"no GPU: {no_gpu}", say=False)
        log(f"no GPU: skipped the cuda-layer tests, the gpu/tensorrt tests and the torch zoo benchmark ({no_gpu})")
    else:
        if not env["gpu"]:
            skip("cuda-layer", f"cuda-python cannot reach the GPU: {env['gpu_error'] or 'not installed'}")
        else:
            log("cuda-layer: pytest -m gpu tests/backends/tensorrt/cuda (EDGESEG_CUDA=cuda-python)")
            steps["cuda-layer"] = run_pytest(["-m", "gpu", "tests/backends/tensorrt/cuda"],
                                             min(CAPS_S["cuda-layer"], deadline - time.monotonic()),
                                             env={"EDGESEG_CUDA": "cuda-python"})
            _say("cuda-layer", steps["cuda-layer"], log)
        log('marked: pytest -m "gpu or tensorrt"')
        steps["marked"] = run_pytest(["-m", "gpu or tensorrt"], min(CAPS_S["marked"], deadline - time.monotonic()))
        _say("marked", steps["marked"], log)
        if not env["torch_gpu"]:
            skip("torch-zoo", no_gpu_reason({**env, "gpu": None}).split("; ", 1)[1])
        else:
            log(f"torch-zoo: {len(models)} models at {a.size[0]}x{a.size[1]}, fp32/fp16 (autocast), batch "
                f"{'/'.join(map(str, BATCHES))}, {a.runs} runs")
            steps["torch-zoo"] = bench_zoo(models, a.size, BATCHES, a.runs, 2 if a.quick else 5, deadline, log)
            _say("torch-zoo", steps["torch-zoo"], log)
    report["skipped"] = [f"{n}: {s['reason']}" for n, s in steps.items() if s["status"] == "skipped"]
    report["failed_steps"] = [n for n, s in steps.items() if s["status"] == "failed"]
    report["exit_code"] = 1 if report["failed_steps"] else 0
    report["seconds"] = round(time.monotonic() - STARTED, 1)
    return report


def main(argv=None) -> int:
    a = parse_args(argv)
    report = run(a)
    from edgeseg.bench.device import device_slug
    name = f"gpu-check{'-quick' if a.quick else ''}-{device_slug(report['device'])}-{datetime.date.today()}.json"
    out = os.path.join(a.out, name)
    atomic_write_text(out, json.dumps(report, indent=2))
    print(f"gpu_check: {'FAILED: ' + ', '.join(report['failed_steps']) if report['exit_code'] else 'ok'} "
          f"in {report['seconds']} s; wrote {out}")
    return report["exit_code"]


if __name__ == "__main__":
    raise SystemExit(main())
