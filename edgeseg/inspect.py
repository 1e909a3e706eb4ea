"""``inspect_model(path)``: what a model file holds and what edgeseg would make of it.

For an ONNX: its inputs and outputs (names, shapes with dynamic dims as their names or None,
dtypes), the layout the input looks like, the meta if it carries one, and plain sentences on what
edgeseg would assume and why ("4-D float input 1x3x512x512: NCHW", "output 1x19x128x128 float:
logits for 19 classes at 1/4 size, will be resized"). Each guess says "cannot tell" where the
graph does not say; the meta (``edgeseg meta``), never the guess, decides how a model runs.

For an engine: its sidecar (or the legacy header): the meta and the engine's facts (TensorRT,
GPU, precision, profile shapes), read without TensorRT.

Deploy side: onnx (or, without it, ONNX Runtime) is imported only when an ONNX is inspected.

>>> r = ModelReport(path="m.onnx", kind="onnx", inputs=[TensorInfo("x", [1, 3, "h", "w"], "float32")])
>>> r.to_dict()["inputs"][0]["shape"], _shape_text(r.inputs[0].shape)
([1, 3, 'h', 'w'], '1x3xhxw')
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import os
from dataclasses import dataclass, field
from typing import Any

from .errors import ModelError
from .uri import model_kind

LABEL_DTYPES = ("int64", "int32", "uint8")
# torchvision's segmentation models return {"out": main head, "aux": auxiliary head (training only)}.
MAIN_OUTPUT, AUX_OUTPUTS = "out", ("aux",)


@dataclass
class TensorInfo:
    name: str
    shape: list          # int, or a dynamic dim's name (str), or None when unnamed / unknown
    dtype: str
    producer: str | None = None   # the op type that writes an output (None when unknown)


@dataclass
class ModelReport:
    path: str
    kind: str                                   # onnx | engine
    inputs: list[TensorInfo] = field(default_factory=list)
    outputs: list[TensorInfo] = field(default_factory=list)
    layout: str | None = None                   # NCHW | NHWC | None (cannot tell)
    meta: dict | None = None
    engine: dict | None = None                  # an engine's facts (TensorRT, GPU, shapes, ...)
    assumptions: list[str] = field(default_factory=list)
    output: str | None = None                   # the output edgeseg would run

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    def text(self) -> str:
        """The report as people read it."""
        lines = [f"{self.path} ({self.kind})"]
        for title, tensors in (("inputs", self.inputs), ("outputs", self.outputs)):
            lines.append(f"{title}:")
            lines += [f"  {t.name}: {_shape_text(t.shape)} {t.dtype}" + (f" (from {t.producer})" if t.producer else "")
                      for t in tensors] or ["  (not readable without TensorRT)" if self.kind == "engine" else "  none"]
        lines.append(f"layout: {self.layout or 'cannot tell'}")
        if self.meta is not None:
            m = self.meta
            lines.append(f"meta: model {m.get('model')}, {len(m.get('classes', ()))} classes, input "
                         f"{'x'.join(str(s) for s in m.get('input_size', ()))}, {m.get('layout')}, "
                         f"{m.get('input_dtype')}, {m.get('output_kind')}")
        else:
            lines.append("meta: none")
        if self.engine:
            e = self.engine
            lines.append(f"engine: TensorRT {e.get('tensorrt')}, {e.get('gpu')} (compute capability "
                         f"{e.get('compute_capability')}), precision {e.get('precision')}")
        if self.assumptions:
            lines.append("what edgeseg makes of it:")
            lines += [f"  - {s}" for s in self.assumptions]
        return "\n".join(lines)


def _shape_text(shape) -> str:
    return "x".join("?" if d is None else str(d) for d in shape) if shape is not None else "unknown"


# -- reading -------------------------------------------------------------------------------------
def inspect_model(path) -> ModelReport:
    """The report of an ``.onnx`` or an ``.engine``/``.plan`` (module docstring)."""
    path = os.fspath(path)
    kind = model_kind(path)
    if kind == "onnx":
        return _inspect_onnx(path)
    if kind == "engine":
        return _inspect_engine(path)
    raise ModelError("cannot inspect this kind of file", path=path, expected=".onnx, .engine or .plan",
                     got=os.path.splitext(path)[1] or "no suffix",
                     fix="give an ONNX or a TensorRT engine (a checkpoint: edgeseg export it first)")


def _onnx_tensors(path: str):
    """(inputs, outputs, metadata props) from the graph with onnx, else from an ONNX Runtime session."""
    from .lazy import available, require
    if not available("onnx"):
        return _ort_tensors(path)
    from .backends.onnx_file import load_onnx
    onnx = require("onnx", "inspecting ONNX files")
    proto = load_onnx(path, load_external_data=False)
    graph = proto.graph
    if any(not _known(o) for o in graph.output):
        # Exporters that leave output shapes out: infer them (best effort; the file is not changed).
        with contextlib.suppress(Exception):
            graph = onnx.shape_inference.infer_shapes(proto).graph
    producers = {o: n.op_type for n in graph.node for o in n.output}
    inits = {i.name for i in graph.initializer}

    def info(v) -> TensorInfo:
        t = v.type.tensor_type
        shape = [d.dim_value if d.HasField("dim_value") else (d.dim_param or None) for d in t.shape.dim] \
            if t.HasField("shape") else None
        try:
            dtype = onnx.helper.tensor_dtype_to_np_dtype(t.elem_type).name
        except Exception:  # noqa: BLE001 - a type numpy has no name for (e.g. float8): say its number
            dtype = f"onnx type {t.elem_type}"
        return TensorInfo(v.name, shape, dtype, producers.get(v.name))

    return ([info(v) for v in graph.input if v.name not in inits], [info(v) for v in graph.output],
            {p.key: p.value for p in proto.metadata_props})


def _known(v) -> bool:
    return v.type.tensor_type.HasField("shape")


def _ort_tensors(path: str):
    from .lazy import require
    from .utils.files import existing_file
    ort = require("onnxruntime", "inspecting ONNX files (or install onnx)")
    existing_file(path, "ONNX file")
    try:
        sess = ort.InferenceSession(path, providers=["CPUExecutionProvider"])
    except Exception as exc:
        raise ModelError("ONNX Runtime cannot load the model", path=path,
                         got=f"{type(exc).__name__}: {str(exc)[-300:]}", fix="check the file is complete") from exc
    from .backends.onnxruntime import _ORT_TYPES

    def info(a) -> TensorInfo:
        return TensorInfo(a.name, [d if isinstance(d, (int, str)) else None for d in a.shape],
                          _ORT_TYPES.get(a.type, a.type))

    return ([info(a) for a in sess.get_inputs()], [info(a) for a in sess.get_outputs()],
            dict(sess.get_modelmeta().custom_metadata_map))


def _inspect_onnx(path: str) -> ModelReport:
    from .backends.onnx_meta import meta_from_props
    from .meta import META_KEY, ModelMeta
    inputs, outputs, props = _onnx_tensors(path)
    meta = None
    if META_KEY in props or os.path.exists(ModelMeta.sidecar_path(path)):
        meta = meta_from_props(props, path)   # a damaged or newer meta is an error, not "no meta"
    report = ModelReport(path=path, kind="onnx", inputs=inputs, outputs=outputs,
                         meta=None if meta is None else _plain(meta))
    report.layout, sentences = _input_guess(inputs)
    chosen, out_sentences = _output_guess(outputs, inputs, report.layout)
    report.output = chosen
    report.assumptions = sentences + out_sentences
    if meta is not None:
        first = (f"the meta in the file decides how edgeseg runs it ({meta.layout}, {meta.input_dtype} input, "
                 f"{meta.output_kind}, {meta.num_classes} classes); the sentences below come from the graph alone")
        report.assumptions = [first, *report.assumptions]
        if meta.output_name is not None and meta.output_name != chosen:   # the meta picked another output
            report.output = chosen = meta.output_name
            report.assumptions.append(f"the meta runs output '{chosen}'"
                                      + ("" if chosen in {t.name for t in outputs} else ", which the graph does not have"))
        report.assumptions += _against_meta(meta, inputs, outputs, report.layout, chosen)
    return report


def _plain(meta) -> dict:
    """The meta as its JSON has it (lists, not tuples), so the report and its JSON compare equal."""
    return json.loads(meta.to_json())


# -- guesses -------------------------------------------------------------------------------------
def guess_layout(inputs: list[TensorInfo]) -> str | None:
    """NCHW | NHWC as the first input's shape says; None when it cannot tell."""
    return _input_guess(inputs)[0]


def onnx_metadata(path) -> dict:
    """An ONNX file's ``metadata_props`` (with onnx, else through ONNX Runtime)."""
    return _onnx_tensors(os.fspath(path))[2]


shape_text = _shape_text


def spatial_size(t: TensorInfo, layout: str | None):
    """(H, W) of a 4-D image tensor laid out as ``layout``, dims as the graph has them (ints, or
    names of dynamic dims); None when it is not 4-D or the layout is unknown (``edgeseg meta`` uses it)."""
    return _hw(t, layout)


def guess_output_kind(t: TensorInfo, in_hw=None) -> str | None:
    """logits | probs | labels, as output ``t`` looks; None when the graph does not say."""
    return _describe_output(t, in_hw)[0]


def _hw(t: TensorInfo, layout: str | None):
    if t.shape is None or len(t.shape) != 4 or layout is None:
        return None
    return tuple(t.shape[2:4]) if layout == "NCHW" else tuple(t.shape[1:3])


def _input_guess(inputs: list[TensorInfo]) -> tuple[str | None, list[str]]:
    if not inputs:
        return None, ["the graph has no inputs: cannot tell what to feed it"]
    out = []
    if len(inputs) > 1:
        out.append(f"{len(inputs)} inputs ({', '.join(t.name for t in inputs)}): edgeseg feeds one image "
                   f"tensor, the first ('{inputs[0].name}'); cannot tell what the others want")
    t = inputs[0]
    desc = f"{'?-D' if t.shape is None else f'{len(t.shape)}-D'} {t.dtype} input {_shape_text(t.shape)}"
    layout = None
    if t.shape is None or len(t.shape) != 4:
        out.append(f"{desc}: not a 4-D image batch, cannot tell its layout")
    else:
        c1, c3 = t.shape[1], t.shape[3]
        if c1 in (1, 3) and c3 not in (1, 3):
            layout = "NCHW"
        elif c3 in (1, 3) and c1 not in (1, 3):
            layout = "NHWC"
        out.append(f"{desc}: {layout}" if layout else
                   f"{desc}: cannot tell NCHW from NHWC (no dimension is clearly the 3 colour channels)")
    if t.dtype == "uint8":
        out.append("takes uint8 frames (normalisation in the graph): edgeseg passes pixels as they are")
    elif t.dtype in ("float32", "float16"):
        out.append(f"takes {t.dtype} frames: edgeseg scales to 0..1 and normalises with the meta's mean/std "
                   "(ImageNet's unless the meta says otherwise; cannot tell from the graph)")
    else:
        out.append(f"takes {t.dtype}: not an image type edgeseg feeds (float32, float16 or uint8)")
    hw = _hw(t, layout)
    if hw is not None:
        dynamic = [d for d in hw if not isinstance(d, int)]
        if dynamic:
            out.append(f"H and W are dynamic ({', '.join(str(d) for d in hw)}): the size to run at comes from the "
                       "meta's input size (edgeseg meta --input-size HxW)")
        if isinstance(t.shape[0], int) and t.shape[0] > 1:
            out.append(f"batch is fixed at {t.shape[0]}: edgeseg feeds frames in batches of {t.shape[0]}")
    return layout, out


def _ratio(out_hw, in_hw) -> str:
    """'input size', '1/4 size', or '' (cannot tell)."""
    if out_hw is None or in_hw is None:
        return ""
    if tuple(out_hw) == tuple(in_hw):
        return "input size"
    if all(isinstance(d, int) and d > 0 for d in (*out_hw, *in_hw)):
        rs = {i / o for i, o in zip(in_hw, out_hw)}
        if len(rs) == 1:
            r = rs.pop()
            return f"1/{int(r)} size" if r == int(r) else f"{r:g}x smaller"
        return f"{_shape_text(out_hw)} (not one fraction of the input's {_shape_text(in_hw)})"
    return ""


def _describe_output(t: TensorInfo, in_hw) -> tuple[str | None, str]:
    """(kind or None, sentence) for one output."""
    head = f"output '{t.name}' {_shape_text(t.shape)} {t.dtype}"
    rank = None if t.shape is None else len(t.shape)
    if t.dtype in LABEL_DTYPES:
        if rank == 3 or (rank == 4 and t.shape[1] == 1):
            hw = t.shape[1:3] if rank == 3 else t.shape[2:4]
            where = _ratio(hw, in_hw)
            return "labels", f"{head}: label ids" + (f" at {where}" if where else "") + \
                (" (from ArgMax)" if t.producer == "ArgMax" else "")
        return None, f"{head}: integer, but not N,H,W or N,1,H,W: cannot tell what it holds"
    if not t.dtype.startswith("float"):
        return None, f"{head}: cannot tell what it holds"
    if rank != 4:
        return None, f"{head}: not N,C,H,W: cannot tell what it holds"
    c = t.shape[1]
    kind = "probs" if t.producer == "Softmax" else "logits"
    what = "probabilities (Softmax in the graph)" if kind == "probs" else "logits"
    classes = f"{c} classes" if isinstance(c, int) else f"a dynamic number ({c or '?'}) of classes"
    where = _ratio(t.shape[2:4], in_hw)
    if where == "input size":
        tail = " at input size"
    elif where.startswith("1/") or where.endswith("smaller"):
        tail = f" at {where}, will be resized to the input size before argmax"
    elif where:
        tail = f" at {where}: cannot tell how it maps onto the input"
    else:
        tail = "; cannot tell its size against the input's until it runs (it is resized if smaller)"
    if kind == "logits" and t.producer is None:
        tail += " (cannot tell whether a Softmax came before it: the graph was not read)"
    return kind, f"{head}: {what} for {classes}{tail}"


def _output_guess(outputs, inputs, layout) -> tuple[str | None, list[str]]:
    if not outputs:
        return None, ["the graph has no outputs"]
    in_hw = _hw(inputs[0], layout) if inputs else None
    kinds, out = {}, []
    for t in outputs:
        kinds[t.name], sentence = _describe_output(t, in_hw)
        out.append(sentence)
    first = outputs[0].name
    if len(outputs) > 1:
        names = ", ".join(f"'{t.name}'" for t in outputs)
        if first == MAIN_OUTPUT and any(t.name in AUX_OUTPUTS for t in outputs):
            out.append(f"{len(outputs)} outputs ({names}): edgeseg runs the first, '{first}' (torchvision's main "
                       "head; 'aux' is its auxiliary head, for training); pick another with edgeseg meta --output NAME")
        elif any(t.name == MAIN_OUTPUT for t in outputs):
            out.append(f"{len(outputs)} outputs ({names}): edgeseg runs the first, '{first}', but '{MAIN_OUTPUT}' "
                       f"looks like the main head: name it with edgeseg meta --output {MAIN_OUTPUT}")
        else:
            out.append(f"{len(outputs)} outputs ({names}): edgeseg runs the first, '{first}'; cannot tell which one "
                       "is the segmentation: name it with edgeseg meta --output NAME")
    if kinds[first] is None:
        out.append(f"cannot tell how to turn '{first}' into a label map: say it with edgeseg meta --output-kind")
    return first, out


def _against_meta(meta, inputs, outputs, layout, chosen) -> list[str]:
    """Where the graph and its meta disagree (a meta written for another model, or by hand)."""
    out = []
    if layout and layout != meta.layout:
        out.append(f"the meta says {meta.layout} but the input looks {layout}: check the meta")
    t = next((o for o in outputs if o.name == chosen), None)
    if t is not None and t.shape and len(t.shape) == 4 and isinstance(t.shape[1], int) and t.shape[1] > 1 \
            and t.shape[1] != meta.num_classes:
        out.append(f"the meta names {meta.num_classes} classes but '{t.name}' has {t.shape[1]} channels: check the meta")
    hw = _hw(inputs[0], layout) if inputs else None
    if hw and all(isinstance(d, int) for d in hw) and tuple(hw) != tuple(meta.input_size):
        out.append(f"the meta's input size {meta.input_size[0]}x{meta.input_size[1]} differs from the graph's "
                   f"{hw[0]}x{hw[1]}: check the meta")
    return out


# -- engines -------------------------------------------------------------------------------------
def _inspect_engine(path: str) -> ModelReport:
    from .backends.tensorrt.header import RAW_PLAN_MAGIC, open_engine
    from .meta import ModelMeta
    from .utils.files import existing_file
    existing_file(path, "engine file", fix="build one: edgeseg build model.onnx")
    report = ModelReport(path=path, kind="engine")
    if not os.path.exists(ModelMeta.sidecar_path(path)):
        with open(path, "rb") as f:
            raw = f.read(len(RAW_PLAN_MAGIC)) == RAW_PLAN_MAGIC
        if raw:   # trtexec's: nothing beside it says more, and reading the plan needs TensorRT
            report.assumptions = [
                ("a TensorRT plan without its sidecar (e.g. from trtexec): its inputs and outputs are inside the "
                 "plan, and reading them needs TensorRT"),
                ("cannot tell its classes, input size or normalisation: give them with edgeseg meta, "
                 "which writes the sidecar")]
            return report
    eng = open_engine(path)   # a legacy header, or the pair checked (size, sha256): errors say what is wrong
    report.meta = _plain(eng.meta)
    meta = eng.meta
    if eng.header is None:
        report.assumptions.append("the sidecar has the meta but no engine facts (TensorRT version, GPU, shapes): "
                                  "cannot tell what it was built for; TensorRT checks its own version on load")
    else:
        report.engine = eng.header.facts()
        for name, p in eng.header.shapes.items():
            lo, hi = p["min"], p["max"]
            shape = [a if a == b else f"{a}..{b}" for a, b in zip(lo, hi)]
            report.inputs.append(TensorInfo(name, shape, meta.input_dtype))
        report.assumptions.append(f"built for TensorRT {eng.header.tensorrt} on {eng.header.gpu} (compute capability "
                                  f"{eng.header.compute_capability}); it loads only on a matching TensorRT and GPU")
        if eng.legacy:
            report.assumptions.append("an engine in the older headered format: edgeseg build --unwrap turns it "
                                      "into the raw plan and its sidecar, which other tools load")
    report.layout = meta.layout
    report.assumptions.append(f"the sidecar's meta decides how edgeseg runs it: {meta.layout}, {meta.input_dtype} "
                              f"input at {meta.input_size[0]}x{meta.input_size[1]}, {meta.output_kind} for "
                              f"{meta.num_classes} classes; the output's name and shape are inside the plan "
                              "(reading them needs TensorRT)")
    return report
