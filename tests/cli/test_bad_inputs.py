"""Every command with its bad values, in one table: each must exit 2 (a user error, not 70, the
exit status of a bug), print no traceback, and name what was wrong.

The rows are what a new user types; the files they need are made once in ``bad``. A row that
needs a model uses the session's tiny checkpoint/ONNX, so the whole table runs in seconds after
those exist (most rows fail at argument parsing, before any model is loaded).
"""

import os
import subprocess
import sys

import numpy as np
import pytest

from edgeseg.cli import EXIT_INTERNAL, EXIT_USAGE, main

TRAIN = ["train", "--model", "lraspp_mobilenet_v3_small", "--size", "64x64", "--epochs", "1",
         "--num-train", "4", "--num-val", "2", "--batch", "2"]


@pytest.fixture(scope="module")
def bad(tiny_run, tiny_onnx, tmp_path_factory):
    """The files the rows name: {name: path}."""
    d = tmp_path_factory.mktemp("bad_inputs")
    data = open(tiny_onnx, "rb").read()
    (d / "truncated.onnx").write_bytes(data[: len(data) // 3])
    (d / "folder.onnx").mkdir()
    (d / "a_folder").mkdir()
    (d / "a_file.txt").write_text("not a folder")
    np.savez(d / "random.npz", weights=np.zeros(3), notes=np.array(["x"]))
    (d / "truncated.npz").write_bytes(b"PK\x03\x04" + bytes(40))
    from edgeseg.data.video import write_video
    write_video(d / "clip.mp4", num_frames=20, fps=10.0, size=(64, 64), seed=0)
    clip = (d / "clip.mp4").read_bytes()
    (d / "truncated.mp4").write_bytes(clip[: int(len(clip) * 0.4)])
    (d / "empty.mp4").write_bytes(b"")
    import cv2
    for sub in ("images", "masks"):
        (d / "stray" / sub).mkdir(parents=True)
    cv2.imwrite(str(d / "stray" / "images" / "a.png"), np.full((16, 16, 3), 90, np.uint8))
    mask = np.repeat(np.array([0, 1, 2, 2], np.uint8), 4)[None].repeat(16, 0)
    mask[5, 5] = 200  # one stray pixel from another tool's palette
    cv2.imwrite(str(d / "stray" / "masks" / "a.png"), mask)
    (d / "no_images").mkdir()
    (d / "taken.mp4").mkdir()
    # a file named as a folder the sink would need
    import torch
    state = torch.load(tiny_run.last_checkpoint, map_location="cpu", weights_only=True)
    weights = state["model"] if "model" in state else state
    name = next(k for k, v in weights.items() if v.is_floating_point() and v.ndim == 4)
    weights[name].fill_(float("nan"))  # what a diverged run used to save as its "last good" checkpoint
    torch.save(state, d / "nan.pt")
    (d / "raw.engine").write_bytes(b"ftrt" + bytes(64))  # a trtexec plan with no sidecar
    paths = {p.name.replace(".", "_"): str(p) for p in d.iterdir()}
    paths.update(ckpt=str(tiny_run.last_checkpoint), onnx=tiny_onnx, dir=str(d))
    return paths


# (argv with {name} for a file of `bad`, words the message must contain)
ROWS = [
    # train: values refused when parsed (before any scene is rendered)
    (TRAIN + ["--lr", "nan"], ["--lr", "nan"]),
    (TRAIN + ["--lr", "0"], ["--lr"]),
    (TRAIN + ["--workers", "-1"], ["--workers", "-1"]),
    (TRAIN + ["--val-every", "0"], ["--val-every"]),
    (TRAIN + ["--epochs", "0"], ["--epochs"]),
    (TRAIN + ["--batch", "0"], ["--batch"]),
    (TRAIN + ["--num-train", "0"], ["--num-train"]),
    (TRAIN + ["--out", "{a_file_txt}"], ["--out", "a_file.txt", "is an existing file"]),
    (TRAIN + ["--num-val", "0"], ["--num-val"]),
    (TRAIN + ["--seed", "-1"], ["--seed"]),
    (TRAIN + ["--weight-decay", "-1"], ["--weight-decay"]),
    (TRAIN + ["--warmup-epochs", "nan"], ["--warmup-epochs"]),
    (TRAIN + ["--grad-clip", "-1"], ["--grad-clip"]),
    (TRAIN + ["--bn-momentum", "2"], ["--bn-momentum"]),
    (TRAIN + ["--max-minutes", "0"], ["--max-minutes"]),
    (TRAIN + ["--class-weights", "1,nan"], ["--class-weights"]),
    (TRAIN + ["--size", "0x64"], ["--size"]),
    (TRAIN + ["--data", "synthetic:0"], ["--data", "at least one image"]),
    (["train", "--model", "lraspp_mobilenet_v3_small", "--resume", "{ckpt}", "--epochs", "9", "--lr", "0.5"],
     ["--lr", "0.5"]),
    (["train", "--model", "lraspp_mobilenet_v3_small", "--resume", "{ckpt}"], ["nothing to resume"]),
    (["train", "--model", "lraspp_mobilenet_v3_small", "--resume", "{ckpt}", "--epochs", "2"], ["--epochs > 3"]),
    (["train", "--model", "lraspp_mobilenet_v3_small", "--resume", "{ckpt}", "--epochs", "9", "--loss", "dice"],
     ["--loss", "ce+dice"]),
    (TRAIN + ["--resume", "{truncated_onnx}"], ["truncated.onnx"]),
    # eval
    (["eval", "{ckpt}", "--scales", "0"], ["--scales", "0"]),
    (["eval", "{ckpt}", "--scales", "-1"], ["--scales", "-1"]),
    (["eval", "{ckpt}", "--batch", "0"], ["--batch"]),
    (["eval", "{ckpt}", "--data", "synthetic:0"], ["synthetic:0"]),
    (["eval", "{ckpt}", "--data", "synthetic://?num=0"], ["num"]),
    (["eval", "{ckpt}", "--num", "2", "--json", "{a_folder}"], ["--json", "folder"]),
    (["eval", "{ckpt}", "--scales", "0.75,nan"], ["--scales", "nan"]),
    (["eval", "{ckpt}", "--num", "0"], ["--num"]),
    (["eval", "{ckpt}", "--data", "folder:///x?num_classes=0"], ["classes >= 1"]),
    (["eval", "{ckpt}", "--data", "synthetic:5", "--num", "6"], ["conflicts with num="]),
    (["eval", "{ckpt}", "--num", "3", "--data", "folder:/nowhere"], ["--num applies to synthetic data only"]),
    (["eval", "{folder_onnx}"], ["folder.onnx", "folder, not a file"]),
    (["eval", "{onnx}", "--data", "folder:{stray}"], ["not contiguous from 0", "200 in", "a.png"]),
    # export
    (["export", "{ckpt}", "--out", "{a_folder}"], ["--out", "folder"]),
    (["export", "{nan_pt}", "--out", "{dir}/nan.onnx"], ["nan.pt", "non-finite"]),
    # calibrate
    (["calibrate", "synthetic", "--model", "{onnx}", "--num", "2", "--out", "{a_folder}"], ["--out", "folder"]),
    (["calibrate", "synthetic", "--model", "{onnx}", "--num", "0"], ["--num"]),
    (["calibrate", "synthetic", "--model", "{truncated_onnx}", "--num", "2"], ["truncated.onnx"]),
    # quantize
    (["quantize", "{truncated_onnx}", "--calib", "{random_npz}"], ["truncated.onnx", "not a readable ONNX file"]),
    (["quantize", "{onnx}", "--calib", "{random_npz}"], ["random.npz", "not an edgeseg calibration set", "edgeseg calibrate"]),
    (["quantize", "{onnx}", "--calib", "{truncated_npz}"], ["truncated.npz", "truncated or corrupt"]),
    (["quantize", "{onnx}", "--calib", "{random_npz}", "--out", "{a_folder}"], ["--out", "folder"]),
    (["quantize", "{onnx}", "--calib", "{random_npz}", "--num", "-3"], ["--num", "integer >= 1"]),
    (["quantize", "{onnx}", "--calib", "{random_npz}", "--threads", "nan"], ["--threads"]),
    (["quantize", "{onnx}", "--calib", "{random_npz}", "--max-miou-drop", "nan"], ["--max-miou-drop", "0 to 100"]),
    (["quantize", "{onnx}", "--calib", "{random_npz}", "--bench-runs", "-1"], ["--bench-runs"]),
    # build (TensorRT is not needed to refuse these)
    (["build"], ["needs an ONNX file"]),
    (["build", "{onnx}", "--out", "{a_folder}"], ["--out", "is a folder"]),
    (["build", "--unwrap", "{dir}/missing.engine"], ["engine file not found"]),
    (["build", "--unwrap", "{raw_engine}"], ["without its sidecar"]),
    (["build", "--unwrap", "{raw_engine}", "--dla", "0"], ["only apply when building from ONNX"]),
    (["build", "{onnx}", "--calib", "{dir}/missing.npz"], ["calibration file not found"]),
    (["build", "{onnx}", "--fp16-converter", "fast"], ["invalid choice"]),
    (["build", "{onnx}", "--deepstream", "{a_file_txt}"], ["--deepstream", "existing file"]),
    # run: sources and sinks are checked before the model is opened
    (["run", "{clip_mp4}", "--model", "{onnx}", "--sink", "http://127.0.0.1:99999"], ["invalid port", "99999"]),
    (["run", "{clip_mp4}", "--model", "{onnx}", "--sink", "http://127.0.0.1:abc"], ["invalid port", "abc"]),
    (["run", "{clip_mp4}", "--model", "{onnx}", "--sink", "file:///proc/edgeseg/x.mp4"],
     ["cannot write the video file", "/proc/edgeseg/x.mp4"]),
    (["run", "{clip_mp4}", "--model", "missing.onnx", "--sink", "file://{a_file_txt}/x.mp4"],
     ["cannot write the video file"]),
    (["run", "{clip_mp4}", "--model", "missing.onnx", "--sink", "file://{taken_mp4}"], ["a folder has its name"]),
    (["run", "{clip_mp4}", "--model", "{folder_onnx}", "--sink", "null://"], ["folder.onnx", "folder, not a file"]),
    (["run", "{truncated_mp4}", "--model", "missing.onnx", "--sink", "null://"], ["truncated.mp4", "truncated or damaged"]),
    (["run", "{empty_mp4}", "--model", "missing.onnx", "--sink", "null://"], ["the video file is empty"]),
    (["run", "images://{no_images}", "--model", "missing.onnx", "--sink", "null://"], ["no images in the folder"]),
    # inspect
    (["inspect", "{dir}/nope.onnx"], ["ONNX file not found"]),
    (["inspect", "{truncated_onnx}"], ["truncated.onnx", "truncated"]),
    (["inspect", "{a_file_txt}"], ["cannot inspect this kind of file"]),
    (["inspect", "{dir}/nope.engine"], ["engine file not found"]),
    # models, compare, bench, demo
    (["models", "--size", "0x0"], ["--size"]),
    (["models", "--classes", "0"], ["--classes", "'0'"]),
    (["compare", "{onnx}", "{onnx}", "--min-agreement", "2"], ["--min-agreement", "from 0 to 1"]),
    (["compare", "{onnx}", "{onnx}", "--data", "synthetic:0"], ["--data", "at least one image"]),
    (["compare", "{onnx}", "{onnx}", "--json", "{a_folder}"], ["--json", "is a folder"]),
    (["bench", "{onnx}", "--runs", "0"], ["--runs"]),
    (["bench", "{onnx}", "--out", "{a_folder}"], ["--out", "is a folder"]),
    (["demo", "--out", "{a_file_txt}"], ["--out", "existing file"]),
    (["demo", "--minutes", "-3"], ["--minutes"]),
]


@pytest.mark.parametrize("argv, words", ROWS, ids=[f"{i:02d}-{r[0][0]}" for i, r in enumerate(ROWS)])
def test_a_bad_value_is_a_clear_user_error(bad, capsys, argv, words):
    argv = [a.format(**bad) if "{" in a else a for a in argv]
    try:
        code = main(argv)
    except SystemExit as exc:  # argparse refuses at parse time
        code = exc.code
    err = capsys.readouterr().err
    assert code == EXIT_USAGE, f"exit {code} for {argv}:\n{err}"
    assert "Traceback" not in err and "internal error" not in err, err
    for word in words:
        assert word.format(**bad) in err, f"{word!r} not in the message for {argv}:\n{err}"


def test_an_unexpected_error_is_one_line_and_exit_70_with_the_traceback_only_on_debug(tmp_path):
    # A real bug stands in as a command module whose run() divides by zero; the CLI loads it from
    # its table like any command, in a fresh interpreter (the way a user meets it).
    code = ("import sys, types, edgeseg.cli as cli\n"
            "m = types.ModuleType('edgeseg.cli.boom'); m.add_args = lambda p: None\n"
            "def run(a): return 1 / 0\n"
            "m.run = run; sys.modules['edgeseg.cli.boom'] = m\n"
            "cli.COMMANDS['boom'] = ('boom', 'a command with a bug')\n"
            "raise SystemExit(cli.main(sys.argv[1:]))\n")
    env = {k: v for k, v in os.environ.items() if k != "EDGESEG_DEBUG"}
    plain = subprocess.run([sys.executable, "-c", code, "boom"], capture_output=True, text=True, env=env)
    assert plain.returncode == EXIT_INTERNAL and "Traceback" not in plain.stderr
    lines = plain.stderr.strip().splitlines()
    assert lines[0].startswith("edgeseg boom: internal error: ZeroDivisionError: division by zero (at <string>:")
    assert "--debug" in plain.stderr and len(lines) == 2
    for extra, flags in (({}, ["--debug", "boom"]), ({}, ["boom", "--debug"]), ({"EDGESEG_DEBUG": "1"}, ["boom"])):
        proc = subprocess.run([sys.executable, "-c", code, *flags], capture_output=True, text=True,
                              env={**env, **extra})
        assert proc.returncode == EXIT_INTERNAL and "Traceback (most recent call last)" in proc.stderr
        assert "ZeroDivisionError" in proc.stderr


def test_an_os_error_names_the_path_as_the_machines_problem_not_a_bug():
    # A full disk or a permission mid-run is not edgeseg's bug: a user error naming the file.
    code = ("import sys, types, edgeseg.cli as cli\n"
            "m = types.ModuleType('edgeseg.cli.disk'); m.add_args = lambda p: None\n"
            "def run(a): raise OSError(28, 'No space left on device', '/data/out.mp4')\n"
            "m.run = run; sys.modules['edgeseg.cli.disk'] = m\n"
            "cli.COMMANDS['disk'] = ('disk', 'a command whose disk is full')\n"
            "raise SystemExit(cli.main(sys.argv[1:]))\n")
    proc = subprocess.run([sys.executable, "-c", code, "disk"], capture_output=True, text=True)
    assert proc.returncode == EXIT_USAGE and "Traceback" not in proc.stderr
    assert proc.stderr.startswith("edgeseg disk: error: No space left on device: /data/out.mp4")
