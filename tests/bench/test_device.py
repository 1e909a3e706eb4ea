"""Device-info readers on fake sysfs / proc trees (no Jetson needed)."""

import sys

from edgeseg.bench import device as d


def _write(root, rel, text):
    p = root / rel
    p.parent.mkdir(parents=True, exist_ok=True)
    p.write_text(text)


def test_jetson_tree(tmp_path):
    _write(tmp_path, "proc/device-tree/model", "NVIDIA Jetson AGX Orin Developer Kit\x00")
    _write(tmp_path, "proc/cpuinfo", "processor\t: 0\nmodel name\t: ARMv8 Processor rev 1 (v8l)\n")
    for i, cur in ((0, "729600"), (1, "2201600")):
        _write(tmp_path, f"sys/devices/system/cpu/cpu{i}/cpufreq/scaling_cur_freq", cur)
        _write(tmp_path, f"sys/devices/system/cpu/cpu{i}/cpufreq/cpuinfo_max_freq", "2201600")
    _write(tmp_path, "sys/class/devfreq/17000000.ga10b/cur_freq", "1300500000")
    _write(tmp_path, "usr/local/cuda/version.json", '{"cuda": {"name": "CUDA SDK", "version": "12.2.140"}}')
    info = d.device_info(root=str(tmp_path))
    assert info["board"] == "NVIDIA Jetson AGX Orin Developer Kit"
    assert info["gpu_name"] == info["board"]  # integrated GPU: named after the board
    assert info["cpu_model"].startswith("ARMv8")
    assert info["cpu_clocks_mhz"] == {"cpu0": {"cur": 729, "max": 2201}, "cpu1": {"cur": 2201, "max": 2201}}
    assert info["gpu_clock_mhz"] == 1300
    assert info["cuda"] == "12.2.140"
    assert d.device_slug(info) == "nvidia-jetson-agx-orin-developer-kit"


def test_desktop_tree_without_gpu(tmp_path):
    _write(tmp_path, "proc/cpuinfo", "model name\t: AMD EPYC 7B13\n")
    _write(tmp_path, "usr/local/cuda/version.txt", "CUDA Version 10.2.89\n")
    _write(tmp_path, "proc/driver/nvidia/version",
           "NVRM version: NVIDIA UNIX x86_64 Kernel Module  550.54.14  Thu Feb 22 01:44:30 UTC 2024\n")
    info = d.device_info(root=str(tmp_path))
    assert info["cpu_model"] == "AMD EPYC 7B13"
    assert info["board"] == "n/a" and info["gpu_name"] == "n/a" and info["power_mode"] == "n/a"
    assert info["cuda"] == "10.2.89" and info["driver"] == "550.54.14"
    assert info["cpu_clocks_mhz"] == {} and info["gpu_clock_mhz"] is None


def test_empty_tree_is_all_na(tmp_path):
    info = d.device_info(root=str(tmp_path))
    assert info["cuda"] == "n/a" and info["driver"] == "n/a" and info["board"] == "n/a"


def test_nvpmodel_parser_and_runner():
    assert d.parse_nvpmodel("NV Power Mode: 15W\n2\n") == "15W (mode 2)"
    assert d.parse_nvpmodel("garbage") == "n/a"


def test_torch_version_without_importing_torch(monkeypatch):
    monkeypatch.setitem(sys.modules, "torch", None)  # the deploy side's view: torch blocked
    assert d.package_version("torch") == "n/a"
    assert d.package_version("onnxruntime") != "n/a"
