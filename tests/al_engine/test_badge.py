"""BADGE: factored gradient distances equal explicit gradient embeddings."""

from __future__ import annotations

import numpy as np
import torch

from al_engine import get_strategy
from al_engine.badge import badge_select


def gradient_embeddings(probs: np.ndarray, emb: np.ndarray) -> np.ndarray:
    a = probs.copy()
    a[np.arange(len(a)), probs.argmax(axis=1)] -= 1.0
    return (a[:, :, None] * emb[:, None, :]).reshape(len(a), -1)


def brute_badge(g: np.ndarray, k: int, rng: np.random.Generator) -> list[int]:
    picks = [int(np.argmax((g**2).sum(axis=1)))]
    mind = np.full(len(g), np.inf)
    for _ in range(k - 1):
        mind = np.minimum(mind, ((g - g[picks[-1]]) ** 2).sum(axis=1))
        mind[picks] = 0.0
        j = int(np.searchsorted(np.cumsum(mind), rng.random() * mind.sum(), side="right"))
        picks.append(j)
    return picks


def test_same_picks_as_explicit_gradient_embeddings():
    rng = np.random.default_rng(0)
    probs = rng.dirichlet(np.ones(3), size=50)
    emb = rng.standard_normal((50, 4))
    got, _ = badge_select(
        torch.as_tensor(probs), torch.as_tensor(emb), torch.ones(50, dtype=torch.bool), 10,
        np.random.default_rng(5),
    )  # fmt: skip
    expected = brute_badge(gradient_embeddings(probs, emb), 10, np.random.default_rng(5))
    assert got.tolist() == expected


def test_first_pick_has_the_largest_gradient_and_labeled_rows_are_skipped():
    probs = np.array([[0.99, 0.01], [0.5, 0.5], [0.6, 0.4], [0.5, 0.5]])
    emb = np.array([[1.0], [1.0], [1.0], [3.0]])
    mask = np.array([False, False, False, True])
    sel = get_strategy("badge").select(
        2, probs=probs, embeddings=emb, labeled_mask=mask, random_state=0
    )
    assert sel.indices[0] == 1
    assert 3 not in sel.indices.tolist()
