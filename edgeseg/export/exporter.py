"""export_onnx: checkpoint -> one self-contained ``model.onnx`` carrying its ModelMeta.

Steps, each logged in one short line: export (TorchScript exporter, requested opset) ->
simplify (onnxsim; kept unsimplified if it fails) -> check (onnx.checker, opset, TensorRT op
allowlist) -> write atomically -> parity (ONNX Runtime vs torch). The file is renamed into place
only after parity passes, so a failed export never leaves a model.onnx behind.

>>> import tempfile, os, torch
>>> from edgeseg.models import build_model
>>> from edgeseg.meta import ModelMeta
>>> net = build_model("lraspp_mobilenet_v3_small", num_classes=2)
>>> meta = ModelMeta(model="lraspp_mobilenet_v3_small", classes=("bg", "fg"), input_size=(64, 64))
>>> out = os.path.join(tempfile.mkdtemp(), "model.onnx")
>>> r = export_onnx(net, out, meta=meta, input_dtype="uint8", log=None)
>>> r.opset, r.meta.input_dtype, r.meta.color_order, r.parity["argmax_agreement"] == 1.0
(17, 'uint8', 'BGR', True)
>>> read_onnx_meta(out) == r.meta
True
"""

from __future__ import annotations

import copy
import os
import time
from dataclasses import dataclass

import torch

from .. import __version__
from ..backends.onnx_meta import get_onnx_meta, set_onnx_meta
from ..backends.tensorrt.onnx_ops import TARGETS, check_tensorrt_ops, require_tensorrt_ops
from ..errors import ConfigError, ModelError
from ..lazy import require
from ..meta import ModelMeta
from ..models.weights import nonfinite
from ..backends.onnx_file import load_onnx
from ..utils.atomic import atomic_path
from ..utils.checks import check_output_file
from ..utils.files import file_sha256
from .onnx_export import EXPORTER, INPUT_NAME, dynamic_axes, torch_to_onnx
from .options import ExportOptions, check_network_meta, export_meta
from .parity import check_parity
from .simplify import simplify_model
from .wrapper import ExportWrapper

_TORCH_DTYPES = {"float32": torch.float32, "uint8": torch.uint8}


@dataclass(frozen=True)
class ExportResult:
    """What ``export_onnx`` wrote: ``parity`` is None when parity was skipped."""

    path: str
    meta: ModelMeta
    simplified: bool
    parity: dict | None
    opset: int
    ops: tuple[str, ...]


def _load_network(source, meta: ModelMeta | None):
    """(network, meta, checkpoint path or None) from a checkpoint path/dict or an nn.Module."""
    if isinstance(source, torch.nn.Module):
        if meta is None:
            raise ConfigError("exporting a model object needs its meta",
                              expected="export_onnx(model, meta=ModelMeta(...))", got="meta=None",
                              fix="pass meta=, or export the checkpoint file instead")
        if any(p.device.type != "cpu" for p in source.parameters()):
            source = copy.deepcopy(source).cpu()  # export and parity run on CPU; leave the caller's as is
        return source, meta, None
    from ..train.checkpoint import build_from_checkpoint  # torch side; imported only when used
    if isinstance(source, (str, os.PathLike)):
        network, ckpt_meta = build_from_checkpoint(os.fspath(source))
        return network, meta or ckpt_meta, os.fspath(source)
    if isinstance(source, dict):
        network, ckpt_meta = build_from_checkpoint(source)
        return network, meta or ckpt_meta, None
    raise ConfigError("cannot export this object", expected="a checkpoint path, dict or torch.nn.Module",
                      got=type(source).__name__)


def _check_finite_weights(network, ckpt_path) -> None:
    """NaN or inf in any weight or buffer (BatchNorm statistics too) makes the graph output NaN;
    refuse it before the export work, naming the tensors."""
    bad = nonfinite(network.state_dict())
    if bad:
        shown = ", ".join(bad[:3]) + (f" and {len(bad) - 3} more" if len(bad) > 3 else "")
        raise ModelError("the model's weights hold non-finite numbers (NaN or inf)", path=ckpt_path,
                         expected="finite weights and buffers", got=f"{len(bad)} tensor(s): {shown}",
                         fix="the training run diverged: export an earlier checkpoint, or retrain with a lower "
                             "--lr; an exported model would output NaN")


def _check_size(network, size, log) -> None:
    """Every zoo model upsamples its logits to the input size, so any size runs; sizes that are not
    a multiple of the backbone's stride only misalign the coarsest features by a fraction of a pixel
    stride, so they get a warning, not an error."""
    stride = int(getattr(network, "backbone_stride", 32) or 32)
    if size[0] % stride or size[1] % stride:
        _log(log, f"warning: size {size[0]}x{size[1]} is not a multiple of {stride} (the backbone's "
                  f"stride); it works, but {stride * round(size[0] / stride) or stride}x"
                  f"{stride * round(size[1] / stride) or stride} aligns features with pixels")


def _log(log, line: str) -> None:
    if log is not None:
        log(line)


def _fix_output_shape(model, meta: ModelMeta, batch, dynamic: bool, output_name: str) -> None:
    """Declare the output's static dims (classes; batch and size when static): onnxsim leaves the
    class axis of a dynamic Resize symbolic, and a runtime reads output shapes from here."""
    h, w = ("height", "width") if dynamic else meta.input_size
    n = "batch" if dynamic else batch
    dims = [n, h, w] if meta.output_kind == "labels" else [n, meta.num_classes, h, w]
    out = next(o for o in model.graph.output if o.name == output_name)
    shape = out.type.tensor_type.shape
    del shape.dim[:]
    for d in dims:
        dim = shape.dim.add()
        if isinstance(d, str):
            dim.dim_param = d
        else:
            dim.dim_value = int(d)


def export_onnx(checkpoint_or_model, out="model.onnx", *, meta: ModelMeta | None = None, size=None,
                batch: int = 1, dynamic: bool = False, opset: int = 17, input_dtype: str = "float32",
                color_order: str | None = None, output_kind: str = "logits", simplify: bool = True,
                parity: bool = True, tensorrt: str | None = "8.5", log=print) -> ExportResult:
    """Export a checkpoint (path or dict) or a model (with ``meta=``) to one ONNX file.

    ``size``: (h, w) or "HxW", default the meta's input size. ``dynamic``: batch, height and
    width are symbolic (conflicts with ``batch`` != 1). ``input_dtype="uint8"``: the graph takes
    N,H,W,3 uint8 frames in ``color_order`` (default BGR) and normalises them itself.
    ``output_kind="labels"``: the graph ends in ArgMax and returns int32 class ids (N,H,W).
    ``tensorrt``: the TensorRT version whose ONNX parser must take the graph ("8.5" or "10"; an
    unsupported op is an error), or None to only log the finding. ``log``: a callable taking one
    line per step, or None for silence.
    """
    options = ExportOptions(size=size, batch=batch, dynamic=dynamic, opset=opset,
                            input_dtype=input_dtype, color_order=color_order, output_kind=output_kind)
    if tensorrt is not None and tensorrt not in TARGETS:
        raise ConfigError("unknown TensorRT target", expected=" | ".join(TARGETS) + " | None", got=tensorrt)
    out = os.fspath(out)
    if not out.lower().endswith(".onnx"):
        raise ConfigError("the output must be an .onnx file", got=out, fix="use --out model.onnx")
    check_output_file(out, example="model.onnx")
    require("onnx", "ONNX export")
    network, net_meta, ckpt_path = _load_network(checkpoint_or_model, meta)
    _check_finite_weights(network, ckpt_path)
    check_network_meta(net_meta)
    options = options.replace(size=options.size or net_meta.input_size)
    was_training = network.training
    try:
        return _export(network, net_meta, ckpt_path, options, out, simplify=simplify, parity=parity,
                       tensorrt=tensorrt, log=log)
    finally:
        network.train(was_training)  # a model object handed in comes back in the mode it had


def _export(network, net_meta: ModelMeta, ckpt_path, options: ExportOptions, out: str, *,
            simplify: bool, parity: bool, tensorrt, log) -> ExportResult:
    import onnx
    provenance = {"exporter": EXPORTER, "opset": options.opset, "torch": torch.__version__,
                  "onnx": onnx.__version__, "edgeseg": __version__, "dynamic": options.dynamic,
                  "batch": None if options.dynamic else options.batch,
                  # the file name, not the path: a deployed model should not carry a home folder
                  "source": os.path.basename(ckpt_path) if ckpt_path else None,
                  "source_sha256": file_sha256(ckpt_path) if ckpt_path else None}
    graph_meta = export_meta(net_meta, options, provenance)
    _check_size(network, options.size, log)
    wrapper = ExportWrapper(network, net_meta, graph_meta).eval()
    model = _trace(wrapper, net_meta, graph_meta, options, log)

    simplified = False
    if simplify:
        t0, before = time.perf_counter(), len(model.graph.node)
        model, simplified, why = simplify_model(model)
        _log(log, f"simplify: {before} -> {len(model.graph.node)} nodes ({time.perf_counter() - t0:.1f} s)"
             if simplified else f"simplify: skipped, keeping the unsimplified graph ({why})")
    graph_meta = graph_meta.replace(provenance={
        **graph_meta.provenance, "export": {**graph_meta.provenance["export"], "simplified": simplified}})
    _fix_output_shape(model, graph_meta, options.batch, options.dynamic, options.output_kind)
    set_onnx_meta(model, graph_meta)
    model.producer_name, model.producer_version = "edgeseg", __version__
    ops = _check(model, options.opset, tensorrt, log)

    parity_result = None
    with atomic_path(out, suffix=".onnx") as tmp:
        # One file: save_as_external_data=False keeps every weight inside model.onnx (< 2 GiB).
        onnx.save_model(model, tmp, save_as_external_data=False)
        if parity:  # on the temp file: a model that fails parity is never renamed into place
            t0 = time.perf_counter()
            parity_result = check_parity(tmp, network, net_meta.replace(input_size=options.size),
                                         graph_meta, batch=options.batch, dynamic=options.dynamic)
            diff = parity_result["max_abs_diff"]
            _log(log, f"parity: argmax agreement {parity_result['argmax_agreement']:.2%}"
                      + (f", max abs diff {diff:.2e}" if diff is not None else "")
                      + f" on {parity_result['inputs']} inputs vs torch ({time.perf_counter() - t0:.1f} s)")
    _log(log, f"wrote {out} ({os.path.getsize(out) / 1e6:.1f} MB)")
    return ExportResult(path=out, meta=graph_meta, simplified=simplified, parity=parity_result,
                        opset=options.opset, ops=ops)


def _trace(wrapper, net_meta: ModelMeta, graph_meta: ModelMeta, options: ExportOptions, log):
    """Run the wrapper once (a size the model cannot take fails here, clearly), then export it."""
    t0 = time.perf_counter()
    h, w = options.size
    shape = (options.batch, h, w, 3) if options.layout == "NHWC" else (options.batch, 3, h, w)
    example = torch.zeros(shape, dtype=_TORCH_DTYPES[options.input_dtype])
    try:
        with torch.no_grad():
            wrapper(example)
    except Exception as exc:
        raise ConfigError(f"{net_meta.model} cannot run at {h}x{w}", got=f"{type(exc).__name__}: {exc}",
                          fix="use a size that is a multiple of 32, e.g. --size 512x512") from exc
    axes = (dynamic_axes(options.layout, options.output_kind, INPUT_NAME, options.output_kind)
            if options.dynamic else None)
    model = torch_to_onnx(wrapper, example, opset=options.opset, output_name=options.output_kind, axes=axes)
    _log(log, f"export: {net_meta.model} {h}x{w} batch {'dynamic' if options.dynamic else options.batch}, "
              f"{options.input_dtype} {options.layout} {graph_meta.color_order} -> {options.output_kind}, "
              f"opset {options.opset}, {len(model.graph.node)} nodes ({time.perf_counter() - t0:.1f} s)")
    return model


def _check(model, opset: int, tensorrt, log) -> tuple[str, ...]:
    """onnx.checker, the written opset, TensorRT's op table; returns the sorted op types."""
    import onnx
    try:
        onnx.checker.check_model(model, full_check=True)
    except Exception as exc:
        raise ModelError("the exported graph fails onnx.checker",
                         got=f"{type(exc).__name__}: {str(exc)[:300]}",
                         fix="export with simplify=False (--no-simplify); report the model name") from exc
    written = next((o.version for o in model.opset_import if o.domain in ("", "ai.onnx")), None)
    if written != opset:
        raise ModelError("the graph's opset is not the one asked for", expected=opset, got=written,
                         fix="use --opset 17, which the exporter writes as is")
    report = require_tensorrt_ops(model, tensorrt) if tensorrt else check_tensorrt_ops(model)
    ops = tuple(sorted({n.op_type for n in model.graph.node}))
    _log(log, f"check: onnx.checker ok, opset {written}, {report.summary()}: {' '.join(ops)}")
    return ops


def read_onnx_meta(path) -> ModelMeta:
    """The ModelMeta stored in an ONNX file (written by :func:`export_onnx`)."""
    path = os.fspath(path)
    return get_onnx_meta(load_onnx(path, load_external_data=False), path)
