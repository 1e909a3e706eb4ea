"""Training checkpoints: written atomically, loaded with ``weights_only=True``.

A checkpoint is a plain dict of tensors and primitives (no pickled classes), so it loads under
``weights_only`` and carries everything export needs: the model's name and build arguments and
its ModelMeta (classes, palette, input size, normalisation).

>>> import torch, tempfile, os
>>> p = os.path.join(tempfile.mkdtemp(), "last.pt")
>>> save_checkpoint(p, {"epoch": 1, "model": {"w": torch.ones(2)}})
>>> load_checkpoint(p)["epoch"]
1
"""

from __future__ import annotations

import os
import random

import numpy as np
import torch

from ..errors import ModelError
from ..meta import ModelMeta
from ..models.weights import check_finite, load_state_into, nonfinite, safe_torch_load
from ..utils.atomic import atomic_path

__all__ = ["FORMAT", "build_from_checkpoint", "check_finite", "checkpoint_meta", "load_checkpoint", "nonfinite",
           "rng_state", "save_checkpoint", "set_rng_state"]

FORMAT = "edgeseg-checkpoint/1"


def save_checkpoint(path: str | os.PathLike, state: dict) -> None:
    """torch.save into a temp file beside ``path``, then rename: a crash never leaves half a file.
    Weights or optimizer state holding NaN/inf are refused (ModelError), so a checkpoint on disk is
    always one a run can fall back on."""
    bad = nonfinite({k: state[k] for k in ("model", "optimizer") if k in state})
    if bad:  # the trainer stops before this; a checkpoint is what a diverged run falls back on
        raise ModelError("refusing to write a checkpoint with non-finite numbers (NaN or inf)",
                         path=os.fspath(path), expected="finite weights and optimizer state",
                         got=", ".join(bad[:5]), fix="keep the previous checkpoint; lower the learning rate")
    state = {"format": FORMAT, **state}
    with atomic_path(path, suffix=".pt") as tmp:
        torch.save(state, tmp)


def load_checkpoint(path: str | os.PathLike, map_location="cpu") -> dict:
    """Load a checkpoint (ours or a bare state_dict) without unpickling arbitrary objects.

    This reads the file as it is; :func:`build_from_checkpoint` and ``--resume`` also refuse
    weights that are not finite (:func:`check_finite`).
    """
    path = os.fspath(path)
    if not os.path.isfile(path):
        raise ModelError("checkpoint not found", path=path, fix="check the path; training writes "
                         "<out>/last.pt and <out>/best.pt")
    ckpt = safe_torch_load(path, map_location, fix="use the last.pt or best.pt written by edgeseg train")
    if not isinstance(ckpt, dict):
        raise ModelError("checkpoint is not a dict", path=path, expected="a dict saved with torch.save",
                         got=type(ckpt).__name__, fix="use the last.pt or best.pt written by edgeseg train")
    return ckpt


def checkpoint_meta(ckpt: dict, path: str = "<checkpoint>") -> ModelMeta:
    if "meta" not in ckpt:
        raise ModelError("checkpoint carries no model meta", path=path,
                         expected="a checkpoint written by edgeseg train",
                         got=f"keys {sorted(ckpt)[:6]}",
                         fix="train with edgeseg train, or wrap the state_dict with edgeseg's meta")
    return ModelMeta.from_dict(ckpt["meta"], path)


def build_from_checkpoint(ckpt: dict | str, *, eval_mode: bool = True):
    """Rebuild the model a checkpoint describes and load its weights; returns (model, meta).

    Weights that do not fit the model or are not finite raise ModelError naming the file.
    """
    from ..models import build_model
    path = "<checkpoint>"
    if not isinstance(ckpt, dict):
        path, ckpt = os.fspath(ckpt), load_checkpoint(ckpt)
    meta = checkpoint_meta(ckpt, path)
    args = dict(ckpt.get("model_args", {}))
    model = build_model(meta.model, num_classes=meta.num_classes, **args)
    if not isinstance(ckpt.get("model"), dict):
        raise ModelError("checkpoint carries no weights", path=path, expected="a 'model' state_dict",
                         got=f"keys {sorted(ckpt)[:6]}", fix="use the last.pt or best.pt written by edgeseg train")
    load_state_into(model, ckpt["model"], path)
    return (model.eval() if eval_mode else model), meta


def rng_state() -> dict:
    """Python, numpy and torch RNG states as weights_only-safe values."""
    np_state = np.random.get_state()
    return {"python": list(_tuple_to_list(random.getstate())),
            "numpy": [np_state[0], np_state[1].tolist(), *np_state[2:]],
            "torch": torch.get_rng_state()}


def set_rng_state(state: dict) -> None:
    random.setstate(_list_to_tuple(state["python"]))
    n = state["numpy"]
    np.random.set_state((n[0], np.asarray(n[1], dtype=np.uint32), *n[2:]))
    torch.set_rng_state(state["torch"])


def _tuple_to_list(x):
    return [_tuple_to_list(i) for i in x] if isinstance(x, (tuple, list)) else x


def _list_to_tuple(x):
    return tuple(_list_to_tuple(i) for i in x) if isinstance(x, list) else x
