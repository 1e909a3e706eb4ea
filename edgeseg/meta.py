"""ModelMeta: everything a runtime needs to segment a frame correctly, carried with the model.

Export writes it into ONNX ``metadata_props`` (key ``edgeseg.meta``), quantize and build carry it
on, a checkpoint stores it, and a TensorRT engine (a raw plan) has it in its sidecar. A runtime
reads nothing else.

The sidecar, ``<model file>.meta.json``, has one schema for every model file: the meta's fields
and ``meta_version``; an engine's sidecar adds an ``engine`` object with the engine's facts
(TensorRT version, GPU, shapes, sha256s: see ``edgeseg.backends.tensorrt.header``) and is
``meta_version`` 2; a reader refuses a version newer than its own. Version 3 describes graphs
edgeseg did not export (``edgeseg meta``): probabilities, a chosen output, an output stride,
float16 inputs, label outputs of any integer type, and dynamic graphs run at the frame's size.
A writer stamps the oldest version that describes the file (:meth:`ModelMeta.needed_version`),
so a meta that uses none of that is still read by older releases.

>>> m = ModelMeta(model="lraspp_mobilenet_v3_small", classes=("road", "car"), input_size=(256, 256))
>>> ModelMeta.from_json(m.to_json()) == m
True
>>> m.num_classes, m.palette[1]
(2, (0, 0, 142))
"""

from __future__ import annotations

import dataclasses
import json
import os
from dataclasses import dataclass, field
from typing import Any, Mapping, Sequence

from .errors import ConfigError, ModelError

META_KEY = "edgeseg.meta"
META_VERSION = 3    # the newest this edgeseg reads; 2: a sidecar may describe a TensorRT engine ("engine");
#                     3: the fields of foreign graphs (V3_DEFAULTS below)
# A writer stamps the oldest version that describes the file: a plain meta (ONNX props, an ONNX's
# sidecar, a checkpoint) is still 1, so robots on an older edgeseg keep reading new ONNX files;
# an engine's sidecar is 2, which they refuse with the upgrade command instead of misreading it.
PLAIN_META_VERSION = 1

# ImageNet statistics in 0..1 RGB: what torchvision backbones were trained with.
IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)

LAYOUTS = ("NCHW", "NHWC")
COLOR_ORDERS = ("RGB", "BGR")
INPUT_DTYPES = ("float32", "uint8", "float16")
OUTPUT_KINDS = ("logits", "probs", "labels")
LABEL_DTYPES = ("int64", "int32", "uint8")
RUN_SIZES = ("fixed", "frame")
# The version-3 fields and the values that leave a meta readable by version 1 and 2 readers.
V3_DEFAULTS = {"output_name": None, "output_stride": None, "label_dtype": None, "run_size": "fixed",
               "size_multiple": 1}
V3_VALUES = {"output_kind": ("probs",), "input_dtype": ("float16",)}
PRECISIONS = ("fp32", "fp16", "int8", "mixed")


def default_palette(num_classes: int) -> tuple[tuple[int, int, int], ...]:
    """A stable RGB palette: Cityscapes-like colours first, then a golden-ratio hue walk."""
    base = [(128, 64, 128), (0, 0, 142), (70, 130, 180), (107, 142, 35), (70, 70, 70),
            (220, 20, 60), (250, 170, 30), (220, 220, 0), (152, 251, 152), (244, 35, 232),
            (102, 102, 156), (190, 153, 153), (153, 153, 153), (255, 0, 0), (0, 0, 70),
            (0, 60, 100), (0, 80, 100), (0, 0, 230), (119, 11, 32), (0, 0, 0), (255, 255, 255)]
    out = list(base[:num_classes])
    h = 0.0
    while len(out) < num_classes:
        h = (h + 0.618033988749895) % 1.0
        i, f = int(h * 6), h * 6 - int(h * 6)
        v, p, q, t = 230, 40, int(230 - 190 * f), int(40 + 190 * f)
        out.append([(v, t, p), (q, v, p), (p, v, t), (p, q, v), (t, p, v), (v, p, q)][i % 6])
    return tuple(tuple(int(c) for c in rgb) for rgb in out)


@dataclass(frozen=True)
class ModelMeta:
    """What travels with a model. Sizes are (height, width); mean/std are in 0..1 units."""

    model: str
    classes: tuple[str, ...]
    input_size: tuple[int, int]
    palette: tuple[tuple[int, int, int], ...] = ()
    mean: tuple[float, float, float] = IMAGENET_MEAN
    std: tuple[float, float, float] = IMAGENET_STD
    color_order: str = "RGB"          # channel order the network expects
    layout: str = "NCHW"              # layout of the graph input
    input_dtype: str = "float32"      # uint8: the graph casts and normalises itself
    output_kind: str = "logits"       # probs: Softmax in the graph; labels: class ids (ArgMax in the graph)
    precision: str = "fp32"
    ignore_index: int = 255
    provenance: Mapping[str, Any] = field(default_factory=dict)
    # -- version 3: graphs from other tools ------------------------------------------------
    output_name: str | None = None    # the output to run (None: the graph's first)
    output_stride: int | None = None  # input size / output size (1/4-size logits: 4); None: read from the output
    label_dtype: str | None = None    # a labels output's integer type, as the graph has it
    run_size: str = "fixed"           # fixed: frames resized to input_size; frame: the frame's own size,
    size_multiple: int = 1            # ... rounded to a multiple of this (the network's stride)

    def __post_init__(self):
        # Normalise JSON lists to tuples so equality and hashing behave.
        set_ = lambda k, v: object.__setattr__(self, k, v)  # noqa: E731 (frozen dataclass)
        set_("classes", tuple(str(c) for c in self.classes))
        set_("input_size", tuple(int(s) for s in self.input_size))
        set_("palette", tuple(tuple(int(c) for c in rgb) for rgb in self.palette)
             or default_palette(len(self.classes)))
        set_("mean", tuple(float(x) for x in self.mean))
        set_("std", tuple(float(x) for x in self.std))
        set_("provenance", dict(self.provenance))
        if not self.classes:
            raise ConfigError("a model needs at least one class", expected="class names", got="none")
        if len(self.input_size) != 2 or min(self.input_size) <= 0:
            raise ConfigError("input_size must be (height, width) > 0", got=self.input_size)
        if len(self.palette) != len(self.classes):
            raise ConfigError("palette and classes differ in length",
                              expected=len(self.classes), got=len(self.palette))
        for name, value, allowed in (("layout", self.layout, LAYOUTS),
                                     ("color_order", self.color_order, COLOR_ORDERS),
                                     ("input_dtype", self.input_dtype, INPUT_DTYPES),
                                     ("output_kind", self.output_kind, OUTPUT_KINDS),
                                     ("precision", self.precision, PRECISIONS),
                                     ("run_size", self.run_size, RUN_SIZES)):
            if value not in allowed:
                raise ConfigError(f"unknown {name}", expected=" | ".join(allowed), got=value)
        if len(self.mean) != 3 or len(self.std) != 3 or min(self.std) <= 0:
            raise ConfigError("mean and std need three values, std > 0", got=(self.mean, self.std))
        if self.label_dtype is not None and self.label_dtype not in LABEL_DTYPES:
            raise ConfigError("unknown label_dtype", expected=" | ".join(LABEL_DTYPES), got=self.label_dtype)
        if self.output_name is not None and (not isinstance(self.output_name, str) or not self.output_name):
            raise ConfigError("output_name must be an output's name", got=repr(self.output_name))
        for name in ("output_stride", "size_multiple"):
            value = getattr(self, name)
            if value is not None and (isinstance(value, bool) or not isinstance(value, int) or value < 1):
                raise ConfigError(f"{name} must be an integer >= 1", got=repr(value))
        if self.size_multiple is None:
            raise ConfigError("size_multiple must be an integer >= 1", got="None")

    @property
    def num_classes(self) -> int:
        return len(self.classes)

    def replace(self, **changes) -> "ModelMeta":
        """A copy with some fields changed (the meta is frozen)."""
        return dataclasses.replace(self, **changes)

    # -- serialisation -------------------------------------------------------------------
    def needed_version(self) -> int:
        """The oldest meta_version that describes this meta: 3 when a version-3 field is used,
        else 1 (so robots on an older edgeseg keep reading what they can run).

        >>> ModelMeta(model="m", classes=("a",), input_size=(8, 8)).needed_version()
        1
        >>> ModelMeta(model="m", classes=("a",), input_size=(8, 8), output_kind="probs").needed_version()
        3
        """
        if any(getattr(self, k) != v for k, v in V3_DEFAULTS.items()) or \
                any(getattr(self, k) in vs for k, vs in V3_VALUES.items()):
            return 3
        return PLAIN_META_VERSION

    def to_dict(self) -> dict:
        d = dataclasses.asdict(self)
        d["meta_version"] = self.needed_version()
        if d["meta_version"] < 3:   # keep version-1 files exactly as version-1 writers wrote them
            for k in V3_DEFAULTS:
                d.pop(k)
        return d

    def to_json(self, indent: int | None = None) -> str:
        return json.dumps(self.to_dict(), indent=indent, sort_keys=True)

    @classmethod
    def from_dict(cls, d: Mapping[str, Any], source: str = "<dict>") -> "ModelMeta":
        if not isinstance(d, Mapping):
            raise ModelError("model meta is not a JSON object", path=source, got=type(d).__name__,
                             fix="write it with ModelMeta(...).write_sidecar(model_path)")
        d = dict(d)
        check_meta_version(d.pop("meta_version", META_VERSION), source)
        known = {f.name for f in dataclasses.fields(cls)}
        missing = {"model", "classes", "input_size"} - d.keys()
        if missing:
            raise ModelError("model meta is incomplete", path=source,
                             expected="model, classes, input_size", got=f"missing {sorted(missing)}")
        return cls(**{k: v for k, v in d.items() if k in known})

    @classmethod
    def from_json(cls, text: str, source: str = "<json>") -> "ModelMeta":
        try:
            d = json.loads(text)
        except json.JSONDecodeError as exc:
            raise ModelError("model meta is not valid JSON", path=source, got=str(exc)) from exc
        return cls.from_dict(d, source)

    # -- sidecar JSON next to any model file ---------------------------------------------
    @staticmethod
    def sidecar_path(model_path: str | os.PathLike) -> str:
        return os.fspath(model_path) + ".meta.json"

    def write_sidecar(self, model_path: str | os.PathLike) -> str:
        from .utils.atomic import atomic_write_text
        path = self.sidecar_path(model_path)
        atomic_write_text(path, self.to_json(indent=2))
        return path

    @classmethod
    def read_sidecar(cls, model_path: str | os.PathLike) -> "ModelMeta | None":
        """The meta in ``<model_path>.meta.json``; None when there is no such file."""
        path = cls.sidecar_path(model_path)
        d = read_sidecar_dict(model_path)
        return None if d is None else cls.from_dict(d, path)


def check_meta_version(version, source: str) -> int:
    """``version`` if this edgeseg reads it; else a ModelError (newer, or not a version at all)."""
    if not isinstance(version, int) or isinstance(version, bool) or version < 1:
        raise ModelError("model meta has an unreadable meta_version", path=source,
                         expected=f"an integer 1 .. {META_VERSION}", got=repr(version),
                         fix="write the meta again (ModelMeta(...).write_sidecar(path)) or re-export the model")
    if version > META_VERSION:
        raise ModelError("model meta was written by a newer edgeseg", path=source,
                         expected=f"meta_version <= {META_VERSION}", got=version,
                         fix="upgrade edgeseg: pip install -U edgeseg")
    return version


def read_meta_json(path: str | os.PathLike, what: str = "meta file") -> dict:
    """The JSON object in ``path``, its meta_version checked; a clear ModelError otherwise."""
    path = os.fspath(path)
    if os.path.isdir(path):
        raise ModelError(f"the {what} is a folder, not a file", path=path,
                         fix="give the .meta.json file itself")
    try:
        with open(path, encoding="utf-8") as f:
            text = f.read()
    except FileNotFoundError:
        raise ModelError(f"{what} not found", path=path,
                         fix="write one: ModelMeta(model=..., classes=..., input_size=...).write_sidecar(model)"
                         ) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ModelError(f"cannot read the {what}", path=path, got=f"{type(exc).__name__}: {exc}",
                         fix="copy it again, or write it again with ModelMeta(...).write_sidecar") from exc
    try:
        d = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ModelError("model meta is not valid JSON", path=path, got=str(exc),
                         fix="the file is damaged: copy it again or write it again") from exc
    if not isinstance(d, dict):
        raise ModelError("model meta is not a JSON object", path=path, got=type(d).__name__,
                         fix="write it with ModelMeta(...).write_sidecar(model_path)")
    check_meta_version(d.get("meta_version", META_VERSION), path)
    return d


def read_sidecar_dict(model_path: str | os.PathLike) -> dict | None:
    """The whole sidecar of ``model_path`` as a dict (meta fields, and an engine's "engine"
    object), version-checked; None when the model has no sidecar."""
    path = ModelMeta.sidecar_path(model_path)
    if not os.path.lexists(path):
        return None
    return read_meta_json(path, "sidecar")


def load_meta(meta) -> ModelMeta | None:
    """``meta=`` as users give it: None, a ModelMeta, or the path of a meta JSON (a sidecar, or
    ``ModelMeta.to_json()`` saved to a file)."""
    if meta is None or isinstance(meta, ModelMeta):
        return meta
    if isinstance(meta, (str, os.PathLike)):
        return ModelMeta.from_dict(read_meta_json(meta), os.fspath(meta))
    raise ConfigError("meta must be a ModelMeta or the path of a meta JSON", got=type(meta).__name__,
                      fix="meta=ModelMeta(model=..., classes=..., input_size=...) or meta='model.meta.json'")


def meta_from_sequence(model: str, classes: Sequence[str], input_size, **kw) -> ModelMeta:
    """Convenience for builders: ``meta_from_sequence("x", ["a", "b"], (256, 256))``."""
    return ModelMeta(model=model, classes=tuple(classes), input_size=tuple(input_size), **kw)
