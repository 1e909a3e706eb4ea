"""What machine a benchmark ran on: CPU, GPU, driver, CUDA, TensorRT / ONNX Runtime / torch
versions, and on a Jetson the board, power mode and clocks. Every field is "n/a" where absent.

Deploy side: nothing heavy is imported. Package versions come from ``importlib.metadata``, so
torch is reported without importing it. Every reader takes a ``root`` so tests can point it at
a fake sysfs / proc tree.

>>> info = device_info()
>>> sorted(k for k in ("cpu_model", "cpu_cores", "gpu_name", "tensorrt", "onnxruntime") if k in info)
['cpu_cores', 'cpu_model', 'gpu_name', 'onnxruntime', 'tensorrt']
>>> parse_nvpmodel("NV Power Mode: MAXN\\n0\\n")
'MAXN (mode 0)'
"""

from __future__ import annotations

import glob
import importlib.metadata
import importlib.util
import json
import os
import platform
import re
import shutil
import subprocess

NA = "n/a"

# distribution names that provide each package, first match wins (GPU wheels have other names).
_DISTRIBUTIONS = {
    "onnxruntime": ("onnxruntime", "onnxruntime-gpu", "onnxruntime-directml"),
    "tensorrt": ("tensorrt", "tensorrt-cu12", "tensorrt-cu13", "tensorrt-cu11", "tensorrt_lean"),
    "torch": ("torch",),
    "opencv": ("opencv-python", "opencv-python-headless", "opencv-contrib-python"),
    "numpy": ("numpy",),
}
# devfreq nodes of Jetson GPUs (Nano gm20b, TX2 gp10b, Xavier gv11b, Orin ga10b) and the generic one.
_GPU_DEVFREQ = ("devices/gpu.0/devfreq/*/cur_freq", "class/devfreq/*gpu*/cur_freq",
                "class/devfreq/*ga10b*/cur_freq", "class/devfreq/*gv11b*/cur_freq",
                "class/devfreq/*gp10b*/cur_freq", "class/devfreq/*gm20b*/cur_freq")


def _read(path: str) -> str | None:
    try:
        with open(path, "rb") as f:
            return f.read().decode("utf-8", "replace").replace("\x00", "").strip()
    except OSError:
        return None


def package_version(name: str) -> str:
    """Installed version of ``name`` (a key of the distribution table) or "n/a"; never imports it.

    >>> package_version("numpy") != "n/a", package_version("no-such-package-xyz")
    (True, 'n/a')
    """
    # find_spec first: a package blocked in sys.modules (torch on the deploy side) is absent.
    try:
        top = {"opencv": "cv2"}.get(name, name)
        if importlib.util.find_spec(top) is None:
            return NA
    except (ImportError, ValueError):
        return NA
    for dist in _DISTRIBUTIONS.get(name, (name,)):
        try:
            return importlib.metadata.version(dist)
        except importlib.metadata.PackageNotFoundError:
            continue
    return NA


def cpu_model(root: str = "/") -> str:
    """CPU model from /proc/cpuinfo (x86 "model name", ARM "Hardware"/"Model"), else platform."""
    text = _read(os.path.join(root, "proc/cpuinfo")) or ""
    for key in ("model name", "Hardware", "Model", "cpu model", "Processor"):
        m = re.search(rf"^{key}\s*:\s*(.+)$", text, re.MULTILINE)
        if m and m.group(1).strip():
            return m.group(1).strip()
    return platform.processor() or platform.machine() or NA


def jetson_board(root: str = "/") -> str | None:
    """The board model from the device tree (e.g. "NVIDIA Jetson AGX Orin Developer Kit")."""
    model = _read(os.path.join(root, "proc/device-tree/model"))
    return model or None


def parse_nvpmodel(text: str) -> str:
    """``nvpmodel -q`` output -> "NAME (mode N)"."""
    name = re.search(r"Power Mode:\s*(\S+)", text or "")
    num = re.search(r"^\s*(\d+)\s*$", text or "", re.MULTILINE)
    if not name:
        return NA
    return f"{name.group(1)} (mode {num.group(1)})" if num else name.group(1)


def power_mode(run=subprocess.run) -> str:
    if not shutil.which("nvpmodel"):
        return NA
    try:
        out = run(["nvpmodel", "-q"], capture_output=True, text=True, timeout=5)
    except (OSError, subprocess.SubprocessError):
        return NA
    return parse_nvpmodel(out.stdout)


def cpu_clocks_mhz(root: str = "/") -> dict:
    """Current / max clock (MHz) per CPU core that exposes cpufreq; {} where none does."""
    clocks = {}
    pattern = os.path.join(root, "sys/devices/system/cpu/cpu[0-9]*/cpufreq")
    for d in sorted(glob.glob(pattern), key=lambda p: int(re.findall(r"cpu(\d+)", p)[-1])):
        cur, mx = _read(os.path.join(d, "scaling_cur_freq")), _read(os.path.join(d, "cpuinfo_max_freq"))
        if cur and cur.isdigit():
            core = "cpu" + re.findall(r"cpu(\d+)", d)[-1]
            clocks[core] = {"cur": int(cur) // 1000, "max": int(mx) // 1000 if mx and mx.isdigit() else None}
    return clocks


def gpu_clock_mhz(root: str = "/") -> int | None:
    """Current GPU clock (MHz) from devfreq (Jetson integrated GPUs); None where unreadable."""
    for pattern in _GPU_DEVFREQ:
        for path in sorted(glob.glob(os.path.join(root, "sys", pattern))):
            value = _read(path)
            if value and value.isdigit():
                return int(value) // 1_000_000
    return None


def cuda_version(root: str = "/") -> str:
    """The CUDA toolkit version from /usr/local/cuda/version.json (11.1+) or version.txt."""
    text = _read(os.path.join(root, "usr/local/cuda/version.json"))
    if text:
        try:
            return json.loads(text)["cuda"]["version"]
        except (ValueError, KeyError, TypeError):
            pass
    text = _read(os.path.join(root, "usr/local/cuda/version.txt")) or ""
    m = re.search(r"(\d+\.\d+(?:\.\d+)?)", text)
    return m.group(1) if m else NA


def nvidia_smi(run=subprocess.run) -> dict:
    """GPU name, driver and the driver's CUDA version from nvidia-smi; {} where absent."""
    if not shutil.which("nvidia-smi"):
        return {}
    try:
        q = run(["nvidia-smi", "--query-gpu=name,driver_version,memory.total", "--format=csv,noheader"],
                capture_output=True, text=True, timeout=10)
        head = run(["nvidia-smi"], capture_output=True, text=True, timeout=10).stdout
    except (OSError, subprocess.SubprocessError):
        return {}
    parts = [p.strip() for p in (q.stdout.splitlines() or [""])[0].split(",")]
    m = re.search(r"CUDA Version:\s*([\d.]+)", head or "")
    return {"gpu_name": parts[0] if parts[0] else NA, "driver": parts[1] if len(parts) > 1 else NA,
            "gpu_memory": parts[2] if len(parts) > 2 else NA, "cuda_driver": m.group(1) if m else NA}


def driver_version(root: str = "/") -> str:
    """NVIDIA kernel driver version from /proc/driver/nvidia/version."""
    text = _read(os.path.join(root, "proc/driver/nvidia/version")) or ""
    m = re.search(r"Kernel Module(?: for \w+)?\s+([\d.]+)", text)
    return m.group(1) if m else NA


def device_info(root: str = "/", run=subprocess.run) -> dict:
    """One flat dict describing this machine; ``root`` and ``run`` are for tests."""
    smi = nvidia_smi(run) if root == "/" else {}
    board = jetson_board(root)
    jetson = bool(board and "jetson" in board.lower())
    info = {
        "host": platform.node() or NA,
        "os": f"{platform.system()} {platform.release()}",
        "machine": platform.machine() or NA,
        "python": platform.python_version(),
        "cpu_model": cpu_model(root),
        "cpu_cores": os.cpu_count() or 0,
        "gpu_name": smi.get("gpu_name") or (board if jetson else NA),
        "driver": smi.get("driver") or driver_version(root),
        "cuda": cuda_version(root) if cuda_version(root) != NA else smi.get("cuda_driver", NA),
        "tensorrt": package_version("tensorrt"),
        "onnxruntime": package_version("onnxruntime"),
        "torch": package_version("torch"),
        "opencv": package_version("opencv"),
        "numpy": package_version("numpy"),
        "board": board or NA,
        "power_mode": power_mode(run) if jetson and root == "/" else NA,
        "cpu_clocks_mhz": cpu_clocks_mhz(root),
        "gpu_clock_mhz": gpu_clock_mhz(root),
    }
    return info


def device_slug(info: dict) -> str:
    """A short file-name-safe name for the machine: board, else GPU, else host.

    >>> device_slug({"board": "NVIDIA Jetson Orin Nano", "gpu_name": "n/a", "host": "x"})
    'nvidia-jetson-orin-nano'
    >>> device_slug({"board": "n/a", "gpu_name": "n/a", "host": "vm"})
    'vm'
    """
    for key in ("board", "gpu_name", "host"):
        value = info.get(key)
        if value and value != NA:
            return re.sub(r"[^a-z0-9]+", "-", value.lower()).strip("-")[:48] or "device"
    return "device"


def describe(info: dict) -> str:
    """One line for the top of a table."""
    parts = [f"{info.get('cpu_model', NA)} x{info.get('cpu_cores', '?')}"]
    if info.get("gpu_name", NA) != NA:
        parts.append(f"{info['gpu_name']} (driver {info.get('driver', NA)}, CUDA {info.get('cuda', NA)})")
    if info.get("board", NA) != NA:
        parts.append(f"{info['board']}, power {info.get('power_mode', NA)}")
    parts.append(f"ORT {info.get('onnxruntime', NA)}, TensorRT {info.get('tensorrt', NA)}, "
                 f"torch {info.get('torch', NA)}")
    return "; ".join(parts)
