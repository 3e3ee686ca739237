"""Cohen's and Fleiss' kappa, checked against scikit-learn and a published example."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn.metrics import cohen_kappa_score

from labeling.models import Annotation
from labeling.selectors.agreement import cohen_kappa, fleiss_kappa, project_agreement


@pytest.mark.filterwarnings("ignore:invalid value encountered:RuntimeWarning")
@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 3), st.integers(0, 3)), min_size=2, max_size=40))
def test_cohen_kappa_matches_scikit_learn(pairs):
    a, b = [p[0] for p in pairs], [p[1] for p in pairs]
    expected = cohen_kappa_score(a, b, labels=[0, 1, 2, 3])
    if np.isnan(expected):
        assert cohen_kappa(a, b, 4) in (0.0, 1.0)
    else:
        assert cohen_kappa(a, b, 4) == pytest.approx(expected)


def test_cohen_kappa_of_identical_single_class_labels_is_one():
    assert cohen_kappa([1, 1, 1], [1, 1, 1], 3) == 1.0


def test_fleiss_kappa_matches_the_published_example():
    # Fleiss (1971) as worked on Wikipedia: 10 subjects, 14 raters, 5 categories, kappa 0.210.
    table = np.array(
        [
            [0, 0, 0, 0, 14],
            [0, 2, 6, 4, 2],
            [0, 0, 3, 5, 6],
            [0, 3, 9, 2, 0],
            [2, 2, 8, 1, 1],
            [7, 7, 0, 0, 0],
            [3, 2, 6, 3, 0],
            [2, 5, 3, 2, 2],
            [6, 5, 2, 1, 0],
            [0, 2, 2, 3, 7],
        ]
    )
    assert fleiss_kappa(table) == pytest.approx(0.20993, abs=1e-4)
    assert fleiss_kappa(np.zeros((0, 3))) is None


def test_project_agreement(project, annotator, annotator2, queued):
    for i, sample in enumerate(queued[:6]):
        Annotation.objects.create(sample=sample, annotator=annotator, label=i % 3)
        Annotation.objects.create(sample=sample, annotator=annotator2, label=i % 3 if i else 1)
    Annotation.objects.create(sample=queued[7], annotator=annotator, label=0)
    result = project_agreement(project=project)
    assert result.n_items == 6 and result.n_disagreements == 1
    a = [i % 3 for i in range(6)]
    b = [1] + a[1:]
    assert result.pairs == [
        {"a": "ann", "b": "bob", "n": 6, "kappa": round(cohen_kappa_score(a, b), 4)}
    ]
    assert result.fleiss is not None and 0 < result.fleiss < 1
