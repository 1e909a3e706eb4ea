"""Open any data set from one string: ``synthetic``, ``synthetic:N``, ``folder:PATH``, ``voc:PATH``,
``cityscapes:PATH``. One table maps each scheme to its opener.

>>> ds = open_dataset("synthetic:3", split="val", size=(32, 32))
>>> len(ds), ds.seed, ds.classes[:2]
(3, 1, ('sky', 'road'))
>>> open_dataset("vco:/data/VOC2012")  # doctest: +ELLIPSIS
Traceback (most recent call last):
edgeseg.errors.DataError: unknown data set scheme 'vco'
  expected: one of cityscapes, folder, synthetic, voc
  got:      vco:/data/VOC2012
  fix:      did you mean 'voc:/data/VOC2012'?
"""

from __future__ import annotations

import difflib
import os
from collections.abc import Callable

from ..errors import ConfigError, DataError
from .base import SegDataset
from .cityscapes import CityscapesDataset
from .folder import FolderDataset
from .synthetic import SPLIT_SEEDS, SPLIT_SIZES, SyntheticScenes
from .voc import VOCDataset


def _options(scheme: str, kw: dict, allowed: tuple[str, ...]) -> dict:
    unknown = sorted(set(kw) - set(allowed))
    if unknown:
        raise ConfigError(f"unknown option for {scheme} data sets: {', '.join(unknown)}",
                          expected=", ".join(allowed) or "no options", got=", ".join(f"{k}={kw[k]!r}" for k in unknown),
                          fix="drop the option, or pick a scheme that takes it")
    return kw


def _existing(scheme: str, arg: str) -> str:
    if not arg:
        raise DataError(f"{scheme}: needs a path", expected=f"{scheme}:PATH", got=f"{scheme}:",
                        fix=f"e.g. {scheme}:/data/my_set")
    path = os.path.expanduser(arg)
    if not os.path.exists(path):
        raise DataError("data set path not found", path=path, expected="an existing folder", got="no such path",
                        fix="check the spelling, or mount / download the data set first")
    return path


def _synthetic(arg: str, split: str, kw: dict) -> SegDataset:
    kw = _options("synthetic", kw, ("size", "num", "seed"))
    if split not in SPLIT_SEEDS:
        raise DataError("unknown synthetic split", expected=" | ".join(SPLIT_SEEDS), got=split,
                        fix="use split='train', 'val' or 'test'")
    num = kw.get("num")
    if arg:
        if not arg.isdigit():
            raise DataError("synthetic:N needs a whole number of images", expected="e.g. synthetic:500",
                            got=f"synthetic:{arg}", fix="write the count after the colon, or just 'synthetic'")
        if num is not None and int(num) != int(arg):
            raise ConfigError("the count in the spec conflicts with num=", expected=f"{arg} (from synthetic:{arg})",
                              got=f"num={num}", fix="give the count once")
        num = int(arg)
    num = SPLIT_SIZES[split] if num is None else int(num)
    return SyntheticScenes(num, kw.get("size", (256, 256)), kw.get("seed", SPLIT_SEEDS[split]))


def _folder(arg: str, split: str, kw: dict) -> SegDataset:
    kw = _options("folder", kw, ("num_classes", "classes", "palette", "masks"))
    return FolderDataset(_existing("folder", arg), split=split, **kw)


def _voc(arg: str, split: str, kw: dict) -> SegDataset:
    return VOCDataset(_existing("voc", arg), split=split, **_options("voc", kw, ("mask_dir",)))


def _cityscapes(arg: str, split: str, kw: dict) -> SegDataset:
    kw = _options("cityscapes", kw, ("annotations",))
    return CityscapesDataset(_existing("cityscapes", arg), split=split, **kw)


OPENERS: dict[str, Callable[[str, str, dict], SegDataset]] = {
    "synthetic": _synthetic,
    "folder": _folder,
    "voc": _voc,
    "cityscapes": _cityscapes,
}


def open_dataset(spec: str, split: str = "train", **kw) -> SegDataset:
    """The data set a spec names, for ``split``; ``kw`` are the scheme's options.

    synthetic takes ``size`` (H, W), ``num`` and ``seed`` (default sizes 2000 / 200 / 200 for
    train / val / test; ``synthetic:N`` sets N for the split asked for); folder takes
    ``num_classes``, ``classes``, ``palette``, ``masks``; voc ``mask_dir``; cityscapes ``annotations``.

    >>> len(open_dataset("synthetic", split="test", size=(32, 32)))
    200
    """
    scheme, _, arg = spec.partition(":")
    opener = OPENERS.get(scheme.lower())
    if opener is None:
        schemes = sorted(OPENERS)
        close = difflib.get_close_matches(scheme.lower(), schemes, n=1, cutoff=0.5)
        if close:
            fix = f"did you mean '{close[0]}{':' + arg if arg else ''}'?"
        elif os.path.isdir(spec):
            fix = f"name the layout: folder:{spec}, voc:{spec} or cityscapes:{spec}"
        else:
            fix = "write SCHEME:PATH, e.g. folder:/data/my_set or synthetic:500"
        raise DataError(f"unknown data set scheme '{scheme}'", expected=f"one of {', '.join(schemes)}",
                        got=spec, fix=fix)
    return opener(arg, split, dict(kw))
