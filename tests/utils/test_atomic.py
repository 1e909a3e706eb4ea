"""Temp files and folders of a run killed with SIGKILL are removed by the next run, and only
those whose process is gone: two runs writing in one folder never delete each other's files."""

import os
import signal
import subprocess
import sys
import tempfile
import textwrap

import pytest

from edgeseg.utils.atomic import atomic_path, atomic_write_text, private_tempdir, sweep_stale_files

pytestmark = pytest.mark.skipif(not hasattr(signal, "SIGKILL"), reason="needs POSIX signals")

# A writer that creates its temp file (and a private temp folder), says so, then hangs until killed.
_WRITER = textwrap.dedent("""
    import sys, time
    from edgeseg.utils.atomic import atomic_path, private_tempdir
    with private_tempdir("edgeseg-quantize-", root=sys.argv[2]) as d, atomic_path(sys.argv[1], suffix=".pt") as t:
        open(t, "wb").write(b"half a checkpoint")
        print(t, d, flush=True)
        time.sleep(600)
""")


def _killed_writer(target, root):
    proc = subprocess.Popen([sys.executable, "-c", _WRITER, str(target), str(root)], stdout=subprocess.PIPE,
                            text=True)
    tmp, folder = proc.stdout.readline().split()
    return proc, tmp, folder


def test_a_killed_writers_leftovers_go_at_the_next_write_and_a_live_writers_stay(tmp_path):
    target, root = tmp_path / "last.pt", tmp_path / "tmp"
    root.mkdir()
    dead, dead_tmp, dead_dir = _killed_writer(target, root)
    live, live_tmp, live_dir = _killed_writer(target, root)
    try:
        dead.send_signal(signal.SIGKILL)
        dead.wait(timeout=30)
        assert f".pid{dead.pid}." in os.path.basename(dead_tmp) and os.path.exists(dead_tmp)
        assert f"pid{dead.pid}-" in os.path.basename(dead_dir) and os.path.isdir(dead_dir)

        atomic_write_text(target, "good")
        with private_tempdir("edgeseg-quantize-", root=str(root)):
            pass
        assert not os.path.exists(dead_tmp) and not os.path.exists(dead_dir)
        assert os.path.exists(live_tmp) and os.path.isdir(live_dir)  # its process still runs
        assert target.read_text() == "good"
    finally:
        live.kill()
        live.wait(timeout=30)


def test_the_sweep_keeps_other_targets_and_foreign_files(tmp_path):
    dead_pid = _dead_pid()
    kept = [tmp_path / f".other.pt.pid{dead_pid}.ab12.tmp.pt", tmp_path / "notes.tmp", tmp_path / ".last.pt.swp"]
    gone = tmp_path / f".last.pt.pid{dead_pid}.ab12.tmp.pt"
    for p in (*kept, gone):
        p.write_text("x")
    assert sweep_stale_files(tmp_path, "last.pt") == [str(gone)]
    assert all(p.exists() for p in kept)


def test_a_failed_write_leaves_nothing_and_keeps_the_old_file(tmp_path):
    target = tmp_path / "model.onnx"
    target.write_text("old")
    with pytest.raises(RuntimeError), atomic_path(target, suffix=".onnx") as tmp:
        open(tmp, "w").write("half")
        raise RuntimeError("crash mid-write")
    assert target.read_text() == "old" and os.listdir(tmp_path) == ["model.onnx"]


def test_private_tempdir_refuses_a_prefix_the_sweep_could_not_match():
    with pytest.raises(ValueError, match="edgeseg-word-"), private_tempdir("edgeseg_quantize"):
        pass
    with private_tempdir("edgeseg-doc-", root=tempfile.gettempdir()) as d:
        assert os.path.isdir(d)
    assert not os.path.exists(d)


def _dead_pid() -> int:
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    return proc.pid  # reaped: no process has this id now (pids are not reused this fast)
