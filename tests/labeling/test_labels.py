"""The label a sample counts as."""

import pytest

from labeling.models import Adjudication
from labeling.selectors.labels import effective_labels, labeled_count
from tests.factories import AnnotationFactory, SampleFactory, UserFactory

pytestmark = pytest.mark.django_db


def test_majority_tie_and_adjudication(project):
    clear, tie, adjudicated = SampleFactory.create_batch(3, project=project)
    for label in (1, 1, 2):
        AnnotationFactory(sample=clear, label=label)
    for label in (0, 2):
        AnnotationFactory(sample=tie, label=label)
    for label in (0, 0):
        AnnotationFactory(sample=adjudicated, label=label)
    Adjudication.objects.create(sample=adjudicated, label=2, adjudicator=UserFactory())
    assert effective_labels(project=project) == {clear.pk: 1, adjudicated.pk: 2}
    assert labeled_count(project=project) == 3
