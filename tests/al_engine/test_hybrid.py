"""hybrid: uncertain candidates first, then a diverse batch among them."""

from __future__ import annotations

import numpy as np
import pytest

from al_engine import get_strategy


def redundant_pool():
    """Ten near-copies of one very uncertain row, and distinct slightly less uncertain rows."""
    rng = np.random.default_rng(0)
    dup = np.zeros((10, 2)) + 1e-3 * rng.standard_normal((10, 2))
    spread = rng.uniform(-5, 5, size=(30, 2))
    emb = np.vstack([dup, spread])
    probs = np.vstack([np.tile([0.5, 0.5], (10, 1)), np.tile([0.6, 0.4], (30, 1))])
    return emb, probs


@pytest.mark.parametrize("diversity", ["kcenter", "cluster"])
def test_batch_is_not_all_near_duplicates(diversity):
    emb, probs = redundant_pool()
    plain = get_strategy("margin").select(5, probs=probs, labeled_mask=np.zeros(40, bool))
    assert set(plain.indices.tolist()) <= set(range(10))  # top-k: five copies of the same row
    sel = get_strategy("hybrid", diversity=diversity, candidates=8).select(
        5, probs=probs, embeddings=emb, labeled_mask=np.zeros(40, bool), random_state=0
    )
    assert sum(i < 10 for i in sel.indices) <= 2


def test_candidates_come_from_the_top_scores():
    emb, probs = redundant_pool()
    probs[30:] = [0.99, 0.01]  # rows 30.. are certain: never candidates with M = 2 * 5
    sel = get_strategy("hybrid", candidates=2).select(
        5, probs=probs, embeddings=emb, labeled_mask=np.zeros(40, bool)
    )
    assert max(sel.indices) < 30


def test_committee_score_needs_committee_probs():
    emb, probs = redundant_pool()
    strategy = get_strategy("hybrid", score="bald")
    with pytest.raises(ValueError, match="needs committee_probs"):
        strategy.select(3, probs=probs, embeddings=emb, labeled_mask=np.zeros(40, bool))
    cp = np.stack([probs, probs[:, ::-1]])
    sel = strategy.select(3, committee_probs=cp, embeddings=emb, labeled_mask=np.zeros(40, bool))
    assert len(sel) == 3
