"""ExportOptions: every export option in one frozen, validated dataclass (no torch, no onnx).

The CLI builds it before anything heavy is imported, so a typo fails in milliseconds with a
message that says what was expected; conflicting options name both sides.

>>> o = ExportOptions(size="64x96", input_dtype="uint8", output_kind="labels")
>>> o.size, o.input_dtype, o.color_order, o.layout
((64, 96), 'uint8', 'BGR', 'NHWC')
>>> ExportOptions(batch=4, dynamic=True)
Traceback (most recent call last):
...
edgeseg.errors.ConfigError: --batch and --dynamic conflict
  expected: either a static batch (--batch N) or dynamic batch and size (--dynamic)
  got:      batch=4, dynamic=True
  fix:      drop --batch to export a dynamic graph, or drop --dynamic for a static batch of 4
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

from .. import uri
from ..errors import ConfigError
from ..meta import ModelMeta

# What a user may type -> the ModelMeta value. "float" is what the issue and the CLI call it.
INPUT_DTYPES = {"float32": "float32", "float": "float32", "fp32": "float32", "uint8": "uint8"}
OUTPUT_KINDS = {"logits": "logits", "labels": "labels"}
COLOR_ORDERS = {"bgr": "BGR", "rgb": "RGB"}
# The TorchScript exporter (the one edgeseg uses, see onnx_export.py) writes opsets 9..20;
# below 13 Resize/Unsqueeze take attributes TensorRT 10 no longer reads the same way.
OPSETS = range(13, 21)


def parse_size(text) -> tuple[int, int]:
    """'512x256' (height x width), '256' (square) or (h, w) -> (h, w): :func:`edgeseg.uri.parse_size`
    with the export's wording.

    >>> parse_size("480x640"), parse_size(256), parse_size((64, 96))
    ((480, 640), (256, 256), (64, 96))
    """
    return uri.parse_size(text, what="export size", example="512x512")


def batch_dynamic_conflict(batch) -> ConfigError:
    """The error for a static batch asked for together with a dynamic graph."""
    return ConfigError("--batch and --dynamic conflict",
                       expected="either a static batch (--batch N) or dynamic batch and size (--dynamic)",
                       got=f"batch={batch}, dynamic=True",
                       fix=f"drop --batch to export a dynamic graph, or drop --dynamic for a static "
                           f"batch of {batch}")


def _choice(what: str, value, table: dict) -> str:
    key = str(value).lower()
    if key in table:
        return table[key]
    raise ConfigError(f"unknown {what}", expected=" | ".join(dict.fromkeys(table)), got=value,
                      fix=uri.did_you_mean(key, table, cutoff=0.6))


@dataclass(frozen=True)
class ExportOptions:
    """What to export: graph size, batch, opset, input/output form. ``size=None``: the meta's."""

    size: tuple[int, int] | None = None
    batch: int = 1
    dynamic: bool = False
    opset: int = 17
    input_dtype: str = "float32"
    color_order: str | None = None   # None: BGR for uint8 input (OpenCV frames), else the network's
    output_kind: str = "logits"

    def __post_init__(self):
        set_ = lambda k, v: object.__setattr__(self, k, v)  # noqa: E731 (frozen dataclass)
        if self.size is not None:
            set_("size", parse_size(self.size))
        set_("input_dtype", _choice("input dtype (--input)", self.input_dtype, INPUT_DTYPES))
        set_("output_kind", _choice("output kind (--output)", self.output_kind, OUTPUT_KINDS))
        if self.color_order is None and self.input_dtype == "uint8":
            set_("color_order", "BGR")  # frames come from OpenCV: no channel swap on the host
        elif self.color_order is not None:
            set_("color_order", _choice("color order (--color)", self.color_order, COLOR_ORDERS))
        if isinstance(self.batch, bool) or not isinstance(self.batch, int) or self.batch < 1:
            raise ConfigError("--batch must be a positive integer", got=repr(self.batch))
        if self.dynamic and self.batch != 1:
            raise batch_dynamic_conflict(self.batch)
        if self.opset not in OPSETS:
            raise ConfigError("unsupported --opset", expected=f"{OPSETS.start}..{OPSETS.stop - 1} "
                              "(17 parses on TensorRT 8.5/8.6 and 10)", got=self.opset,
                              fix="use --opset 17")

    @property
    def layout(self) -> str:
        """uint8 graphs take the frame as it is (NHWC); float graphs take NCHW like the network."""
        return "NHWC" if self.input_dtype == "uint8" else "NCHW"

    def replace(self, **changes) -> "ExportOptions":
        return dataclasses.replace(self, **changes)


def export_meta(base: ModelMeta, options: ExportOptions, provenance: dict | None = None) -> ModelMeta:
    """The meta of the exported graph, from the network's meta (float32 NCHW logits).

    Mean/std follow the graph's input channel order (``preprocess`` reads them in
    ``color_order``), so a BGR graph of an RGB network records them reversed.

    >>> net = ModelMeta(model="m", classes=("a", "b"), input_size=(32, 32))
    >>> m = export_meta(net, ExportOptions(size=(64, 64), input_dtype="uint8"))
    >>> m.input_size, m.input_dtype, m.layout, m.color_order, m.mean == net.mean[::-1]
    ((64, 64), 'uint8', 'NHWC', 'BGR', True)
    """
    check_network_meta(base)
    order = options.color_order or base.color_order
    flip = order != base.color_order
    prov = dict(base.provenance)
    if provenance:
        prov["export"] = dict(provenance)
    return base.replace(input_size=options.size or base.input_size, input_dtype=options.input_dtype,
                        layout=options.layout, color_order=order,
                        mean=base.mean[::-1] if flip else base.mean,
                        std=base.std[::-1] if flip else base.std,
                        output_kind=options.output_kind, provenance=prov)


def check_network_meta(meta: ModelMeta) -> None:
    """The meta handed to export describes the torch network: float32 NCHW in, logits out."""
    if (meta.input_dtype, meta.layout, meta.output_kind) != ("float32", "NCHW", "logits"):
        raise ConfigError("the meta does not describe a torch network's input and output",
                          expected="input_dtype float32, layout NCHW, output_kind logits "
                                   "(the meta a checkpoint carries)",
                          got=f"{meta.input_dtype}, {meta.layout}, {meta.output_kind}",
                          fix="pass the checkpoint's meta; choose uint8 input / labels output with "
                              "input_dtype= / output_kind=")
