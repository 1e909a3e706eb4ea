"""Accuracy-budgeted mixed precision: keep the most sensitive layer groups in float until the
INT8 model is within ``max_miou_drop`` of FP32, one group at a time, each kept only if it
raises the full validation mIoU; the search ends inside the budget or when no group is left.

Sensitivity of a group = mIoU gained on a small subset of the validation set when only that
group stays float. Because activation ranges are computed once and cached, each trial is a
re-quantization (about a second) and a short evaluation, not a new calibration.

>>> group_nodes(["/m/backbone.1/block/0/Conv", "/m/backbone.1/block/1/Conv", "/m/head/Conv"])
{'backbone.1': ['/m/backbone.1/block/0/Conv', '/m/backbone.1/block/1/Conv'], 'head': ['/m/head/Conv']}
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import Callable


def group_nodes(names: list[str], depth: int = 1) -> dict[str, list[str]]:
    """Group node names by module path (torch export names nodes ``/module/path/OpType``):
    the ``depth`` path components below the prefix shared by all nodes."""
    parts = [[p for p in n.split("/") if p][:-1] for n in names]
    pathed = [p for p in parts if p]
    common = 0
    if pathed:
        for level in zip(*pathed):
            if len(set(level)) != 1:
                break
            common += 1
    groups: dict[str, list[str]] = {}
    for name, p in zip(names, parts):
        # A node sitting at the shared prefix itself (e.g. the final Resize) is its own group.
        key = "/".join(p[common:common + depth]) or name
        groups.setdefault(key, []).append(name)
    return groups


@dataclass
class BudgetResult:
    float_groups: list[str]
    float_nodes: list[str]
    miou: float
    within_budget: bool
    sensitivity: dict = field(default_factory=dict)   # group -> mIoU gain on the subset
    steps: list = field(default_factory=list)         # (group, mIoU after keeping it float)


def fit_budget(quantize: Callable[[list[str], str], str], score_subset: Callable[[str], float],
               score_full: Callable[[str], float], groups: dict[str, list[str]], fp32_miou: float,
               int8_miou: float, max_drop: float, workdir: str, log=print) -> BudgetResult:
    """Greedy search. ``quantize(excluded_nodes, out_path)`` writes a model; the scorers return
    mIoU in 0..1; ``max_drop`` is in mIoU points (1.0 = one point = 0.01)."""
    budget = max_drop / 100.0
    if fp32_miou - int8_miou <= budget:
        return BudgetResult([], [], int8_miou, True)
    base_path = quantize([], os.path.join(workdir, "sens_base.onnx"))
    base = score_subset(base_path)
    sensitivity = {}
    for i, (g, nodes) in enumerate(groups.items()):
        path = quantize(nodes, os.path.join(workdir, f"sens_{i}.onnx"))
        sensitivity[g] = score_subset(path) - base
        log(f"  sensitivity {g:<40} {100 * sensitivity[g]:+.2f} mIoU points")
    # Most sensitive first; groups that gained nothing alone are still tried last, because a
    # group can matter only once another is float (the tensor between them stays rounded).
    order = sorted(sensitivity, key=lambda g: -sensitivity[g])
    kept, nodes, miou, steps = [], [], int8_miou, []
    for g in order:
        trial_nodes = nodes + groups[g]
        path = quantize(trial_nodes, os.path.join(workdir, f"step_{len(kept)}.onnx"))
        m = score_full(path)
        log(f"  keep {g} in float: mIoU {100 * m:.2f} (drop {100 * (fp32_miou - m):.2f})")
        steps.append((g, m))
        if m <= miou:  # no gain from this group on the full set: leave it quantized
            continue
        kept, nodes, miou = kept + [g], trial_nodes, m
        if fp32_miou - miou <= budget:
            break
    return BudgetResult(kept, nodes, miou, fp32_miou - miou <= budget, sensitivity, steps)
