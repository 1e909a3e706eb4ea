"""Temporal smoothing of network outputs, for labels that do not flicker between frames.

Logits models: an exponential moving average of the per-class softmax scores, with the weight
of an N-frame moving average (alpha = 2 / (N + 1)); labels models (ArgMax in the graph): the
majority over the last N label maps. Both work at network size, before the resize to the frame,
so they cost little. ``smooth=0`` (or 1) turns smoothing off.

>>> import numpy as np
>>> s = Smoother(3)
>>> a = np.array([[[2.0]], [[0.0]]]); b = np.array([[[0.0]], [[1.0]]])
>>> int(s(a).argmax(0)[0, 0]), int(s(b).argmax(0)[0, 0])  # one contrary frame does not flip it
(0, 0)
>>> m = Smoother(3, labels=True)
>>> [int(m(np.full((1, 1), v))[0, 0]) for v in (1, 1, 2)]
[1, 1, 1]
"""

from __future__ import annotations

import collections

import numpy as np

from ..errors import ConfigError
from ..postprocess import softmax


class Smoother:
    """``Smoother(n, labels=False, probs=False)``; call it on each network output (CxHxW logits,
    CxHxW probabilities with ``probs``, or HxW ids with ``labels``)."""

    def __init__(self, n: int, labels: bool = False, probs: bool = False):
        if n < 0:
            raise ConfigError("smoothing window must be >= 0", got=n)
        self.n, self.labels, self.probs = int(n), labels, probs
        self.alpha = 2.0 / (self.n + 1)
        self._ema: np.ndarray | None = None
        self._history: collections.deque = collections.deque(maxlen=max(self.n, 1))

    def __call__(self, out: np.ndarray) -> np.ndarray:
        if self.n <= 1:
            return out
        if self.labels:
            return self._majority(out)
        # a graph that ends in Softmax: a second softmax would flatten the average toward uniform
        p = out.astype(np.float32, copy=False) if self.probs else softmax(out)
        if self._ema is None or self._ema.shape != p.shape:
            self._ema = p
        else:
            self._ema = self.alpha * p + (1.0 - self.alpha) * self._ema
        return self._ema

    def _majority(self, labels: np.ndarray) -> np.ndarray:
        if self._history and self._history[-1].shape != labels.shape:
            self._history.clear()
        self._history.append(labels)
        k = max(int(lab.max()) for lab in self._history) + 1
        votes = np.zeros((k,) + labels.shape, np.int32)
        for lab in self._history:  # ties go to the lower id: stable over time
            for c in range(k):
                votes[c] += lab == c
        return votes.argmax(0).astype(labels.dtype)

    def reset(self) -> None:
        self._ema = None
        self._history.clear()
