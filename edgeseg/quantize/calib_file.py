"""The calibration ``.npz`` on disk: checked on read, so a foreign, cut or corrupt file is named as such.

An edgeseg calibration set holds exactly three arrays, ``frames`` (N x H x W x 3 uint8, BGR, at
the model's input size), ``input_size`` (H, W) and ``info`` (JSON: source, sampling). numpy's
own errors for anything else point the wrong way: a text file or an object array gets "use
allow_pickle=True", which would unpickle a stranger's file; a file cut short gets "File is not a
zip file". Neither says what the file should have been or how to make one.

>>> import os, tempfile
>>> p = os.path.join(tempfile.mkdtemp(), "scores.npz")
>>> np.savez(p, logits=np.zeros(3))
>>> read_calibration_npz(p)  # doctest: +ELLIPSIS
Traceback (most recent call last):
edgeseg.errors.DataError: not an edgeseg calibration set: ...scores.npz
  expected: an .npz written by edgeseg calibrate, with the arrays frames, input_size, info
  got:      the arrays logits
  fix:      make one: edgeseg calibrate FRAMES_OR_VIDEO --model model.onnx --out calib.npz ...
"""

from __future__ import annotations

import json
import os
import zipfile
import zlib

import numpy as np

from ..errors import DataError

KEYS = ("frames", "input_size", "info")
HOW = ("make one: edgeseg calibrate FRAMES_OR_VIDEO --model model.onnx --out calib.npz "
       "(or give --calib the image folder, video or data spec itself)")
# What a cut or damaged zip raises in numpy/zipfile/zlib, on open or on reading a member.
_BROKEN = (OSError, EOFError, zipfile.BadZipFile, zlib.error)


def _foreign(path: str, got: str) -> DataError:
    return DataError("not an edgeseg calibration set", path=path,
                     expected=f"an .npz written by edgeseg calibrate, with the arrays {', '.join(KEYS)}",
                     got=got, fix=HOW)


def _broken(path: str, exc: Exception) -> DataError:
    return DataError("calibration file is truncated or corrupt", path=path,
                     expected="a complete .npz written by edgeseg calibrate",
                     got=f"{os.path.getsize(path)} bytes; {type(exc).__name__}: {str(exc)[:200]}",
                     fix="copy it again and compare its size with the original, or " + HOW)


def read_calibration_npz(path: str) -> tuple[np.ndarray, tuple[int, int], dict]:
    """(frames, input_size, info) of a calibration ``.npz``; a DataError says what is wrong."""
    path = os.fspath(path)
    try:
        z = np.load(path, allow_pickle=False)
    except ValueError:  # neither zip nor .npy: numpy would try pickle, which we never allow
        raise _foreign(path, "not an .npz archive (no zip header)") from None
    except _BROKEN as exc:
        raise _broken(path, exc) from exc
    if not isinstance(z, np.lib.npyio.NpzFile):
        raise _foreign(path, f"a single .npy array of shape {getattr(z, 'shape', '?')}")
    with z:
        found = list(z.files)
        if not set(KEYS) <= set(found):
            raise _foreign(path, f"the arrays {', '.join(found)}" if found else "an empty archive")
        try:
            frames, input_size, info = (z[k] for k in KEYS)
        except ValueError:  # an object array: loading it would unpickle, and edgeseg never writes one
            raise _foreign(path, "arrays of Python objects (edgeseg writes plain numeric arrays)") from None
        except _BROKEN as exc:
            raise _broken(path, exc) from exc
    text = str(info)
    try:
        info = json.loads(text)
        size = tuple(int(x) for x in np.asarray(input_size).reshape(-1))
    except (TypeError, ValueError):
        info, size = None, ()
    if not isinstance(info, dict) or len(size) != 2:
        raise _foreign(path, f"input_size {np.asarray(input_size).tolist()!r} and info {text[:60]!r} "
                             "where (H, W) and a JSON object belong")
    return frames, size, info
