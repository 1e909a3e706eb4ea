"""Stream's spellings from before the options objects, accepted for one release, each with a warning.

``Stream(src, seg, policy="all")`` runs as ``Stream(src, seg, options=StreamOptions(policy="all"))``
and warns once per keyword, naming the field to use; a keyword together with an ``options=`` that
sets the same field is a ConfigError naming both. ``source_options={...}`` as a dict becomes a
:class:`SourceOptions` and ``segmenter=`` is ``model``, with the same warning. Everything
deprecated sits in this module, so the release after deletes it and its three calls in Stream.

>>> import warnings
>>> with warnings.catch_warnings(record=True) as caught:
...     warnings.simplefilter("always")
...     options = stream_options(None, {"policy": "all", "smooth": 3})
>>> options.policy, options.smooth, [w.category.__name__ for w in caught]
('all', 3, ['DeprecationWarning', 'DeprecationWarning'])
"""

from __future__ import annotations

import dataclasses
import warnings

from ..errors import ConfigError
from ..uri import did_you_mean
from .options import SourceOptions, StreamOptions, check_names, option_names

# Stream.__init__ -> the helper here -> warnings.warn: the warning points at the caller's line
_STACKLEVEL = 4
# The keywords edgeseg 0.1's Stream took, each the name of its StreamOptions field now; fields added
# since (motion, ...) exist only on the options object, so they are not "old keywords" to warn about.
STREAM_KEYWORDS = ("policy", "smooth", "render", "alpha", "max_frames", "reconnect", "backoff", "stall_s",
                   "queue_size", "report_every", "cv_threads")
assert set(STREAM_KEYWORDS) <= set(option_names(StreamOptions))


def _warn(old: str, new: str) -> None:
    warnings.warn(f"Stream({old}) is deprecated and goes in the next release: use {new}",
                  DeprecationWarning, stacklevel=_STACKLEVEL)


def stream_options(options: StreamOptions | None, keywords: dict) -> StreamOptions:
    """``options`` with the old keywords folded in (one warning each).

    >>> stream_options(StreamOptions(smooth=2), {}).smooth
    2
    """
    if options is None:
        options = StreamOptions()
    elif not isinstance(options, StreamOptions):
        raise ConfigError("Stream options must be a StreamOptions", got=repr(options),
                          fix="Stream(source, model, sink, options=StreamOptions(policy='all'))")
    known = (*STREAM_KEYWORDS, "segmenter")
    for name in keywords:
        if name not in known:
            raise ConfigError("unknown Stream argument", got=f"{name}=", expected=" | ".join(known),
                              fix=did_you_mean(name, known, template="{}="))
    default = StreamOptions()
    for name, value in keywords.items():
        _warn(f"{name}=...", f"Stream(..., options=StreamOptions({name}=...))")
        if getattr(options, name) != getattr(default, name):
            raise ConfigError(f"Stream({name}=...) conflicts with options=StreamOptions({name}=...)",
                              expected=f"{name} given once", got=f"{name}={value!r} as a keyword and "
                              f"{name}={getattr(options, name)!r} in options",
                              fix=f"drop the {name}= keyword and keep options=StreamOptions({name}=...)")
    return dataclasses.replace(options, **keywords) if keywords else options


def model_argument(model, keywords: dict):
    """The model, from ``Stream(src, model)`` or the old ``Stream(src, segmenter=...)``
    (taken out of ``keywords``).

    >>> model_argument("m.onnx", {})
    'm.onnx'
    """
    if "segmenter" not in keywords:
        if model is None:
            raise ConfigError("Stream needs a model", expected="a Segmenter or a model path (.onnx, .engine)",
                              got="None", fix="Stream(source, 'model.onnx', sink)")
        return model
    old = keywords.pop("segmenter")
    _warn("segmenter=...", "Stream(source, model, ...) (the second argument)")
    if model is not None:
        raise ConfigError("Stream(segmenter=...) conflicts with its model argument", expected="one model",
                          got="both segmenter= and the second argument", fix="drop segmenter=")
    return old


def source_options(options):
    """``options``, or the old dict spelling made into a :class:`SourceOptions` (with a warning).

    >>> source_options(None) is None, source_options(SourceOptions(fps=30)).fps
    (True, 30)
    """
    if not isinstance(options, dict):
        return options
    _warn("source_options={...}", "Stream(..., source_options=SourceOptions(...))")
    check_names(SourceOptions, options)
    return SourceOptions(**options)
