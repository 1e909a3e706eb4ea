"""DeepStream and segNet artefacts beside an engine: an ``nvinfer`` config, its labels file, and
jetson-inference segNet's ``labels.txt`` / ``colors.txt``, so NVIDIA's tools run the model with no
hand edits. Pure Python: it writes text from a :class:`~edgeseg.meta.ModelMeta` and paths.

Gst-nvinfer normalises 0..255 pixels as ``y = net-scale-factor * (x - offsets[c])`` with ONE scalar
scale, while edgeseg computes ``(x/255 - mean[c]) / std[c]``. The offsets are exact
(``255 * mean``); a per-channel std cannot be expressed, so the scale is ``1 / (255 * mean(std))``
and the config states each channel's relative error. The key names and value rules follow
Gst-nvinfer's documentation (tests/fixtures/deepstream/nvinfer_keys.json names the pages).

>>> from edgeseg.meta import ModelMeta
>>> n = nvinfer_normalisation(ModelMeta(model="m", classes=("a", "b"), input_size=(64, 64)))
>>> n.offsets, round(n.net_scale_factor, 5), n.worst_channel, round(100 * n.worst_error, 2)
((123.675, 116.28, 103.53), 0.01735, 'R', 1.33)

jetson-inference's segNet reads ``labels.txt`` (a name per line) and ``colors.txt`` (``r g b`` per
line); for ONNX models it applies its own fixed preprocessing (RGB, ImageNet mean/std), so its
output matches edgeseg's only for such models: ``write_deepstream`` says so through ``log``.
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass

from ... import __version__
from ...errors import ConfigError, ModelError
from ...meta import IMAGENET_MEAN, IMAGENET_STD, ModelMeta
from ...utils.atomic import atomic_write_text

DOCS = "https://docs.nvidia.com/metropolis/deepstream/dev-guide/text/DS_plugin_gst-nvinfer.html"
# Gst-nvinfer's enumerations (gstnvinfer_property_parser.cpp): network-mode 0 FP32, 1 INT8, 2 FP16;
# model-color-format 0 RGB, 1 BGR; network-type 2 segmentation; network-input-order 0 NCHW, 1 NHWC.
NETWORK_MODES = {"fp32": 0, "int8": 1, "fp16": 2}
COLOR_FORMATS = {"RGB": 0, "BGR": 1}
NETWORK_TYPE_SEGMENTATION = 2
MAX_BATCH = 1024  # NVDSINFER_MAX_BATCH_SIZE: nvinfer refuses a larger batch-size
HEADERED_MAGIC = b"ESEGTRT1"  # edgeseg's old engine header: NVIDIA's tools cannot read such files


@dataclass(frozen=True)
class Normalisation:
    """nvinfer's ``offsets`` and ``net-scale-factor`` for a meta, with the error of the one scale.

    ``channel_errors[c]`` is DeepStream's input over edgeseg's on channel ``c``, less one
    (``std[c] / mean(std) - 1``), in the meta's channel order ``channels``.
    """

    offsets: tuple[float, float, float]
    net_scale_factor: float
    channel_errors: tuple[float, float, float]
    channels: str

    @property
    def worst_error(self) -> float:
        return max(abs(e) for e in self.channel_errors)

    @property
    def worst_channel(self) -> str:
        return self.channels[max(range(3), key=lambda c: abs(self.channel_errors[c]))]

    @property
    def exact(self) -> bool:
        return self.worst_error < 1e-6


def nvinfer_normalisation(meta: ModelMeta) -> Normalisation:
    """Offsets and the single scale nvinfer can express for ``meta``'s mean/std (0..1 units)."""
    std_mean = sum(meta.std) / 3
    return Normalisation(offsets=tuple(_clean(255.0 * m) for m in meta.mean),
                         net_scale_factor=1.0 / (255.0 * std_mean),
                         channel_errors=tuple(s / std_mean - 1.0 for s in meta.std),
                         channels=meta.color_order)


def _clean(x: float) -> float:
    """255 * 0.485 is 123.67499999999998 in binary; the config should say 123.675."""
    return float(f"{x:.10g}")


def check_fits_nvinfer(meta: ModelMeta, path=None) -> None:
    """nvinfer feeds the engine normalised float planes and arg-maxes float scores itself, so a
    graph that takes uint8 (or float16) frames or ends in ArgMax does not fit; say which export
    flags do, and for another tool's graph the ``edgeseg meta`` option that picks a score output.
    Probabilities (Softmax in the graph) fit: their argmax is the logits'."""
    bad = []
    if meta.input_dtype != "float32":
        bad.append(f"input {meta.input_dtype} {meta.layout} (exported with --input uint8)"
                   if meta.input_dtype == "uint8" else f"input {meta.input_dtype}")
    if meta.output_kind == "labels":
        bad.append("output labels (exported with --output labels, or a graph that ends in ArgMax)")
    if bad:
        raise ConfigError("this model does not fit DeepStream's nvinfer", path=path,
                          expected="float32 NCHW input and float scores out: nvinfer normalises the "
                                   "frame itself and picks the class per pixel from the scores",
                          got="; ".join(bad),
                          fix="export again with `edgeseg export CHECKPOINT --input float --output logits`, "
                              "then build the engine from that ONNX; another tool's graph: pick its score "
                              "output with `edgeseg meta MODEL --output NAME --output-kind logits` or export "
                              "it without the ArgMax")


def blob_name(meta: ModelMeta, output_name: str | None = None) -> str:
    """``output-blob-names``: the output the meta chose (``output_name``); an explicit name that
    differs from it is a conflict; with neither, edgeseg export's name ``logits``.

    >>> blob_name(ModelMeta(model="m", classes=("a",), input_size=(8, 8), output_name="out"))
    'out'
    """
    if output_name is not None and meta.output_name is not None and output_name != meta.output_name:
        raise ConfigError("the output name conflicts with the one the meta chose",
                          expected=f"output-blob-names {meta.output_name!r} (the meta's output_name)",
                          got=f"output_name {output_name!r}",
                          fix="drop output_name (the meta's is used), or fix the meta: edgeseg meta MODEL --output NAME")
    return output_name if output_name is not None else meta.output_name or "logits"


def _check_options(precision, batch_size, segmentation_threshold, gpu_id, output_name, input_shape, meta):
    if precision is not None and precision not in (*NETWORK_MODES, "best"):
        raise ConfigError("unknown precision for network-mode", expected="fp32 | fp16 | int8 | best",
                          got=precision)
    if isinstance(batch_size, bool) or not isinstance(batch_size, int) or not 1 <= batch_size <= MAX_BATCH:
        raise ConfigError("batch_size (nvinfer batch-size) out of range", expected=f"an int in 1..{MAX_BATCH}",
                          got=repr(batch_size))
    if not isinstance(segmentation_threshold, (int, float)) or not math.isfinite(segmentation_threshold) \
            or segmentation_threshold < 0:
        raise ConfigError("segmentation_threshold must be a finite number >= 0 (nvinfer refuses negatives)",
                          got=repr(segmentation_threshold), expected=">= 0, e.g. 0.0")
    if isinstance(gpu_id, bool) or not isinstance(gpu_id, int) or gpu_id < 0:
        raise ConfigError("gpu_id must be an int >= 0", got=repr(gpu_id))
    if not isinstance(output_name, str) or not output_name or output_name != output_name.strip() \
            or any(ch in output_name for ch in ";\n\r"):
        raise ConfigError("output_name (output-blob-names) must be a tensor name without ';' or line breaks",
                          got=repr(output_name), expected="the engine's output tensor, e.g. logits")
    if input_shape is not None:
        shape = tuple(input_shape)
        channels = None if len(shape) != 4 else shape[3] if meta.layout == "NHWC" else shape[1]
        if channels != 3 or not all(isinstance(d, int) and not isinstance(d, bool) and d > 0 for d in shape):
            raise ConfigError("input_shape must be the engine's input shape with 3 channels",
                              expected="1x3x512x512 (NCHW) or 1x512x512x3 (NHWC)", got=repr(input_shape))


def _network_mode(precision, meta: ModelMeta) -> int:
    if precision == "best":  # fp16 everywhere, int8 where the graph has Q/DQ
        precision = "int8" if meta.precision in ("int8", "mixed") else "fp16"
    if precision is None:
        precision = {"int8": "int8", "mixed": "int8", "fp32": "fp32"}.get(meta.precision, "fp16")
    return NETWORK_MODES[precision]


def _keyfile_string(value: str, what: str) -> str:
    """A GKeyFile string value: backslashes escaped, a leading space kept (``\\s``)."""
    if any(ch in value for ch in "\n\r"):
        raise ConfigError(f"{what} cannot hold a line break in a DeepStream config", got=repr(value))
    value = value.replace("\\", "\\\\")
    return "\\s" + value[1:] if value.startswith(" ") else value


def _names(meta: ModelMeta) -> tuple[list[str], list[str]]:
    """(segNet names, DeepStream names), one line each: line breaks and empty names would shift
    every later class; nvinfer's label parser also splits a line at ';'."""
    seg = [" ".join(str(c).split()) or f"class_{i}" for i, c in enumerate(meta.classes)]
    return seg, [n.replace(";", ",") for n in seg]


def nvinfer_config(meta: ModelMeta, *, engine: str, labels: str, onnx: str | None = None,
                   precision: str | None = None, batch_size: int = 1, input_shape=None,
                   output_name: str | None = None, segmentation_threshold: float = 0.0, gpu_id: int = 0,
                   renamed: tuple = ()) -> str:
    """The text of a Gst-nvinfer config (``[property]`` group) for a segmentation engine; paths as
    given (nvinfer resolves relative ones against the config file's folder). ``output_name``:
    see :func:`blob_name`."""
    check_fits_nvinfer(meta)
    output_name = blob_name(meta, output_name)
    _check_options(precision, batch_size, segmentation_threshold, gpu_id, output_name, input_shape, meta)
    h, w = meta.input_size
    if input_shape is not None:
        h, w = input_shape[1:3] if meta.layout == "NHWC" else input_shape[2:4]
    n = nvinfer_normalisation(meta)
    def fmt(x):
        return f"{x:.10g}"

    errors = ", ".join(f"{c} {100 * e:+.2f}%" for c, e in zip(n.channels, n.channel_errors))
    lines = [
        (f"# DeepStream Gst-nvinfer config for {meta.model}: {meta.num_classes} classes, {h}x{w}, "
         f"written by edgeseg {__version__}."),
        f"# Keys: {DOCS}",
        ("# Use: nvinfer config-file-path=<this file> (gst-launch-1.0), or [primary-gie] config-file in a "
         "deepstream-app config."),
        "[property]",
        f"gpu-id={gpu_id}",
        "# the raw TensorRT plan from `edgeseg build`; relative paths are read from this file's folder",
        f"model-engine-file={_keyfile_string(engine, 'the engine path')}",
    ]
    if onnx is not None:
        lines += ["# DeepStream builds from the ONNX only when the engine does not load here (another TensorRT or GPU)",
                  f"onnx-file={_keyfile_string(onnx, 'the ONNX path')}"]
    lines += [
        f"labelfile-path={_keyfile_string(labels, 'the labels path')}",
        f"batch-size={batch_size}",
        "# 0=FP32, 1=INT8, 2=FP16: read only when DeepStream has to rebuild from onnx-file",
        f"network-mode={_network_mode(precision, meta)}",
        f"network-type={NETWORK_TYPE_SEGMENTATION}",
        "process-mode=1",
        "gie-unique-id=1",
        f"infer-dims=3;{h};{w}",
    ]
    if meta.layout == "NHWC":
        lines.append("network-input-order=1")
    lines += [
        f"# the network takes {meta.color_order} planes (0=RGB, 1=BGR)",
        f"model-color-format={COLOR_FORMATS[meta.color_order]}",
        "# edgeseg stretches frames to the network size too (no letterbox)",
        "maintain-aspect-ratio=0",
        "# nvinfer: y = net-scale-factor * (x - offsets[c]) on 0..255 pixels; edgeseg: (x/255 - mean[c]) / std[c]",
        f"# with mean {tuple(meta.mean)} and std {tuple(meta.std)} in {n.channels} order.",
        "# offsets = 255 * mean: exact.",
        f"offsets={';'.join(fmt(o) for o in n.offsets)}",
    ]
    if n.exact:
        lines.append(f"# net-scale-factor = 1 / (255 * std): exact (std is {fmt(meta.std[0])} on every channel).")
    else:
        lines += [
            "# net-scale-factor is ONE scalar, so the per-channel std cannot be expressed: it is",
            f"# 1 / (255 * {fmt(sum(meta.std) / 3)}), the mean of the three std values, an approximation;",
            (f"# DeepStream's input differs from edgeseg's by {errors} (worst channel {n.worst_channel}: "
             f"{100 * n.worst_error:.2f}%)."),
        ]
    lines += [
        f"net-scale-factor={fmt(n.net_scale_factor)}",
        f"num-detected-classes={meta.num_classes}",
        f"output-blob-names={output_name}",
        "# nvinfer labels a pixel with its highest-scoring class only where that score is above",
        *(["# segmentation-threshold (and above -1), else -1. The engine outputs probabilities (Softmax in",
           "# the graph): a threshold in 0..1 leaves pixels whose best class is less likely unlabelled (-1)."]
          if meta.output_kind == "probs" else
          ["# segmentation-threshold (and above -1), else -1. The engine outputs logits, not probabilities:",
           "# pixels whose best logit is at or below the threshold come out unlabelled (-1)."]),
        f"segmentation-threshold={float(segmentation_threshold)!r}",
    ]
    if renamed:
        lines.insert(3, "# class names changed for the labels file (one name per line, no ';'): "
                     + ", ".join(f"{a!r} -> {b!r}" for a, b in renamed))
    return "\n".join(lines) + "\n"


def _rel(path: str, folder: str) -> str:
    try:
        return os.path.relpath(os.path.abspath(path), folder)
    except ValueError:  # another drive on Windows: keep it absolute
        return os.path.abspath(path)


def _check_file(path, what: str) -> str:
    path = os.fspath(path)
    if not os.path.isfile(path):
        raise ModelError(f"{what} not found", path=path, fix=f"build or export the {what} first")
    return path


def write_deepstream(engine_path, meta: ModelMeta, onnx_path=None, out_dir=None, *, precision=None,
                     batch_size: int | None = None, input_shape=None, output_name: str | None = None,
                     segmentation_threshold: float = 0.0, gpu_id: int = 0, log=None) -> dict[str, str]:
    """Write the DeepStream config, its labels file and segNet's labels/colors beside the engine
    (or in ``out_dir``); returns ``{"config", "deepstream_labels", "labels", "colors"}`` -> path.

    ``input_shape``: the engine's input (e.g. its profile's opt shape), for ``infer-dims`` and the
    default ``batch_size``; without it the meta's size and batch 1. ``precision``: the build's
    (fp32 | fp16 | int8 | best), else the meta's, for ``network-mode``. ``output_name``
    (``output-blob-names``): None for the meta's chosen output (``logits`` when it names none).
    """
    engine_path = _check_file(engine_path, "engine")
    with open(engine_path, "rb") as f:
        if f.read(len(HEADERED_MAGIC)) == HEADERED_MAGIC:
            raise ModelError("this engine carries edgeseg's old header, which DeepStream and trtexec cannot read",
                             path=engine_path, expected="a raw TensorRT plan (what `edgeseg build` writes now)",
                             got="a file starting with ESEGTRT1",
                             fix=f"edgeseg build --unwrap {engine_path} turns it into the raw plan + its sidecar")
    if onnx_path is not None:
        onnx_path = _check_file(onnx_path, "ONNX model")
    check_fits_nvinfer(meta, engine_path)
    if batch_size is None:
        batch_size = int(input_shape[0]) if input_shape is not None and len(tuple(input_shape)) == 4 else 1
    output_name = blob_name(meta, output_name)
    _check_options(precision, batch_size, segmentation_threshold, gpu_id, output_name, input_shape, meta)
    out_dir = os.path.abspath(os.fspath(out_dir) if out_dir is not None else os.path.dirname(engine_path) or ".")
    if os.path.exists(out_dir) and not os.path.isdir(out_dir):
        raise ConfigError("the DeepStream output folder is a file", path=out_dir, fix="name a folder")
    stem = os.path.splitext(os.path.basename(engine_path))[0]
    paths = {"config": os.path.join(out_dir, f"config_infer_{stem}.txt"),
             "deepstream_labels": os.path.join(out_dir, f"{stem}.deepstream-labels.txt"),
             "labels": os.path.join(out_dir, f"{stem}.labels.txt"),
             "colors": os.path.join(out_dir, f"{stem}.colors.txt")}
    seg_names, ds_names = _names(meta)
    renamed = tuple((str(c), n) for c, n in zip(meta.classes, ds_names) if str(c) != n)
    config = nvinfer_config(meta, engine=_rel(engine_path, out_dir), labels=os.path.basename(paths["deepstream_labels"]),
                            onnx=None if onnx_path is None else _rel(onnx_path, out_dir), precision=precision,
                            batch_size=batch_size, input_shape=input_shape, output_name=output_name,
                            segmentation_threshold=segmentation_threshold, gpu_id=gpu_id, renamed=renamed)
    # The files the config names go first: a config on disk always finds its labels.
    atomic_write_text(paths["deepstream_labels"], "\n".join(ds_names) + "\n")
    atomic_write_text(paths["labels"], "\n".join(seg_names) + "\n")
    atomic_write_text(paths["colors"], "".join(f"{r} {g} {b}\n" for r, g, b in meta.palette))
    atomic_write_text(paths["config"], config)
    if log is not None:
        n = nvinfer_normalisation(meta)
        if not n.exact:
            log(f"DeepStream: one net-scale-factor for three std values; worst channel {n.worst_channel} "
                f"off by {100 * n.worst_error:.2f}% (stated in {os.path.basename(paths['config'])})")
        if (meta.color_order, meta.mean, meta.std) != ("RGB", IMAGENET_MEAN, IMAGENET_STD):
            log("segNet: jetson-inference normalises ONNX input as RGB with ImageNet mean/std; this model "
                f"expects {meta.color_order} with mean {meta.mean}, std {meta.std}, so segNet's output will differ")
    return paths


__all__ = ["Normalisation", "blob_name", "check_fits_nvinfer", "nvinfer_config", "nvinfer_normalisation", "write_deepstream"]
