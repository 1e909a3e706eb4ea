"""The engine file header: round trip, damaged and foreign files, compatibility rules."""

import hashlib
import json
import os
import struct
import warnings

import pytest

from edgeseg.backends.tensorrt.header import (
    MAGIC,
    EngineCompatibilityWarning,
    EngineHeader,
    check_compatible,
    read_engine,
    read_header,
    rebuild_command,
    write_engine,
)
from edgeseg.errors import ModelError
from edgeseg.meta import ModelMeta

PLAN = b"ftrt" + bytes(range(256)) * 8
META = ModelMeta(model="lraspp_mobilenet_v3_small", classes=("road", "car"), input_size=(64, 64),
                 precision="fp16")
SHAPES = {"input": {"min": [1, 3, 64, 64], "opt": [1, 3, 64, 64], "max": [1, 3, 64, 64]}}


def header(**kw):
    d = {"meta": META, "tensorrt": "10.3.0", "gpu": "Orin", "compute_capability": "8.7", "precision": "fp16",
         "shapes": SHAPES, "onnx_sha256": "ab" * 32, "onnx": "model.onnx"}
    d.update(kw)
    return EngineHeader(**d)


@pytest.fixture
def engine(tmp_path):
    path = tmp_path / "model.engine"
    return str(path), write_engine(path, header(), PLAN)


def test_round_trip(engine):
    path, written = engine
    assert written.plan_size == len(PLAN) and written.plan_sha256 == hashlib.sha256(PLAN).hexdigest()
    h, plan = read_engine(path)
    assert h == written == read_header(path) and plan == PLAN
    assert h.meta == META and h.shapes == SHAPES and h.dla_core is None and not h.version_compatible
    assert EngineHeader.from_json(h.to_json()) == h


def test_layout_is_magic_length_json_plan(engine):
    path, _written = engine
    with open(path, "rb") as f:
        data = f.read()
    assert data[:8] == MAGIC == b"ESEGTRT1"
    (n,) = struct.unpack("<I", data[8:12])
    d = json.loads(data[12:12 + n].decode("utf-8"))
    assert data[12 + n:] == PLAN
    assert set(d) == {"header_version", "meta", "tensorrt", "gpu", "compute_capability", "precision", "shapes",
                      "onnx_sha256", "onnx", "dla_core", "version_compatible", "created", "edgeseg",
                      "plan_sha256", "plan_size"}
    assert d["header_version"] == 1 and ModelMeta.from_dict(d["meta"]) == META and d["compute_capability"] == "8.7"


def test_read_header_reads_only_the_header(engine, monkeypatch):
    path, written = engine
    with open(path, "r+b") as f:   # cut the plan: the header alone still reads
        f.truncate(os.path.getsize(path) - 100)
    assert read_header(path) == written
    with pytest.raises(ModelError, match="truncated") as e:
        read_engine(path)
    assert f"{len(PLAN)}-byte plan" in str(e.value) and "rebuild" in str(e.value)


@pytest.mark.parametrize("keep", [0, 5, 10, 40])
def test_truncated_inside_header(engine, keep):
    path, _ = engine
    with open(path, "r+b") as f:
        f.truncate(keep)
    with pytest.raises(ModelError, match="truncated"):
        read_header(path)


def test_damaged_plan_is_caught(engine):
    path, _ = engine
    with open(path, "rb") as f:
        last = f.read()[-1:]
    with open(path, "r+b") as f:
        f.seek(-1, 2)
        f.write(b"\x00" if last != b"\x00" else b"\x01")
    with pytest.raises(ModelError, match="checksum"):
        read_engine(path)
    with open(path, "ab") as f:
        f.write(b"extra")
    with pytest.raises(ModelError, match="after its plan"):
        read_engine(path)


def test_raw_tensorrt_plan_gets_an_explanation(tmp_path):
    path = tmp_path / "trtexec.engine"
    path.write_bytes(PLAN)
    with pytest.raises(ModelError) as e:
        read_header(path)
    msg = str(e.value)
    assert "raw TensorRT plan" in msg and "edgeseg build model.onnx" in msg and "--wrap" in msg


def test_ultralytics_style_engine_is_named(tmp_path):
    meta = json.dumps({"imgsz": [640, 640], "task": "segment"}).encode()
    path = tmp_path / "yolo.engine"
    path.write_bytes(len(meta).to_bytes(4, "little") + meta + PLAN)
    with pytest.raises(ModelError, match="another tool's header"):
        read_header(path)


@pytest.mark.parametrize("data,match", [(b"PK\x03\x04 some zip", "not an engine file written by edgeseg"),
                                        (b"ESEGTRT9" + bytes(20), "newer edgeseg"),
                                        (b"", "truncated")])
def test_wrong_magic(tmp_path, data, match):
    path = tmp_path / "x.engine"
    path.write_bytes(data)
    with pytest.raises(ModelError, match=match):
        read_header(path)


def _raw_header(tmp_path, blob: bytes):
    path = tmp_path / "bad.engine"
    path.write_bytes(MAGIC + struct.pack("<I", len(blob)) + blob + PLAN)
    return path


def test_bad_json_and_bad_fields(tmp_path):
    with pytest.raises(ModelError, match="not valid JSON"):
        read_header(_raw_header(tmp_path, b"{not json"))
    with pytest.raises(ModelError, match="not valid JSON"):
        read_header(_raw_header(tmp_path, b"\xff\xfe"))
    with pytest.raises(ModelError, match="not a JSON object"):
        read_header(_raw_header(tmp_path, b"[1, 2]"))
    d = header().to_dict()
    del d["gpu"]
    with pytest.raises(ModelError, match="incomplete"):
        read_header(_raw_header(tmp_path, json.dumps(d).encode()))
    d = {**header().to_dict(), "header_version": 7}
    with pytest.raises(ModelError, match="newer edgeseg"):
        read_header(_raw_header(tmp_path, json.dumps(d).encode()))
    d = {**header().to_dict(), "tensorrt": "unknown"}
    with pytest.raises(ModelError, match="malformed"):
        read_header(_raw_header(tmp_path, json.dumps(d).encode()))
    d = {**header().to_dict(), "shapes": {"input": {"min": "x"}}}
    with pytest.raises(ModelError, match="malformed"):
        read_header(_raw_header(tmp_path, json.dumps(d).encode()))
    path = tmp_path / "huge.engine"
    path.write_bytes(MAGIC + struct.pack("<I", 0xFFFFFFF0) + b"{}")
    with pytest.raises(ModelError, match="implausible"):
        read_header(path)


def test_missing_file(tmp_path):
    with pytest.raises(ModelError, match="not found"):
        read_header(tmp_path / "none.engine")
    with pytest.raises(ModelError, match="not found"):
        read_engine(tmp_path / "none.engine")


def test_write_is_atomic_on_error(tmp_path, monkeypatch):
    path = tmp_path / "model.engine"
    write_engine(path, header(), PLAN)
    before = path.read_bytes()

    class Boom(bytes):
        def __bytes__(self):
            raise RuntimeError("disk full")
    with pytest.raises(RuntimeError):
        write_engine(path, header(gpu="Other"), Boom(b"x"))
    assert path.read_bytes() == before and sorted(os.listdir(tmp_path)) == ["model.engine"]


# -- compatibility ------------------------------------------------------------------------------
def test_same_everything_is_fine(engine):
    _path, h = engine
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        check_compatible(h, "10.3.0", "Orin", "8.7")
        check_compatible(h, "10.3.0.30", "Orin", "8.7")   # a build number does not matter


@pytest.mark.parametrize("runtime", ["10.4.0", "10.3.1", "10.2.0", "11.0.0"])
def test_other_tensorrt_is_refused_with_both_versions_and_the_command(engine, runtime):
    path, h = engine
    with pytest.raises(ModelError) as e:
        check_compatible(h, runtime, "Orin", "8.7", engine_path=path)
    msg = str(e.value)
    assert "TensorRT 10.3.0" in msg and f"TensorRT {runtime}" in msg and "Orin" in msg
    # the ONNX sits beside the engine? not here: the generic form
    assert "edgeseg build <model.onnx> --precision fp16 --shape 1x3x64x64 --out " + path in msg


def test_rebuild_command_uses_the_onnx_beside_the_engine(tmp_path):
    (tmp_path / "model.onnx").write_bytes(b"onnx")
    path = str(tmp_path / "model.engine")
    h = write_engine(path, header(precision="best", dla_core=1, version_compatible=True,
                                  shapes={"input": {"min": [1, 3, 64, 64], "opt": [2, 3, 128, 128],
                                                    "max": [4, 3, 256, 256]}}), PLAN)
    cmd = rebuild_command(h, path)
    onnx = str(tmp_path / "model.onnx")
    assert cmd == (f"edgeseg build {onnx} --precision best --dynamic 1x3x64x64:2x3x128x128:4x3x256x256 "
                   f"--dla 1 --version-compatible --out {path}")
    with pytest.raises(ModelError) as e:
        check_compatible(h, "11.4.0", "Orin", "8.7", engine_path=path)
    assert cmd in str(e.value)


@pytest.mark.parametrize("runtime,ok", [("10.3.0", True), ("10.8.0", True), ("10.13.0.35", True),
                                        ("10.2.0", False), ("11.0.0", False), ("9.9.0", False)])
def test_version_compatible_rule(runtime, ok):
    h = header(version_compatible=True)
    if ok:
        check_compatible(h, runtime, "Orin", "8.7")
    else:
        with pytest.raises(ModelError, match="version-compatible") as e:
            check_compatible(h, runtime, "Orin", "8.7")
        assert "10.3.0" in str(e.value) and runtime in str(e.value)


def test_compute_capability_mismatch_is_fatal_even_version_compatible():
    for h in (header(), header(version_compatible=True)):
        with pytest.raises(ModelError, match="another GPU architecture") as e:
            check_compatible(h, "10.3.0", "NVIDIA GeForce RTX 4090", "8.9")
        assert "8.7" in str(e.value) and "8.9" in str(e.value) and "RTX 4090" in str(e.value)


def test_same_capability_other_gpu_warns():
    h = header(gpu="NVIDIA GeForce RTX 3080", compute_capability="8.6")
    with pytest.warns(EngineCompatibilityWarning, match="RTX 3080.*RTX 3090"):
        check_compatible(h, "10.3.0", "NVIDIA GeForce RTX 3090", "8.6")
