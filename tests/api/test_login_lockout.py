"""Repeated failed logins lock the username out, on the login page and the token endpoint."""

from __future__ import annotations

import pytest
from axes.models import AccessAttempt

from tests.factories import UserFactory

PASSWORD = "correct-horse-battery"


@pytest.fixture
def victim(db, settings):
    settings.AXES_FAILURE_LIMIT = 3
    return UserFactory(username="victim")


def test_login_page_locks_out_after_the_failure_limit(client, victim):
    for _ in range(3):
        response = client.post("/login/", {"username": "victim", "password": "wrong"})
        assert response.status_code in (200, 429)
    locked = client.post("/login/", {"username": "victim", "password": PASSWORD})
    assert locked.status_code == 429
    assert b"locked" in locked.content.lower()
    assert not locked["Content-Type"].startswith("application/json")  # axes' page text
    assert locked["Retry-After"] == "900"
    assert "_auth_user_id" not in client.session
    assert AccessAttempt.objects.filter(username="victim").exists()


def test_token_endpoint_locks_out_and_gives_no_token(client, victim):
    url = "/api/v1/auth/token/"
    for _ in range(3):
        response = client.post(
            url, {"username": "victim", "password": "nope"}, content_type="application/json"
        )
        assert response.status_code in (401, 429)
    locked = client.post(
        url, {"username": "victim", "password": PASSWORD}, content_type="application/json"
    )
    assert locked.status_code == 429
    assert b"token" not in locked.content
    # as every API error, and as the schema documents it (schemathesis found it undocumented)
    assert locked["Content-Type"] == "application/json"
    assert "too many failed logins" in locked.json()["detail"]
    assert locked["Retry-After"] == "900"  # AXES_COOLOFF_TIME: a quarter of an hour


def test_the_schema_documents_the_token_endpoints_lockout(client):
    schema = client.get("/api/v1/schema/?format=json").json()
    responses = schema["paths"]["/api/v1/auth/token/"]["post"]["responses"]
    assert "429" in responses
    body = responses["429"]["content"]["application/json"]["schema"]
    assert body == {"$ref": "#/components/schemas/Error"}


def test_other_users_are_not_locked(client, victim):
    UserFactory(username="bystander")
    for _ in range(4):
        client.post("/login/", {"username": "victim", "password": "wrong"})
    ok = client.post("/login/", {"username": "bystander", "password": PASSWORD})
    assert ok.status_code == 302
