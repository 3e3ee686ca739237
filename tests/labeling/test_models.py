"""Database-level guarantees of the data model."""

from __future__ import annotations

import pytest
from django.db import IntegrityError, transaction

from labeling.models import Job
from tests.factories import AnnotationFactory, ProjectFactory, SampleFactory, UserFactory

pytestmark = pytest.mark.django_db


def test_one_annotation_per_sample_and_annotator(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    annotation = AnnotationFactory()
    with pytest.raises(IntegrityError), transaction.atomic():
        AnnotationFactory(sample=annotation.sample, annotator=annotation.annotator, label=1)
    AnnotationFactory(sample=annotation.sample, annotator=UserFactory(), label=1)


def test_sample_hash_unique_within_project_only(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    sample = SampleFactory()
    with pytest.raises(IntegrityError), transaction.atomic():
        SampleFactory(project=sample.project, sha256=sample.sha256)
    SampleFactory(project=ProjectFactory(), sha256=sample.sha256)


def test_database_refuses_second_active_training_job():
    project = ProjectFactory()
    Job.objects.create(project=project, kind=Job.Kind.TRAIN, lock="training")
    with pytest.raises(IntegrityError), transaction.atomic():
        Job.objects.create(project=project, kind=Job.Kind.PRETRAIN, lock="training")
    Job.objects.filter(project=project).update(state=Job.State.SUCCEEDED)
    Job.objects.create(project=project, kind=Job.Kind.PRETRAIN, lock="training")
    Job.objects.create(project=project, kind=Job.Kind.SCORE)
