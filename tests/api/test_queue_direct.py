"""Get-next and submit answer plain token calls outside DRF's request cycle
(``labeling.api.queue_direct``): the answer must be the DRF view's, byte for byte and
header for header, and every other request must reach the DRF view untouched."""

from __future__ import annotations

import json

import pytest
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import transaction

from labeling.api import queue, queue_direct
from labeling.models import Annotation, QueueItem, Reservation
from labeling.services.queue import QueueError
from tests.api.conftest import build_world, client_for


@pytest.fixture
def world(db):
    # class names JSON renders with escapes (U+2028, U+2029) and with UTF-8 as it is
    return build_world("d", classes=("été\u2028a", "été\u2029b", "été\u2028c"))


@pytest.fixture
def taken(monkeypatch):
    """Which calls the direct path answered (True) or handed to DRF (False)."""
    seen: list[bool] = []
    answer = queue_direct._answer

    def recording(*args):
        response = answer(*args)
        seen.append(response is not None)
        return response

    monkeypatch.setattr(queue_direct, "_answer", recording)
    return seen


def url(world, name: str) -> str:
    return f"/api/v1/projects/{world.project.pk}/queue/{name}/"


def post(client, world, name: str, body, **extra):
    return client.post(url(world, name), body, format="json", **extra)


def as_seen(response) -> tuple:
    headers = {k: v for k, v in response.headers.items() if k != "Content-Length"}
    return response.status_code, response.content, headers


def both_ways(monkeypatch, taken, call) -> tuple:
    """The call answered directly, then, with that undone, the same call through DRF."""
    with transaction.atomic():
        direct = as_seen(call())
        transaction.set_rollback(True)
    assert taken == [True]
    with monkeypatch.context() as patch:
        patch.setattr(queue_direct, "_answer", lambda *args: None)
        through_drf = as_seen(call())
    return direct, through_drf


@pytest.mark.parametrize(
    "name, body",
    [
        ("next", {"count": 3}),
        ("next", {}),
        ("submit", {"items": [{"sample_id": "FIRST", "label": 1}], "next": 2}),
        ("submit", {"items": [{"sample_id": "FIRST", "label": 2, "time_spent_ms": 900}]}),
        # one label refused (no such class), one for a sample outside the queue
        (
            "submit",
            {
                "items": [
                    {"sample_id": "FIRST", "label": 7},
                    {"sample_id": "FIRST", "label": 0, "idempotency_key": "k-1"},
                    {"sample_id": 10**12, "label": 0},
                ],
                "next": 1,
            },
        ),
    ],
)
def test_plain_calls_answer_as_drf_does(world, monkeypatch, taken, name, body):
    client = client_for(world.annotator)
    held = post(client, world, "next", {"count": 2}).json()["items"]
    assert held and held[0]["suggestion"] is not None
    taken.clear()
    body = json.loads(json.dumps(body).replace('"FIRST"', str(held[0]["sample_id"])))

    direct, through_drf = both_ways(monkeypatch, taken, lambda: post(client, world, name, body))

    assert direct == through_drf
    assert direct[0] == 200
    assert direct[2]["Content-Type"] == "application/json"
    assert "Accept" in direct[2]["Vary"] and direct[2]["Allow"] == "POST, OPTIONS"


def test_the_direct_answer_is_stored_and_escaped_as_drf_renders_it(world, taken):
    client = client_for(world.annotator)
    sample_id = post(client, world, "next", {"count": 1}).json()["items"][0]["sample_id"]
    body = {"items": [{"sample_id": sample_id, "label": 1, "idempotency_key": "once"}]}

    first = post(client, world, "submit", {**body, "next": 5})
    retry = post(client, world, "submit", body)

    assert taken == [True, True, True]
    assert first.json()["results"][0]["created"] is True
    assert retry.json()["results"][0]["replayed"] is True
    stored = Annotation.objects.get(idempotency_key="once")
    assert (stored.sample_id, stored.label, stored.annotator) == (sample_id, 1, world.annotator)
    # U+2028 escaped, other text kept as UTF-8, as DRF's JSONRenderer does
    names = {i["suggestion"]["class_name"] for i in first.json()["next"]["items"]}
    assert names and names <= {"été\u2028a", "été\u2029b", "été\u2028c"}
    assert "été\\u202".encode() in first.content
    assert b"\xe2\x80\xa8" not in first.content and b"\xe2\x80\xa9" not in first.content


@pytest.mark.parametrize(
    "raised, status",
    [(QueueError("the queue is paused"), 409), (DjangoValidationError("not now"), 400)],
)
def test_errors_in_the_answer_answer_as_drf_does(world, monkeypatch, taken, raised, status):
    def refuse(**kwargs):
        raise raised

    monkeypatch.setattr(queue, "queue_next", refuse)
    client = client_for(world.annotator)

    direct, through_drf = both_ways(
        monkeypatch, taken, lambda: post(client, world, "next", {"count": 1})
    )

    assert direct == through_drf
    assert direct[0] == status
    assert json.loads(direct[1])["detail"] == str(raised.messages[0] if status == 400 else raised)


def test_an_unexpected_error_is_not_swallowed(world, monkeypatch, taken):
    def broken(**kwargs):
        raise RuntimeError("bug")

    monkeypatch.setattr(queue, "queue_next", broken)
    with pytest.raises(RuntimeError, match="bug"):
        post(client_for(world.annotator), world, "next", {"count": 1})
    assert taken == []  # raised inside the direct path, not answered there


def _inactive(world):
    world.annotator.is_active = False
    world.annotator.save(update_fields=["is_active"])


@pytest.mark.parametrize(
    "case, status",
    [
        ("query string", 200),
        ("browsable page", 200),
        ("charset in the content type", 200),
        ("form body", 200),
        ("session", 200),
        ("unknown token", 401),
        ("malformed token header", 401),
        ("inactive user", 401),
        ("not a member", 404),
        ("count as a string", 200),
        ("count out of range", 400),
        ("NaN", 400),
        ("not UTF-8", 400),
        ("empty body", 200),
        ("body over the limit", 413),
        ("GET", 405),
    ],
)
def test_other_requests_are_answered_by_drf(world, world_b, taken, settings, case, status):
    client = client_for(world.annotator)
    path = url(world, "next")
    send = {"data": json.dumps({"count": 1}), "content_type": "application/json"}
    extra: dict = {}
    if case == "query string":
        path += "?format=json"
    elif case == "browsable page":
        extra["HTTP_ACCEPT"] = "text/html"
    elif case == "charset in the content type":
        send["content_type"] = "application/json; charset=utf-8"
    elif case == "form body":
        send = {"data": {"count": "1"}}
    elif case == "session":
        client.credentials()
        client.force_login(world.annotator)
    elif case == "unknown token":
        client.credentials(HTTP_AUTHORIZATION="Token " + "0" * 40)
    elif case == "malformed token header":
        client.credentials(HTTP_AUTHORIZATION="Token a b")
    elif case == "inactive user":
        _inactive(world)
    elif case == "not a member":
        client = client_for(world_b.annotator)
    elif case == "count as a string":
        send["data"] = json.dumps({"count": "1"})
    elif case == "count out of range":
        send["data"] = json.dumps({"count": 101})
    elif case == "NaN":
        send["data"] = '{"count": 1, "other": NaN}'
    elif case == "not UTF-8":
        send["data"] = json.dumps({"count": 1}).encode("utf-16")
    elif case == "empty body":
        send["data"] = ""
    elif case == "body over the limit":
        settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 10
        send["data"] = json.dumps({"count": 1, "pad": "x" * 20})

    if case == "GET":
        response = client.get(path)
    else:
        response = client.post(path, **send, **extra)

    assert taken == [False]
    assert response.status_code == status, response.content[:300]
    if status >= 400 and case != "GET":
        assert response.json()["detail"]
    if status == 200 and case != "browsable page":
        # an empty body asks for the default count (5): the 3 samples left to the annotator
        assert len(response.json()["items"]) == (3 if case == "empty body" else 1)
    if case == "browsable page":
        assert response["Content-Type"].startswith("text/html")


def test_a_refused_request_changes_nothing_on_either_path(world, taken):
    client = client_for(world.annotator)
    before = _queue_state()

    for body in ({"items": []}, {"items": [{"sample_id": 0, "label": 0}]}, {"next": 1}):
        assert post(client, world, "submit", body).status_code == 400

    assert taken == [False, False, False]
    assert _queue_state() == before
    assert (
        not Annotation.objects.filter(annotator=world.annotator)
        .exclude(pk=world.annotation.pk)
        .exists()
    )


def test_the_schema_still_describes_the_drf_views(world):
    schema = client_for(world.owner).get("/api/v1/schema/", HTTP_ACCEPT="application/json")
    paths = schema.json()["paths"]
    submit = paths["/api/v1/projects/{project_id}/queue/submit/"]["post"]
    assert submit["requestBody"]["content"]["application/json"]["schema"]["$ref"].endswith(
        "SubmitIn"
    )
    assert "409" in submit["responses"] and "200" in submit["responses"]
    assert "post" in paths["/api/v1/projects/{project_id}/queue/next/"]


def test_tokens_of_other_users_stay_theirs(world, taken):
    """The direct path acts as the token's user, not as whoever else is logged in."""
    client = client_for(world.annotator)
    client.force_login(world.engineer)
    items = post(client, world, "next", {"count": 1}).json()["items"]
    assert taken == [True]
    holders = Reservation.objects.filter(item__sample_id=items[0]["sample_id"])
    assert list(holders.values_list("user_id", flat=True)) == [world.annotator.pk]


def _queue_state() -> tuple:
    items = QueueItem.objects.values_list("pk", "state", "n_annotations").order_by("pk")
    held = Reservation.objects.values_list("item_id", "user_id").order_by("item_id", "user_id")
    return list(items), list(held)
