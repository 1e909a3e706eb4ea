"""File helpers shared by the build steps.

>>> import tempfile, os
>>> p = os.path.join(tempfile.mkdtemp(), "x"); open(p, "wb").write(b"abc") and None
>>> file_sha256(p)[:12]
'ba7816bf8f01'
"""

from __future__ import annotations

import hashlib


def file_sha256(path: str) -> str:
    """sha256 of a file, read in 1 MB blocks (engines and checkpoints can be large)."""
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()
