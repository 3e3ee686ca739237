"""Uncertainty measures equal modAL's on the same probabilities, and select the same rows."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from modAL.uncertainty import (
    classifier_entropy,
    classifier_margin,
    classifier_uncertainty,
    entropy_sampling,
    margin_sampling,
    uncertainty_sampling,
)

from al_engine import get_strategy, uncertainty
from tests.al_engine.modal_fakes import assert_same_up_to_ties, fitted, prob_matrices, row_ids
from tests.al_engine.paths import PATHS, engine_path

# (our name, modAL measure, modAL sampling, our score as a function of modAL's)
CASES = [
    ("least_confident", classifier_uncertainty, uncertainty_sampling, lambda v: v),
    ("margin", classifier_margin, margin_sampling, lambda v: 1.0 - v),
    ("entropy", classifier_entropy, entropy_sampling, lambda v: v),
]


@pytest.mark.parametrize("path", PATHS)
@pytest.mark.parametrize(("name", "measure", "sampling", "to_ours"), CASES)
@settings(max_examples=30, deadline=None)
@given(probs=prob_matrices(), n_frac=st.floats(0.01, 1.0))
def test_scores_and_selection_match_modal(name, measure, sampling, to_ours, path, probs, n_frac):
    n_rows = probs.shape[0]
    n = max(1, int(n_frac * n_rows))
    clf, X = fitted(probs), row_ids(n_rows)
    ref_all = to_ours(measure(clf, X))
    ref_idx, _ = sampling(clf, X, n_instances=n)

    with engine_path(path):
        sel = get_strategy(name).select(n, probs=probs, labeled_mask=np.zeros(n_rows, bool))

    # every score equals modAL's measure on the same row
    np.testing.assert_allclose(sel.scores, ref_all[sel.indices], rtol=1e-9, atol=1e-12)
    assert_same_up_to_ties(sel.indices, sel.scores, ref_idx, ref_all)
    assert np.all(np.diff(sel.scores) <= 0), "best first"


@pytest.mark.parametrize("name", ["least_confident", "margin", "entropy"])
@settings(max_examples=20, deadline=None)
@given(probs=prob_matrices(max_rows=30), data=st.data())
def test_labeled_rows_are_never_selected(name, probs, data):
    n_rows = probs.shape[0]
    mask = np.asarray(data.draw(st.lists(st.booleans(), min_size=n_rows, max_size=n_rows)))
    if mask.all():
        mask[0] = False
    pool = np.flatnonzero(~mask)
    sel = get_strategy(name).select(n_rows, probs=probs, labeled_mask=mask)
    assert sorted(sel.indices.tolist()) == pool.tolist()


def test_float32_probs_give_float64_scores():
    probs = np.array([[0.7, 0.3], [0.5, 0.5], [0.9, 0.1]], dtype=np.float32)
    sel = get_strategy("margin").select(2, probs=probs, labeled_mask=np.zeros(3, bool))
    assert sel.indices.dtype == np.int64 and sel.scores.dtype == np.float64
    assert sel.indices.tolist() == [1, 0]
    np.testing.assert_allclose(sel.scores, [1.0, 0.6], rtol=1e-6)


def test_single_class_margin_is_zero():
    sel = get_strategy("margin").select(2, probs=np.ones((3, 1)), labeled_mask=np.zeros(3, bool))
    assert sel.scores.tolist() == [0.0, 0.0]
    assert sel.indices.tolist() == [0, 1]


@pytest.mark.parametrize(
    "fn", ["least_confident", "margin", "least_confident_float32", "margin_float32"]
)
def test_the_torch_column_pass_for_cuda_gives_the_numpy_one(fn, monkeypatch):
    rng = np.random.default_rng(2)
    probs = rng.dirichlet(np.ones(7), size=5000)
    probs[::9] = np.round(probs[::9], 1)  # ties for first and second place
    probs[10, 3] = np.nan
    probs[11] = [2.0, 1.5, -1.0, 0, 0, 0, 0]  # not probabilities: NaN in the float32 screen
    data = torch.as_tensor(probs)
    with engine_path("screened"):  # chunks of a few rows on threads, as on a big pool
        want = getattr(uncertainty, fn)(data)
        monkeypatch.setattr(uncertainty, "NUMPY_ON_CPU", False)
        got = getattr(uncertainty, fn)(data)
    torch.testing.assert_close(got, want, rtol=0, atol=0, equal_nan=True)
    assert want.dtype == (torch.float32 if fn.endswith("float32") else torch.float64)
    assert bool(torch.isnan(want[10]))
    assert bool(torch.isnan(want[11])) is (fn == "margin_float32")
