"""onnxsim over the exported graph; a graph it cannot simplify is kept as exported, and said so.

Simplification folds the shape arithmetic the tracer leaves around every Resize (Shape, Gather,
Cast, Concat ...) into constants for static graphs, and drops Identity nodes: fewer layers for
TensorRT and cleaner Q/DQ placement for the quantize stage.

>>> import onnx
>>> from onnx import helper, TensorProto
>>> g = helper.make_graph([helper.make_node("Identity", ["x"], ["y"])], "g",
...                       [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 2])],
...                       [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 2])])
>>> m = helper.make_model(g, opset_imports=[helper.make_opsetid("", 17)])
>>> out, ok, why = simplify_model(m)
>>> ok, why
(True, None)
"""

from __future__ import annotations

from ..lazy import available, require


def simplify_model(model, *, check: bool = False):
    """Return ``(model, simplified, reason)``; ``reason`` says why the original was kept.

    ``check``: let onnxsim compare outputs on random inputs too (off: export's parity step runs
    the real comparison against torch, through the same ONNX Runtime a user would use).
    """
    if not available("onnxsim"):
        return model, False, "onnxsim is not installed (pip install \"edgeseg[onnx]\")"
    onnxsim = require("onnxsim")
    opset = _default_opset(model)
    try:
        simplified, ok = onnxsim.simplify(model, check_n=3 if check else 0)
    except Exception as exc:  # onnxsim raises on graphs it cannot shape-infer or fold
        return model, False, f"onnxsim failed: {type(exc).__name__}: {str(exc)[:200]}"
    if not ok:
        return model, False, "onnxsim's own check found different outputs"
    if _default_opset(simplified) != opset:
        return model, False, f"onnxsim changed the opset {opset} -> {_default_opset(simplified)}"
    # onnxsim records what it changed in metadata_props (kilobytes of node lists); the model's
    # metadata is the edgeseg meta, so drop that report rather than ship it to every device.
    for prop in [p for p in simplified.metadata_props if p.key.startswith("onnxsim.")]:
        simplified.metadata_props.remove(prop)
    return simplified, True, None


def _default_opset(model) -> int | None:
    return next((o.version for o in model.opset_import if o.domain in ("", "ai.onnx")), None)
