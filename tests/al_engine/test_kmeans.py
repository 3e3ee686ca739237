"""k-means++ seeding and Lloyd's k-means, and the blocked distances under them."""

from __future__ import annotations

import numpy as np
import torch

from al_engine.distances import min_sq_dist
from al_engine.kmeans import kmeans, kmeans_pp


def test_min_sq_dist_equals_brute_force_across_blocks(monkeypatch):
    rng = np.random.default_rng(0)
    x, c = rng.standard_normal((50, 3)), rng.standard_normal((9, 3))
    monkeypatch.setattr("al_engine.distances.BLOCK_ELEMENTS", 20)
    d, idx = min_sq_dist(torch.as_tensor(x), torch.as_tensor(c))
    full = ((x[:, None] - c[None]) ** 2).sum(-1)
    np.testing.assert_allclose(d.numpy(), full.min(1), atol=1e-12)
    assert idx.tolist() == full.argmin(1).tolist()


def test_kmeans_recovers_separated_blobs():
    rng = np.random.default_rng(1)
    centers = np.array([[0, 0], [20, 0], [0, 20], [20, 20]], dtype=float)
    y = rng.integers(0, 4, 400)
    x = centers[y] + rng.standard_normal((400, 2))
    _, labels = kmeans(torch.as_tensor(x), 4, np.random.default_rng(0))
    labels = labels.numpy()
    for k in range(4):  # each found cluster is one true blob
        assert len(set(y[labels == k].tolist())) == 1


def test_kmeans_pp_gives_distinct_seeds_even_with_duplicates():
    x = torch.as_tensor(np.repeat(np.eye(3), 5, axis=0))
    seeds = kmeans_pp(x, 5, np.random.default_rng(0))
    assert len(set(seeds.tolist())) == 5
    assert len({tuple(x[i].tolist()) for i in seeds[:3]}) == 3  # the 3 distinct points first
