"""Fixed-output estimators so modAL's own query functions run on given probabilities."""

from __future__ import annotations

import numpy as np
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays
from modAL.models import ActiveLearner, Committee
from sklearn.base import BaseEstimator, ClassifierMixin


class FixedProba(ClassifierMixin, BaseEstimator):
    """predict_proba(X) returns ``proba[X[:, 0]]``: X holds row numbers (or is ``pool`` itself)."""

    def __init__(self, proba=None, pool=None):
        self.proba = proba
        self.pool = pool

    def fit(self, X, y):
        self.classes_ = np.arange(self.proba.shape[1])
        return self

    def _rows(self, X):
        if self.pool is not None and X.shape == self.pool.shape and np.array_equal(X, self.pool):
            return np.arange(X.shape[0])
        return np.asarray(X)[:, 0].astype(int)

    def predict_proba(self, X):
        return self.proba[self._rows(X)]

    def predict(self, X):
        return self.classes_[np.argmax(self.predict_proba(X), axis=1)]


def fitted(proba, pool=None) -> FixedProba:
    return FixedProba(proba, pool).fit(None, None)


def row_ids(n: int) -> np.ndarray:
    return np.arange(n, dtype=float)[:, None]


def committee_of(cp: np.ndarray) -> Committee:
    """A modAL Committee whose member i predicts ``cp[i]``."""
    learners = [ActiveLearner(estimator=fitted(cp[i])) for i in range(cp.shape[0])]
    return Committee(learner_list=learners)


def normalize(raw: np.ndarray, axis: int = -1) -> np.ndarray:
    return raw / raw.sum(axis=axis, keepdims=True)


# Probabilities with repeated values (ties) and exact zeros, as hypothesis likes to produce.
_cell = st.one_of(st.just(0.0), st.floats(0.01, 1.0), st.sampled_from([0.25, 0.5, 1.0]))


@st.composite
def prob_matrices(draw, max_rows: int = 40, max_classes: int = 6):
    n = draw(st.integers(1, max_rows))
    c = draw(st.integers(2, max_classes))
    raw = draw(arrays(np.float64, (n, c), elements=_cell))
    raw[:, 0] += 1e-3  # no all-zero row
    return normalize(raw)


@st.composite
def committee_probs(draw, max_members: int = 5, max_rows: int = 30, max_classes: int = 5):
    m = draw(st.integers(2, max_members))
    n = draw(st.integers(1, max_rows))
    c = draw(st.integers(2, max_classes))
    raw = draw(arrays(np.float64, (m, n, c), elements=_cell))
    raw[..., 0] += 1e-3
    return normalize(raw)


def assert_same_up_to_ties(our_idx, our_scores, ref_idx, ref_scores_all, rtol=1e-9):
    """Both picks have the same multiset of scores (so they differ only among equal scores)."""
    np.testing.assert_allclose(
        np.sort(our_scores), np.sort(ref_scores_all[ref_idx]), rtol=rtol, atol=1e-12
    )
    assert len(set(our_idx.tolist())) == len(our_idx)
