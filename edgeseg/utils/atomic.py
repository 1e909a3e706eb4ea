"""Atomic file writes and private temp folders that a killed run never leaves for good.

A write goes to a temp file in the same folder, is fsynced, then renamed: a crash mid-write
leaves the old file (or none), never half a checkpoint, engine or video. Every temp name carries
the writer's process id (``.last.pt.pid1234.x8k2.tmp.pt``, ``edgeseg-quantize-pid1234-x8k2``), so a
later run removes exactly the leftovers of processes that no longer exist, and two runs writing in
one folder never delete each other's files in flight.

>>> import tempfile, os
>>> p = os.path.join(tempfile.mkdtemp(), "a.txt")
>>> atomic_write_text(p, "hello"); open(p).read()
'hello'
>>> with private_tempdir("edgeseg-doc-") as d:
...     f"pid{os.getpid()}-" in os.path.basename(d)
True
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import tempfile

# ".<name>.pid<PID>.<random>.tmp<suffix>" beside the target, "<prefix>pid<PID>-<random>" in $TMPDIR.
_FILE_RE = re.compile(r"^\..+\.pid(\d+)\.[A-Za-z0-9_]+\.tmp[^/]*$")
_DIR_RE = re.compile(r"^(?P<prefix>edgeseg-[a-z]+-)pid(?P<pid>\d+)-[A-Za-z0-9_]+$")


def pid_alive(pid: int) -> bool:
    """Whether a process with this id exists (on this machine); unknown counts as alive."""
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except (PermissionError, OSError):
        return True  # someone else's process, or a platform that cannot tell: leave its files
    return True


def _remove(path: str) -> bool:
    try:
        if os.path.isdir(path) and not os.path.islink(path):
            shutil.rmtree(path)
        else:
            os.unlink(path)
        return True
    except OSError:
        return False


def _sweep(folder: str, dead_pid) -> list[str]:
    """Remove the entries of ``folder`` for which ``dead_pid(name)`` gives the id of a process that
    no longer exists (None: not ours); returns the paths removed."""
    try:
        entries = os.listdir(folder)
    except OSError:
        return []
    removed = []
    for entry in entries:
        pid = dead_pid(entry)
        if pid is not None and not pid_alive(pid):
            path = os.path.join(folder, entry)
            if _remove(path):
                removed.append(path)
    return removed


def sweep_stale_files(folder: str | os.PathLike, name: str | None = None) -> list[str]:
    """Remove temp files that dead processes left in ``folder`` (only those of target ``name``
    when given); returns the paths removed. Files of live processes are never touched."""
    def pid_of(entry):
        m = _FILE_RE.match(entry)
        if not m or (name is not None and not entry.startswith(f".{name}.pid")):
            return None
        return int(m.group(1))
    return _sweep(os.fspath(folder) or ".", pid_of)


def sweep_stale_tempdirs(prefix: str, root: str | None = None) -> list[str]:
    """Remove ``<prefix>pid<PID>-*`` folders under the system temp dir whose process is gone."""
    def pid_of(entry):
        m = _DIR_RE.match(entry)
        return int(m.group("pid")) if m and m.group("prefix") == prefix else None
    return _sweep(root or tempfile.gettempdir(), pid_of)


@contextlib.contextmanager
def private_tempdir(prefix: str, root: str | None = None):
    """A temp folder named ``<prefix>pid<PID>-<random>``, removed on exit; on entry it first
    removes the folders of the same prefix that killed runs left (their process is gone).

    ``prefix`` looks like ``"edgeseg-quantize-"`` (lower-case word between ``edgeseg-`` and ``-``).
    """
    if not re.fullmatch(r"edgeseg-[a-z]+-", prefix):
        raise ValueError(f"temp prefix must look like 'edgeseg-word-', got {prefix!r}")
    sweep_stale_tempdirs(prefix, root)
    path = tempfile.mkdtemp(prefix=f"{prefix}pid{os.getpid()}-", dir=root)
    try:
        yield path
    finally:
        shutil.rmtree(path, ignore_errors=True)


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike, suffix: str = ""):
    """Yield a temp path beside ``path``; on success it replaces ``path``, on error it vanishes.

    ``suffix`` keeps an extension for writers that look at it (cv2.imwrite, torch.save). Temp
    files of ``path`` that a killed run left (its process gone) are removed first.
    """
    path = os.fspath(path)
    folder = os.path.dirname(os.path.abspath(path))
    os.makedirs(folder, exist_ok=True)
    base = os.path.basename(path)
    sweep_stale_files(folder, base)
    fd, tmp = tempfile.mkstemp(prefix=f".{base}.pid{os.getpid()}.", suffix=".tmp" + suffix, dir=folder)
    os.close(fd)
    try:
        yield tmp
        with open(tmp, "rb+") as f:
            os.fsync(f.fileno())
        # mkstemp creates 0600; give the file the mode a plain open() would have.
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


def atomic_write_bytes(path: str | os.PathLike, data: bytes) -> None:
    with atomic_path(path) as tmp, open(tmp, "wb") as f:
        f.write(data)


def atomic_write_text(path: str | os.PathLike, text: str) -> None:
    atomic_write_bytes(path, text.encode("utf-8"))
