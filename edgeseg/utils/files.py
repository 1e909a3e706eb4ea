"""File helpers shared by the build steps and the backends.

>>> import tempfile, os
>>> p = os.path.join(tempfile.mkdtemp(), "x"); open(p, "wb").write(b"abc") and None
>>> file_sha256(p)[:12]
'ba7816bf8f01'
>>> existing_file(os.path.dirname(p), "model file")  # doctest: +ELLIPSIS
Traceback (most recent call last):
edgeseg.errors.ModelError: model file is a folder, not a file: ...
"""

from __future__ import annotations

import hashlib
import os

from ..errors import ModelError


def file_sha256(path: str) -> str:
    """sha256 of a file, read in 1 MB blocks (engines and checkpoints can be large)."""
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def existing_file(path, what: str = "model file", error=ModelError, fix: str | None = None) -> str:
    """``path`` as a string if it is a readable file; else ``error`` saying what it is instead
    (missing, a folder, empty), so ``x.onnx/`` is never reported as "not found"."""
    path = os.fspath(path)
    if os.path.isdir(path):
        raise error(f"{what} is a folder, not a file", path=path,
                    fix=fix or "give the file inside it (e.g. model.onnx), not the folder")
    if not os.path.exists(path):
        raise error(f"{what} not found", path=path, fix=fix)
    if os.path.getsize(path) == 0:
        raise error(f"{what} is empty (0 bytes)", path=path,
                    fix="it was probably cut off while being written or copied; write it again")
    return path
