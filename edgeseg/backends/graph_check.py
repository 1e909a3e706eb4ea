"""The meta against the graph, when a backend opens: which output runs, and whether the meta fits.

A meta written for another model (or by hand) would otherwise fail on the first frame with a
shape error from deep inside the runtime, or worse, run and decode garbage: a float output read
as class ids, NHWC pixels fed to an NCHW graph, 19 channels argmaxed as 21 classes. Both backends
call :func:`check_graph` with the tensors they read (ONNX Runtime's session, TensorRT's engine);
each error names what cannot be served and the ``edgeseg meta`` option that fixes it.

>>> from edgeseg.meta import ModelMeta
>>> from edgeseg.backends.base import TensorSpec
>>> meta = ModelMeta(model="m", classes=("a", "b"), input_size=(8, 8), output_name="out")
>>> ins = [TensorSpec("x", (1, 3, 8, 8), "float32")]
>>> outs = [TensorSpec("aux", (1, 2, 8, 8), "float32"), TensorSpec("out", (1, 2, 2, 2), "float32")]
>>> check_graph(meta, ins, outs, "m.onnx").name
'out'
>>> check_graph(meta.replace(output_name="main"), ins, outs, "m.onnx")  # doctest: +ELLIPSIS
Traceback (most recent call last):
edgeseg.errors.ModelError: the meta names an output the graph does not have: m.onnx
  expected: one of the graph's outputs: 'aux' (1x2x8x8 float32), 'out' (1x2x2x2 float32)
  got:      output_name 'main'
  fix:      edgeseg meta m.onnx --output NAME, with NAME one of aux, out
"""

from __future__ import annotations

import numpy as np

from ..errors import ModelError
from ..meta import LABEL_DTYPES, ModelMeta
from .base import TensorSpec


def _dims(shape) -> str:
    return "x".join("?" if not isinstance(d, int) or d < 0 else str(d) for d in shape)


def _desc(t: TensorSpec) -> str:
    return f"'{t.name}' ({_dims(t.shape)} {t.dtype})"


def _kind(dtype: str) -> str:
    """"f" float, "i" integer, "?" a type numpy does not know (e.g. ONNX Runtime's 'tensor(bfloat16)')."""
    try:
        k = np.dtype(dtype).kind
    except TypeError:
        return "?"
    return "i" if k in "iu" else "f" if k == "f" else "?"


def _static(d) -> bool:
    return isinstance(d, int) and d > 0


def choose_output(meta: ModelMeta, outputs: list[TensorSpec], path: str) -> TensorSpec:
    """The output the backend runs: ``meta.output_name``, else the graph's first."""
    if not outputs:
        raise ModelError("the model has no outputs", path=path, fix="export it again; check the file is complete")
    if meta.output_name is None:
        return outputs[0]
    for t in outputs:
        if t.name == meta.output_name:
            return t
    names = [t.name for t in outputs]
    from ..uri import did_you_mean
    hint = did_you_mean(meta.output_name, names, cutoff=0.6)
    raise ModelError("the meta names an output the graph does not have", path=path,
                     expected="one of the graph's outputs: " + ", ".join(_desc(t) for t in outputs),
                     got=f"output_name {meta.output_name!r}",
                     fix=(f"{hint}; " if hint else "") + f"edgeseg meta {path} --output NAME, with NAME one of "
                         + ", ".join(names))


def _check_output(meta: ModelMeta, out: TensorSpec, in_hw, path: str, exact_label_dtype: bool) -> None:
    kind, rank = _kind(out.dtype), len(out.shape)
    if meta.output_kind == "labels":
        if kind == "f":
            raise ModelError(f"the meta says output {out.name!r} holds class ids (labels), but it is float scores",
                             path=path, expected="an integer output (int64, int32 or uint8) for output_kind labels",
                             got=_desc(out), fix=f"edgeseg meta {path} --output-kind logits (or probs, when the graph "
                                                 "ends in Softmax)")
        if out.dtype not in LABEL_DTYPES:
            raise ModelError(f"label output {out.name!r} has a type edgeseg does not read", path=path,
                             expected=" | ".join(LABEL_DTYPES), got=_desc(out),
                             fix="cast the ids to int32 in the graph, or pick another output: "
                                 f"edgeseg meta {path} --output NAME")
        if exact_label_dtype and meta.label_dtype is not None and meta.label_dtype != out.dtype:
            raise ModelError("the meta's label type differs from the graph's", path=path,
                             expected=f"label_dtype {out.dtype} (the graph's)", got=f"label_dtype {meta.label_dtype}",
                             fix=f"write the meta for this graph: edgeseg meta {path} --output-kind labels")
        if not (rank == 3 or (rank == 4 and (not _static(out.shape[1]) or out.shape[1] == 1))):
            raise ModelError(f"label output {out.name!r} is not one id per pixel", path=path,
                             expected="N x H x W or N x 1 x H x W class ids", got=_desc(out),
                             fix=f"pick the label map: edgeseg meta {path} --output NAME")
        return
    if kind == "i":
        raise ModelError(f"the meta says output {out.name!r} holds {meta.output_kind}, but it is {out.dtype}",
                         path=path, expected=f"a float output for output_kind {meta.output_kind}", got=_desc(out),
                         fix=f"an integer output holds class ids: edgeseg meta {path} --output-kind labels")
    if kind == "?":
        raise ModelError(f"output {out.name!r} has a type edgeseg does not read", path=path,
                         expected="float32 or float16 scores, or integer class ids", got=_desc(out),
                         fix=f"pick another output: edgeseg meta {path} --output NAME")
    if rank != 4:
        raise ModelError(f"output {out.name!r} is not a batch of class score maps", path=path,
                         expected=f"N x {meta.num_classes} x H x W {meta.output_kind}", got=_desc(out),
                         fix=f"pick the segmentation output: edgeseg meta {path} --output NAME")
    c = out.shape[1]
    if _static(c) and c != meta.num_classes:
        raise ModelError(f"output {out.name!r} has {c} channels, but the meta names {meta.num_classes} classes",
                         path=path, expected=f"{meta.num_classes} channels, one per class", got=_desc(out),
                         fix=f"give the model's {c} class names: edgeseg meta {path} --classes FILE "
                             "(or a preset: voc, cityscapes, ade20k)")
    s = meta.output_stride
    if s is not None and in_hw is not None:
        for i, o in zip(in_hw, out.shape[2:4]):
            if _static(i) and _static(o) and o not in (i // s, -(-i // s)):
                raise ModelError(f"output {out.name!r} is not at 1/{s} of the input, as the meta says", path=path,
                                 expected=f"output_stride {s}: an input of {_dims(in_hw)} gives "
                                          f"{_dims([-(-d // s) if _static(d) else d for d in in_hw])}",
                                 got=_desc(out), fix="drop output_stride from the meta (edgeseg reads the scale "
                                                     "from the output), or correct it")


def _check_input(meta: ModelMeta, inp: TensorSpec, path: str):
    """The input's H and W (ints, or None where dynamic), after the layout, type and size checks."""
    if len(inp.shape) != 4:
        raise ModelError(f"input {inp.name!r} is not a 4-D image batch", path=path,
                         expected="N x 3 x H x W (NCHW) or N x H x W x 3 (NHWC)", got=_desc(inp),
                         fix="edgeseg feeds one image tensor: export the model with an image input")
    if inp.dtype != meta.input_dtype:
        graph = {"uint8": "takes uint8 pixels (it casts and normalises itself)",
                 "float16": "takes float16", "float32": "takes float32"}.get(inp.dtype, f"takes {inp.dtype}")
        raise ModelError(f"input {inp.name!r} {graph}, but the meta says {meta.input_dtype}", path=path,
                         expected=f"input_dtype {inp.dtype}", got=f"input_dtype {meta.input_dtype}",
                         fix=f"write the meta for this graph: edgeseg meta {path} (it reads the input type from "
                             f"the graph), or ModelMeta(..., input_dtype={inp.dtype!r})")
    chan = {"NCHW": 1, "NHWC": 3}
    here, other = chan[meta.layout], chan["NHWC" if meta.layout == "NCHW" else "NCHW"]
    c = inp.shape[here]
    if _static(c) and c != 3:
        looks = "NHWC" if meta.layout == "NCHW" else "NCHW"
        fix = (f"edgeseg meta {path} --layout {looks.lower()}" if inp.shape[other] == 3 else
               "edgeseg feeds 3-channel colour frames: this graph wants another input")
        raise ModelError(f"input {inp.name!r} does not have 3 colour channels where {meta.layout} puts them",
                         path=path, expected=f"{meta.layout}: channels at dim {here} = 3", got=_desc(inp), fix=fix)
    hw = tuple(inp.shape[2:4]) if meta.layout == "NCHW" else tuple(inp.shape[1:3])
    fixed = [d for d in hw if _static(d)]
    if meta.run_size == "frame" and fixed:
        raise ModelError(f"input {inp.name!r} has a fixed size, but the meta says run at each frame's size",
                         path=path, expected="dynamic H and W for run_size frame", got=_desc(inp),
                         fix=f"run it at its own size: edgeseg meta {path} --input-size {_dims(hw)}; or export "
                             "the graph with dynamic H and W")
    if any(_static(d) and d != want for d, want in zip(hw, meta.input_size)):
        raise ModelError("the meta's input size differs from the graph's", path=path,
                         expected=f"input size {_dims(hw)} (the graph's {_desc(inp)})",
                         got=f"input_size {meta.input_size[0]}x{meta.input_size[1]}",
                         fix=f"edgeseg meta {path} --input-size {_dims(hw)}")
    return tuple(d if _static(d) else None for d in hw)


def check_graph(meta: ModelMeta, inputs: list[TensorSpec], outputs: list[TensorSpec], path: str, *,
                exact_label_dtype: bool = True) -> TensorSpec:
    """Check ``meta`` against the graph's tensors; return the output to run (a ModelError names
    the mismatch and the fix). ``exact_label_dtype=False`` where a builder may narrow the ids
    (TensorRT gives int64 ArgMax outputs as int32)."""
    if not inputs:
        raise ModelError("the model has no inputs", path=path, fix="export it again; check the file is complete")
    in_hw = _check_input(meta, inputs[0], path)
    out = choose_output(meta, outputs, path)
    _check_output(meta, out, in_hw, path, exact_label_dtype)
    return out


__all__ = ["check_graph", "choose_output"]
