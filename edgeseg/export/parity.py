"""Parity: the written ONNX file, run by ONNX Runtime, against the torch network it came from.

Both sides see the same frames through :func:`edgeseg.preprocess.preprocess`: torch gets them
preprocessed for the network (float32 NCHW, its channel order), ONNX gets them preprocessed for
the graph's own meta (uint8 NHWC for ``--input uint8``). So the check also proves that the
in-graph cast/normalisation equals the one preprocessing and that a ``labels`` graph's ArgMax
equals the network's argmax. Judged by argmax agreement and max abs difference of logits.

>>> frames = parity_frames((16, 24), count=4)
>>> len(frames), frames[0].shape, frames[0].dtype
(4, (16, 24, 3), dtype('uint8'))
"""

from __future__ import annotations

import numpy as np
import torch

from ..backends import load_backend
from ..errors import ModelError
from ..meta import ModelMeta
from ..preprocess import preprocess_batch

MIN_ARGMAX_AGREEMENT = 0.995
MAX_ABS_DIFF = 1e-2      # on logits; relaxed to 0.1% of the largest |logit| when logits are huge
RELATIVE_DIFF = 1e-3


def parity_frames(size: tuple[int, int], count: int = 4, seed: int = 0) -> list[np.ndarray]:
    """BGR uint8 frames: uniform noise, then structured ones (gradients, blocks, stripes)."""
    h, w = size
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:h, 0:w]
    structured = [
        np.stack([xx * 255 // max(w - 1, 1), yy * 255 // max(h - 1, 1),
                  (xx + yy) * 255 // max(h + w - 2, 1)], -1),
        np.where(((yy // 8 + xx // 8) % 2)[..., None] == 1, [30, 200, 90], [220, 40, 160]),
        np.stack([(xx % 16) * 16, np.full_like(xx, 128), (yy % 8) * 32], -1),
    ]
    frames = [rng.integers(0, 256, (h, w, 3))]
    frames += structured[:max(0, count - 1)]
    while len(frames) < count:
        frames.append(rng.integers(0, 256, (h, w, 3)))
    return [np.ascontiguousarray(f, dtype=np.uint8) for f in frames]


def _torch_logits(network: torch.nn.Module, batch: np.ndarray) -> np.ndarray:
    with torch.no_grad():
        out = network(torch.from_numpy(batch))
    return (out["out"] if isinstance(out, dict) else out).float().numpy()


def compare(reference: np.ndarray, got: np.ndarray, output_kind: str) -> dict:
    """Agreement of ``got`` (logits N,C,H,W or labels N,H,W) with reference logits."""
    ref_labels = reference.argmax(1)
    if output_kind == "labels":
        return {"max_abs_diff": None, "argmax_agreement": float((got == ref_labels).mean())}
    return {"max_abs_diff": float(np.abs(got - reference).max()),
            "argmax_agreement": float((got.argmax(1) == ref_labels).mean()),
            "max_abs_logit": float(np.abs(reference).max())}


def _nonfinite(x: np.ndarray) -> int:
    return int((~np.isfinite(x)).sum()) if x.dtype.kind in "fc" else 0


def _check_finite(path: str, reference: np.ndarray, got: np.ndarray, size, n: int) -> None:
    """NaN on both sides would compare as equal (max(0.0, nan) is 0.0, argmax of NaN is class 0):
    a non-finite output is a failure of its own, never a difference of 0."""
    bad = {"torch": _nonfinite(reference), "ONNX Runtime": _nonfinite(got)}
    if any(bad.values()):
        raise ModelError("the model's outputs are not finite (NaN or inf)", path=path,
                         expected="finite logits from torch and from the ONNX graph",
                         got=", ".join(f"{side}: {k} of {x.size} values" for (side, k), x in
                                       zip(bad.items(), (reference, got)) if k)
                             + f" at {size[0]}x{size[1]}, batch {n}",
                         fix="the weights hold NaN/inf or overflow float32: export an earlier checkpoint, "
                             "or retrain with a lower --lr")


def check_parity(path: str, network: torch.nn.Module, net_meta: ModelMeta, graph_meta: ModelMeta, *,
                 batch: int = 1, dynamic: bool = False, count: int = 4) -> dict:
    """Run ``count`` frames (and, for a dynamic graph, a second size and batch) on both sides.

    Returns ``{"max_abs_diff", "argmax_agreement", "inputs"}`` (worst case over all runs);
    raises ModelError when they disagree for real.
    """
    h, w = graph_meta.input_size
    runs = [(graph_meta.input_size, batch)]
    if dynamic:  # adaptive pooling and Resize must follow a size the trace never saw
        runs.append(((h + 32, w + 64), 2))
    network = network.eval()
    worst = {"max_abs_diff": 0.0 if graph_meta.output_kind == "logits" else None,
             "argmax_agreement": 1.0, "inputs": 0, "max_abs_logit": 0.0}
    with load_backend(path, device="cpu") as backend:
        for size, n in runs:
            frames = parity_frames(size, max(count, n))
            gm, nm = graph_meta.replace(input_size=size), net_meta.replace(input_size=size)
            for i in range(0, len(frames) - n + 1, n):
                chunk = frames[i:i + n]
                reference = _torch_logits(network, preprocess_batch(chunk, nm))
                got = backend.infer(preprocess_batch(chunk, gm))
                if got.shape[0] != n or got.shape[-2:] != tuple(size):
                    raise ModelError("the ONNX output has the wrong shape", path=path,
                                     expected=f"batch {n} at {size[0]}x{size[1]}", got=got.shape)
                _check_finite(path, reference, got, size, n)
                r = compare(reference, got, graph_meta.output_kind)
                worst["inputs"] += n
                worst["argmax_agreement"] = min(worst["argmax_agreement"], r["argmax_agreement"])
                if r["max_abs_diff"] is not None:
                    worst["max_abs_diff"] = max(worst["max_abs_diff"], r["max_abs_diff"])
                    worst["max_abs_logit"] = max(worst["max_abs_logit"], r["max_abs_logit"])
    tolerance = max(MAX_ABS_DIFF, RELATIVE_DIFF * worst.pop("max_abs_logit"))
    diff = worst["max_abs_diff"]
    if worst["argmax_agreement"] < MIN_ARGMAX_AGREEMENT or (diff is not None and diff > tolerance):
        raise ModelError("the ONNX model does not match the torch model", path=path,
                         expected=f"argmax agreement >= {MIN_ARGMAX_AGREEMENT:.1%}"
                                  + (f", max abs diff <= {tolerance:.3g}" if diff is not None else ""),
                         got=f"argmax agreement {worst['argmax_agreement']:.2%}"
                             + (f", max abs diff {diff:.3g}" if diff is not None else "")
                             + f" on {worst['inputs']} inputs",
                         fix="export with --opset 17 and simplification off (--no-simplify) to see "
                             "which step breaks it; report the model name and these numbers")
    return worst
