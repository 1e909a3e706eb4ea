"""Input shapes for the engine: ``--shape``, ``--dynamic MIN:OPT:MAX`` and optimisation profiles.

Pure functions, validated against the ONNX input (its rank, static dims and channel count):

>>> parse_shape("1x3x512x512")
(1, 3, 512, 512)
>>> p = resolve_profile("input", (None, 3, None, None), layout="NCHW",
...                     spec="1x3x256x256:1x3x512x512:4x3x1024x1024")
>>> p.min, p.opt, p.max, p.is_static
((1, 3, 256, 256), (1, 3, 512, 512), (4, 3, 1024, 1024), False)
>>> resolve_profile("input", (1, 3, 64, 64), layout="NCHW").to_dict()
{'min': [1, 3, 64, 64], 'opt': [1, 3, 64, 64], 'max': [1, 3, 64, 64]}
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from ...errors import ConfigError

_DIM_EXAMPLE = "like 1x3x512x512"


def parse_shape(text) -> tuple[int, ...]:
    """``"1x3x512x512"`` (or a sequence of ints) -> a tuple of positive ints."""
    if isinstance(text, (tuple, list)):
        dims = tuple(text)
    else:
        s = str(text).strip().lower()
        if not re.fullmatch(r"\d+(x\d+)*", s):
            raise ConfigError("cannot read the shape", expected=_DIM_EXAMPLE, got=text,
                              fix="write dimensions separated by 'x', e.g. --shape 1x3x512x512")
        dims = tuple(int(d) for d in s.split("x"))
    if not dims or any(not isinstance(d, int) or isinstance(d, bool) or d <= 0 for d in dims):
        raise ConfigError("shape dimensions must be integers > 0", expected=_DIM_EXAMPLE, got=text)
    return dims


def format_shape(dims: Sequence[int]) -> str:
    return "x".join(str(int(d)) for d in dims)


@dataclass(frozen=True)
class ProfileShape:
    """One input's optimisation profile: TensorRT builds kernels for ``opt`` and accepts min..max."""

    name: str
    min: tuple[int, ...]
    opt: tuple[int, ...]
    max: tuple[int, ...]

    def __post_init__(self):
        for k in ("min", "opt", "max"):
            object.__setattr__(self, k, tuple(int(d) for d in getattr(self, k)))
        check_order(self.min, self.opt, self.max, f"{self.min}:{self.opt}:{self.max}")

    @property
    def is_static(self) -> bool:
        return self.min == self.opt == self.max

    def to_dict(self) -> dict:
        return {"min": list(self.min), "opt": list(self.opt), "max": list(self.max)}

    @classmethod
    def from_dict(cls, name: str, d: Mapping) -> ProfileShape:
        return cls(name, d["min"], d["opt"], d["max"])

    def cli(self) -> str:
        """The ``--shape`` / ``--dynamic`` argument that asks for this profile."""
        if self.is_static:
            return f"--shape {format_shape(self.opt)}"
        return f"--dynamic {format_shape(self.min)}:{format_shape(self.opt)}:{format_shape(self.max)}"


def check_order(mn, opt, mx, text) -> None:
    if not (len(mn) == len(opt) == len(mx)):
        raise ConfigError("min, opt and max shapes differ in rank", expected="three shapes of one rank, "
                          "like 1x3x256x256:1x3x512x512:4x3x1024x1024", got=text)
    bad = [i for i, (a, b, c) in enumerate(zip(mn, opt, mx)) if not a <= b <= c]
    if bad:
        raise ConfigError("a dynamic shape needs min <= opt <= max in every dimension",
                          expected="like 1x3x256x256:1x3x512x512:4x3x1024x1024",
                          got=f"{text} (dimension {bad[0]}: {mn[bad[0]]}, {opt[bad[0]]}, {mx[bad[0]]})")


def parse_dynamic(text) -> tuple[tuple[int, ...], tuple[int, ...], tuple[int, ...]]:
    """``"MIN:OPT:MAX"`` -> three shapes of one rank with min <= opt <= max per dimension.

    >>> parse_dynamic("1x3x256x256:1x3x512x512:4x3x1024x1024")[2]
    (4, 3, 1024, 1024)
    """
    parts = str(text).split(":")
    if len(parts) != 3:
        raise ConfigError("--dynamic needs three shapes MIN:OPT:MAX",
                          expected="like 1x3x256x256:1x3x512x512:4x3x1024x1024", got=text)
    mn, opt, mx = (parse_shape(p) for p in parts)
    check_order(mn, opt, mx, text)
    return mn, opt, mx


def _spec_triplet(spec):
    """A shape spec (str ``AxB..``, ``MIN:OPT:MAX``, a shape, a (min, opt, max) triple or a
    ``{"min", "opt", "max"}`` dict) -> (min, opt, max)."""
    if isinstance(spec, ProfileShape):
        return spec.min, spec.opt, spec.max
    if isinstance(spec, Mapping):
        missing = {"min", "opt", "max"} - set(spec)
        if missing:
            raise ConfigError("a profile needs min, opt and max", got=dict(spec))
        return parse_dynamic(":".join(format_shape(parse_shape(spec[k])) for k in ("min", "opt", "max")))
    if isinstance(spec, str):
        if ":" in spec:
            return parse_dynamic(spec)
        s = parse_shape(spec)
        return s, s, s
    if isinstance(spec, (tuple, list)) and spec and all(isinstance(x, (tuple, list, str)) for x in spec):
        if len(spec) != 3:
            raise ConfigError("a profile needs three shapes (min, opt, max)", got=spec)
        mn, opt, mx = (parse_shape(x) for x in spec)
        check_order(mn, opt, mx, spec)
        return mn, opt, mx
    s = parse_shape(spec)
    return s, s, s


def resolve_profile(name: str, onnx_dims: Sequence, *, layout: str = "NCHW", spec=None,
                    default_hw: Sequence[int] | None = None, channels: int | None = None) -> ProfileShape:
    """The profile of input ``name`` whose ONNX dims are ``onnx_dims`` (ints; None or a name for
    a symbolic dim). ``spec``: None (the ONNX's static shape, or batch 1 at ``default_hw`` for a
    dynamic one), a static shape, or ``MIN:OPT:MAX``. Static ONNX dims must match; the channel
    dim is the model's."""
    dims = tuple(d if isinstance(d, int) and not isinstance(d, bool) and d > 0 else None for d in onnx_dims)
    rank = len(dims)
    c_axis = 1 if layout == "NCHW" else rank - 1
    model_c = dims[c_axis] if 0 <= c_axis < rank and dims[c_axis] is not None else (channels or 3)
    if spec is None:
        if all(d is not None for d in dims):
            return ProfileShape(name, dims, dims, dims)
        if rank != 4 or default_hw is None:
            raise ConfigError(f"input '{name}' has dynamic dimensions; say which shapes to build for",
                              got=f"ONNX shape {_show(dims)}",
                              fix="pass --shape 1x3x512x512 or --dynamic MIN:OPT:MAX")
        h, w = (int(x) for x in default_hw)
        want = (1, model_c, h, w) if layout == "NCHW" else (1, h, w, model_c)
        shape = tuple(d if d is not None else v for d, v in zip(dims, want))
        return ProfileShape(name, shape, shape, shape)
    mn, opt, mx = _spec_triplet(spec)
    if len(mn) != rank:
        raise ConfigError(f"the shape for input '{name}' has the wrong rank",
                          expected=f"{rank} dimensions like the ONNX input {_show(dims)}",
                          got=f"{len(mn)} dimensions ({format_shape(mn)})")
    for i, d in enumerate(dims):
        if d is not None and not (mn[i] == opt[i] == mx[i] == d):
            what = "channel" if i == c_axis else f"dimension {i}"
            raise ConfigError(f"the ONNX input '{name}' is static in its {what}",
                              expected=f"{d} there (ONNX shape {_show(dims)})",
                              got=f"{mn[i]}, {opt[i]}, {mx[i]}",
                              fix="match the ONNX shape, or export with --dynamic to vary batch and size")
    if not (mn[c_axis] == opt[c_axis] == mx[c_axis] == model_c):
        raise ConfigError(f"the channel dimension of input '{name}' is fixed by the model",
                          expected=f"{model_c} channels ({layout}, axis {c_axis})",
                          got=f"{mn[c_axis]}, {opt[c_axis]}, {mx[c_axis]}")
    return ProfileShape(name, mn, opt, mx)


_AXES = {"NCHW": ("batch", "channel", "height", "width"), "NHWC": ("batch", "height", "width", "channel")}


def check_dla_profiles(profiles: Mapping[str, ProfileShape], *, core: int, layout: str = "NCHW") -> None:
    """DLA has no dynamic shapes (TensorRT's DLA restrictions: profile min = opt = max); with GPU
    fallback on, a varying profile does not fail, it sends every layer to the GPU. Refuse it,
    naming the first input and dimension that vary and the static shape that fits.

    >>> check_dla_profiles({"input": ProfileShape("input", (1, 3, 64, 64), (1, 3, 64, 64), (1, 3, 64, 64))}, core=0)
    """
    for name, p in profiles.items():
        if p.is_static:
            continue
        i = next(i for i, (a, b, c) in enumerate(zip(p.min, p.opt, p.max)) if not a == b == c)
        axes = _AXES.get(layout, ())
        what = f"dimension {i}" + (f" ({axes[i]})" if len(p.min) == len(axes) else "")
        raise ConfigError(f"DLA needs a static shape: input '{name}' varies in its {what}",
                          expected="min = opt = max in every dimension (DLA runs no dynamic shapes; with GPU "
                                   "fallback every layer would run on the GPU)",
                          got=f"{p.min[i]}, {p.opt[i]}, {p.max[i]} ({p.cli()})",
                          fix=f"build one engine per shape, e.g. --shape {format_shape(p.opt)} --dla {core}, "
                              "or drop --dla to keep the dynamic profile on the GPU")


def _show(dims) -> str:
    return "x".join("?" if d is None else str(d) for d in dims)


_UNITS = {"": 1, "b": 1, "k": 1 << 10, "m": 1 << 20, "g": 1 << 30, "t": 1 << 40}


def parse_workspace(text) -> int:
    """``"2G"`` / ``"512M"`` / ``"1.5GiB"`` / ``1073741824`` -> bytes (binary units).

    >>> parse_workspace("2G"), parse_workspace("512M"), parse_workspace(4096)
    (2147483648, 536870912, 4096)
    """
    if isinstance(text, int) and not isinstance(text, bool):
        value = text
    else:
        m = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*([kmgtb]?)(?:i?b)?\s*", str(text).lower())
        if not m:
            raise ConfigError("cannot read the workspace size", expected="like 2G, 512M or 1.5G",
                              got=text, fix="--workspace 2G")
        value = int(float(m.group(1)) * _UNITS[m.group(2)])
    if value <= 0:
        raise ConfigError("the workspace must be larger than 0", expected="like 2G or 512M", got=text)
    return value
