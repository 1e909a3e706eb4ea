"""Will TensorRT's ONNX parser take this graph? An allowlist check that needs no TensorRT.

The tables are onnx-tensorrt's ``docs/operators.md``: the operators marked supported ("Y") for
TensorRT 8.5 (JetPack 5.1; the 8.6 table adds nothing the zoo uses), and those that TensorRT
10.x adds (JetPack 6.1+). The default target is 8.5, the oldest TensorRT an edgeseg model must
build on, so a graph that passes parses everywhere. Beyond op types it checks the restrictions the
tables state for ops export emits: the opset (8.5/8.6 parse up to 17), Resize modes, and inputs
that must be initializers (Conv weights, Slice/Squeeze/Unsqueeze axes, ...). A real parse is
still the build stage's job, on a device.

>>> import onnx
>>> from onnx import helper, TensorProto
>>> x = helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 4])
>>> y = helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 4])
>>> m = helper.make_model(helper.make_graph([helper.make_node("Relu", ["x"], ["y"])], "g", [x], [y]),
...                       opset_imports=[helper.make_opsetid("", 17)])
>>> check_tensorrt_ops(m).ok
True
>>> m.graph.node[0].op_type = "Hardmax"
>>> r = check_tensorrt_ops(m); r.ok, r.unsupported
(False, {'Hardmax': 1})
>>> check_tensorrt_ops(m, target="10").ok
True
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

from ...errors import ConfigError, ModelError

DOC = "https://github.com/onnx/onnx-tensorrt/blob/main/docs/operators.md"

# onnx-tensorrt docs/operators.md, release 8.5: every operator marked "Y".
TRT_8_5_OPS = frozenset("""
Abs Acos Acosh Add And ArgMax ArgMin Asin Asinh Atan Atanh AveragePool BatchNormalization Cast Ceil
Celu Clip Concat Constant ConstantOfShape Conv ConvTranspose Cos Cosh CumSum DepthToSpace
DequantizeLinear Div Dropout Einsum Elu Equal Erf Exp Expand EyeLike Flatten Floor Gather
GatherElements GatherND Gemm GlobalAveragePool GlobalLpPool GlobalMaxPool Greater GreaterOrEqual
GridSample GRU HardSigmoid HardSwish Identity If ImageScaler InstanceNormalization IsNaN LeakyRelu
Less LessOrEqual Log LogSoftmax Loop LRN LSTM LpNormalization LpPool MatMul Max MaxPool Mean
MeanVarianceNormalization Min Mod Mul Neg NonMaxSuppression NonZero Not OneHot Or Pad
ParametricSoftplus Pow PRelu QuantizeLinear RandomNormal RandomNormalLike RandomUniform
RandomUniformLike Range Reciprocal ReduceL1 ReduceL2 ReduceLogSum ReduceLogSumExp ReduceMax
ReduceMean ReduceMin ReduceProd ReduceSum ReduceSumSquare Relu Reshape Resize ReverseSequence RNN
RoiAlign Round ScaledTanh Scan Scatter ScatterElements ScatterND Selu Shape Shrink Sigmoid Sign Sin
Sinh Size Slice Softmax Softplus Softsign SpaceToDepth Split Sqrt Squeeze Sub Sum Tan Tanh
ThresholdedRelu Tile TopK Transpose Trilu Unsqueeze Upsample Where Xor
""".split())

# Marked "Y" in the TensorRT 10.x table but "N" (or absent) in 8.5's.
TRT_10_EXTRA_OPS = frozenset("""
Attention BlackmanWindow CastLike DeformConv Gelu GroupNormalization HammingWindow HannWindow Hardmax
IsInf LayerNormalization Mish RMSNormalization RotaryEmbedding STFT
""".split())

# target -> (operators, highest opset its parser reads)
TARGETS = {
    "8.5": (TRT_8_5_OPS, 17),
    "10": (TRT_8_5_OPS | TRT_10_EXTRA_OPS, 20),
}

# op -> inputs the tables require to be initializers (Conv/ConvTranspose weights, Slice axes,
# Squeeze/Unsqueeze axes, CumSum axis, TopK K; opset-18 Reduce* axes in TensorRT 10's table).
_MUST_BE_CONSTANT = {"Conv": (1,), "ConvTranspose": (1,), "Slice": (3,), "Squeeze": (1,),
                     "Unsqueeze": (1,), "CumSum": (1,), "TopK": (1,),
                     **{f"Reduce{r}": (1,) for r in ("L1", "L2", "LogSum", "LogSumExp", "Max", "Mean",
                                                    "Min", "Prod", "Sum", "SumSquare")}}

RESIZE_MODES = {"nearest", "linear"}
RESIZE_COORDINATES = {"half_pixel", "pytorch_half_pixel", "tf_half_pixel_for_nn", "asymmetric",
                      "align_corners"}


@dataclass(frozen=True)
class TrtOpsReport:
    """``ops``: op type -> count; ``unsupported``: the same for ops outside the target's table."""

    target: str
    opset: int | None
    ops: dict
    unsupported: dict
    problems: tuple[str, ...]

    @property
    def ok(self) -> bool:
        return not self.unsupported and not self.problems

    def summary(self) -> str:
        if self.ok:
            return f"all {len(self.ops)} op types parse on TensorRT {self.target}"
        parts = [f"{op} x{n}" for op, n in sorted(self.unsupported.items())] + list(self.problems)
        return f"not parsable by TensorRT {self.target}'s ONNX parser: " + "; ".join(parts)


def _nodes(graph):
    """Every node, including those inside If/Loop/Scan bodies."""
    for node in graph.node:
        yield node
        for attr in node.attribute:
            for sub in ([attr.g] if attr.HasField("g") else []) + list(attr.graphs):
                yield from _nodes(sub)


def _op_name(node) -> str:
    return node.op_type if node.domain in ("", "ai.onnx") else f"{node.domain}::{node.op_type}"


def check_tensorrt_ops(model, target: str = "8.5") -> TrtOpsReport:
    """Compare ``model``'s ops (an ``onnx.ModelProto``) with TensorRT ``target``'s parser table."""
    if target not in TARGETS:
        raise ConfigError("unknown TensorRT target", expected=" | ".join(TARGETS), got=target)
    allowed, max_opset = TARGETS[target]
    ops = Counter(_op_name(n) for n in _nodes(model.graph))
    unsupported = {op: n for op, n in ops.items() if op not in allowed}
    opset = next((o.version for o in model.opset_import if o.domain in ("", "ai.onnx")), None)
    problems = []
    if opset is not None and opset > max_opset:
        problems.append(f"opset {opset} > {max_opset}, the highest TensorRT {target} parses")
    constants = {i.name for i in model.graph.initializer}
    constants |= {o for n in model.graph.node if n.op_type == "Constant" for o in n.output}
    for node in _nodes(model.graph):
        attrs = {a.name: a for a in node.attribute}
        if node.op_type == "Resize":
            mode = attrs["mode"].s.decode() if "mode" in attrs else "nearest"
            coord = (attrs["coordinate_transformation_mode"].s.decode()
                     if "coordinate_transformation_mode" in attrs else "half_pixel")
            if mode not in RESIZE_MODES or coord not in RESIZE_COORDINATES:
                problems.append(f"Resize {node.name or ''} mode={mode} coordinates={coord}")
            if "antialias" in attrs and attrs["antialias"].i:
                problems.append(f"Resize {node.name or ''} antialias=1")
        for i in _MUST_BE_CONSTANT.get(node.op_type, ()):
            if len(node.input) > i and node.input[i] and node.input[i] not in constants:
                problems.append(f"{node.op_type} {node.name or ''} input {i} is computed, not an initializer")
    return TrtOpsReport(target, opset, dict(sorted(ops.items())), unsupported, tuple(problems))


def require_tensorrt_ops(model, target: str = "8.5", path: str | None = None) -> TrtOpsReport:
    """:func:`check_tensorrt_ops`, raising ModelError when the graph would not parse."""
    report = check_tensorrt_ops(model, target)
    if not report.ok:
        raise ModelError("the graph has operators TensorRT cannot parse", path=path,
                         expected=f"only operators onnx-tensorrt supports for TensorRT {target} ({DOC})",
                         got=report.summary(),
                         fix="replace the layer in the model with a supported equivalent, or export "
                             "with check_tensorrt=False for an ONNX Runtime-only model")
    return report
