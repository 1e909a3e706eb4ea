"""The meta options every command that opens a model shares (``edgeseg meta``, ``quantize``,
``bench``, ``compare``, ``run``): one argument group, the same names everywhere, each value checked
where argparse parses it (exit 2, one line), then one :class:`~edgeseg.meta_author.MetaOptions`.

None of the names clashes with the commands' own options (``--out``, ``--data``, ``--sizes``,
``--width``/``--height``/``--fps``, ``--backend*``, ...): tests/cli/test_meta.py parses quantize,
bench and compare with all of them beside their own.

>>> import argparse
>>> p = argparse.ArgumentParser(prog="edgeseg x"); _ = add_meta_args(p)
>>> a = p.parse_args(["--classes", "a,b", "--mean", "123.675,116.28,103.53", "--input-size", "frame"])
>>> a.classes.classes, a.mean, a.input_size, options_from_args(a).given()
(('a', 'b'), (123.675, 116.28, 103.53), 'frame', ['classes', 'mean', 'input_size'])
>>> meta_from_args(p.parse_args([]), "model.onnx") is None   # nothing said: the file's own meta is used
True
"""

from __future__ import annotations

import argparse

from ._common import int_at_least

OPTIONS = ("classes", "colors", "mean", "std", "scale", "color", "layout", "input_size", "stride", "output",
           "output_kind", "model_name")
HELP_TITLE = "model meta (for a model without edgeseg's meta, or to override the file's for this run)"


def one_line(exc) -> str:
    """An EdgesegError in one line, for argparse (its messages have expected/got/fix lines)."""
    parts = [exc.what + (f" ({exc.path})" if exc.path is not None else "")]
    parts += [f"{k} {v}" for k, v in (("expected", exc.expected), ("got", exc.got)) if v is not None]
    if exc.fix:
        parts.append(f"fix: {exc.fix}")
    return "; ".join(parts)


def _checked(convert):
    """An argparse type from a function that raises EdgesegError."""
    def parse(text: str):
        from ..errors import EdgesegError
        try:
            return convert(text)
        except EdgesegError as exc:
            raise argparse.ArgumentTypeError(one_line(exc)) from None
    parse.__name__ = convert.__name__.lstrip("_")
    return parse


def _classes(text: str):
    from ..presets import resolve_classes
    return resolve_classes(text)


def _colors(text: str):
    from ..presets import read_colors
    return read_colors(text)


def _mean(text: str):
    from ..meta_author import _three
    return _three(text, "mean")


def _std(text: str):
    from ..meta_author import _three
    return _three(text, "std", positive=True)


def _input_size(text: str):
    if text.strip().lower() == "frame":
        return "frame"
    from ..uri import parse_size
    return parse_size(text, what="input size", example="512x512, or frame")


def _name(text: str):
    if not text.strip():
        from ..errors import ConfigError
        raise ConfigError("expected a non-empty name", got=repr(text))
    return text


def _meta_file(text: str):
    from ..meta import load_meta
    load_meta(text)   # read and version-checked now; the command reads it again when it runs
    return text


meta_json = _checked(_meta_file)   # an argparse type: a meta JSON that reads (e.g. compare's --meta-b)


def _scale(text: str) -> int:
    try:
        value = float(text)
    except ValueError:
        value = 0.0
    if value not in (1.0, 255.0):
        raise argparse.ArgumentTypeError(f"expected 1 (mean/std for pixels 0..1) or 255 (pixels 0..255), got {text!r}")
    return int(value)


def _lower(choices):
    def parse(text: str) -> str:
        if text.strip().lower() not in choices:
            raise argparse.ArgumentTypeError(f"expected {' or '.join(choices)}, got {text!r}")
        return text.strip().lower()
    parse.__name__ = "|".join(choices)
    return parse


def add_meta_args(p: argparse.ArgumentParser, *, meta_file: bool = True, title: str = HELP_TITLE):
    """The meta options as one group of ``p`` (``meta_file``: with ``--meta FILE``, the base meta)."""
    g = p.add_argument_group(title)
    if meta_file:
        g.add_argument("--meta", metavar="FILE", type=meta_json,
                       help="a meta JSON (a .meta.json sidecar, ModelMeta.to_json()) to start from instead of the "
                            "file's own meta")
    g.add_argument("--classes", type=_checked(_classes), metavar="voc|cityscapes|ade20k|FILE|a,b,c",
                   help="class names: a preset (official names and palette), a labels.txt (one name a line, as "
                        "segNet reads it) or a comma list")
    g.add_argument("--colors", type=_checked(_colors), metavar="FILE",
                   help="a colors.txt: 'r g b' a line (an alpha 4th value is read and ignored)")
    g.add_argument("--mean", type=_checked(_mean), metavar="R,G,B",
                   help="per-channel mean, in --scale units (0.485,0.456,0.406 or 123.675,116.28,103.53)")
    g.add_argument("--std", type=_checked(_std), metavar="R,G,B", help="per-channel std, in --scale units")
    g.add_argument("--scale", type=_scale, metavar="1|255",
                   help="the pixel range --mean/--std are written for: 1 (torchvision, Hugging Face) or 255 "
                        "(MMSegmentation); default: 255 when a value is over 1")
    g.add_argument("--color", type=_lower(("rgb", "bgr")), metavar="rgb|bgr", help="channel order the network takes")
    g.add_argument("--layout", type=_lower(("nchw", "nhwc")), metavar="nchw|nhwc", help="layout of the input")
    g.add_argument("--input-size", type=_checked(_input_size), metavar="HxW|frame",
                   help="size to run at (needed when H and W are dynamic); frame: each frame's own size, "
                        "rounded to --stride")
    g.add_argument("--stride", type=int_at_least(1), metavar="N",
                   help="with --input-size frame: round the frame's size to a multiple of N (default 32)")
    g.add_argument("--output", type=_checked(_name), metavar="NAME",
                   help="the output to run (e.g. out, not aux); default: the graph's first")
    g.add_argument("--output-kind", type=_lower(("logits", "probs", "labels")), metavar="logits|probs|labels",
                   help="what that output holds (default: read from the graph)")
    g.add_argument("--model-name", type=_checked(_name), metavar="NAME", help="the meta's model name (default: file stem)")
    return g


def options_from_args(a: argparse.Namespace):
    """The MetaOptions the parsed arguments say."""
    from ..meta_author import MetaOptions
    return MetaOptions(**{name: getattr(a, name, None) for name in OPTIONS})


def meta_from_args(a: argparse.Namespace, model_path, base_attr: str = "meta"):
    """The meta for ``model_path`` from the options (over ``--meta FILE`` or the file's own meta),
    checked against the graph; ``--meta FILE`` alone is checked and returned as it is. None when no
    meta option was given, so the file's own meta is used."""
    options = options_from_args(a)
    base = getattr(a, base_attr, None)
    if not options.given() and base is None:
        return None
    from ..meta import load_meta
    from ..meta_author import author_meta
    authored = author_meta(model_path, base=base, options=options)
    return authored.meta if options.given() else load_meta(base)
