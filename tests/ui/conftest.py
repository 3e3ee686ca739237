"""Fixtures for the browser UI's view tests: a project with one member of each role."""

from __future__ import annotations

import pytest

from labeling.models import LoopConfig, Membership
from labeling.services.queue import queue_append
from tests.factories import MembershipFactory, ProjectFactory, SampleFactory, UserFactory

PASSWORD = "correct-horse-battery"


@pytest.fixture(autouse=True)
def _media_root(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"


@pytest.fixture
def project(db):
    project = ProjectFactory(name="Birds & <b>bees</b>")
    LoopConfig.objects.create(project=project, retrain_every=0)
    return project


def _member(project, role, username):
    user = UserFactory(username=username)
    MembershipFactory(user=user, project=project, role=role)
    return user


@pytest.fixture
def owner(project):
    return _member(project, Membership.Role.OWNER, "olivia")


@pytest.fixture
def engineer(project):
    return _member(project, Membership.Role.ENGINEER, "erin")


@pytest.fixture
def annotator(project):
    return _member(project, Membership.Role.ANNOTATOR, "ann")


@pytest.fixture
def annotator2(project):
    return _member(project, Membership.Role.ANNOTATOR, "bob")


@pytest.fixture
def outsider(db):
    return UserFactory(username="mallory")


@pytest.fixture
def queued(project):
    samples = SampleFactory.create_batch(12, project=project)
    queue_append(project=project, sample_ids=[s.pk for s in samples])
    return samples


@pytest.fixture
def login(client):
    def _login(user):
        client.force_login(user)
        return client

    return _login
