"""TypiClust picks the dense centres of uncovered clusters."""

from __future__ import annotations

import numpy as np
import torch

from al_engine import get_strategy
from al_engine.typiclust import typicality


def blobs(rng, centers, sizes, spread=0.3):
    x = np.vstack(
        [c + spread * rng.standard_normal((s, len(c))) for c, s in zip(centers, sizes, strict=True)]
    )
    y = np.repeat(np.arange(len(centers)), sizes)
    return x, y


def test_one_typical_row_per_blob_on_cold_start():
    rng = np.random.default_rng(0)
    x, y = blobs(rng, [(0, 0), (10, 0), (0, 10), (10, 10)], [60, 50, 40, 30])
    sel = get_strategy("typiclust").select(
        4, embeddings=x, labeled_mask=np.zeros(len(x), bool), random_state=0
    )
    assert sorted(y[sel.indices].tolist()) == [0, 1, 2, 3]
    assert y[sel.indices[0]] == 0  # the largest cluster first
    for i in sel.indices:  # each pick is near its blob's centre, not on the edge
        centre = x[y == y[i]].mean(axis=0)
        assert np.linalg.norm(x[i] - centre) < 0.45


def test_covered_clusters_come_after_uncovered_ones():
    rng = np.random.default_rng(1)
    x, y = blobs(rng, [(0, 0), (10, 0), (0, 10)], [50, 50, 50])
    mask = np.zeros(len(x), bool)
    mask[[0, 1, 50]] = True  # blobs 0 and 1 are covered
    sel = get_strategy("typiclust", max_clusters=3).select(
        1, embeddings=x, labeled_mask=mask, random_state=0
    )
    assert y[sel.indices[0]] == 2


def test_typicality_is_inverse_mean_knn_distance():
    x = torch.tensor([[0.0], [1.0], [3.0]], dtype=torch.float64)
    t = typicality(x, neighbors=1).numpy()
    np.testing.assert_allclose(t, 1.0 / (np.array([1.0, 1.0, 2.0]) + 1e-5))
