"""Open any data set from one string, read with the one grammar of :mod:`edgeseg.uri`.

Short spellings: ``synthetic``, ``synthetic:N``, ``folder:PATH``, ``voc:PATH``, ``cityscapes:PATH``.
URI spellings, whose ``?key=value`` options are the same ones :func:`open_dataset` takes as
keywords: ``synthetic://?num=200&size=256x256&seed=1`` (with ``speed``, ``turn`` or ``fps``:
the first ``num`` frames of one drive, ``synthetic://?num=600&size=720x1280&fps=60&speed=4``,
exactly what the live ``synthetic://`` source with those options shows), ``folder:///data/x?num_classes=4``,
``voc:///data/VOCdevkit?mask_dir=SegmentationClassAug``, ``cityscapes:///data/cs?annotations=gtCoarse``.
One table maps each scheme to its opener (:data:`OPENERS`), one to its URI options (:data:`PARAMS`).

>>> ds = open_dataset("synthetic:3", split="val", size=(32, 32))
>>> len(ds), ds.seed, ds.classes[:2]
(3, 1, ('sky', 'road'))
>>> ds = open_dataset("synthetic://?num=3&size=32x48&seed=4")
>>> len(ds), ds.size, ds.seed
(3, (32, 48), 4)
>>> open_dataset("vco:/data/VOC2012")  # doctest: +ELLIPSIS
Traceback (most recent call last):
edgeseg.errors.DataError: unknown data set scheme 'vco'
  expected: one of cityscapes, folder, synthetic, voc
  got:      vco:/data/VOC2012
  fix:      did you mean 'voc:/data/VOC2012'?
"""

from __future__ import annotations

import math
import os
from collections.abc import Callable

from .. import uri
from ..errors import ConfigError, DataError
from .base import SegDataset
from .cityscapes import CityscapesDataset
from .folder import FolderDataset
from .synthetic import SPLIT_SEEDS, SPLIT_SIZES, SyntheticScenes, check_drive
from .video import SyntheticDrive
from .voc import VOCDataset

# synthetic options that make the set the frames of one drive (SyntheticDrive) instead of still scenes
DRIVE_OPTIONS = ("speed", "turn", "fps")


def _options(scheme: str, kw: dict, allowed: tuple[str, ...]) -> dict:
    unknown = sorted(set(kw) - set(allowed))
    if unknown:
        raise ConfigError(f"unknown option for {scheme} data sets: {', '.join(unknown)}",
                          expected=", ".join(allowed) or "no options", got=", ".join(f"{k}={kw[k]!r}" for k in unknown),
                          fix="drop the option, or pick a scheme that takes it")
    return kw


def _existing(scheme: str, arg: str) -> str:
    if not arg:
        raise DataError(f"{scheme}: needs a path", expected=f"{scheme}:PATH or {scheme}:///PATH",
                        got=f"{scheme}:", fix=f"e.g. {scheme}:/data/my_set")
    path = os.path.expanduser(arg)
    if not os.path.exists(path):
        raise DataError("data set path not found", path=path, expected="an existing folder", got="no such path",
                        fix="check the spelling, or mount / download the data set first")
    return path


def _synthetic_count(arg: str, num) -> int | None:
    """The count ``synthetic:N`` and ``num=`` give (None: the split's default), at least 1:
    an empty set once scored as an all-n/a table with exit 0."""
    if arg:
        if not arg.isdigit():
            raise DataError("synthetic:N needs a whole number of images", expected="e.g. synthetic:500",
                            got=f"synthetic:{arg}", fix="write the count after the colon, or just 'synthetic'")
        if num is not None and int(num) != int(arg):
            raise ConfigError("the count in the spec conflicts with num=", expected=f"{arg} (from synthetic:{arg})",
                              got=f"num={num}", fix="give the count once")
        num = int(arg)
    try:
        bad = num is not None and (isinstance(num, bool) or int(num) != num or num < 1)
    except (TypeError, ValueError):
        bad = True
    if bad:
        raise ConfigError("a synthetic data set needs at least one image", expected="a whole number of images >= 1",
                          got=f"synthetic:{arg}" if arg else f"num={num!r}",
                          fix="e.g. synthetic:200, or leave the count out for the split's default")
    return None if num is None else int(num)


def _synthetic(arg: str, split: str, kw: dict) -> SegDataset:
    kw = _options("synthetic", kw, ("size", "num", "seed") + DRIVE_OPTIONS)
    if split not in SPLIT_SEEDS:
        raise DataError("unknown synthetic split", expected=" | ".join(SPLIT_SEEDS), got=split,
                        fix="use split='train', 'val' or 'test'")
    num = _synthetic_count(arg, kw.get("num"))
    num = SPLIT_SIZES[split] if num is None else num
    size, seed = kw.get("size", (256, 256)), kw.get("seed", SPLIT_SEEDS[split])
    if any(kw.get(k) is not None for k in DRIVE_OPTIONS):
        # the frames of one drive, as the live synthetic:// source with the same options delivers them
        return SyntheticDrive(num, size, seed, kw.get("speed") or 0.0, kw.get("turn") or 0.0, kw.get("fps") or 30.0)
    return SyntheticScenes(num, size, seed)


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


# -- URI options: text -> the keyword's value ---------------------------------------------------
# Each converter also accepts the typed value a caller passes as a keyword, so a URI option and
# a keyword can be compared for a conflict whatever form the keyword came in (tuple or list, ...).
def _whole(value) -> int:
    # Same rule as synthetic:N (digits only), so both spellings refuse the same counts.
    if isinstance(value, bool) or not str(value).strip().isdigit():
        raise ValueError(value)
    return int(str(value).strip())


def _count(value) -> int:
    n = _whole(value)
    if n < 1:
        raise ValueError(value)
    return n


def _size(value) -> tuple[int, int]:
    return uri.parse_size(value)


def _names(value) -> tuple[str, ...]:
    parts = value.split(",") if isinstance(value, str) else value
    names = tuple(str(p).strip() for p in parts if str(p).strip())
    if not names:
        raise ValueError(value)
    return names


_FLAGS = {"1": True, "true": True, "yes": True, "on": True, "0": False, "false": False, "no": False, "off": False}


def _flag(value) -> bool:
    if isinstance(value, bool):
        return value
    return _FLAGS[str(value).strip().lower()]  # KeyError: reported like a ValueError


def _real(value) -> float:
    if isinstance(value, bool):
        raise TypeError(value)
    number = float(str(value).strip())
    if not math.isfinite(number):
        raise ValueError(value)
    return number


def _at_least_zero(value) -> float:
    number = _real(value)
    if number < 0:
        raise ValueError(value)
    return number


def _above_zero(value) -> float:
    number = _real(value)
    if number <= 0:
        raise ValueError(value)
    return number


def _text(value) -> str:
    if not str(value):
        raise ValueError(value)
    return str(value)


# scheme -> option -> (converter, what a good value looks like). palette is left out: a list of
# RGB triples does not fit a query string; it stays a keyword of open_dataset.
PARAMS: dict[str, dict[str, tuple[Callable, str]]] = {
    "synthetic": {"num": (_count, "a whole number of images >= 1, e.g. num=500"),
                  "size": (_size, "HxW (height x width), e.g. size=256x256"),
                  "seed": (_whole, "a whole number, e.g. seed=1"),
                  "speed": (_at_least_zero, "pixels per frame >= 0 (the ground's median flow at 720 rows), e.g. 4"),
                  "turn": (_real, "degrees per frame (> 0 right, < 0 left; needs a speed), e.g. turn=0.05"),
                  "fps": (_above_zero, "frames per second > 0, e.g. fps=30")},
    "folder": {"num_classes": (_count, "a whole number of classes >= 1, e.g. num_classes=4"),
               "classes": (_names, "comma-separated class names, e.g. classes=bg,road,car"),
               "masks": (_flag, "1 or 0 (true / false)")},
    "voc": {"mask_dir": (_text, "a folder name, e.g. mask_dir=SegmentationClassAug")},
    "cityscapes": {"annotations": (_text, "gtFine or gtCoarse")},
}


def _uri_options(spec: str, d: uri.DataSpec, kw: dict) -> dict:
    """``kw`` merged with the spec's ``?key=value`` options, each converted to its keyword's type."""
    table = PARAMS.get(d.scheme)
    if table is None:  # a scheme added to OPENERS alone: its opener reads the strings itself
        return {**d.params, **kw}
    unknown = sorted(set(d.params) - set(table))
    if unknown:
        hints = [h for h in (uri.did_you_mean(k, table) for k in unknown) if h]
        raise ConfigError(f"unknown option for {d.scheme} data sets: {', '.join(unknown)}",
                          expected=", ".join(table) or "no options",
                          got=", ".join(f"{k}={d.params[k]!r}" for k in unknown),
                          fix="; ".join(hints) or "drop the option, or pick a scheme that takes it")
    merged = dict(kw)
    for key, text in d.params.items():
        convert, expected = table[key]
        try:
            value = convert(text)
        except (ValueError, KeyError, TypeError):
            raise ConfigError(f"cannot read {key}= in the data spec", expected=expected, got=repr(text),
                              fix=f"fix {key}= in {spec!r}") from None
        if kw.get(key) is not None:  # None is "the default", which the URI may set
            try:
                same = convert(kw[key]) == value
            except (ValueError, KeyError, TypeError):
                same = False
            if not same:
                raise ConfigError(f"{key} is given twice, with different values",
                                  expected=f"one {key}", got=f"{key}={text} in the spec {spec!r}, "
                                  f"and {key}={kw[key]!r} as an option",
                                  fix=f"give {key} once: in the spec, or as the option")
            continue  # equal: the caller's value goes on unchanged
        merged[key] = value
    return merged


def _unknown_scheme(spec: str, d: uri.DataSpec) -> DataError:
    schemes = sorted(OPENERS)
    text = spec.strip()
    # The suggestion keeps the rest of what was typed, in the spelling it was typed in.
    rest = text[len(d.scheme):] if uri.split_uri(text)[0] else (":" + d.arg if d.arg else "")
    fix = uri.did_you_mean(d.scheme, schemes, template="'{}" + rest.replace("{", "{{").replace("}", "}}") + "'")
    if fix is None and os.path.isdir(spec):
        fix = f"name the layout: folder:{spec}, voc:{spec} or cityscapes:{spec}"
    elif fix is None:
        fix = "write SCHEME:PATH, e.g. folder:/data/my_set or synthetic:500 (or folder:///data/my_set)"
    scheme = text.partition(":")[0]
    return DataError(f"unknown data set scheme '{scheme}'", expected=f"one of {', '.join(schemes)}",
                     got=spec, fix=fix)


def open_dataset(spec: str, split: str = "train", **kw) -> SegDataset:
    """The data set a spec names, for ``split``; ``kw`` are the scheme's options.

    synthetic takes ``size`` (H, W), ``num`` and ``seed`` (default sizes 2000 / 200 / 200 for
    train / val / test; ``synthetic:N`` sets N for the split asked for), and ``speed``, ``turn``,
    ``fps`` for the frames of a drive (:class:`~edgeseg.data.video.SyntheticDrive`); folder takes
    ``num_classes``, ``classes``, ``palette``, ``masks``; voc ``mask_dir``; cityscapes ``annotations``.
    A URI spec may give the same options as ``?key=value`` (all but ``palette``); one given both
    ways with two values is a ConfigError naming both.

    >>> len(open_dataset("synthetic", split="test", size=(32, 32)))
    200
    >>> len(open_dataset("synthetic://?num=4", split="test", size=(32, 32), num=4))
    4
    """
    d = uri.parse_data_spec(spec)
    opener = OPENERS.get(d.scheme)
    if opener is None:
        raise _unknown_scheme(str(spec), d)
    return opener(d.arg, split, _uri_options(str(spec), d, dict(kw)))


def check_data_spec(spec: str, **kw) -> uri.DataSpec:
    """Read ``spec`` without opening anything (no file is touched, no scene rendered): the scheme,
    the URI options and synthetic's count, with the errors :func:`open_dataset` would raise, so
    a command can refuse a bad spec before it loads a model. ``kw`` are options to be passed to
    :func:`open_dataset` along with it, checked against the spec's (e.g. ``num=`` against ``synthetic:N``).

    >>> check_data_spec("synthetic://?num=4&size=32").params
    {'num': '4', 'size': '32'}
    >>> check_data_spec("synthetic:0")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    edgeseg.errors.ConfigError: a synthetic data set needs at least one image
      expected: a whole number of images >= 1
    ...
    """
    d = uri.parse_data_spec(spec)
    if d.scheme not in OPENERS:
        raise _unknown_scheme(str(spec), d)
    kw = _uri_options(str(spec), d, {k: v for k, v in kw.items() if v is not None})
    if d.scheme == "synthetic":
        _synthetic_count(d.arg, kw.get("num"))
        check_drive(kw.get("speed") or 0.0, kw.get("turn") or 0.0, kw.get("fps") or 30.0)
    elif d.scheme in PARAMS and not d.arg:
        _existing(d.scheme, d.arg)  # only the "needs a path" check: the path is looked at on opening
    return d
