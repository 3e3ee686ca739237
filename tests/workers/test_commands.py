"""The al_round, simulate and reap_jobs commands."""

from __future__ import annotations

import io

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from labeling.models import EncoderVersion, Job, QueryBatch, SimulationRun
from tests.workers.images import make_project

pytestmark = pytest.mark.django_db(transaction=True)


def call(*args) -> str:
    out = io.StringIO()
    call_command(*args, stdout=out)
    return out.getvalue()


def test_al_round_queues_a_round_for_a_worker(sent):
    project = make_project()
    out = call("al_round", project.name)
    job = Job.objects.get(project=project)
    assert f"queued round job {job.pk}" in out
    assert sent == [("workers.run_job", [job.pk], "default", {})]
    with pytest.raises(CommandError, match="is busy: round job"):
        call("al_round", str(project.pk))


def test_al_round_here_pretrains_and_runs_the_round(sent):
    project = make_project()
    out = call("al_round", project.name, "--pretrain", "--here")
    assert "succeeded" in out and "pretrain" in out and "select" in out
    assert EncoderVersion.objects.filter(project=project).count() == 1
    assert QueryBatch.objects.get(project=project).strategy == "typiclust"


def test_al_round_refuses_wait_with_here_and_queues_nothing(sent):
    project = make_project()
    with pytest.raises(CommandError, match="not allowed with argument --wait"):
        call("al_round", project.name, "--wait", "--here")
    assert not Job.objects.filter(project=project).exists() and sent == []


def test_al_round_names_the_projects_when_one_is_unknown(sent):
    make_project("tiny")
    with pytest.raises(CommandError, match="no project named 'nope'; projects: tiny"):
        call("al_round", "nope")


def test_simulate_stores_the_curves(sent):
    project = make_project()
    call("al_round", project.name, "--pretrain", "--here")
    out = call(
        "simulate", project.name, "--strategies", "random,entropy", "--budget", "20",
        "--seeds", "2", "--here",
    )  # fmt: skip
    run = SimulationRun.objects.get(project=project)
    assert set(run.result["strategies"]) == {"random", "entropy"}
    curve = run.result["strategies"]["entropy"]
    assert len(curve["n_labels"]) == len(curve["mean"]) == len(curve["std"]) > 1
    assert run.params["holdout"] == "project holdout" and run.params["n_pool"] == 45
    assert "random" in out and "entropy" in out and "final accuracy" in out


def test_simulate_refuses_bad_requests(sent):
    project = make_project()
    with pytest.raises(CommandError, match="valid strategies"):
        call("simulate", project.name, "--strategies", "psychic", "--budget", "20")


def test_reap_jobs_reports(sent):
    assert "requeued: none" in call("reap_jobs")
