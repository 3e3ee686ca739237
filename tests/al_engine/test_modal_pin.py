"""modAL's ActiveLearner.teach still works with the installed scikit-learn.

modAL 0.4.2.1 passes ``force_all_finite=`` to ``check_X_y``; scikit-learn 1.8 removed it, so
this test fails loudly if the ``scikit-learn<1.8`` pin in pyproject.toml is ever lifted.
"""

from __future__ import annotations

import numpy as np
from modAL.models import ActiveLearner
from modAL.uncertainty import margin_sampling
from sklearn.datasets import load_digits
from sklearn.linear_model import LogisticRegression


def test_active_learner_teach_round_trip():
    x, y = load_digits(return_X_y=True)
    x = x / 16.0
    learner = ActiveLearner(
        estimator=LogisticRegression(max_iter=200),
        query_strategy=margin_sampling,
        X_training=x[:30],
        y_training=y[:30],
    )
    before = learner.score(x[1000:], y[1000:])
    idx, _ = learner.query(x[30:1000], n_instances=50)
    learner.teach(x[30:1000][idx], y[30:1000][idx])
    assert learner.X_training.shape == (80, 64)
    assert np.array_equal(learner.y_training[30:], y[30:1000][idx])
    assert learner.score(x[1000:], y[1000:]) > before
