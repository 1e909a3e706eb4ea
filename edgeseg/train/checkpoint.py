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
from ..utils.atomic import atomic_path

FORMAT = "edgeseg-checkpoint/1"


def save_checkpoint(path: str | os.PathLike, state: dict) -> None:
    """torch.save into a temp file beside ``path``, then rename: a crash never leaves half a file."""
    state = {"format": FORMAT, **state}
    with atomic_path(path, suffix=".pt") as tmp:
        torch.save(state, tmp)


def load_checkpoint(path: str | os.PathLike, map_location="cpu") -> dict:
    """Load a checkpoint (ours or a bare state_dict) without unpickling arbitrary objects."""
    path = os.fspath(path)
    if not os.path.isfile(path):
        raise ModelError("checkpoint not found", path=path, fix="check the path; training writes "
                         "<out>/last.pt and <out>/best.pt")
    try:
        return torch.load(path, map_location=map_location, weights_only=True)
    except Exception as exc:  # truncated zip, foreign pickle, ...
        raise ModelError("cannot read checkpoint", path=path, got=f"{type(exc).__name__}: {exc}",
                         fix="the file is truncated or not a torch checkpoint; use last.pt or best.pt "
                             "written by edgeseg train") from exc


def checkpoint_meta(ckpt: dict, path: str = "<checkpoint>") -> ModelMeta:
    if "meta" not in ckpt:
        raise ModelError("checkpoint carries no model meta", path=path,
                         expected="a checkpoint written by edgeseg train",
                         got=f"keys {sorted(ckpt)[:6]}",
                         fix="train with edgeseg train, or wrap the state_dict with edgeseg's meta")
    return ModelMeta.from_dict(ckpt["meta"], path)


def build_from_checkpoint(ckpt: dict | str, *, eval_mode: bool = True):
    """Rebuild the model a checkpoint describes and load its weights; returns (model, meta)."""
    from ..models import build_model
    path = "<checkpoint>"
    if not isinstance(ckpt, dict):
        path, ckpt = os.fspath(ckpt), load_checkpoint(ckpt)
    meta = checkpoint_meta(ckpt, path)
    args = dict(ckpt.get("model_args", {}))
    model = build_model(meta.model, num_classes=meta.num_classes, **args)
    missing, unexpected = model.load_state_dict(ckpt["model"], strict=False)
    if missing or unexpected:
        raise ModelError("checkpoint weights do not fit the model", path=path,
                         expected=f"the state of {meta.model} {args}",
                         got=f"missing {missing[:4]}, unexpected {unexpected[:4]}")
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
