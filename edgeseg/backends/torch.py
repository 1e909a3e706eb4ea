"""Torch backend: an ``edgeseg train`` checkpoint in eager mode, the reference for comparisons.

Train side only: torch is imported when this backend is loaded, never by ``edgeseg.backends``.
"""

from __future__ import annotations

import numpy as np

from ..lazy import require
from .base import Backend, TensorSpec


class TorchBackend(Backend):
    kind = "torch"

    def __init__(self, path: str, device: str = "auto", threads: int | None = None, meta=None):
        torch = require("torch", "the torch reference backend")
        from ..train.checkpoint import build_from_checkpoint
        from ..train.predictor import TorchPredictor
        from ..train.trainer import resolve_device
        if threads:
            torch.set_num_threads(int(threads))
        model, ck_meta = build_from_checkpoint(path)
        meta = meta or ck_meta
        dev = resolve_device(device)
        self._predict = TorchPredictor(model.to(dev), dev)
        self.on_cpu = str(dev).startswith("cpu")
        h, w = meta.input_size
        super().__init__(meta, [TensorSpec("input", (None, 3, None, None), "float32")],
                         [TensorSpec("logits", (None, meta.num_classes, h, w), "float32")], path)

    def _infer(self, batch: np.ndarray) -> np.ndarray:
        return self._predict(batch)
