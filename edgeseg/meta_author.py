"""The meta of a model edgeseg did not export: what ``edgeseg meta`` builds and writes.

:func:`author_meta` builds a :class:`~edgeseg.meta.ModelMeta` for a model file, each field from the
first layer that has it:

1. the options (:class:`MetaOptions`: what the user says);
2. the base: the file's own meta when it has one, or a given ModelMeta / meta JSON;
3. the graph, as :func:`edgeseg.inspect.inspect_model` reads it: layout, input dtype, a fixed input
   H/W, the output to run and what it holds (logits, probabilities, label ids and their dtype),
   the output stride (input size / output size), the class count (the output's channels).

The graph is also the judge: where a value from the options or the base contradicts it (class
count against the output's channels, a size against a fixed input, ``logits`` for an integer
output, an output name it does not have) the answer is an error saying what to give instead,
never a meta that fails at the first frame. Where it cannot decide (dynamic H/W and no size, no
class names and no channel count) it asks. :attr:`AuthoredMeta.sources` and the meta's
``provenance["meta"]`` say which field came from where.

Mean and std are stored in 0..1 units (pixels scaled to 0..1 first). ``scale`` says in which units
they are given: 1 (torchvision, Hugging Face: 0.485, ...) or 255 (MMSegmentation: 123.675, ...);
without it, any value over 1 means 255 units. ``scale=255, mean=(0, 0, 0), std=(1, 1, 1)`` is a
network that takes raw 0..255 pixels.

:func:`edgeseg.meta_write.write_model_meta` stores it (inside the ONNX, or in the sidecar).

>>> import os, tempfile
>>> plan = os.path.join(tempfile.mkdtemp(), "trtexec.plan")
>>> _ = open(plan, "wb").write(b"ftrt" + bytes(16))   # a plan from trtexec: nothing readable without TensorRT
>>> m = meta_for_model(plan, classes="voc", input_size="512x512", mean="123.675,116.28,103.53",
...                    std="58.395,57.12,57.375")
>>> m.num_classes, m.mean, m.std
(21, (0.485, 0.456, 0.406), (0.229, 0.224, 0.225))
>>> from edgeseg.meta_write import write_model_meta
>>> write_model_meta(plan, m).path == plan + ".meta.json"
True
>>> import shutil; shutil.rmtree(os.path.dirname(plan))
>>> MetaOptions(input_size="frame", stride=16).input_size, MetaOptions(input_size="512x1024").input_size
('frame', (512, 1024))
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass, field, fields
from typing import Any

from .errors import ConfigError, ModelError
from .meta import COLOR_ORDERS, INPUT_DTYPES, LABEL_DTYPES, LAYOUTS, OUTPUT_KINDS, ModelMeta, load_meta

SCALES = (1, 255)
DEFAULT_STRIDE = 32        # what --input-size frame rounds the frame to without --stride
NOMINAL_SIZE = 512         # input_size of a frame-size meta without one: where quantize and bench run it


def _three(value, what: str, positive: bool = False) -> tuple[float, float, float]:
    items = value.replace(",", " ").split() if isinstance(value, str) else value
    try:
        vals = tuple(float(x) for x in items)
    except (TypeError, ValueError):
        vals = ()
    if len(vals) != 3 or not all(math.isfinite(v) for v in vals) or (positive and min(vals) <= 0):
        raise ConfigError(f"{what} needs three finite numbers" + (" > 0" if positive else ""),
                          expected="R,G,B (in the network's channel order), e.g. 0.485,0.456,0.406 or 123.675,116.28,103.53",
                          got=repr(value))
    return vals


@dataclass(frozen=True)
class MetaOptions:
    """What a user says about a model, each None when not said; checked when built.

    ``classes``: a preset (voc | cityscapes | ade20k), a labels.txt path, ``"a,b,c"`` or a list;
    ``colors``: a colors.txt path or a list of (r, g, b); ``mean``/``std``: three numbers in
    ``scale`` units (module docstring); ``color``: rgb | bgr; ``layout``: nchw | nhwc;
    ``input_size``: (h, w), ``"HxW"`` or ``"frame"`` (a dynamic graph run at the frame's size,
    rounded to a multiple of ``stride``, default 32); ``output``: the output to run;
    ``output_kind``: logits | probs | labels; ``model_name``: the meta's ``model``.
    """

    classes: Any = None
    colors: Any = None
    mean: Any = None
    std: Any = None
    scale: float | None = None
    color: str | None = None
    layout: str | None = None
    input_size: Any = None
    stride: int | None = None
    output: str | None = None
    output_kind: str | None = None
    model_name: str | None = None

    def __post_init__(self):
        set_ = lambda k, v: object.__setattr__(self, k, v)  # frozen dataclass
        if self.classes is not None:
            from .presets import resolve_classes
            set_("classes", resolve_classes(self.classes))
        if self.colors is not None:
            from .presets import resolve_colors
            set_("colors", resolve_colors(self.colors))
        if self.mean is not None:
            set_("mean", _three(self.mean, "mean"))
        if self.std is not None:
            set_("std", _three(self.std, "std", positive=True))
        if self.scale is not None:
            if isinstance(self.scale, bool) or self.scale not in SCALES:
                raise ConfigError("scale is the pixel range mean/std are written in", expected="1 (0..1) or 255 (0..255)",
                                  got=repr(self.scale))
            if self.mean is None and self.std is None:
                raise ConfigError("scale says the units of mean and std, and neither is given",
                                  got=f"scale {self.scale:g} alone", fix="give --mean and --std with --scale")
            set_("scale", int(self.scale))
        for name, allowed in (("color", COLOR_ORDERS), ("layout", LAYOUTS), ("output_kind", OUTPUT_KINDS)):
            value = getattr(self, name)
            if value is None:
                continue
            norm = str(value).strip().upper() if name != "output_kind" else str(value).strip().lower()
            if norm not in allowed:
                raise ConfigError(f"unknown {name}", expected=" | ".join(a.lower() for a in allowed), got=repr(value))
            set_(name, norm)
        if self.input_size is not None:
            if isinstance(self.input_size, str) and self.input_size.strip().lower() == "frame":
                set_("input_size", "frame")
            else:
                from .uri import parse_size
                set_("input_size", parse_size(self.input_size, what="input size", example="512x512 or frame"))
        if self.stride is not None:
            if isinstance(self.stride, bool) or not isinstance(self.stride, int) or self.stride < 1:
                raise ConfigError("stride must be an integer >= 1", got=repr(self.stride))
            if self.input_size not in (None, "frame"):
                raise ConfigError("stride rounds the frame's size for input_size 'frame'; a fixed size is not rounded",
                                  got=f"input size {self.input_size[0]}x{self.input_size[1]} with stride {self.stride}",
                                  fix="--input-size frame --stride N, or drop --stride")
        for name in ("output", "model_name"):
            value = getattr(self, name)
            if value is not None and (not isinstance(value, str) or not value.strip()):
                raise ConfigError(f"{name} must be a non-empty name", got=repr(value))

    def given(self) -> list[str]:
        """The options that were said."""
        return [f.name for f in fields(self) if getattr(self, f.name) is not None]

    def mean_std(self) -> tuple[tuple | None, tuple | None]:
        """(mean, std) in 0..1 units (None where not given), from ``scale`` units (module docstring)."""
        values = [*(self.mean or ()), *(self.std or ())]
        if not values:
            return None, None
        scale = self.scale or (255 if max(values) > 1 else 1)
        if scale == 1 and max(values) > 1:
            raise ConfigError("mean/std over 1 with scale 1 (pixels 0..1)", got=f"mean {self.mean}, std {self.std}",
                              fix="values like 123.675 are in 0..255 units: --scale 255 (or leave --scale out)")
        # 255 * 0.485 is 123.675 in decimal but not in binary: round so 0..255 values read back as written.
        def conv(v):
            return None if v is None else tuple(float(f"{x / scale:.12g}") for x in v)
        return conv(self.mean), conv(self.std)


@dataclass(frozen=True)
class AuthoredMeta:
    """The meta built for a model, where each field came from, and what to tell the user."""

    meta: ModelMeta
    sources: dict            # field -> "options" | "base" | "graph" | "default"
    notes: tuple[str, ...]   # disagreements and defaults taken, in sentences
    class_source: str = ""   # "preset ade20k", a labels file's path, "list", "the meta", "the graph"
    report: Any = field(repr=False, default=None)   # the inspect_model report it was read from


# -- the graph's facts --------------------------------------------------------------------------
@dataclass
class _Graph:
    readable: bool             # False: a plan whose tensors only TensorRT reads
    layout: str | None
    input: Any                 # TensorInfo or None
    hw: tuple | None           # (h, w) as the graph has them; ints when fixed
    outputs: dict              # name -> TensorInfo (empty when unreadable)
    first_output: str | None

    @property
    def fixed_hw(self) -> tuple[int, int] | None:
        if self.hw and all(isinstance(d, int) and not isinstance(d, bool) and d > 0 for d in self.hw):
            return tuple(self.hw)
        return None


def _graph(report) -> _Graph:
    inputs, outputs = report.inputs, report.outputs
    if not inputs:
        return _Graph(False, None, None, None, {}, None)
    # An engine's report.layout is its meta's: the graph's own guess is read from the input's shape.
    from .inspect import guess_layout, spatial_size
    layout = guess_layout(inputs) if report.kind == "engine" else report.layout
    return _Graph(True, layout, inputs[0], spatial_size(inputs[0], layout) if layout else None,
                  {t.name: t for t in outputs}, outputs[0].name if outputs else None)


def _shape(shape) -> str:
    from .inspect import shape_text
    return shape_text(shape)


def _stride_of(out_hw, in_hw) -> int | None:
    """input / output size when both are fixed and one integer fraction > 1; else None."""
    if not out_hw or not in_hw or not all(isinstance(d, int) and d > 0 for d in (*out_hw, *in_hw)):
        return None
    ratios = {i / o for i, o in zip(in_hw, out_hw)}
    if len(ratios) == 1:
        r = ratios.pop()
        if r > 1 and r == int(r):
            return int(r)
    return None


def _load_base(base, report, path: str) -> ModelMeta | None:
    if base is None:
        return None if report.meta is None else ModelMeta.from_dict(report.meta, path)
    if isinstance(base, dict):
        return ModelMeta.from_dict(base, "<base meta>")
    return load_meta(base)


# -- building -----------------------------------------------------------------------------------
def author_meta(path, base=None, options: MetaOptions | None = None, **option_values) -> AuthoredMeta:
    """Build the meta of the model at ``path`` from ``options`` (or the same as keywords), ``base``
    (None: the file's own meta when it has one; a ModelMeta, a meta JSON path or a dict) and the graph.

    >>> import os, tempfile
    >>> plan = os.path.join(tempfile.mkdtemp(), "model.plan"); _ = open(plan, "wb").write(b"ftrt" + bytes(16))
    >>> r = author_meta(plan, classes="road,car", input_size="64x64")
    >>> r.sources["classes"], r.sources["layout"], r.notes[0][:40]
    ('options', 'default', "the plan's input is not readable without")
    """
    from .inspect import inspect_model
    if options is None:
        options = MetaOptions(**option_values)
    elif option_values:
        raise ConfigError("give options as a MetaOptions or as keywords, not both", got=sorted(option_values))
    path = os.fspath(path)
    report = inspect_model(path)
    return _Builder(path, report, _load_base(base, report, path), options).build()


def meta_for_model(path, base=None, **overrides) -> ModelMeta:
    """The meta of the model at ``path`` (see :func:`author_meta`; ``overrides`` are MetaOptions' fields).

    >>> import os, tempfile
    >>> plan = os.path.join(tempfile.mkdtemp(), "model.plan"); _ = open(plan, "wb").write(b"ftrt" + bytes(16))
    >>> meta_for_model(plan, classes="ade20k", input_size="512x512", output="logits").output_name
    'logits'
    """
    return author_meta(path, base, **overrides).meta


class _Builder:
    def __init__(self, path: str, report, base: ModelMeta | None, opts: MetaOptions):
        self.path, self.report, self.base, self.o = path, report, base, opts
        self.g = _graph(report)
        self.fields: dict[str, Any] = {}
        self.sources: dict[str, str] = {}
        self.notes: list[str] = []

    def set(self, name: str, value, source: str) -> None:
        self.fields[name], self.sources[name] = value, source

    def error(self, what: str, **kw) -> ModelError:
        return ModelError(what, path=self.path, **kw)

    def build(self) -> AuthoredMeta:
        for step in (self._layout, self._input_dtype, self._size, self._output, self._output_kind, self._classes,
                     self._palette, self._normalisation, self._rest):
            step()
        meta = ModelMeta(**self.fields)
        return AuthoredMeta(meta, dict(self.sources), tuple(self.notes), self._class_source, self.report)

    # -- input ----------------------------------------------------------------------------------
    def _layout(self) -> None:
        o, b, g = self.o, self.base, self.g
        value, source = (o.layout, "options") if o.layout else (b.layout, "base") if b else (g.layout, "graph")
        if value is None:
            if g.readable:
                raise self.error("cannot tell the input's layout (NCHW or NHWC) from the graph",
                                 got=f"input '{g.input.name}' {_shape(g.input.shape)}",
                                 expected="a 4-D input whose channel dim (3) is clearly at position 1 or 3",
                                 fix="say it: edgeseg meta MODEL --layout nchw (or nhwc)")
            value, source = "NCHW", "default"
            self.notes.append("the plan's input is not readable without TensorRT: NCHW assumed (--layout nhwc if not)")
        if g.layout and value != g.layout:
            said = "--layout" if source == "options" else "the meta"
            raise self.error(f"{said} says {value}, but the graph's input is {g.layout}",
                             expected=f"{g.layout}: input '{g.input.name}' is {_shape(g.input.shape)}",
                             got=value, fix=f"--layout {g.layout.lower()}")
        self.set("layout", value, source)
        if g.readable:
            from .inspect import spatial_size
            g.hw = spatial_size(g.input, value)

    def _input_dtype(self) -> None:
        g, b = self.g, self.base
        if g.readable and g.input is not None and g.input.dtype is not None and self.report.kind == "onnx":
            dtype = g.input.dtype
            if dtype not in INPUT_DTYPES:
                raise self.error("edgeseg cannot feed this input type", got=f"input '{g.input.name}' {dtype}",
                                 expected=" | ".join(INPUT_DTYPES),
                                 fix="export the model with a float32, float16 or uint8 image input")
            if b is not None and b.input_dtype != dtype:
                self.notes.append(f"the meta said input {b.input_dtype}, the graph takes {dtype}: {dtype} written")
            self.set("input_dtype", dtype, "graph")
        elif b is not None:
            self.set("input_dtype", b.input_dtype, "base")
        else:
            self.set("input_dtype", "float32", "default")

    def _size(self) -> None:
        o, b, g = self.o, self.base, self.g
        fixed = g.fixed_hw
        if o.input_size == "frame" or (o.input_size is None and o.stride is not None):
            if o.input_size is None and (b is None or b.run_size != "frame"):
                raise ConfigError("stride rounds the frame's size for input_size 'frame'", got=f"stride {o.stride}",
                                  fix="--input-size frame --stride N")
            if fixed:
                raise self.error("the graph's input size is fixed: it cannot run at the frame's size",
                                 expected="an input with dynamic H and W for --input-size frame",
                                 got=f"input '{g.input.name}' {_shape(g.input.shape)}",
                                 fix=f"--input-size {fixed[0]}x{fixed[1]}, or export the model with dynamic axes")
            m = o.stride or (b.size_multiple if b is not None and b.run_size == "frame" else DEFAULT_STRIDE)
            if b is not None:
                size, source = b.input_size, "base"
            else:
                size, source = tuple(-(-NOMINAL_SIZE // m) * m for _ in range(2)), "default"
                self.notes.append(f"runs at each frame's size rounded to a multiple of {m}; quantize calibrates and "
                                  f"bench measures at {size[0]}x{size[1]} (bench --sizes for others)")
            self.set("input_size", size, source)
            self.set("run_size", "frame", "options" if o.input_size else "base")
            self.set("size_multiple", m, "options" if o.stride else "base" if b is not None and b.run_size == "frame"
                     else "default")
            return
        if o.input_size is not None:
            size, source = o.input_size, "options"
        elif b is not None:
            size, source = b.input_size, "base"
            if b.run_size == "frame" and fixed:
                raise self.error("the meta runs the model at the frame's size, but the graph's input is fixed",
                                 got=f"input '{g.input.name}' {_shape(g.input.shape)}",
                                 fix=f"--input-size {fixed[0]}x{fixed[1]}")
            self.set("run_size", b.run_size, "base")
            self.set("size_multiple", b.size_multiple, "base")
        elif fixed:
            size, source = fixed, "graph"
        elif g.readable:
            raise self.error("the graph's input H and W are dynamic: nothing says which size to run it at",
                             got=f"input '{g.input.name}' {_shape(g.input.shape)}",
                             fix="--input-size HxW (e.g. 512x512, the size it was trained at), or --input-size frame "
                                 "to run each frame at its own size (rounded to --stride, default 32)")
        else:
            raise self.error("the plan's input size is not readable without TensorRT",
                             got="a TensorRT plan without edgeseg's sidecar",
                             fix="--input-size HxW (the shape it was built for, e.g. trtexec --shapes=input:1x3x512x512)")
        if fixed and tuple(size) != fixed:
            said = "--input-size" if source == "options" else "the meta's input size"
            raise self.error(f"{said} {size[0]}x{size[1]} differs from the graph's fixed input",
                             expected=f"{fixed[0]}x{fixed[1]} (input '{g.input.name}' {_shape(g.input.shape)})",
                             got=f"{size[0]}x{size[1]}", fix=f"--input-size {fixed[0]}x{fixed[1]}")
        self.set("input_size", tuple(size), source)

    # -- output ---------------------------------------------------------------------------------
    def _output(self) -> None:
        o, b, g = self.o, self.base, self.g
        if o.output is not None:
            if g.outputs and o.output not in g.outputs:
                from .uri import did_you_mean
                raise self.error("--output names no output of the graph", got=repr(o.output),
                                 expected="one of " + ", ".join(f"'{n}' {_shape(t.shape)} {t.dtype}"
                                                                for n, t in g.outputs.items()),
                                 fix=did_you_mean(o.output, list(g.outputs)) or "edgeseg inspect MODEL lists them")
            if not g.outputs:
                self.notes.append(f"the plan's outputs are not readable without TensorRT: '{o.output}' not checked")
            self.set("output_name", o.output, "options")
        elif b is not None:
            if b.output_name is not None and g.outputs and b.output_name not in g.outputs:
                raise self.error("the meta names an output the graph does not have", got=repr(b.output_name),
                                 expected="one of " + ", ".join(f"'{n}'" for n in g.outputs),
                                 fix=f"--output {g.first_output}")
            self.set("output_name", b.output_name, "base")
        else:
            self.set("output_name", None, "graph")
        name = self.fields["output_name"] or g.first_output
        self.out = g.outputs.get(name)

    def _output_kind(self) -> None:
        o, b, g, t = self.o, self.base, self.g, self.out
        from_base = b is not None and o.output is None   # a new output brings its own facts
        from .inspect import guess_output_kind, spatial_size
        if t is not None:
            graph_kind = guess_output_kind(t, g.hw)
            integer = t.dtype.startswith(("int", "uint"))
        else:
            graph_kind, integer = None, None
        if o.output_kind is not None:
            kind, source = o.output_kind, "options"
        elif from_base:
            kind, source = b.output_kind, "base"
        elif graph_kind is not None:
            kind, source = graph_kind, "graph"
        elif t is None:
            kind, source = "logits", "default"
            self.notes.append("the plan's outputs are not readable without TensorRT: logits assumed "
                              "(--output-kind probs or labels if not)")
        else:
            raise self.error(f"cannot tell what output '{t.name}' holds", got=f"{_shape(t.shape)} {t.dtype}",
                             expected="N,C,H,W float scores (logits or probabilities) or N,H,W / N,1,H,W label ids",
                             fix="--output-kind logits|probs|labels, or --output NAME for another output")
        if t is not None:
            said = "--output-kind" if source == "options" else "the meta's output kind"
            if kind != "labels" and integer:
                raise self.error(f"{said} is {kind}, but output '{t.name}' holds integers", got=f"{t.dtype} "
                                 f"{_shape(t.shape)}", expected="float scores for logits or probs",
                                 fix="--output-kind labels (class ids), or --output NAME for a scores output")
            if kind == "labels" and not integer:
                raise self.error(f"{said} is labels, but output '{t.name}' holds {t.dtype} values", got=_shape(t.shape),
                                 expected=f"an integer output ({', '.join(LABEL_DTYPES)})",
                                 fix="--output-kind logits (or probs), or --output NAME for the label-id output")
            if kind == "labels" and t.dtype not in LABEL_DTYPES:
                raise self.error(f"edgeseg does not read {t.dtype} label ids", got=f"output '{t.name}' {t.dtype}",
                                 expected=" | ".join(LABEL_DTYPES), fix="cast the label output to int32 or int64")
            if graph_kind in ("logits", "probs") and kind in ("logits", "probs") and kind != graph_kind \
                    and t.producer is not None:
                self.notes.append(f"output '{t.name}' looks like {graph_kind} (from {t.producer}), the meta says {kind}: "
                                  "the label map is the same; quantize and compare read the scores as the meta says")
            if kind in ("logits", "probs") and t.shape and len(t.shape) == 4 and t.shape[1] == 1:
                raise self.error(f"output '{t.name}' has one channel: a single score (a sigmoid head?) has no class "
                                 "to pick with argmax", got=_shape(t.shape),
                                 expected="one score channel per class (2 for a binary model)",
                                 fix="export the model with a 2-class head, or its label output (--output-kind labels)")
        self.set("output_kind", kind, source)
        # label_dtype and output_stride follow the output: from the base while the output is the base's
        if kind == "labels":
            if from_base and source == "base":
                self.set("label_dtype", b.label_dtype, "base")
            else:
                self.set("label_dtype", t.dtype if t is not None else None, "graph" if t is not None else "default")
        else:
            self.set("label_dtype", None, "default")
        if from_base and source == "base":
            self.set("output_stride", b.output_stride, "base")
        elif t is not None and t.shape is not None and len(t.shape) in (3, 4):
            out_hw = tuple(t.shape[1:3]) if len(t.shape) == 3 else spatial_size(t, "NCHW")
            stride = _stride_of(out_hw, self.g.fixed_hw)
            self.set("output_stride", stride, "graph" if stride else "default")
        else:
            self.set("output_stride", None, "default")

    # -- classes --------------------------------------------------------------------------------
    def _channels(self) -> int | None:
        t = self.out
        if t is None or self.fields["output_kind"] == "labels" or not t.shape or len(t.shape) != 4:
            return None
        c = t.shape[1]
        return c if isinstance(c, int) and c > 0 else None

    def _classes(self) -> None:
        o, b = self.o, self.base
        channels = self._channels()
        if o.classes is not None:
            classes, source, where = o.classes.classes, "options", o.classes.source
        elif b is not None:
            classes, source, where = b.classes, "base", "the meta"
        elif channels is not None:
            classes, source, where = tuple(f"class_{i}" for i in range(channels)), "graph", "the graph"
            self.notes.append(f"{channels} classes from the output's channels, named class_0..class_{channels - 1}: "
                              "give their names with --classes (a preset, labels.txt or a,b,c)")
        else:
            t = self.out
            got = f"output '{t.name}' {_shape(t.shape)} {t.dtype} ({self.fields['output_kind']})" if t is not None \
                else "a plan whose outputs are not readable without TensorRT"
            raise self.error("cannot tell how many classes the model has", got=got,
                             fix="--classes voc|cityscapes|ade20k, a labels.txt (one name a line) or a,b,c")
        if channels is not None and len(classes) != channels:
            what = {"options": f"--classes ({where})", "base": "the meta"}.get(source, where)
            fix = "give the model's own class list"
            if source == "options" and where.endswith(".txt") and classes and classes[0].startswith("#"):
                fix += f"; line 1 ('{classes[0]}') is read as a class name, as segNet does: remove it"
            raise ConfigError(f"{what} names {len(classes)} classes, but output '{self.out.name}' scores {channels}",
                              path=where if source == "options" and os.path.isfile(where) else self.path,
                              expected=f"{channels} class names (output {_shape(self.out.shape)})",
                              got=f"{len(classes)}: {', '.join(classes[:4])}{', ...' if len(classes) > 4 else ''}",
                              fix=fix)
        self.set("classes", tuple(classes), source)
        self._class_source = where

    def _palette(self) -> None:
        o, b = self.o, self.base
        n = len(self.fields["classes"])
        if o.colors is not None:
            palette, source, where = o.colors, "options", "--colors"
        elif o.classes is not None and o.classes.palette is not None:
            palette, source, where = o.classes.palette, "options", o.classes.source
        elif self.sources["classes"] == "base":
            palette, source, where = b.palette, "base", "the meta"
        else:
            palette, source, where = (), "default", "default"
        if palette and len(palette) != n:
            raise ConfigError(f"{where} has {len(palette)} colours for {n} classes", expected=f"{n} colours, one a class",
                              got=len(palette), fix="one 'r g b' line per class, in the classes' order")
        self.set("palette", tuple(palette), source)

    # -- the rest -------------------------------------------------------------------------------
    def _normalisation(self) -> None:
        o, b = self.o, self.base
        mean, std = o.mean_std()
        for name, value in (("mean", mean), ("std", std)):
            if value is not None:
                self.set(name, value, "options")
            elif b is not None:
                self.set(name, getattr(b, name), "base")
            else:
                from .meta import IMAGENET_MEAN, IMAGENET_STD
                self.set(name, IMAGENET_MEAN if name == "mean" else IMAGENET_STD, "default")
        if o.color:
            self.set("color_order", o.color, "options")
        else:
            self.set("color_order", b.color_order if b else "RGB", "base" if b else "default")
        dtype = self.fields["input_dtype"]
        if dtype == "uint8" and (mean is not None or std is not None):
            self.notes.append("the input is uint8: the graph normalises frames itself, so mean/std are recorded, "
                              "not applied")
        elif dtype != "uint8" and "default" in (self.sources["mean"], self.sources["std"]):
            self.notes.append("mean/std not given: ImageNet's (0.485,0.456,0.406 / 0.229,0.224,0.225 in 0..1 units) "
                              "written; give the model's own with --mean/--std (and --scale 255 for 0..255 values)")

    def _rest(self) -> None:
        o, b = self.o, self.base
        if o.model_name:
            self.set("model", o.model_name, "options")
        elif b is not None:
            self.set("model", b.model, "base")
        else:
            self.set("model", os.path.splitext(os.path.basename(self.path))[0], "default")
        for name in ("precision", "ignore_index"):
            if b is not None:
                self.set(name, getattr(b, name), "base")
        self.fields.setdefault("run_size", "fixed")
        self.fields.setdefault("size_multiple", 1)
        self.sources.setdefault("run_size", "default")
        self.sources.setdefault("size_multiple", "default")
        from . import __version__
        by_source = {}
        for name in sorted(self.sources):
            by_source.setdefault(self.sources[name], []).append(name)
        note = {"by": "edgeseg meta", "edgeseg": __version__, "file": os.path.basename(self.path),
                **{f"from_{k}": v for k, v in sorted(by_source.items())}}
        self.fields["provenance"] = {**(b.provenance if b is not None else {}), "meta": note}
