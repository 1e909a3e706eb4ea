"""The README's path for a model edgeseg did not export, as a user runs it: ``edgeseg meta`` on the
bare graph, then ``edgeseg run``, ``quantize --target cpu``, ``compare`` and ``bench``.

Each graph is copied without its meta, so the command must read what it can from the graph and
take the rest from the options; the labels it streams are the torch module's own decoding.
"""

import json
import shutil

import cv2
import numpy as np
import pytest

from edgeseg.cli import main
from edgeseg.meta import ModelMeta
from edgeseg.preprocess import preprocess

from .models import CLASSES

pytest.importorskip("onnx", reason='needs onnx: pip install "edgeseg[onnx]"')

# graph -> the options a user gives (everything else is read from the graph)
OPTIONS = {
    "quarter_logits": [],
    "probs": [],
    "labels_int64": [],
    "nhwc_uint8": [],
    "torchvision_aux_first": ["--output", "out"],
    "dynamic": ["--input-size", "frame", "--stride", "32"],
}
# the fields the written meta must share with the meta the graph was made for
FIELDS = ("classes", "input_dtype", "layout", "output_kind", "run_size", "size_multiple")


def _main(argv, capsys):
    try:
        code = main([str(a) for a in argv])
    except SystemExit as exc:
        code = exc.code
    out = capsys.readouterr()
    return code, out.out, out.err


def _bare_copy(path, tmp_path) -> str:
    dst = tmp_path / "model.onnx"
    shutil.copy(path, dst)
    assert not (tmp_path / "model.onnx.meta.json").exists()
    return str(dst)


def _frames_folder(frames, tmp_path):
    folder = tmp_path / "frames"
    folder.mkdir()
    for i, image in enumerate(frames):
        cv2.imwrite(str(folder / f"{i:02d}.png"), image)
    return folder


@pytest.mark.parametrize("name", sorted(OPTIONS))
def test_meta_then_run_quantize_compare_bench(name, graphs, frames, tmp_path, capsys):
    graph = graphs[name]
    model = _bare_copy(graph.path, tmp_path)
    code, _, err = _main(["meta", model, "--classes", ",".join(CLASSES), *OPTIONS[name]], capsys)
    assert code == 0, err
    from edgeseg.backends.onnx_meta import get_onnx_meta
    import onnx
    written = get_onnx_meta(onnx.load(model), model)
    assert {f: getattr(written, f) for f in FIELDS} == {f: getattr(graph.meta, f) for f in FIELDS}
    assert written.output_name in (graph.meta.output_name, None) and written.needed_version() >= 1

    # run: the masks it writes are the module's own labels on the same frames (network size, no resize)
    images = frames["network"]
    folder = _frames_folder(images, tmp_path)
    code, _, err = _main(["run", f"images://{folder}", "--model", model, "--sink", f"masks://{tmp_path}/masks",
                          "--policy", "all", "--report-every", "0"], capsys)
    assert code == 0, err
    masks = sorted((tmp_path / "masks").glob("*.png"))
    assert len(masks) == len(images)
    agree = total = 0
    for image, mask_path in zip(images, masks):
        got = cv2.imread(str(mask_path), cv2.IMREAD_UNCHANGED)
        ref = graph.reference_labels(preprocess(image, written))
        agree, total = agree + int((got == ref).sum()), total + ref.size
    assert agree / total >= (1.0 if written.output_kind == "labels" else 0.999), agree / total

    code, _, err = _main(["quantize", model, "--calib", str(folder), "--num", "4", "--target", "cpu",
                          "--bench-runs", "1"], capsys)
    if written.output_kind == "labels":   # ArgMax'd ids cannot be quantized: said, with the way out
        assert code == 2 and "scores" in err and "--output" in err and "Traceback" not in err
        return
    assert code == 0, err
    int8 = str(tmp_path / "model.cpu.int8.onnx")
    assert get_onnx_meta(onnx.load(int8), int8).classes == CLASSES

    code, out, err = _main(["compare", model, int8, "--images", str(folder), "--min-agreement", "0",
                            "--json", tmp_path / "compare.json"], capsys)
    assert code == 0, err
    report = json.loads((tmp_path / "compare.json").read_text())
    assert report["images"] == len(images) and 0.5 < report["agreement"] <= 1.0

    code, _, err = _main(["bench", model, int8, "--backends", "ort", "--runs", "2", "--warmup", "0",
                          "--out", tmp_path / "bench.json"], capsys)
    assert code == 0, err
    doc = json.loads((tmp_path / "bench.json").read_text())
    measured = [v for v in doc["variants"] if v["status"] == "ok" and v["latency"]]
    assert len(measured) == 2, [(v["model"], v["status"], v["reason"]) for v in doc["variants"]]


def test_segformer_from_transformers_through_the_cli(segformer, frames, tmp_path, capsys):
    """The library model's path: meta with a preset-sized class list, run, INT8, compare, bench."""
    model_hf, path, meta = segformer
    model = _bare_copy(path, tmp_path)
    names = ",".join(meta.classes)
    code, out, err = _main(["meta", model, "--classes", names, "--mean", "0.485,0.456,0.406",
                            "--std", "0.229,0.224,0.225"], capsys)
    assert code == 0, err
    assert "1/4" in out
    folder = _frames_folder(frames["network"], tmp_path)
    for argv in (["run", f"images://{folder}", "--model", model, "--sink", "null://", "--report-every", "0"],
                 ["quantize", model, "--calib", str(folder), "--num", "4", "--target", "cpu", "--bench-runs", "1"],
                 ["compare", model, str(tmp_path / "model.cpu.int8.onnx"), "--images", str(folder),
                  "--min-agreement", "0"],
                 ["bench", model, "--backends", "ort", "--runs", "2", "--warmup", "0", "--out", tmp_path / "b.json"]):
        code, _, err = _main(argv, capsys)
        assert code == 0, (argv[0], err)
    assert ModelMeta.from_dict(json.loads(_main(["meta", model, "--print"], capsys)[1])).output_stride == 4
