"""The labeling queue's JSON endpoints used by the label and grid views."""

from __future__ import annotations

import pytest
from django.test import Client
from django.urls import reverse

from labeling.models import Annotation, ModelVersion, Prediction, QueueItem, Reservation, Skip
from tests.factories import SampleFactory


def url(project, name):
    return reverse(f"api:queue-{name}", args=[project.pk])


def post(client, project, name, body):
    return client.post(url(project, name), body, content_type="application/json")


def test_next_reserves_and_hides_oracle_and_names(project, annotator, queued, login):
    for sample in queued:
        sample.oracle_label = 2
        sample.original_name = "bird/secret-name.png"
        sample.save()
    client = login(annotator)
    response = post(client, project, "next", {"count": 3})
    assert response.status_code == 200
    data = response.json()
    assert [i["sample_id"] for i in data["items"]] == [s.pk for s in queued[:3]]
    assert data["blocked"] is None
    assert data["items"][0]["suggestion"] is None
    assert data["items"][0]["image"] == reverse("ui:sample-image", args=[project.pk, queued[0].pk])
    body = response.content.decode()
    assert "oracle" not in body and "secret-name" not in body and "bird/" not in body
    assert Reservation.objects.filter(user=annotator).count() == 3


def test_two_annotators_get_disjoint_samples(project, annotator, annotator2, queued):
    first, second = Client(), Client()
    first.force_login(annotator)
    second.force_login(annotator2)
    a = {i["sample_id"] for i in post(first, project, "next", {"count": 5}).json()["items"]}
    b = {i["sample_id"] for i in post(second, project, "next", {"count": 5}).json()["items"]}
    assert len(a) == len(b) == 5
    assert not a & b


def test_submit_is_applied_once_per_idempotency_key(project, annotator, queued, login):
    client = login(annotator)
    sid = post(client, project, "next", {"count": 1}).json()["items"][0]["sample_id"]
    body = {
        "items": [{"sample_id": sid, "label": 1, "idempotency_key": "k-1", "time_spent_ms": 900}]
    }
    first = post(client, project, "submit", body).json()["results"][0]
    again = post(client, project, "submit", body).json()["results"][0]
    assert first["ok"] and first["created"] and not first["replayed"]
    assert again["ok"] and again["replayed"]
    assert Annotation.objects.filter(sample_id=sid).count() == 1
    item = QueueItem.objects.get(sample_id=sid)
    assert item.n_annotations == 1 and item.state == QueueItem.State.DONE


def test_batch_submit_reports_each_item(project, annotator, queued, login):
    client = login(annotator)
    ids = [i["sample_id"] for i in post(client, project, "next", {"count": 3}).json()["items"]]
    items = [{"sample_id": sid, "label": 2, "idempotency_key": f"b-{sid}"} for sid in ids]
    items.append({"sample_id": ids[0], "label": 99, "idempotency_key": "bad"})
    results = post(client, project, "submit", {"items": items}).json()["results"]
    assert [r["ok"] for r in results] == [True, True, True, False]
    assert "not a class" in results[3]["error"]
    assert sorted(Annotation.objects.values_list("sample_id", flat=True)) == sorted(ids)


def test_submit_hands_out_the_next_samples_in_the_same_call(project, annotator, queued, login):
    client = login(annotator)
    ids = [i["sample_id"] for i in post(client, project, "next", {"count": 2}).json()["items"]]
    plain = post(client, project, "submit", {"items": [{"sample_id": ids[0], "label": 1}]})
    assert plain.json()["next"] is None  # not asked for
    body = {"items": [{"sample_id": ids[1], "label": 0, "idempotency_key": "t-1"}], "next": 2}
    data = post(client, project, "submit", body).json()
    assert data["results"][0]["ok"] and data["results"][0]["created"]
    handed = [i["sample_id"] for i in data["next"]["items"]]
    # the queue's next two, never the samples just labeled
    assert handed == [s.pk for s in queued[2:4]]
    assert data["next"]["blocked"] is None
    assert sorted(
        Reservation.objects.filter(user=annotator).values_list("item__sample_id", flat=True)
    ) == sorted(handed)
    # a retried call replays the label and tops up to the same held samples
    again = post(client, project, "submit", body).json()
    assert again["results"][0]["replayed"]
    assert [i["sample_id"] for i in again["next"]["items"]] == handed
    assert Annotation.objects.filter(annotator=annotator).count() == 2


def test_submit_with_next_says_why_nothing_came(project, annotator, queued, login):
    client = login(annotator)
    ids = [i["sample_id"] for i in post(client, project, "next", {"count": 99}).json()["items"]]
    items = [{"sample_id": sid, "label": 0} for sid in ids]
    data = post(client, project, "submit", {"items": items, "next": 1}).json()
    assert all(r["ok"] for r in data["results"])
    assert data["next"] == {
        "items": [],
        "blocked": "the queue is empty: nothing is waiting to be labeled right now",
    }
    bad = post(client, project, "submit", {"items": items[:1], "next": 101})
    assert bad.status_code == 400 and "next" in bad.json()["errors"]


def test_change_previous_label_and_undo(project, annotator, queued, login):
    client = login(annotator)
    ids = [i["sample_id"] for i in post(client, project, "next", {"count": 2}).json()["items"]]
    for k, sid in enumerate(ids):
        post(
            client,
            project,
            "submit",
            {"items": [{"sample_id": sid, "label": 0, "idempotency_key": f"u{k}"}]},
        )
    undo = client.get(url(project, "undo")).json()
    assert undo["item"]["sample_id"] == ids[1] and undo["label"] == 0
    earlier = client.get(url(project, "undo"), {"before": undo["annotation_id"]}).json()
    assert earlier["item"]["sample_id"] == ids[0]
    assert (
        client.get(url(project, "undo"), {"before": earlier["annotation_id"]}).json()["item"]
        is None
    )
    change = {"items": [{"sample_id": ids[0], "label": 2, "idempotency_key": "change"}]}
    result = post(client, project, "submit", change).json()["results"][0]
    assert result["ok"] and not result["created"]
    assert Annotation.objects.get(sample_id=ids[0]).label == 2
    assert Annotation.objects.count() == 2


def test_skip_and_release(project, annotator, queued, login):
    client = login(annotator)
    ids = [i["sample_id"] for i in post(client, project, "next", {"count": 3}).json()["items"]]
    assert post(client, project, "skip", {"sample_id": ids[0]}).json() == {"ok": True}
    assert Skip.objects.filter(user=annotator, item__sample_id=ids[0]).exists()
    assert post(client, project, "release", {"sample_ids": [ids[1]]}).json() == {"released": 1}
    again = [i["sample_id"] for i in post(client, project, "next", {"count": 3}).json()["items"]]
    assert ids[0] not in again
    assert post(client, project, "release", {}).json()["released"] == 3


def test_empty_queue_and_budget_reached_say_why(project, annotator, login):
    client = login(annotator)
    data = post(client, project, "next", {"count": 5}).json()
    assert data["items"] == [] and "queue is empty" in data["blocked"]
    samples = SampleFactory.create_batch(3, project=project)
    from labeling.services.queue import queue_append

    queue_append(project=project, sample_ids=[s.pk for s in samples])
    Annotation.objects.create(sample=samples[0], annotator=annotator, label=0)
    project.label_budget = 1
    project.save()
    data = post(client, project, "next", {"count": 5}).json()
    assert data["items"] == [] and "budget of 1 is spent" in data["blocked"]


def test_suggestion_from_newest_model_with_heatmap(project, annotator, queued, login, settings):
    old = ModelVersion.objects.create(project=project, kind="linear", n_labels=5)
    new = ModelVersion.objects.create(project=project, kind="linear", n_labels=10)
    Prediction.objects.create(
        model_version=old, sample=queued[0], predicted_label=0, confidence=0.4
    )
    heat_dir = settings.MEDIA_ROOT / "heatmaps"
    heat_dir.mkdir(parents=True)
    (heat_dir / "h.png").write_bytes(b"\x89PNG\r\n\x1a\nnot-really")
    prediction = Prediction.objects.create(
        model_version=new,
        sample=queued[0],
        predicted_label=2,
        confidence=0.875,
        heatmap="heatmaps/h.png",
    )
    client = login(annotator)
    item = post(client, project, "next", {"count": 1}).json()["items"][0]
    assert item["suggestion"] == {
        "label": 2,
        "class_name": "bird",
        "confidence": 0.875,
        "model_version": new.pk,
        "heatmap": reverse("ui:heatmap", args=[project.pk, prediction.pk]),
    }
    response = client.get(item["suggestion"]["heatmap"])
    assert response.status_code == 200 and response["Content-Type"] == "image/png"


@pytest.mark.parametrize("name", ["next", "submit", "skip", "release"])
def test_outsiders_get_404_and_anonymous_401(project, outsider, queued, client, name):
    body = {
        "count": 1,
        "sample_id": queued[0].pk,
        "items": [{"sample_id": queued[0].pk, "label": 0}],
    }
    assert post(client, project, name, body).status_code in (401, 403)
    client.force_login(outsider)
    assert post(client, project, name, body).status_code == 404
    assert not Reservation.objects.exists() and not Annotation.objects.exists()


def test_bad_input_gets_clear_errors(project, annotator, queued, login):
    client = login(annotator)
    response = post(client, project, "next", {"count": 1000})
    assert response.status_code == 400 and "count" in response.json()["detail"]
    response = post(client, project, "submit", {"items": []})
    assert response.status_code == 400
    response = post(client, project, "skip", {"sample_id": 999_999})
    assert response.status_code == 409 and "not in the labeling queue" in response.json()["detail"]


def test_csrf_is_enforced_for_session_users(project, annotator, queued):
    client = Client(enforce_csrf_checks=True)
    client.force_login(annotator)
    response = client.post(url(project, "next"), {"count": 1}, content_type="application/json")
    assert response.status_code == 403 and "CSRF" in response.json()["detail"]
    client.get(reverse("ui:label", args=[project.pk]))
    token = client.cookies["csrftoken"].value
    response = client.post(
        url(project, "next"), {"count": 1}, content_type="application/json", HTTP_X_CSRFTOKEN=token
    )
    assert response.status_code == 200


def test_ids_beyond_the_database_range_are_refused_cleanly(project, annotator, queued, login):
    client = login(annotator)
    huge = 10**30
    assert post(client, project, "skip", {"sample_id": huge}).status_code == 400
    body = {"items": [{"sample_id": huge, "label": 0}]}
    assert post(client, project, "submit", body).status_code == 400
    assert client.get(url(project, "undo"), {"before": huge}).status_code == 400
