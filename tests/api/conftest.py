"""Two projects with one of every object, users in every role, and API clients for them."""

from __future__ import annotations

from dataclasses import dataclass, field

import pytest
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from labeling.models import (
    Adjudication,
    Annotation,
    Job,
    LearningCurvePoint,
    Membership,
    ModelVersion,
    Prediction,
    Project,
    Sample,
    SimulationRun,
)
from labeling.services.jobs import job_create
from labeling.services.projects import membership_set, project_create
from labeling.services.queue import queue_append
from tests.factories import SampleFactory, UserFactory


@pytest.fixture(autouse=True)
def _fast_settings(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    # Hashing stays correct, only cheaper: the suite creates many users.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@dataclass
class World:
    """One project with an object of every kind the API serves, and its members."""

    project: Project
    owner: object
    engineer: object
    annotator: object
    samples: list[Sample]
    annotation: Annotation
    model_version: ModelVersion
    curve_point: LearningCurvePoint
    simulation: SimulationRun
    job: Job
    membership: Membership
    objects: dict[str, int] = field(default_factory=dict)


def build_world(prefix: str, classes=("cat", "dog", "bird")) -> World:
    owner = UserFactory(username=f"{prefix}-owner")
    engineer = UserFactory(username=f"{prefix}-engineer")
    annotator = UserFactory(username=f"{prefix}-annotator")
    project = project_create(name=f"Project {prefix}", classes=list(classes), owner=owner)
    project.loop_config.retrain_every = 0
    project.loop_config.save(update_fields=["retrain_every"])
    membership_set(project=project, user=engineer, role=Membership.Role.ENGINEER)
    membership = membership_set(project=project, user=annotator, role=Membership.Role.ANNOTATOR)
    samples = SampleFactory.create_batch(4, project=project, oracle_label=1)
    holdout = SampleFactory(project=project, split=Sample.Split.HOLDOUT, oracle_label=2)
    queue_append(project=project, sample_ids=[s.pk for s in samples])
    annotation = Annotation.objects.create(sample=samples[0], annotator=annotator, label=0)
    Annotation.objects.create(sample=samples[1], annotator=engineer, label=2)
    Adjudication.objects.create(sample=samples[1], label=2, adjudicator=owner)
    model_version = ModelVersion.objects.create(
        project=project,
        kind="linear",
        n_labels=2,
        metrics={"accuracy": 0.5},
        holdout_accuracy=0.5,
    )
    for i, sample in enumerate(samples):
        Prediction.objects.create(
            model_version=model_version,
            sample=sample,
            predicted_label=i % 3,
            confidence=0.6,
            score=0.4 - i / 10,
        )
    curve_point = LearningCurvePoint.objects.create(
        project=project, model_version=model_version, n_labels=2, accuracy=0.5, macro_f1=0.4
    )
    simulation = SimulationRun.objects.create(project=project, params={}, result={})
    job = job_create(project=project, kind=Job.Kind.EVALUATE, enqueue=False)
    world = World(
        project=project,
        owner=owner,
        engineer=engineer,
        annotator=annotator,
        samples=[*samples, holdout],
        annotation=annotation,
        model_version=model_version,
        curve_point=curve_point,
        simulation=simulation,
        job=job,
        membership=membership,
    )
    world.objects = {
        "projects": project.pk,
        "memberships": membership.pk,
        "samples": samples[0].pk,
        "annotations": annotation.pk,
        "model-versions": model_version.pk,
        "learning-curve": curve_point.pk,
        "simulations": simulation.pk,
        "jobs": job.pk,
    }
    return world


@pytest.fixture
def world_a(db) -> World:
    return build_world("a")


@pytest.fixture
def world_b(db) -> World:
    return build_world("b")


def client_for(user) -> APIClient:
    client = APIClient()
    token, _ = Token.objects.get_or_create(user=user)
    client.credentials(HTTP_AUTHORIZATION=f"Token {token.key}")
    return client


@pytest.fixture
def api():
    return client_for
