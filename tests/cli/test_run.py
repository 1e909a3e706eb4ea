"""``edgeseg run`` arguments and runner (the lead wires it into cli.COMMANDS)."""

import argparse
import json
import os
import signal
import subprocess
import sys
import threading
import time

import cv2
import pytest

from edgeseg.cli import main
from edgeseg.cli import run as command
from edgeseg.runtime.options import DEFAULT_CODECS, SinkOptions, SourceOptions, StreamOptions
from edgeseg.utils.signals import stop_signals_interrupt


def _args(*argv):
    p = argparse.ArgumentParser(prog="edgeseg run")
    command.add_args(p)
    return p.parse_args(list(argv))


def test_run_command_end_to_end(tiny_onnx, tmp_path):
    p = argparse.ArgumentParser(prog="edgeseg run")
    command.add_args(p)
    args = p.parse_args(["synthetic://?size=64x96&fps=30&frames=5&live=0", "--model", tiny_onnx,
                         "--sink", f"masks://{tmp_path}/m", "--sink", f"file://{tmp_path}/o.mp4",
                         "--device", "cpu", "--stats-json", str(tmp_path / "stats.json"), "--report-every", "0"])
    assert command.run(args) == 0
    assert sorted(os.listdir(tmp_path / "m")) == [f"{i:06d}.png" for i in range(5)]
    stats = json.loads((tmp_path / "stats.json").read_text())
    assert stats["frames_out"] == 5 and stats["policy"] == "all"


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGHUP])
def test_service_stop_signals_drain_and_close_the_video(tiny_onnx, tmp_path, sig):
    # docker stop / systemctl stop send SIGTERM, a closed SSH session SIGHUP: the default action
    # kills Python mid-write and leaves an MP4 with no index
    out, stats_path = tmp_path / "live.mp4", tmp_path / "stats.json"
    proc = subprocess.Popen([sys.executable, "-m", "edgeseg", "run", "synthetic://?size=64x96&fps=30", "--model",
                             tiny_onnx, "--device", "cpu", "--sink", f"file://{out}", "--report-every", "0.3",
                             "--stats-json", str(stats_path)],
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        for line in proc.stdout:  # the first stats line: frames are being written
            if line.startswith("stream:"):
                break
        proc.send_signal(sig)
        try:
            rest = proc.communicate(timeout=60)[0]
        except subprocess.TimeoutExpired:  # say where it hangs: edgeseg prints its threads' stacks on SIGUSR1
            proc.send_signal(signal.SIGUSR1)
            time.sleep(2)
            proc.kill()
            pytest.fail(f"edgeseg run did not stop within 60 s of signal {sig}:\n{proc.communicate()[0][-6000:]}")
    finally:
        proc.kill()
    assert proc.returncode == 128 + sig, rest
    assert "interrupted" in rest and "Traceback" not in rest
    stats = json.loads(stats_path.read_text())
    assert stats["frames_out"] == stats["frames_in"] > 0
    assert cv2.VideoCapture(str(out)).get(cv2.CAP_PROP_FRAME_COUNT) == stats["frames_out"]


@pytest.mark.skipif(not hasattr(signal, "SIGUSR1"), reason="no SIGUSR1 on this platform")
def test_sigusr1_prints_every_threads_stack_and_the_stream_goes_on(tiny_onnx, tmp_path):
    stats_path = tmp_path / "stats.json"
    proc = subprocess.Popen([sys.executable, "-m", "edgeseg", "run", "synthetic://?size=64x96&fps=30", "--model",
                             tiny_onnx, "--device", "cpu", "--report-every", "0.3", "--stats-json", str(stats_path)],
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        for line in proc.stdout:
            if line.startswith("stream:"):
                break
        proc.send_signal(signal.SIGUSR1)
        seen = []
        for line in proc.stdout:  # the dump, then the stream's next report: it was not stopped
            seen.append(line)
            if line.startswith("stream:"):
                break
        proc.send_signal(signal.SIGTERM)
        rest = proc.communicate(timeout=60)[0]
    finally:
        proc.kill()
    dump = "".join(seen)
    assert dump.count("Thread 0x") >= 5, dump  # main + the stream's stages
    assert "_capture_loop" in dump and "_sink_loop" in dump, dump
    assert proc.returncode == 128 + signal.SIGTERM, rest
    assert json.loads(stats_path.read_text())["frames_out"] > 0


@pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning")  # the swallowed one, on purpose
def test_a_ctrl_c_lost_in_a_finaliser_is_still_noticed(default_sigint):
    from edgeseg.utils.signals import ctrl_c_noticed, take_interrupt

    class SlowToDie:
        def __del__(self):
            time.sleep(1)  # the signal arrives here; its KeyboardInterrupt is "ignored"

    take_interrupt()
    with ctrl_c_noticed():
        threading.Timer(0.2, os.kill, (os.getpid(), signal.SIGINT)).start()
        x = SlowToDie()
        del x  # no KeyboardInterrupt comes out of this line
        assert take_interrupt() and not take_interrupt()
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler


def test_stop_signals_are_restored_and_inherited_ignores_kept():
    before = signal.getsignal(signal.SIGTERM)
    with stop_signals_interrupt() as got, pytest.raises(KeyboardInterrupt):
        os.kill(os.getpid(), signal.SIGTERM)
        time.sleep(1)  # the handler runs at the next bytecode boundary
    assert got.signum == signal.SIGTERM and got.exit_status == 143
    assert signal.getsignal(signal.SIGTERM) is before
    signal.signal(signal.SIGHUP, signal.SIG_IGN)  # as under nohup
    try:
        with stop_signals_interrupt():
            assert signal.getsignal(signal.SIGHUP) is signal.SIG_IGN
    finally:
        signal.signal(signal.SIGHUP, signal.SIG_DFL)


def _recording_stream(calls: list):
    """A stand-in for the runtime's Stream that records what ``edgeseg run`` builds it with."""
    class RecordingStream:
        interrupted = False

        def __init__(self, *args, **kwargs):
            calls.append((args, kwargs))

        def run(self):
            return {"frames_out": 0}
    return RecordingStream


def test_run_builds_the_three_options_objects_from_its_flags(monkeypatch):
    import edgeseg.runtime.stream
    calls = []
    monkeypatch.setattr(edgeseg.runtime.stream, "Stream", _recording_stream(calls))
    assert command.run(_args("clip.mp4", "--model", "m.onnx")) == 0
    assert command.run(_args("rtsp://cam/live", "--model", "m.onnx", "--sink", "file://o.avi", "--sink", "http://:0",
                             "--policy", "latest", "--smooth", "3", "--render", "color", "--max-frames", "9",
                             "--report-every", "0", "--fps", "25", "--latency-ms", "50", "--transport", "udp",
                             "--jpeg-quality", "35", "--codec", "XVID", "--sink-fps", "7.5", "--device", "cpu")) == 0
    (defaults, kw0), (given, kw1) = calls
    # the default flags ask for exactly what Stream did without them
    assert defaults == ("clip.mp4", "m.onnx", ["null://"], StreamOptions())
    assert kw0["source_options"] == SourceOptions() and kw0["sink_options"] == SinkOptions()
    assert (kw0["device"], kw0["backend"]) == ("auto", "auto") and "log" not in kw0
    assert given == ("rtsp://cam/live", "m.onnx", ["file://o.avi", "http://:0"],
                     StreamOptions(policy="latest", smooth=3, render="color", max_frames=9, report_every=None))
    assert kw1["source_options"] == SourceOptions(fps=25.0, latency_ms=50, transport="udp")
    assert kw1["sink_options"] == SinkOptions(jpeg_quality=35, codec="XVID", fps=7.5) and kw1["device"] == "cpu"


def test_codec_and_sink_fps_flags_reach_the_video_file(tiny_onnx, tmp_path):
    out = tmp_path / "o.mp4"
    args = _args("synthetic://?size=64x96&fps=30&frames=4&live=0", "--model", tiny_onnx, "--device", "cpu",
                 "--sink", f"file://{out}", "--codec", "MJPG", "--sink-fps", "8", "--report-every", "0")
    assert command.run(args) == 0
    cap = cv2.VideoCapture(str(out))
    code = (int(cap.get(cv2.CAP_PROP_FOURCC)) & 0xFFFFFFFF).to_bytes(4, "little").decode("latin-1")
    assert code == "MJPG" and cap.get(cv2.CAP_PROP_FPS) == 8 and cap.get(cv2.CAP_PROP_FRAME_COUNT) == 4


@pytest.mark.parametrize("flag, value, option", [("--jpeg-quality", "0", "SinkOptions.jpeg_quality"),
                                                  ("--codec", "H.264", "SinkOptions.codec"),
                                                  ("--motion", "flow:dsi", "StreamOptions.motion"),
                                                  ("--motion", "optical", "StreamOptions.motion")])
def test_a_bad_flag_value_is_a_short_error_naming_the_option(capsys, flag, value, option):
    assert main(["run", "clip.mp4", "--model", "missing.onnx", flag, value]) == 2  # before the model is opened
    err = capsys.readouterr().err
    assert err.startswith(f"edgeseg run: error: invalid {option}") and "expected:" in err and "Traceback" not in err


@pytest.mark.parametrize("flag, value", [("--sink-fps", "-1"), ("--alpha", "2"), ("--smooth", "-1"),
                                         ("--max-frames", "0"), ("--width", "0"), ("--report-every", "nan")])
def test_a_bad_number_is_refused_when_parsed(capsys, flag, value):
    with pytest.raises(SystemExit) as exit_:
        main(["run", "clip.mp4", "--model", "missing.onnx", flag, value])
    err = capsys.readouterr().err
    assert exit_.value.code == 2 and f"argument {flag}: expected" in err and repr(value) in err


def test_help_explains_the_sink_flags_with_each_containers_default_codec(capsys):
    with pytest.raises(SystemExit):
        main(["run", "--help"])
    text = " ".join(capsys.readouterr().out.split())
    for flag in ("--jpeg-quality Q", "--codec FOURCC", "--sink-fps FPS"):
        assert flag in text
    assert "default 80" in text and "default: the source's" in text
    for suffix, codec in DEFAULT_CODECS.items():  # the help names the table FileSink uses
        assert codec in text and suffix in text


def test_run_on_a_damaged_video_writes_every_frame_opencv_can_decode(tiny_onnx, tmp_path, capsys):
    from edgeseg.data.video import write_video
    from tests.runtime.conftest import damage, decodable_frames
    clean, corrupt, out = tmp_path / "clean.mp4", tmp_path / "corrupt.mp4", tmp_path / "out.mp4"
    write_video(clean, num_frames=90, fps=15.0, size=(96, 128), seed=1)
    corrupt.write_bytes(damage(clean.read_bytes()))
    decodable = decodable_frames(corrupt)
    args = _args(str(corrupt), "--model", tiny_onnx, "--device", "cpu", "--sink", f"file://{out}",
                 "--report-every", "0", "--stats-json", str(tmp_path / "stats.json"))
    assert command.run(args) == 0
    stats = json.loads((tmp_path / "stats.json").read_text())
    assert stats["frames_out"] == decodable > 28 and stats["frames_skipped"] == 90 - decodable
    assert cv2.VideoCapture(str(out)).get(cv2.CAP_PROP_FRAME_COUNT) == decodable
    assert f"source: {decodable} of 90 frames read, {90 - decodable} skipped" in capsys.readouterr().out


def _fails(capsys, argv, *needles):
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert "Traceback" not in err and all(n in err for n in needles), err
    return err


@pytest.mark.parametrize("sink, needle", [("http://127.0.0.1:99999", "99999"), ("http://127.0.0.1:abc", "'abc'"),
                                          ("http://[::1]:0x50", "0x50")])
def test_a_bad_http_port_is_refused_when_the_arguments_are_parsed(capsys, sink, needle):
    # a missing model and source: the port is checked before either is looked at
    with pytest.raises(SystemExit) as exit_:
        main(["run", "clip.mp4", "--model", "missing.onnx", "--sink", sink])
    err = capsys.readouterr().err
    assert exit_.value.code == 2 and "argument --sink" in err and "port" in err and needle in err
    assert "1 to 65535" in err and "Traceback" not in err


def test_a_sink_that_cannot_be_written_fails_the_command_before_the_model_is_opened(capsys, tmp_path):
    clip = tmp_path / "clip.mp4"
    from edgeseg.data.video import write_video
    write_video(clip, num_frames=2, fps=10.0, size=(32, 32))
    _fails(capsys, ["run", str(clip), "--model", "missing.onnx", "--sink", "file:///proc/x.mp4"],
           "cannot write the video file", "/proc/x.mp4")


def test_a_stream_whose_only_sink_fails_exits_non_zero(tiny_onnx, capsys, tmp_path):
    # a codec the container refuses: the sink opens, then every frame's write fails
    _fails(capsys, ["run", "synthetic://?size=64x96&fps=30&frames=60&live=0", "--model", tiny_onnx, "--device", "cpu",
                    "--sink", f"file://{tmp_path}/never.mp4", "--codec", "zzzz", "--report-every", "0"],
           "every sink has failed", "codec option conflicts")
    assert os.listdir(tmp_path) == []


def test_a_truncated_or_empty_source_is_named_before_the_model_is_opened(capsys, tmp_path):
    from edgeseg.data.video import write_video
    clip, cut, empty = tmp_path / "clip.mp4", tmp_path / "cut.mp4", tmp_path / "empty.mp4"
    write_video(clip, num_frames=30, fps=10.0, size=(64, 64))
    cut.write_bytes(clip.read_bytes()[:int(clip.stat().st_size * 0.4)])
    empty.write_bytes(b"")
    _fails(capsys, ["run", str(cut), "--model", "missing.onnx"], "truncated or damaged", str(cut))
    _fails(capsys, ["run", str(empty), "--model", "missing.onnx"], "empty", str(empty))
    _fails(capsys, ["run", str(tmp_path / "gone.mp4"), "--model", "missing.onnx"], "video file not found")
    (tmp_path / "no_images").mkdir()
    _fails(capsys, ["run", f"images://{tmp_path}/no_images", "--model", "missing.onnx"], "no images in the folder")


def test_motion_flags_build_the_stream_options(monkeypatch):
    import edgeseg.runtime.stream
    calls = []
    monkeypatch.setattr(edgeseg.runtime.stream, "Stream", _recording_stream(calls))
    assert command.run(_args("0", "--model", "m.onnx", "--motion", "flow:dis-ultrafast", "--flow-size", "160",
                             "--motion-warp", "scores")) == 0
    assert calls[0][0][3] == StreamOptions(motion="flow:dis-ultrafast", flow_size=160, motion_warp="scores")
    assert command.run(_args("drive.mp4", "--model", "m.onnx", "--realtime", "--motion", "flow")) == 0
    assert calls[1][1]["source_options"] == SourceOptions(realtime=True) and calls[0][1]["source_options"] == \
        SourceOptions()


def test_motion_flags_without_motion_are_an_error_naming_both(capsys):
    assert main(["run", "clip.mp4", "--model", "missing.onnx", "--flow-size", "160"]) == 2
    err = capsys.readouterr().err
    assert "StreamOptions.flow_size conflicts with StreamOptions.motion" in err and "Traceback" not in err
    assert main(["run", "clip.mp4", "--model", "missing.onnx", "--motion", "flow", "--policy", "all"]) == 2
    assert "StreamOptions.motion conflicts with StreamOptions.policy" in capsys.readouterr().err


def test_run_with_motion_writes_every_frame_and_the_network_rate(tiny_onnx, tmp_path):
    args = _args("synthetic://?size=64x96&fps=30&frames=8&live=0", "--model", tiny_onnx, "--device", "cpu",
                 "--sink", f"masks://{tmp_path}/m", "--motion", "flow", "--stats-json", str(tmp_path / "s.json"),
                 "--report-every", "0")
    assert command.run(args) == 0
    assert sorted(os.listdir(tmp_path / "m")) == [f"{i:06d}.png" for i in range(8)]
    stats = json.loads((tmp_path / "s.json").read_text())
    assert stats["frames_out"] == 8 and stats["policy"] == "latest" and stats["motion"] == "flow"
    assert 1 <= stats["frames_inferred"] <= 8 and stats["network_fps"] > 0 and "carried" in stats["values"]


def test_help_says_when_motion_pays_and_what_it_costs(capsys):
    with pytest.raises(SystemExit):
        main(["run", "--help"])
    text = " ".join(capsys.readouterr().out.split())
    for words in ("--motion flow[:PROVIDER]", "--flow-size PX", "--motion-warp {labels,scores}",
                  "Turn it on when the camera is faster than the network", "It costs", "dis-fast", "nvof", "vpi"):
        assert words in text, words
