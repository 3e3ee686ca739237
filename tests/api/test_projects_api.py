"""Projects, loop settings, memberships, jobs and tokens through the API."""

from __future__ import annotations

import pytest
from django_celery_beat.models import PeriodicTask

from labeling.models import Job, LoopConfig, Membership, Project
from tests.factories import UserFactory


@pytest.fixture
def owner_client(api, world_a):
    return api(world_a.owner)


def test_create_project_makes_the_creator_owner(api, db):
    user = UserFactory(username="creator")
    response = api(user).post(
        "/api/v1/projects/",
        {"name": "Scans", "classes": ["benign", "malignant"], "label_budget": 100},
        format="json",
    )
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["role"] == "owner" and body["classes"] == ["benign", "malignant"]
    project = Project.objects.get(pk=body["id"])
    assert LoopConfig.objects.filter(project=project).exists()
    assert Membership.objects.get(project=project).user == user


def test_create_project_rejects_duplicates_with_a_message(owner_client, world_a):
    response = owner_client.post(
        "/api/v1/projects/", {"name": world_a.project.name, "classes": ["x"]}, format="json"
    )
    assert response.status_code == 400
    assert "exists already" in response.json()["detail"]
    bad = owner_client.post(
        "/api/v1/projects/", {"name": "P", "classes": ["a", "a"]}, format="json"
    )
    assert bad.status_code == 400 and "appears twice" in bad.json()["detail"]


def test_list_paginates_and_filters_by_status(api, db):
    user = UserFactory(username="many")
    client = api(user)
    for i in range(7):
        client.post("/api/v1/projects/", {"name": f"P{i}", "classes": ["a"]}, format="json")
    Project.objects.filter(name="P3").update(status=Project.Status.DONE)
    page = client.get("/api/v1/projects/", {"page_size": 5}).json()
    assert page["count"] == 7 and len(page["results"]) == 5 and page["next"]
    done = client.get("/api/v1/projects/", {"status": "done"}).json()
    assert [p["name"] for p in done["results"]] == ["P3"]
    assert client.get("/api/v1/projects/", {"status": "nonsense"}).status_code == 400


def test_loop_settings_are_validated_against_the_registries(owner_client, world_a):
    url = f"/api/v1/projects/{world_a.project.pk}/loop/"
    ok = owner_client.patch(
        url,
        {"strategy": "margin", "batch_size": 8, "ssl_backbone": "cnn_small", "overlap": 2},
        format="json",
    )
    assert ok.status_code == 200, ok.content
    assert ok.json()["strategy"] == "margin" and ok.json()["batch_size"] == 8
    config = LoopConfig.objects.get(project=world_a.project)
    assert (config.ssl_backbone, config.overlap) == ("cnn_small", 2)

    hybrid = owner_client.patch(
        url, {"strategy": "hybrid", "strategy_params": {"candidates": 5}}, format="json"
    )
    assert hybrid.json()["strategy_params"]["candidates"] == 5
    assert hybrid.json()["strategy_params"]["score"] == "margin"  # default filled in

    cases = [
        ({"strategy": "psychic"}, "strategy", "valid:"),
        ({"strategy_params": {"candidates": 0}}, "strategy_params", "candidates"),
        ({"ssl_backbone": "resnet9000"}, "ssl_backbone", "cnn_small"),
        ({"ssl_method": "magic"}, "ssl_method", "simclr"),
        ({"cold_start_strategy": "margin"}, "cold_start_strategy", "needs a trained model"),
        ({"batch_size": 0}, "batch_size", "between 1"),
        ({"target_accuracy": 1.5}, "target_accuracy", "fraction"),
        ({"schedule": {"cron": "not a cron"}}, "schedule", "cron"),
    ]
    for body, field, words in cases:
        before = LoopConfig.objects.filter(project=world_a.project).values()[0]
        response = owner_client.patch(url, {"batch_size": 3, **body}, format="json")
        assert response.status_code == 400, (body, response.content)
        errors = response.json()
        assert field in errors["errors"] and words in str(errors["errors"][field]), errors
        assert LoopConfig.objects.filter(project=world_a.project).values()[0] == before


def test_unknown_loop_settings_are_refused(owner_client, world_a):
    url = f"/api/v1/projects/{world_a.project.pk}/"
    response = owner_client.patch(
        url, {"loop": {"strategy": "margin"}, "status": "x"}, format="json"
    )
    assert response.status_code == 400
    assert LoopConfig.objects.get(project=world_a.project).strategy == "hybrid"


def test_schedule_is_set_and_cleared(owner_client, world_a):
    url = f"/api/v1/projects/{world_a.project.pk}/loop/"
    response = owner_client.patch(url, {"schedule": {"every_minutes": 90}}, format="json")
    assert response.status_code == 200, response.content
    assert response.json()["schedule"]["every_minutes"] == 90
    assert PeriodicTask.objects.count() == 1
    cleared = owner_client.patch(url, {"schedule": None}, format="json")
    assert cleared.json()["schedule"] is None


def test_project_update_appends_classes_and_sets_budget(owner_client, world_a):
    url = f"/api/v1/projects/{world_a.project.pk}/"
    response = owner_client.patch(
        url,
        {"classes": ["cat", "dog", "bird", "fish"], "label_budget": 50, "name": "Renamed"},
        format="json",
    )
    assert response.status_code == 200, response.content
    assert response.json()["classes"][-1] == "fish" and response.json()["label_budget"] == 50
    reorder = owner_client.patch(url, {"classes": ["dog", "cat"]}, format="json")
    assert reorder.status_code == 400 and "appended" in reorder.json()["detail"]
    assert Project.objects.get(pk=world_a.project.pk).name == "Renamed"


def test_memberships_are_managed_by_owners(owner_client, world_a):
    UserFactory(username="newcomer")
    body = {"project": world_a.project.pk, "username": "newcomer", "role": "annotator"}
    created = owner_client.post("/api/v1/memberships/", body, format="json")
    assert created.status_code == 201, created.content
    again = owner_client.post("/api/v1/memberships/", body, format="json")
    assert again.status_code == 400 and "already a member" in again.json()["detail"]
    missing = owner_client.post(
        "/api/v1/memberships/", {**body, "username": "ghost"}, format="json"
    )
    assert missing.status_code == 400 and "no active user" in missing.json()["detail"]
    mid = created.json()["id"]
    promoted = owner_client.patch(
        f"/api/v1/memberships/{mid}/", {"role": "engineer"}, format="json"
    )
    assert promoted.json()["role"] == "engineer"
    assert owner_client.delete(f"/api/v1/memberships/{mid}/").status_code == 204

    own = Membership.objects.get(project=world_a.project, user=world_a.owner)
    demote = owner_client.patch(
        f"/api/v1/memberships/{own.pk}/", {"role": "annotator"}, format="json"
    )
    assert demote.status_code == 400 and "at least one owner" in demote.json()["detail"]
    remove = owner_client.delete(f"/api/v1/memberships/{own.pk}/")
    assert remove.status_code == 400 and "at least one owner" in remove.json()["detail"]


def test_jobs_start_conflict_and_cancel(owner_client, world_a):
    Job.objects.filter(project=world_a.project).delete()
    body = {"project": world_a.project.pk, "kind": "round"}
    started = owner_client.post("/api/v1/jobs/", body, format="json")
    assert started.status_code == 201, started.content
    job = started.json()
    assert job["kind"] == "round" and job["state"] == "queued" and job["progress"] == 0.0
    busy = owner_client.post("/api/v1/jobs/", body, format="json")
    assert busy.status_code == 409 and "busy" in busy.json()["detail"]
    cancelled = owner_client.post(f"/api/v1/jobs/{job['id']}/cancel/")
    assert cancelled.json()["state"] == "cancelled"
    listed = owner_client.get(
        "/api/v1/jobs/", {"project": world_a.project.pk, "state": "cancelled"}
    )
    assert [j["id"] for j in listed.json()["results"]] == [job["id"]]


def test_simulation_the_project_cannot_run_is_refused_with_the_reason(owner_client, world_a):
    body = {
        "project": world_a.project.pk,
        "kind": "simulate",
        "strategies": ["margin"],
        "budget": 20,
    }
    response = owner_client.post("/api/v1/jobs/", body, format="json")
    assert response.status_code == 400
    assert "a simulation needs" in response.json()["detail"]
    no_budget = owner_client.post(
        "/api/v1/jobs/", {"project": world_a.project.pk, "kind": "simulate"}, format="json"
    )
    assert no_budget.status_code == 400 and "budget" in no_budget.json()["detail"]


def test_loop_options_list_strategies_and_backbones(owner_client):
    body = owner_client.get("/api/v1/loop-options/").json()
    assert "random" in body["strategies"] and "hybrid" in body["strategies"]
    assert body["strategies"]["typiclust"]["cold_start"] is True
    assert "cnn_small" in body["ssl_backbones"] and "simclr" in body["ssl_methods"]


def test_model_versions_and_learning_curve(owner_client, world_a):
    versions = owner_client.get("/api/v1/model-versions/", {"project": world_a.project.pk}).json()
    assert versions["results"][0]["metrics"] == {"accuracy": 0.5}
    curve = owner_client.get("/api/v1/learning-curve/", {"project": world_a.project.pk}).json()
    assert curve["results"][0]["n_labels"] == 2


def test_samples_filter_by_state_and_split(owner_client, world_a):
    def ids(**params):
        rows = owner_client.get("/api/v1/samples/", {"project": world_a.project.pk, **params})
        return sorted(r["id"] for r in rows.json()["results"])

    samples = [s.pk for s in world_a.samples]
    assert ids(state="labeled") == samples[:2]
    assert ids(state="queued") == samples[2:4]
    assert ids(state="holdout") == ids(split="holdout") == samples[4:]
    assert ids(state="unlabeled") == []
    image = owner_client.get(f"/api/v1/samples/{samples[0]}/image/")
    assert image.status_code == 200 and image["Content-Type"] == "image/png"
    assert b"".join(image.streaming_content).startswith(b"\x89PNG")


def test_token_endpoint(client, world_a):
    ok = client.post(
        "/api/v1/auth/token/",
        {"username": "a-owner", "password": "correct-horse-battery"},
        content_type="application/json",
    )
    assert ok.status_code == 200 and len(ok.json()["token"]) == 40
    bad = client.post(
        "/api/v1/auth/token/",
        {"username": "a-owner", "password": "nope"},
        content_type="application/json",
    )
    assert bad.status_code == 401 and bad.json()["detail"] == "wrong username or password"
