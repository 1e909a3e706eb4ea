"""Activation ranges from calibration data: min/max, percentile and entropy (KL) thresholds.

One streaming collector per tensor keeps the true min/max and a histogram of |x| whose bin
width is fixed by the first batch and which grows (merging bins when it gets long) as larger
values arrive, as TensorRT's and pytorch-quantization's histogram calibrators do. Memory is one
image's activations plus a few thousand bins per tensor, whatever the set's size.

>>> import numpy as np
>>> h = RangeCollector()
>>> h.add(np.concatenate([np.random.default_rng(0).normal(0, 1, 100000), [50.0]]))
>>> lo, hi = h.range("minmax"); round(hi, 1)
50.0
>>> 3.0 < h.range("percentile", percentile=99.9)[1] < 4.0
True
>>> h.range("entropy")[1] < 10
True
"""

from __future__ import annotations

import numpy as np

_MAX_GROWTH = 8  # once the histogram is this many times num_bins long, merge pairs of bins


class RangeCollector:
    def __init__(self, num_bins: int = 2048):
        self.num_bins = num_bins
        self.lo, self.hi = np.inf, -np.inf
        self.hist: np.ndarray | None = None
        self.width = 0.0
        self.pooled = False  # a 1x1 spatial tensor: a squeeze-excitation gate or pooled vector

    def add(self, x: np.ndarray) -> None:
        x = np.asarray(x, dtype=np.float32)
        if x.ndim == 4 and x.shape[2] * x.shape[3] == 1:
            self.pooled = True
        x = x.ravel()
        if x.size == 0:
            return
        self.lo, self.hi = min(self.lo, float(x.min())), max(self.hi, float(x.max()))
        a = np.abs(x)
        amax = float(a.max())
        if self.hist is None:
            self.width = max(amax, 1e-12) / self.num_bins
            self.hist = np.zeros(self.num_bins, np.int64)
        need = int(np.ceil(amax / self.width)) if amax > 0 else 1
        while need > _MAX_GROWTH * self.num_bins:  # coarsen instead of growing without bound
            if len(self.hist) % 2:
                self.hist = np.append(self.hist, 0)
            self.hist = self.hist.reshape(-1, 2).sum(1)
            self.width *= 2
            need = int(np.ceil(amax / self.width))
        if need > len(self.hist):
            self.hist = np.concatenate([self.hist, np.zeros(need - len(self.hist), np.int64)])
        idx = np.minimum((a / self.width).astype(np.int64), len(self.hist) - 1)
        self.hist += np.bincount(idx, minlength=len(self.hist))

    def threshold(self, method: str, percentile: float = 99.99, num_quantized_bins: int = 128) -> float:
        """The |x| clipping threshold for ``method`` (``minmax``: the largest |x|).

        Pooled 1x1 tensors (squeeze-excitation gates, image-pooling branches) keep their full
        range whatever the method: their tail comes from a few values per image, and clipping
        one channel of a gate rescales a whole feature map. On MobileNetV3-Small,
        entropy-clipping the first SE block alone cost 23 mIoU points.
        """
        if self.hist is None:
            return 0.0
        amax = max(abs(self.lo), abs(self.hi))
        if method == "minmax" or self.pooled:
            return amax
        if method == "percentile":
            cdf = np.cumsum(self.hist) / max(1, self.hist.sum())
            i = int(np.searchsorted(cdf, percentile / 100.0))
            return min(amax, (i + 1) * self.width)
        if method == "entropy":
            # Search at TensorRT's resolution: at most num_bins bins over the whole range.
            hist, width = self.hist, self.width
            k = -(-len(hist) // self.num_bins)
            if k > 1:
                hist = np.pad(hist, (0, (-len(hist)) % k)).reshape(-1, k).sum(1)
                width *= k
            return min(amax, entropy_threshold(hist, num_quantized_bins) * width)
        raise ValueError(method)

    def range(self, method: str, **kw) -> tuple[float, float]:
        """(rmin, rmax): the observed range clipped to ``±threshold``."""
        if self.hist is None:
            return 0.0, 0.0
        t = self.threshold(method, **kw)
        return max(self.lo, -t), min(self.hi, t)


def entropy_threshold(hist: np.ndarray, num_quantized_bins: int = 128, candidates: int | None = None) -> int:
    """TensorRT's KL-divergence calibration: the number of histogram bins to keep such that
    quantizing them to ``num_quantized_bins`` levels loses the least information.

    Every cut-off is tried (``candidates=None``), as TensorRT does: the KL curve has local
    minima, and a coarse grid missed the optimum by 15% on heavy-tailed activations. The loop
    body is vectorised, so 2048 bins take about a tenth of a second. ``candidates=N`` gives a
    coarse grid plus a bin-by-bin refinement around its best, for quick looks.
    """
    hist = np.asarray(hist, dtype=np.float64)
    nz = np.nonzero(hist)[0]
    if nz.size == 0:
        return len(hist)
    n = int(nz[-1]) + 1
    if n <= num_quantized_bins:
        return n
    step = 1 if candidates is None else max(1, (n - num_quantized_bins) // candidates)
    best_i, best_kl = _search(hist, range(num_quantized_bins, n + 1, step), num_quantized_bins)
    if step > 1:  # refine around the coarse optimum bin by bin
        lo, hi = max(num_quantized_bins, best_i - step), min(n, best_i + step)
        fine_i, fine_kl = _search(hist, range(lo, hi + 1), num_quantized_bins)
        if fine_kl <= best_kl:
            best_i = fine_i
    return best_i


def _search(hist: np.ndarray, cutoffs, num_quantized_bins: int) -> tuple[int, float]:
    """The cut-off in ``cutoffs`` with the least KL divergence, and that divergence."""
    best_i, best_kl = (cutoffs[-1] if len(cutoffs) else len(hist)), np.inf
    for i in cutoffs:
        p = hist[:i].copy()
        p[i - 1] += hist[i:].sum()                      # clipped outliers pile into the last bin
        # Source bin j belongs to level floor(j * levels / i), as in TensorRT and
        # pytorch-quantization (np.digitize over linspace): level k starts at ceil(k * i / levels).
        edges = np.ceil(np.linspace(0, i, num_quantized_bins + 1) - 1e-9).astype(np.int64)
        starts = edges[:-1]
        used = hist[:i] > 0
        sums = np.add.reduceat(hist[:i], starts)
        counts = np.add.reduceat(used.astype(np.float64), starts)
        per = np.divide(sums, counts, out=np.zeros_like(sums), where=counts > 0)
        q = np.repeat(per, np.diff(edges)) * used        # expand back; empty bins stay empty
        ps, qs = p.sum(), q.sum()
        if ps == 0 or qs == 0:
            continue
        p /= ps
        q /= qs
        m = p > 0
        with np.errstate(divide="ignore"):
            kl = float(np.sum(p[m] * np.log(p[m] / q[m])))  # q == 0 where p > 0: infinite, as in TensorRT
        if kl < best_kl:
            best_kl, best_i = kl, i
    return best_i, best_kl
