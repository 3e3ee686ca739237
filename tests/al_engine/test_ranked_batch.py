"""ranked_batch selects what modAL's uncertainty_batch_sampling selects."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st
from modAL.batch import uncertainty_batch_sampling
from modAL.models import ActiveLearner

from al_engine import get_strategy
from tests.al_engine.modal_fakes import fitted


@settings(max_examples=20, deadline=None)
@given(
    n_pool=st.integers(2, 40),
    n_labeled=st.integers(1, 10),
    dim=st.integers(1, 8),
    classes=st.integers(2, 5),
    seed=st.integers(0, 2**31),
    k_frac=st.floats(0.05, 1.0),
)
def test_matches_modal_uncertainty_batch_sampling(n_pool, n_labeled, dim, classes, seed, k_frac):
    rng = np.random.default_rng(seed)
    x_lab = rng.standard_normal((n_labeled, dim))
    x_pool = rng.standard_normal((n_pool, dim))
    p_pool = rng.dirichlet(np.ones(classes), size=n_pool)
    k = max(1, int(k_frac * n_pool))
    learner = ActiveLearner(
        estimator=fitted(p_pool, pool=x_pool),
        X_training=x_lab,
        y_training=np.zeros(n_labeled, dtype=int),
    )
    ref_idx, _ = uncertainty_batch_sampling(learner, x_pool, n_instances=k)

    # our rows: labeled first, then the pool (so pool row i is row n_labeled + i)
    emb = np.vstack([x_lab, x_pool])
    probs = np.vstack([rng.dirichlet(np.ones(classes), size=n_labeled), p_pool])
    mask = np.r_[np.ones(n_labeled, bool), np.zeros(n_pool, bool)]
    sel = get_strategy("ranked_batch").select(k, probs=probs, embeddings=emb, labeled_mask=mask)

    assert (sel.indices - n_labeled).tolist() == np.asarray(ref_idx).tolist()


def test_cold_start_starts_at_the_most_central_row():
    emb = np.array([[0.0], [1.0], [2.0], [3.0], [10.0]])
    probs = np.full((5, 2), 0.5)
    sel = get_strategy("ranked_batch").select(
        2, probs=probs, embeddings=emb, labeled_mask=np.zeros(5, bool)
    )
    assert sel.indices[0] == 2  # least mean distance to the others
    assert sel.indices[1] == 4  # then the farthest (uncertainty is equal)
