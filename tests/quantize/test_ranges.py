"""Range calibration: our entropy search against a port of the reference loop, percentile and
min/max on known distributions, and a streaming histogram that grows without losing counts."""

import numpy as np
import pytest

from edgeseg.quantize.ranges import RangeCollector, entropy_threshold


def reference_entropy(bins, nbins=128):
    """pytorch-quantization's ``_compute_amax_entropy`` (TensorRT's legacy entropy calibration),
    ported step for step: every cut-off i, levels by np.digitize over linspace(0, i)."""
    bins = bins.astype(np.float64)
    best, best_kl = None, np.inf
    for i in range(nbins, len(bins) + 1):
        space = np.linspace(0, i, num=nbins + 1)
        d = np.digitize(range(i), space) - 1
        d[bins[:i] == 0] = -1
        counts = np.zeros(nbins)
        np.add.at(counts, d[d != -1], bins[:i][d != -1])
        n = np.bincount(d[d != -1], minlength=nbins)
        counts[n > 0] /= n[n > 0]
        q = np.where(d != -1, counts[np.maximum(d, 0)], 0.0)
        q /= q.sum()
        p = bins[:i].copy()
        p[-1] += bins[i:].sum()
        p /= p.sum()
        m = p > 0
        with np.errstate(divide="ignore"):
            kl = np.sum(p[m] * np.log(p[m] / q[m]))
        if kl < best_kl:
            best, best_kl = i, kl
    return best


@pytest.mark.parametrize("dist", ["relu_normal", "student_t", "bimodal"])
def test_entropy_matches_the_reference_search(dist):
    rng = np.random.default_rng(1)
    x = {"relu_normal": np.maximum(rng.normal(0.3, 1, 100000), 0),
         "student_t": np.abs(rng.standard_t(3, 100000)),
         "bimodal": np.abs(np.concatenate([rng.normal(0, 1, 90000), rng.normal(8, 0.5, 10000)]))}[dist]
    hist, _ = np.histogram(x, bins=1024, range=(0, x.max()))
    assert entropy_threshold(hist) == reference_entropy(hist)


def test_percentile_minmax_and_growth():
    c = RangeCollector(num_bins=512)
    c.add(np.linspace(-1, 1, 10001))          # first batch fixes the bin width
    c.add(np.array([-30.0, 0.0, 100.0]))      # a later, much wider batch: the histogram grows
    assert c.range("minmax") == (-30.0, 100.0)
    assert int(c.hist.sum()) == 10004         # nothing dropped by growing or coarsening
    lo, hi = c.range("percentile", percentile=99.9)
    assert -1.1 < lo and hi < 1.1             # the three outliers are clipped away
    lo, hi = RangeCollector().range("entropy")  # never fed: a zero range, not a crash
    assert (lo, hi) == (0.0, 0.0)


def test_constant_tensor_does_not_break():
    c = RangeCollector()
    c.add(np.zeros(1000))
    c.add(np.full(10, 1e-9))
    for method in ("minmax", "entropy", "percentile"):
        lo, hi = c.range(method)
        assert lo <= hi and hi <= 1e-9 + 1e-15
