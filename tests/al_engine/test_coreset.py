"""Core-set equals a brute-force greedy k-center on small inputs."""

from __future__ import annotations

import numpy as np
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from al_engine import get_strategy
from al_engine.coreset import kcenter_greedy


def brute_kcenter(x: np.ndarray, labeled: np.ndarray, k: int) -> list[int]:
    d = np.sqrt(((x[:, None, :] - x[None, :, :]) ** 2).sum(-1))  # fine: tiny inputs only
    mind = d[:, labeled].min(axis=1)
    picks: list[int] = []
    for _ in range(k):
        score = np.where(labeled, -np.inf, mind)
        score[picks] = -np.inf
        j = int(np.argmax(score))
        picks.append(j)
        mind = np.minimum(mind, d[:, j])
    return picks


@settings(max_examples=30, deadline=None)
@given(
    n=st.integers(5, 80),
    dim=st.integers(1, 6),
    n_labeled=st.integers(1, 4),
    seed=st.integers(0, 2**31),
    k_frac=st.floats(0.05, 1.0),
)
def test_matches_brute_force_kcenter(n, dim, n_labeled, seed, k_frac):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((n, dim))
    labeled = np.zeros(n, bool)
    labeled[rng.choice(n, n_labeled, replace=False)] = True
    k = max(1, int(k_frac * (n - n_labeled)))
    sel = get_strategy("coreset").select(k, embeddings=x, labeled_mask=labeled)
    assert sel.indices.tolist() == brute_kcenter(x, labeled, k)
    assert np.all(np.diff(sel.scores) <= 1e-12), "each pick is at most as far as the last"


def test_small_blocks_give_the_same_picks():
    rng = np.random.default_rng(0)
    x = torch.as_tensor(rng.standard_normal((300, 4)))
    selectable = torch.ones(300, dtype=torch.bool)
    selectable[:3] = False
    big, _ = kcenter_greedy(x, selectable, ~selectable, 40, block=128)
    small, _ = kcenter_greedy(x, selectable, ~selectable, 40, block=1)
    assert big.tolist() == small.tolist()


def test_cold_start_begins_near_the_mean_then_spreads():
    x = np.array([[0.0, 0.0], [0.1, 0.0], [5.0, 0.0], [-5.0, 0.0], [0.0, 3.0]])
    sel = get_strategy("coreset").select(3, embeddings=x, labeled_mask=np.zeros(5, bool))
    # mean is (0.02, 0.6): row 0 is nearest; then the farthest (rows 2 and 3 tie, lower index)
    assert sel.indices.tolist() == [0, 2, 3]


def test_non_finite_embeddings_come_last():
    x = np.array([[0.0, 0.0], [1.0, 1.0], [np.nan, 0.0], [3.0, 3.0]])
    mask = np.array([True, False, False, False])
    sel = get_strategy("coreset").select(3, embeddings=x, labeled_mask=mask)
    assert sel.indices.tolist() == [3, 1, 2]
    assert sel.scores[-1] == -np.inf
