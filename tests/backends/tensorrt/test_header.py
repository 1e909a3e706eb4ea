"""The engine file pair (raw plan + sidecar), legacy headered files, unwrapping, compatibility rules."""

import hashlib
import json
import os
import struct
import warnings

import pytest

from edgeseg.backends.tensorrt.header import (
    EngineCompatibilityWarning,
    EngineHeader,
    check_compatible,
    open_engine,
    read_engine,
    read_header,
    rebuild_command,
    unwrap_engine,
    write_engine,
)
from edgeseg.errors import ConfigError, ModelError
from edgeseg.meta import META_VERSION, ModelMeta

from . import engine_files

PLAN = b"ftrt" + bytes(range(256)) * 8
META = ModelMeta(model="lraspp_mobilenet_v3_small", classes=("road", "car"), input_size=(64, 64),
                 precision="fp16")
SHAPES = {"input": {"min": [1, 3, 64, 64], "opt": [1, 3, 64, 64], "max": [1, 3, 64, 64]}}
FACTS = {"tensorrt", "gpu", "compute_capability", "precision", "shapes", "onnx_sha256", "onnx", "dla_core",
         "version_compatible", "created", "edgeseg", "plan_sha256", "plan_size"}


def header(**kw):
    d = {"meta": META, "tensorrt": "10.3.0", "gpu": "Orin", "compute_capability": "8.7", "precision": "fp16",
         "shapes": SHAPES, "onnx_sha256": "ab" * 32, "onnx": "model.onnx"}
    d.update(kw)
    return EngineHeader(**d)


def sidecar(path) -> str:
    return f"{path}.meta.json"


def _sidecar_json(path) -> dict:
    with open(sidecar(path), encoding="utf-8") as f:
        return json.load(f)


@pytest.fixture
def engine(tmp_path):
    path = tmp_path / "model.engine"
    return str(path), write_engine(path, header(), PLAN)


def legacy(tmp_path, name="old.engine", plan=PLAN, **changes):
    """A headered engine as edgeseg wrote them before (files on robots), from the contract."""
    h = header(**changes).to_dict()
    h.update(header_version=1, plan_sha256=hashlib.sha256(plan).hexdigest(), plan_size=len(plan))
    path = tmp_path / name
    path.write_bytes(engine_files.engine_bytes(plan, h))
    return str(path)


# -- the pair: raw plan + sidecar ------------------------------------------------------------------
def test_engine_is_the_raw_plan_byte_for_byte(engine):
    path, written = engine
    with open(path, "rb") as f:
        assert f.read() == PLAN       # what trtexec --loadEngine, DeepStream and Polygraphy read
    assert written.plan_size == len(PLAN) and written.plan_sha256 == hashlib.sha256(PLAN).hexdigest()


def test_sidecar_is_the_meta_schema_with_the_engine_facts(engine):
    path, _written = engine
    with open(sidecar(path), encoding="utf-8") as f:
        d = json.load(f)
    assert d["meta_version"] == 2 <= META_VERSION   # 2: the engine object; a plain meta needs no more
    assert set(d["engine"]) == FACTS and d["engine"]["compute_capability"] == "8.7"
    # one schema: the same file read as a plain ModelMeta sidecar gives the model's meta
    assert ModelMeta.from_dict(d) == META == ModelMeta.read_sidecar(path)


def test_round_trip(engine):
    path, written = engine
    h, plan = read_engine(path)
    assert h == written == read_header(path) and plan == PLAN
    assert h.meta == META and h.shapes == SHAPES and h.dla_core is None and not h.version_compatible
    assert EngineHeader.from_sidecar(h.to_sidecar()) == h


def test_missing_sidecar_says_how_to_give_the_meta(engine):
    path, _ = engine
    os.remove(sidecar(path))
    for read in (read_header, read_engine, open_engine):
        with pytest.raises(ModelError, match="without its sidecar") as e:
            read(path)
        msg = str(e.value)
        assert "--meta FILE" in msg and "meta=" in msg and sidecar(path) in msg


def test_sidecar_of_another_plan_is_refused(engine, tmp_path):
    path, _ = engine
    with open(path, "r+b") as f:      # same size, other bytes: only the sha256 tells
        f.write(b"ftrX")
    with pytest.raises(ModelError, match="belongs to another plan") as e:
        read_engine(path)
    assert "sha256" in str(e.value) and sidecar(path) in str(e.value)
    with open(path, "ab") as f:       # another size: read_header sees it without reading the plan
        f.write(b"more")
    with pytest.raises(ModelError, match="belongs to another plan") as e:
        read_header(path)
    assert f"{len(PLAN)}-byte plan" in str(e.value)


def test_read_header_verify_hashes_the_plan(engine):
    path, written = engine
    with open(path, "r+b") as f:
        f.write(b"ftrX")
    assert read_header(path) == written        # facts alone: no plan read
    with pytest.raises(ModelError, match="belongs to another plan"):
        read_header(path, verify=True)


def test_newer_sidecar_is_refused(engine):
    path, _ = engine
    with open(sidecar(path), encoding="utf-8") as f:
        d = json.load(f)
    d["meta_version"] = META_VERSION + 1
    with open(sidecar(path), "w", encoding="utf-8") as f:
        json.dump(d, f)
    with pytest.raises(ModelError, match="newer edgeseg") as e:
        read_engine(path)
    assert sidecar(path) in str(e.value) and "pip install -U edgeseg" in str(e.value)


@pytest.mark.parametrize("text,match", [("{oops", "not valid JSON"), ("[1, 2]", "not a JSON object"),
                                        ('{"model": "m"}', "incomplete")])
def test_bad_sidecar(engine, text, match):
    path, _ = engine
    with open(sidecar(path), "w", encoding="utf-8") as f:
        f.write(text)
    with pytest.raises(ModelError, match=match) as e:
        read_header(path)
    assert sidecar(path) in str(e.value)


def test_bad_engine_facts(engine):
    path, _ = engine
    with open(sidecar(path), encoding="utf-8") as f:
        d = json.load(f)
    for facts, match in (({k: v for k, v in d["engine"].items() if k != "gpu"}, "incomplete"),
                         ({**d["engine"], "tensorrt": "unknown"}, "malformed"),
                         ("not an object", "malformed")):
        with open(sidecar(path), "w", encoding="utf-8") as f:
            json.dump({**d, "engine": facts}, f)
        with pytest.raises(ModelError, match=match):
            read_header(path)


def test_meta_only_sidecar_gives_the_meta_but_no_facts(tmp_path):
    path = tmp_path / "trtexec.engine"
    path.write_bytes(PLAN)
    META.write_sidecar(path)           # how a user describes a plan edgeseg did not build
    f = open_engine(path)
    assert f.header is None and f.meta == META and f.plan == PLAN
    with pytest.raises(ModelError, match="no engine facts"):
        read_header(path)


def test_raw_plan_with_meta_given(tmp_path):
    path = tmp_path / "trtexec.engine"
    path.write_bytes(PLAN)
    f = open_engine(path, meta=META)
    assert f.header is None and f.meta == META and f.plan == PLAN


def test_given_meta_wins_but_the_sidecar_is_still_checked(engine):
    path, written = engine
    other = META.replace(model="other")
    f = open_engine(path, meta=other)
    assert f.meta == other and f.header == written
    with open(path, "r+b") as fh:
        fh.write(b"ftrX")
    with pytest.raises(ModelError, match="belongs to another plan"):
        open_engine(path, meta=other)


def test_pair_is_renamed_sidecar_first(tmp_path, monkeypatch):
    """Crash between the two renames: the new sidecar sits beside the old plan, which the
    sha256 check refuses; never a new plan without its sidecar. A crash before: nothing changes."""
    path = tmp_path / "model.engine"
    old = write_engine(path, header(), PLAN)
    real, order = os.replace, []

    def crash_on_plan(src, dst):
        order.append(os.path.basename(dst))
        if dst == str(path):
            raise OSError("power cut")
        real(src, dst)
    monkeypatch.setattr(os, "replace", crash_on_plan)
    with pytest.raises(OSError, match="power cut"):
        write_engine(path, header(gpu="Other"), b"ftrt another plan")
    monkeypatch.setattr(os, "replace", real)
    assert order == ["model.engine.meta.json", "model.engine"]
    assert path.read_bytes() == PLAN and _sidecar_json(path)["engine"]["gpu"] == "Other"
    for read in (read_header, read_engine):
        with pytest.raises(ModelError, match="belongs to another plan"):
            read(path)
    assert sorted(os.listdir(tmp_path)) == ["model.engine", "model.engine.meta.json"]   # no temp files left
    write_engine(path, old, PLAN)
    assert read_engine(path) == (old, PLAN)


def test_write_is_atomic_on_error(tmp_path):
    path = tmp_path / "model.engine"
    write_engine(path, header(), PLAN)
    before = path.read_bytes(), _sidecar_json(path)

    class Boom(bytes):
        def __bytes__(self):
            raise RuntimeError("disk full")
    with pytest.raises(RuntimeError):
        write_engine(path, header(gpu="Other"), Boom(b"x"))
    assert (path.read_bytes(), _sidecar_json(path)) == before
    assert sorted(os.listdir(tmp_path)) == ["model.engine", "model.engine.meta.json"]


# -- legacy headered files (already on robots) -----------------------------------------------------
def test_legacy_headered_file_still_reads(tmp_path):
    path = legacy(tmp_path)
    h, plan = read_engine(path)
    assert plan == PLAN and h.meta == META and h.gpu == "Orin" and read_header(path) == h
    assert open_engine(path).header == h


def test_legacy_read_header_reads_only_the_header(tmp_path):
    path = legacy(tmp_path)
    written = read_header(path)
    with open(path, "r+b") as f:   # cut the plan: the header alone still reads
        f.truncate(os.path.getsize(path) - 100)
    assert read_header(path) == written
    with pytest.raises(ModelError, match="truncated") as e:
        read_engine(path)
    assert f"{len(PLAN)}-byte plan" in str(e.value) and "rebuild" in str(e.value)


@pytest.mark.parametrize("keep", [5, 10, 40])
def test_legacy_truncated_inside_header(tmp_path, keep):
    path = legacy(tmp_path)
    with open(path, "r+b") as f:
        f.truncate(keep)
    with pytest.raises(ModelError, match="truncated"):
        read_header(path)


def test_legacy_damaged_plan_is_caught(tmp_path):
    path = legacy(tmp_path)
    with open(path, "r+b") as f:
        f.seek(-1, 2)
        f.write(b"\x01")
    with pytest.raises(ModelError, match="checksum"):
        read_engine(path)
    with open(path, "ab") as f:
        f.write(b"extra")
    with pytest.raises(ModelError, match="after its plan"):
        read_engine(path)


def _raw_header(tmp_path, blob: bytes):
    path = tmp_path / "bad.engine"
    path.write_bytes(engine_files.MAGIC + struct.pack("<I", len(blob)) + blob + PLAN)
    return path


def test_legacy_bad_json_and_bad_fields(tmp_path):
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
    path.write_bytes(engine_files.MAGIC + struct.pack("<I", 0xFFFFFFF0) + b"{}")
    with pytest.raises(ModelError, match="implausible"):
        read_header(path)


# -- unwrapping a legacy file into the pair --------------------------------------------------------
def test_unwrap_in_place(tmp_path):
    path = legacy(tmp_path)
    before = read_header(path)
    h, changed = unwrap_engine(path)
    assert changed and h == before
    with open(path, "rb") as f:
        assert f.read() == PLAN
    assert read_engine(path) == (before, PLAN)
    assert unwrap_engine(path) == (before, False)      # already a pair: nothing to do


def test_unwrap_to_another_file(tmp_path):
    path = legacy(tmp_path)
    out = str(tmp_path / "new.engine")
    h, changed = unwrap_engine(path, out)
    assert changed and read_engine(out) == (h, PLAN) and read_header(path) == h   # the source stays


def test_unwrap_refuses_what_it_cannot_convert(tmp_path):
    raw = tmp_path / "raw.engine"
    raw.write_bytes(PLAN)
    with pytest.raises(ModelError, match="without its sidecar"):
        unwrap_engine(raw)
    path = legacy(tmp_path)
    with pytest.raises(ConfigError, match="would overwrite its sidecar"):
        unwrap_engine(path, sidecar(path))


# -- foreign files ---------------------------------------------------------------------------------
def test_ultralytics_style_engine_is_named(tmp_path):
    meta = json.dumps({"imgsz": [640, 640], "task": "segment"}).encode()
    path = tmp_path / "yolo.engine"
    path.write_bytes(len(meta).to_bytes(4, "little") + meta + PLAN)
    for read in (read_header, lambda p: open_engine(p, meta=META)):
        with pytest.raises(ModelError, match="another tool's header"):
            read(path)


@pytest.mark.parametrize("data,match", [(b"PK\x03\x04 some zip", "not a TensorRT engine"),
                                        (b"ESEGTRT9" + bytes(20), "newer edgeseg"),
                                        (b"ESEG", "truncated")])
def test_wrong_magic(tmp_path, data, match):
    path = tmp_path / "x.engine"
    path.write_bytes(data)
    with pytest.raises(ModelError, match=match):
        read_header(path)


def test_missing_file(tmp_path):
    for read in (read_header, read_engine, open_engine):
        with pytest.raises(ModelError, match="not found"):
            read(tmp_path / "none.engine")


# -- compatibility ---------------------------------------------------------------------------------
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
        check_compatible(h, "10.2.0", "Orin", "8.7", engine_path=path)
    assert cmd in str(e.value)


@pytest.mark.parametrize("built,runtime,ok", [("10.3.0", "10.3.0", True), ("10.3.0", "10.8.0", True),
                                              ("10.3.0", "10.13.0.35", True), ("10.3.0", "10.2.0", False),
                                              ("10.3.0", "9.9.0", False), ("10.3.0", "12.0.0", False),
                                              ("11.1.0", "11.4.0", True), ("11.4.0", "11.1.0", False),
                                              ("11.4.0", "10.16.0", False), ("8.6.1", "10.3.0", True),
                                              ("8.6.1", "11.4.0", False)])
def test_version_compatible_rule(built, runtime, ok):
    h = header(tensorrt=built, version_compatible=True)
    if ok:
        check_compatible(h, runtime, "Orin", "8.7")
    else:
        with pytest.raises(ModelError, match="version-compatible") as e:
            check_compatible(h, runtime, "Orin", "8.7")
        assert built in str(e.value) and runtime in str(e.value)


@pytest.mark.parametrize("runtime", ["11.0.0", "11.4.0", "11.4.1.2"])
def test_version_compatible_tensorrt_10_engine_runs_on_tensorrt_11(runtime):
    """NVIDIA's TensorRT 11 support matrix: TensorRT 10 version-compatible engines run on a
    TensorRT 11 runtime (and only those cross the major boundary upwards, besides 8 -> 10)."""
    check_compatible(header(version_compatible=True), runtime, "Orin", "8.7")
    with pytest.raises(ModelError, match="exact TensorRT version"):
        check_compatible(header(), runtime, "Orin", "8.7")   # not version-compatible: refused as before


def test_compute_capability_mismatch_is_fatal_even_version_compatible():
    for h in (header(), header(version_compatible=True)):
        with pytest.raises(ModelError, match="another GPU architecture") as e:
            check_compatible(h, "10.3.0", "NVIDIA GeForce RTX 4090", "8.9")
        assert "8.7" in str(e.value) and "8.9" in str(e.value) and "RTX 4090" in str(e.value)


def test_same_capability_other_gpu_warns():
    h = header(gpu="NVIDIA GeForce RTX 3080", compute_capability="8.6")
    with pytest.warns(EngineCompatibilityWarning, match="RTX 3080.*RTX 3090"):
        check_compatible(h, "10.3.0", "NVIDIA GeForce RTX 3090", "8.6")
