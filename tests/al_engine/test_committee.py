"""Committee measures equal modAL's (a Committee of fixed-output learners); BALD equals a direct
computation of the mutual information."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from modAL.disagreement import (
    KL_max_disagreement,
    consensus_entropy,
    consensus_entropy_sampling,
    max_disagreement_sampling,
    vote_entropy,
    vote_entropy_sampling,
)

from al_engine import get_strategy
from tests.al_engine.modal_fakes import (
    assert_same_up_to_ties,
    committee_of,
    committee_probs,
    row_ids,
)
from tests.al_engine.paths import PATHS, engine_path

CASES = [
    ("vote_entropy", vote_entropy, vote_entropy_sampling),
    ("consensus_entropy", consensus_entropy, consensus_entropy_sampling),
    ("max_disagreement", KL_max_disagreement, max_disagreement_sampling),
]


@pytest.mark.parametrize("path", PATHS)
@pytest.mark.parametrize(("name", "measure", "sampling"), CASES)
@settings(max_examples=30, deadline=None)
@given(cp=committee_probs(), n_frac=st.floats(0.01, 1.0))
def test_scores_and_selection_match_modal(name, measure, sampling, path, cp, n_frac):
    n_rows = cp.shape[1]
    n = max(1, int(n_frac * n_rows))
    committee, X = committee_of(cp), row_ids(n_rows)
    ref_all = measure(committee, X)
    ref_idx, _ = sampling(committee, X, n_instances=n)

    with engine_path(path):
        sel = get_strategy(name).select(n, committee_probs=cp, labeled_mask=np.zeros(n_rows, bool))

    np.testing.assert_allclose(sel.scores, ref_all[sel.indices], rtol=1e-9, atol=1e-12)
    assert_same_up_to_ties(sel.indices, sel.scores, ref_idx, ref_all)


def _entropy(p: np.ndarray, axis: int = -1) -> np.ndarray:
    with np.errstate(divide="ignore", invalid="ignore"):
        return -np.nansum(np.where(p > 0, p * np.log(p), 0.0), axis=axis)


@settings(max_examples=30, deadline=None)
@given(cp=committee_probs())
def test_bald_is_the_mutual_information(cp):
    n_rows = cp.shape[1]
    expected = _entropy(cp.mean(axis=0)) - _entropy(cp).mean(axis=0)
    sel = get_strategy("bald").select(
        n_rows, committee_probs=cp, labeled_mask=np.zeros(n_rows, bool)
    )
    np.testing.assert_allclose(sel.scores, expected[sel.indices], rtol=1e-9, atol=1e-12)
    assert np.all(np.diff(sel.scores) <= 0)


def test_bald_is_zero_when_members_agree_and_high_when_confident_members_disagree():
    agree = np.array([[0.5, 0.5]] * 4)  # uncertain but identical: no information to gain
    split = np.array([[1.0, 0.0], [0.0, 1.0]] * 2)  # each sure, they disagree
    cp = np.stack([agree, split], axis=1)  # [4 members, 2 rows, 2 classes]
    sel = get_strategy("bald").select(2, committee_probs=cp, labeled_mask=np.zeros(2, bool))
    assert sel.indices.tolist() == [1, 0]
    np.testing.assert_allclose(sel.scores, [np.log(2), 0.0], atol=1e-12)


def test_mean_kl_option():
    rng = np.random.default_rng(3)
    cp = rng.dirichlet(np.ones(3), size=(4, 20))
    q = cp.mean(axis=0)
    kl = (cp * np.log(cp / q)).sum(axis=2)
    sel = get_strategy("max_disagreement", reduce="mean").select(
        20, committee_probs=cp, labeled_mask=np.zeros(20, bool)
    )
    np.testing.assert_allclose(sel.scores, kl.mean(axis=0)[sel.indices], rtol=1e-9)


def test_vote_entropy_marks_nan_rows_last():
    cp = np.full((3, 4, 2), 0.5)
    cp[:, 1] = [[1.0, 0.0], [0.0, 1.0], [1.0, 0.0]]
    cp[0, 2, 0] = np.nan
    sel = get_strategy("vote_entropy").select(4, committee_probs=cp, labeled_mask=np.zeros(4, bool))
    assert sel.indices[0] == 1
    assert sel.indices[-1] == 2 and sel.scores[-1] == -np.inf
