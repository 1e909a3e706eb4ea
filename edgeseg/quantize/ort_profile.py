"""Where an ONNX model's time goes on ONNX Runtime's CPU provider: per-op kernel time from ORT's
own profiler, by kind (a depthwise, 1x1 or KxK convolution, FP32 or int8, with its fused
activation; Quantize/Dequantize; Resize ...), for several models profiled in turn so they share
the machine's noise. This is how the ``cpu`` target's graph passes were found (.cpu_graph).

>>> kind_of("QLinearConv", {"group": 96}, channels=96)
'QLinearConv depthwise'
>>> kind_of("Conv", {"kernel_shape": [1, 1], "activation": b"HardSwish"})
'Conv 1x1 +HardSwish'
"""

from __future__ import annotations

import json
import os
import time
from collections import defaultdict

import numpy as np

from ..lazy import require
from ..utils.atomic import private_tempdir
from ..utils.progress import Progress

_CONVS = {"Conv", "QLinearConv", "FusedConv", "ConvInteger"}


def kind_of(op_type: str, attrs: dict, channels: int | None = None) -> str:
    """The profile row a node's time is added to."""
    if op_type not in _CONVS:
        return op_type
    group = int(attrs.get("group", 1))
    k = attrs.get("kernel_shape")
    if group > 1 and (channels is None or group == channels):
        kind = "depthwise"
    elif k is not None:
        kind = "x".join(str(int(v)) for v in k)
    else:
        kind = "conv"
    act = attrs.get("activation")
    act = act.decode() if isinstance(act, bytes) else act
    return f"{op_type} {kind}" + (f" +{act}" if act else "")


def node_kinds(model) -> dict[str, str]:
    """Node name -> kind, for a model as ONNX Runtime optimised it."""
    onnx = require("onnx")
    inits = {i.name: list(i.dims) for i in model.graph.initializer}
    out = {}
    for n in model.graph.node:
        a = {x.name: onnx.helper.get_attribute_value(x) for x in n.attribute}
        channels = None
        w_index = 3 if n.op_type == "QLinearConv" else 1  # QLinearConv: x, x_scale, x_zero_point, w, ...
        w = n.input[w_index] if len(n.input) > w_index else None
        if n.op_type in _CONVS and w in inits and len(inits[w]) == 4:
            channels = inits[w][1] * int(a.get("group", 1))
            a.setdefault("kernel_shape", inits[w][2:])
        out[n.name] = kind_of(n.op_type, a, channels)
    return out


def profile_models(paths, runs: int = 10, threads: int | None = None, warmup: int = 3, file=None) -> list[dict]:
    """ORT profiles of ``paths`` (each session's ``warmup`` + ``runs`` runs in one block, after an
    idle that lets the previous session's worker threads stop spinning: see :mod:`.speed`): for
    each, ``{"model", "run_ms" (median), "ops": {kind: {"ms": per run, "nodes": n}}}``, ops by time."""
    ort = require("onnxruntime", "profiling")
    onnx = require("onnx")
    with private_tempdir("edgeseg-profile-") as tmp:
        sessions = []
        for i, p in enumerate(paths):
            so = ort.SessionOptions()
            if threads:
                so.intra_op_num_threads = int(threads)
            so.enable_profiling = True
            so.profile_file_prefix = os.path.join(tmp, f"p{i}")
            so.optimized_model_filepath = os.path.join(tmp, f"opt{i}.onnx")
            so.log_severity_level = 3
            sessions.append(ort.InferenceSession(p, so, providers=["CPUExecutionProvider"]))
        spec = sessions[0].get_inputs()[0]
        from .speed import SETTLE_S, example_input
        x = example_input(_Spec(spec))
        with Progress((warmup + runs) * len(sessions), "profile", file=file, unit="run") as bar:
            for s in sessions:
                time.sleep(SETTLE_S)
                for _ in range(warmup + runs):
                    s.run(None, {s.get_inputs()[0].name: x})
                    bar.update(1)
        out = []
        for i, (p, s) in enumerate(zip(paths, sessions)):
            with open(s.end_profiling()) as f:
                events = json.load(f)
            kinds = node_kinds(onnx.load(os.path.join(tmp, f"opt{i}.onnx"), load_external_data=False))
            out.append({"model": os.path.basename(p), **_summarise(events, kinds, warmup, runs)})
        return out


_ORT_DTYPES = {"tensor(float)": "float32", "tensor(uint8)": "uint8", "tensor(float16)": "float16"}


class _Spec:
    """An ORT NodeArg as a spec ``example_input`` takes."""

    def __init__(self, arg):
        self.shape = tuple(d if isinstance(d, int) else None for d in arg.shape)
        self.dtype = _ORT_DTYPES.get(arg.type, "float32")


def _summarise(events, kinds: dict, warmup: int, runs: int) -> dict:
    model_runs = [e for e in events if e.get("name") == "model_run"]
    start = model_runs[warmup]["ts"] if len(model_runs) > warmup else 0
    ms: dict = defaultdict(float)
    nodes: dict = defaultdict(set)
    for e in events:
        if e.get("cat") != "Node" or not e["name"].endswith("_kernel_time") or e["ts"] < start:
            continue
        name = e["name"][:-len("_kernel_time")]
        kind = kinds.get(name, e.get("args", {}).get("op_name", "?"))
        ms[kind] += e["dur"] / 1e3 / runs
        nodes[kind].add(name)
    timed = [e["dur"] / 1e3 for e in model_runs[warmup:]]
    ops = {k: {"ms": round(v, 4), "nodes": len(nodes[k])} for k, v in sorted(ms.items(), key=lambda kv: -kv[1])}
    return {"run_ms": float(np.median(timed)) if timed else None, "ops": ops}


def top_ops(profile: dict, n: int = 8) -> list[dict]:
    """The ``n`` costliest kinds with their share of the kernel time.

    >>> top_ops({"ops": {"Conv 1x1": {"ms": 3.0, "nodes": 9}, "Resize": {"ms": 1.0, "nodes": 1}}}, 1)
    [{'op': 'Conv 1x1', 'ms': 3.0, 'nodes': 9, 'share': 0.75}]
    """
    total = sum(v["ms"] for v in profile["ops"].values()) or 1.0
    return [{"op": k, **v, "share": round(v["ms"] / total, 3)} for k, v in list(profile["ops"].items())[:n]]
