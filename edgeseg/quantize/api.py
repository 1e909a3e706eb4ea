"""``quantize_model``: FP32 ONNX + calibration data -> INT8 Q/DQ ONNX, inside an accuracy budget.

>>> # from edgeseg.quantize import quantize_model
>>> # r = quantize_model("model.onnx", "calib.npz", target="cpu", val="synthetic", max_miou_drop=1.0)
>>> # r.path, r.report["int8"]["miou"]
"""

from __future__ import annotations

import os
from dataclasses import dataclass, replace

from ..backends import load_backend
from ..backends.onnx_file import load_onnx
from ..backends.onnx_meta import get_onnx_meta, set_onnx_meta
from ..errors import ConfigError
from ..evaluate import evaluate
from ..lazy import require
from ..meta import ModelMeta, load_meta
from ..utils.atomic import atomic_path, private_tempdir
from ..utils.checks import check_float, check_int, check_output_file
from ..utils.progress import STDERR
from .budget import fit_budget, group_nodes
from .calibration import CalibrationSet, class_histogram, load_or_build
from .cpu_graph import describe as describe_graph
from .final_softmax import keep_final_softmax_float
from .graph_pick import describe as describe_choice
from .graph_pick import time_graphs
from .ort_quantizer import compute_ranges, prepare_model, quantizable_nodes, quantize_with_ranges, range_summary
from .qdq_check import check_tensorrt_qdq
from .report import write_report
from .speed import speed_report
from .targets import check_method, get_target

QUANTIZERS = ("ort", "modelopt")


@dataclass
class QuantizeResult:
    path: str
    meta: ModelMeta
    report: dict
    report_paths: tuple[str, str] | None


def default_output(model_path: str, target: str) -> str:
    stem = model_path.removesuffix(".onnx")
    return f"{stem}.{target}.int8.onnx"


def _open_val(val, meta: ModelMeta, num: int | None):
    if val is None or not isinstance(val, str):
        return val
    from ..data import open_dataset
    kw = {"size": meta.input_size} if val.startswith("synthetic") else {}
    if num:
        kw["num"] = num
    return open_dataset(val, split="val", **kw)


class _Scorer:
    """mIoU of a model file on a data set through ONNX Runtime, with the shared evaluation."""

    def __init__(self, meta: ModelMeta, threads: int | None):
        self.meta, self.threads = meta, threads

    def __call__(self, path: str, data, indices=None):
        with load_backend(path, device="cpu", threads=self.threads, meta=self.meta) as b:
            batch = b.inputs[0].shape[0] if isinstance(b.inputs[0].shape[0], int) else 4
            return evaluate(b, data, self.meta, batch=batch, indices=indices)


def check_scores_output(meta: ModelMeta, path: str) -> None:
    """INT8 needs class scores to calibrate and compare: logits, or probabilities (Softmax in the
    graph); label ids (ArgMax in the graph) are refused with the ways to get scores.

    >>> m = ModelMeta(model="m", classes=("a", "b"), input_size=(8, 8), output_kind="labels")
    >>> check_scores_output(m, "mmdeploy.onnx")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    edgeseg.errors.ConfigError: quantize needs class scores, and this model outputs class ids: mmdeploy.onnx
    ...
    """
    if meta.output_kind == "labels":
        raise ConfigError("quantize needs class scores, and this model outputs class ids", path=path,
                          expected="output_kind logits or probs (scores per class, before any ArgMax)",
                          got=f"output_kind labels{f' (output {meta.output_name!r})' if meta.output_name else ''}",
                          fix="pick a score output of the graph with `edgeseg meta MODEL --output NAME --output-kind "
                              "logits`, or export the model with logits (edgeseg export --output logits; MMDeploy: "
                              "without the ArgMax); ArgMax over INT8 scores would also lose ties")


def _check_numbers(num, val_num, threads, sensitivity_images, bench_runs, max_miou_drop) -> None:
    """The numeric arguments, each against its valid range, before any file is read."""
    check_int("num", num, 1)
    check_int("val_num", val_num, 1, optional=True)
    check_int("threads", threads, 1, optional=True)
    check_int("sensitivity_images", sensitivity_images, 1)
    check_int("bench_runs", bench_runs, 0)
    # mIoU points: 0 asks for no loss at all (sensitive groups kept float until none is left), 100 any.
    check_float("max_miou_drop", max_miou_drop, 0, 100, optional=True)


def quantize_model(model_path: str, calib, out: str | None = None, *, method: str = "percentile",
                   target: str = "tensorrt", quantizer: str = "ort", num: int = 256, val=None,
                   val_num: int | None = None, max_miou_drop: float | None = None,
                   keep_float=(), sensitivity_images: int = 24, bench_runs: int = 20,
                   threads: int | None = None, write_reports: bool = True, log=print,
                   file=STDERR, meta: ModelMeta | str | None = None) -> QuantizeResult:
    """Quantize ``model_path`` for ``target`` with frames from ``calib`` (an ``.npz`` from
    ``edgeseg calibrate``, an image folder, video file(s) or a data spec).

    With ``val`` (a data spec or reader) FP32 and INT8 are scored with the shared metrics; with
    ``max_miou_drop`` (mIoU points) too, the most sensitive layer groups are kept in float until
    the drop fits. ``keep_float`` names nodes to keep float from the start. With ``bench_runs``
    FP32 and INT8 are timed here (interleaved) and, for the ``cpu`` target, its graph against the
    plain Q/DQ graph: the faster one is written (``report["graph_choice"]``, :mod:`.graph_pick`).

    ``meta``: a ModelMeta or a meta JSON path that supplies the meta of a graph edgeseg did not
    export (or overrides the file's); it is checked against the graph, calibration preprocesses
    with it (NHWC, uint8 inputs included) and the INT8 file carries it. The model must give class
    scores: logits, or probabilities (a graph-final Softmax stays float); a labels output is refused.
    """
    onnx = require("onnx", "INT8 quantization")
    _check_numbers(num, val_num, threads, sensitivity_images, bench_runs, max_miou_drop)
    if out is not None:
        check_output_file(out, "--out", "model.int8.onnx")
    check_method(method)
    tgt = get_target(target)
    if quantizer not in QUANTIZERS:
        raise ConfigError("unknown quantizer", expected=" | ".join(QUANTIZERS), got=quantizer)
    if quantizer == "modelopt" and target != "tensorrt":
        raise ConfigError("--quantizer modelopt conflicts with --target " + target,
                          expected="modelopt only with --target tensorrt", got=target,
                          fix="use the default --quantizer ort for the cpu target")
    if max_miou_drop is not None and val is None:
        raise ConfigError("--max-miou-drop needs --val", expected="a validation data spec",
                          got="none", fix="add --val SPEC, e.g. --val synthetic")
    proto = load_onnx(model_path, what="model")
    meta = load_meta(meta) or get_onnx_meta(proto, model_path)
    if any(n.op_type in ("QuantizeLinear", "DequantizeLinear") for n in proto.graph.node):
        raise ConfigError("the model is already quantized", path=model_path,
                          expected="an FP32 ONNX from edgeseg export", got="Q/DQ nodes present")
    check_scores_output(meta, model_path)
    if quantizer == "modelopt":
        from .modelopt_quantizer import modelopt_method
        modelopt_method(method)  # refuse what modelopt lacks before any calibration work
    out = out or check_output_file(default_output(model_path, target), "the default output")
    # Opened first: a meta that does not fit the graph fails here, before any calibration work.
    with load_backend(model_path, device="cpu", threads=threads, meta=meta) as fp32:
        calib_set = load_or_build(calib, meta, num, file=file)
        # The FP32 pass over the set comes first: NaN scores would make every range below garbage.
        hist = class_histogram(fp32, calib_set, meta, batch=1)
    val_data = _open_val(val, meta, val_num)
    score = _Scorer(meta, threads)

    with private_tempdir("edgeseg-quantize-") as tmp:
        prepared = prepare_model(model_path, os.path.join(tmp, "prepared.onnx"))
        # Probabilities on int8 steps tie at argmax: a graph-final Softmax stays float (final_softmax.py).
        float_softmax = keep_final_softmax_float(prepared)
        log(f"calibrating {os.path.basename(model_path)} on {len(calib_set)} frames ({method}, "
            f"target {target}, quantizer {quantizer})")
        if quantizer == "modelopt":  # modelopt calibrates itself; our ranges would go unused
            from .modelopt_quantizer import quantize_modelopt
            qpath = quantize_modelopt(prepared, os.path.join(tmp, "int8.onnx"), calib_set, meta,
                                      method, [*float_softmax, *keep_float])
            quant = None
        else:
            ranges = compute_ranges(prepared, calib_set, meta, method, tgt, file=file)
            cache = os.path.join(tmp, "ranges.json")

            def quant(excluded, path):
                return quantize_with_ranges(prepared, path, ranges, method, tgt, [*float_softmax, *excluded], cache)
            qpath = quant(list(keep_float), os.path.join(tmp, "int8.onnx"))

        report = {"model": model_path, "output": out, "target": target, "quantizer": quantizer,
                  "method": method, "target_note": tgt.why, "float_nodes": list(keep_float),
                  "float_groups": []}
        if quant is not None:
            report["ranges"] = range_summary(ranges)
        report["calibration"] = {"source": calib_set.source, "num": len(calib_set),
                                 "fingerprint": calib_set.fingerprint(),
                                 "class_histogram": dict(zip(meta.classes, hist.tolist()))}
        fp_rep = q_rep = None
        if val_data is not None:
            fp_rep = score(model_path, val_data)
            q_rep = score(qpath, val_data)
            log(f"mIoU FP32 {100 * fp_rep.miou:.2f}  INT8 {100 * q_rep.miou:.2f}  "
                f"drop {100 * (fp_rep.miou - q_rep.miou):.2f} points")
            if max_miou_drop is not None and 100 * (fp_rep.miou - q_rep.miou) > max_miou_drop:
                if quant is None:
                    raise ConfigError("--max-miou-drop search needs --quantizer ort",
                                      got="modelopt", fix="use --quantizer ort for the budget search")
                subset = list(range(min(len(val_data), sensitivity_images)))
                nodes = [n for n, _ in quantizable_nodes(prepared)
                         if n and n not in keep_float and n not in float_softmax]
                log(f"over budget ({max_miou_drop} points): measuring sensitivity of "
                    f"{len(group_nodes(nodes))} layer groups on {len(subset)} images")
                res = fit_budget(
                    lambda ex, p: quant(list(keep_float) + ex, p),
                    lambda p: score(p, val_data, subset).miou,
                    lambda p: score(p, val_data).miou,
                    group_nodes(nodes), fp_rep.miou, q_rep.miou, max_miou_drop, tmp, log)
                if res.float_nodes:
                    qpath = quant(list(keep_float) + res.float_nodes, os.path.join(tmp, "int8_mixed.onnx"))
                    q_rep = score(qpath, val_data)
                report.update(float_groups=res.float_groups,
                              float_nodes=list(keep_float) + res.float_nodes,
                              budget={"max_miou_drop": max_miou_drop, "within": res.within_budget,
                                      "sensitivity": res.sensitivity,
                                      "steps": [{"group": g, "miou": m} for g, m in res.steps]})
                log(("within budget" if res.within_budget else "NOT within budget: no gain left")
                    + f" with {len(res.float_groups)} group(s) in float: {res.float_groups}")

        if tgt.passes and quant is not None and bench_runs:  # the passes do not pay on every CPU (graph_pick.py)
            plain = quantize_with_ranges(prepared, os.path.join(tmp, "int8_plain.onnx"), ranges, method,
                                         replace(tgt, passes=()), [*float_softmax, *report["float_nodes"]])
            choice = time_graphs(qpath, plain, meta=meta, threads=threads, runs=bench_runs, file=file)
            if choice["chosen"] == "plain" and val_data is not None:
                plain_rep = score(plain, val_data)
                choice["plain_miou"] = plain_rep.miou
                if max_miou_drop is not None and 100 * (fp_rep.miou - plain_rep.miou) > max_miou_drop:
                    choice.update(chosen="cpu", kept_for=f"its mIoU drop is over the {max_miou_drop} point budget")
                else:
                    q_rep = plain_rep
            log(describe_choice(choice))
            if choice["chosen"] == "plain":
                qpath = plain
                if q_rep is not None:
                    log(f"mIoU of the plain graph {100 * q_rep.miou:.2f} (drop {100 * (fp_rep.miou - q_rep.miou):.2f} points)")
            report["graph_choice"] = choice

        precision = "mixed" if report["float_nodes"] else "int8"
        qmeta = meta.replace(precision=precision, provenance={
            **meta.provenance, "quantize": {"target": target, "method": method, "quantizer": quantizer,
                                            "calibration": report["calibration"]["source"],
                                            "calibration_set": report["calibration"]["fingerprint"],
                                            "float_nodes": len(report["float_nodes"])}})
        qproto = onnx.load(qpath)
        set_onnx_meta(qproto, qmeta)
        with atomic_path(out, suffix=".onnx") as tmp_out:
            onnx.save(qproto, tmp_out)

    if target == "tensorrt":
        report["qdq_check"] = check_tensorrt_qdq(out).to_dict()
    report["fp32"] = {"miou": fp_rep.miou if fp_rep else None, "size_bytes": os.path.getsize(model_path)}
    report["int8"] = {"miou": q_rep.miou if q_rep else None, "size_bytes": os.path.getsize(out)}
    if fp_rep is not None:
        report["miou_drop_points"] = 100 * (fp_rep.miou - q_rep.miou)
        report["per_class"] = {c: {"fp32": a, "int8": b, "delta": None if a != a or b != b else b - a}
                               for c, a, b in zip(meta.classes, fp_rep.iou, q_rep.iou)}
    if tgt.passes:
        report["graph"] = describe_graph(onnx.load(out, load_external_data=False))
    if bench_runs:  # FP32 and INT8 interleaved on this machine; the cpu target says which to deploy
        log(speed_report(report, model_path, out, meta=meta, int8_meta=qmeta, threads=threads,
                         runs=bench_runs, target=target))
    paths = write_report(report, out.removesuffix(".onnx")) if write_reports else None
    return QuantizeResult(out, qmeta, report, paths)


__all__ = ["CalibrationSet", "QuantizeResult", "default_output", "quantize_model"]
