"""A torch model as a numpy predictor, for evaluation and as the reference backend.

>>> import numpy as np, torch
>>> class Tiny(torch.nn.Module):
...     def forward(self, x): return {"out": torch.cat([x[:, :1], -x[:, :1]], 1)}
>>> TorchPredictor(Tiny())(np.zeros((1, 3, 4, 4), np.float32)).shape
(1, 2, 4, 4)
"""

from __future__ import annotations

import numpy as np
import torch


class TorchPredictor:
    """Callable ``NCHW float32 numpy -> NCHW logits numpy`` around an eval-mode model."""

    def __init__(self, model: torch.nn.Module, device: str | torch.device = "cpu",
                 channels_last: bool = False):
        self.model, self.device = model, torch.device(device)
        self.memory_format = torch.channels_last if channels_last else torch.contiguous_format

    def __call__(self, batch: np.ndarray) -> np.ndarray:
        was_training = self.model.training
        self.model.eval()
        try:
            with torch.inference_mode():
                x = torch.from_numpy(np.ascontiguousarray(batch)).to(self.device)
                x = x.contiguous(memory_format=self.memory_format)
                out = self.model(x)
                out = out["out"] if isinstance(out, dict) else out
                return out.float().cpu().numpy()
        finally:
            self.model.train(was_training)
