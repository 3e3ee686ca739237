"""``manage.py demo_setup``: accounts, the digits project with its images, idempotent."""

from __future__ import annotations

import io

import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command

from labeling.imports.split import holdout_size
from labeling.models import Annotation, Job, LoopConfig, Membership, Project, Sample

pytestmark = [pytest.mark.django_db, pytest.mark.slow]


def test_demo_setup_builds_the_digits_project_once(client):
    first = io.StringIO()
    call_command("demo_setup", stdout=first)
    call_command("demo_setup", stdout=io.StringIO())  # a second run changes nothing

    User = get_user_model()
    engineer = User.objects.get(username="engineer")
    annotator = User.objects.get(username="annotator")
    assert engineer.is_staff and engineer.is_superuser
    assert not annotator.is_staff and not annotator.is_superuser
    assert engineer.check_password("quarry-engineer") and engineer.is_active
    assert annotator.check_password("quarry-annotator") and annotator.is_active
    login = client.post(
        "/admin/login/?next=/admin/", {"username": "engineer", "password": "quarry-engineer"}
    )
    assert login.status_code == 302 and login["Location"] == "/admin/"
    assert client.get("/admin/").status_code == 200

    project = Project.objects.get(name="Digits demo")
    assert project.classes == [str(d) for d in range(10)]
    assert (project.label_budget, project.target_accuracy) == (500, 0.95)
    roles = dict(Membership.objects.filter(project=project).values_list("user__username", "role"))
    assert roles == {"engineer": "owner", "annotator": "annotator"}

    samples = Sample.objects.filter(project=project)
    assert samples.count() == 1797
    assert not samples.filter(oracle_label__isnull=True).exists()
    assert not Annotation.objects.filter(sample__project=project).exists()
    assert {(s.width, s.height) for s in samples.only("width", "height")} == {(32, 32)}
    from sklearn.datasets import load_digits

    per_class = {d: int((load_digits().target == d).sum()) for d in range(10)}
    for digit, n in per_class.items():
        held = samples.filter(oracle_label=digit, split="holdout").count()
        assert held == holdout_size(n, 0.1)
    assert 170 <= samples.filter(split="holdout").count() <= 190
    assert "imported 1,797 images" in first.getvalue()

    config = LoopConfig.objects.get(project=project)
    assert (config.ssl_backbone, config.ssl_epochs, config.batch_size) == ("cnn_small", 3, 10)
    assert config.retrain_every == 10
    assert Job.objects.filter(project=project).count() == 1
    assert "queued the first round (pretraining first)" in first.getvalue()


def test_demo_setup_again_keeps_the_loop_settings_and_requeues_a_cancelled_first_round():
    """``make demo`` runs demo_setup on every start: it must not reset the settings, and a
    first round that was cancelled (or failed) is queued again, once."""
    from labeling.services.projects import project_create
    from tests.factories import SampleFactory, UserFactory

    engineer = UserFactory(username="engineer")
    project = project_create(name="Digits demo", classes=["0", "1"], owner=engineer)
    SampleFactory(project=project)  # the images are there already: nothing is imported
    call_command("demo_setup", stdout=io.StringIO())
    config = LoopConfig.objects.get(project=project)
    assert (config.ssl_backbone, config.ssl_epochs, config.batch_size) == ("cnn_small", 3, 10)

    LoopConfig.objects.filter(project=project).update(batch_size=25, ssl_epochs=7)
    again = io.StringIO()
    call_command("demo_setup", stdout=again)
    first = Job.objects.get(project=project)
    assert f"the demo's pretrain job {first.pk} is queued" in again.getvalue()
    config.refresh_from_db()
    assert (config.batch_size, config.ssl_epochs) == (25, 7)
    assert Job.objects.filter(project=project).count() == 1

    Job.objects.filter(pk=first.pk).update(state=Job.State.CANCELLED, lock=None)
    again = io.StringIO()
    call_command("demo_setup", stdout=again)
    assert "queued the first round again (pretraining first)" in again.getvalue()
    second = Job.objects.filter(project=project).exclude(pk=first.pk).get()
    config.refresh_from_db()
    assert (config.batch_size, config.ssl_epochs) == (25, 7)

    Job.objects.filter(pk=second.pk).update(state=Job.State.SUCCEEDED, lock=None)
    Job.objects.create(project=project, kind=Job.Kind.ROUND, state=Job.State.SUCCEEDED)
    again = io.StringIO()
    call_command("demo_setup", stdout=again)
    assert "the first round has run already" in again.getvalue()
    assert Job.objects.filter(project=project).count() == 3
