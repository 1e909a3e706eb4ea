"""Shared helpers for the model-zoo tests: torchvision fixtures and a deterministic state_dict.

The fixtures in ``fixtures/`` were produced from torchvision 0.28.0's own model definitions
(see ``fixtures/README.md``); these helpers rebuild the same tensors here without torchvision.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest
import torch

FIXTURES = Path(__file__).parent / "fixtures"

# How a deterministic tensor is drawn for each kind of state_dict entry: values that keep
# activations O(1) through 17 blocks, so golden outputs are neither 0 nor inf.
_SAMPLERS = {
    "running_mean": lambda rng, shape: rng.normal(0.0, 0.1, shape),
    "running_var": lambda rng, shape: rng.uniform(0.5, 1.5, shape),
    "bias": lambda rng, shape: rng.normal(0.0, 0.1, shape),
    "norm_weight": lambda rng, shape: rng.uniform(0.5, 1.5, shape),
    "weight": lambda rng, shape: rng.normal(0.0, 1.0, shape) / math.sqrt(max(1, int(np.prod(shape[1:])))),
}


def deterministic_state_dict(keys_and_shapes, seed: int = 0) -> dict[str, torch.Tensor]:
    """Tensors drawn from ``numpy.random.default_rng(seed)`` in the given key order.

    Rule per key (by its last dotted part): ``num_batches_tracked`` -> 0 (no draw);
    ``running_mean`` ~ N(0, 0.1); ``running_var`` ~ U(0.5, 1.5); ``bias`` ~ N(0, 0.1);
    a 1-d ``weight`` (a norm's) ~ U(0.5, 1.5); any other ``weight`` ~ N(0, 1) / sqrt(fan_in),
    fan_in = prod(shape[1:]). Drawn in float64, stored as float32.
    """
    rng = np.random.default_rng(seed)
    state = {}
    for key, shape in keys_and_shapes:
        leaf = key.rsplit(".", 1)[-1]
        if leaf == "num_batches_tracked":
            state[key] = torch.tensor(0, dtype=torch.long)
            continue
        kind = "norm_weight" if leaf == "weight" and len(shape) == 1 else leaf
        value = _SAMPLERS[kind](rng, tuple(shape))
        state[key] = torch.from_numpy(np.asarray(value, dtype=np.float32).reshape(shape))
    return state


def golden_input(seed: int = 1, size=(64, 64)) -> torch.Tensor:
    """The fixed 1x3xHxW input the golden outputs were computed on: N(0, 1) from default_rng(1)."""
    rng = np.random.default_rng(seed)
    return torch.from_numpy(rng.standard_normal((1, 3, *size)).astype(np.float32))


@pytest.fixture(scope="session")
def tv_keys() -> dict:
    """``{checkpoint: [[key, shape], ...]}`` of torchvision's state_dicts, in their order."""
    return json.loads((FIXTURES / "torchvision_state_dicts.json").read_text())["checkpoints"]


@pytest.fixture(scope="session")
def tv_golden() -> dict:
    """Torchvision's outputs on :func:`golden_input` with :func:`deterministic_state_dict` weights."""
    return json.loads((FIXTURES / "torchvision_golden.json").read_text())


@pytest.fixture(scope="session")
def make_state_dict():
    """:func:`deterministic_state_dict`, as a fixture (test modules should not import conftest)."""
    return deterministic_state_dict


@pytest.fixture(scope="session")
def golden_x() -> torch.Tensor:
    """:func:`golden_input`, as a fixture."""
    return golden_input()
