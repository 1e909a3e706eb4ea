"""Temporal smoothing: probabilities from a graph that ends in Softmax are averaged as they are."""

import numpy as np

from edgeseg.postprocess import softmax
from edgeseg.runtime.smoothing import Smoother


def test_probabilities_are_not_softmaxed_twice():
    rng = np.random.default_rng(0)
    frames = [softmax(rng.normal(0, 3, (4, 8, 8)).astype(np.float32)) for _ in range(5)]
    probs, logits_path = Smoother(3, probs=True), Smoother(3)
    for p in frames:
        got, flat = probs(p), logits_path(p)
    # The EMA of probabilities stays a distribution as peaked as its inputs; softmax of
    # probabilities (all in 0..1) is close to uniform, which is what the old path averaged.
    assert np.allclose(got.sum(0), 1.0, atol=1e-5)
    assert got.max() > 0.5 and flat.max() < 0.5
    expected = frames[0]
    for p in frames[1:]:
        expected = 0.5 * p + 0.5 * expected
    assert np.allclose(got, expected, atol=1e-6)
