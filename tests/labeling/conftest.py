"""Fixtures for the labeling tests: media in a temporary folder, a small queued project."""

from __future__ import annotations

import pytest

from labeling.models import LoopConfig, Membership
from labeling.services.queue import queue_append
from tests.factories import MembershipFactory, ProjectFactory, SampleFactory


@pytest.fixture(autouse=True)
def _media_root(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"


@pytest.fixture
def project(db):
    project = ProjectFactory()
    LoopConfig.objects.create(project=project, retrain_every=0)
    return project


@pytest.fixture
def annotators(project):
    return [
        MembershipFactory(project=project, role=Membership.Role.ANNOTATOR).user for _ in range(3)
    ]


@pytest.fixture
def queued(project):
    """Ten pool samples queued in creation order."""
    samples = SampleFactory.create_batch(10, project=project)
    queue_append(project=project, sample_ids=[s.pk for s in samples])
    return samples
