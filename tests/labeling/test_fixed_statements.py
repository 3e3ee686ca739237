"""The hot path's fixed statements give what the ORM gives: same users, same refusals,
values converted the same way (SQLite's booleans and dates, JSON), on both databases."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.contrib.auth import SESSION_KEY, get_user
from django.contrib.sessions.models import Session
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from rest_framework.authtoken.models import Token
from rest_framework.exceptions import AuthenticationFailed

from labeling.authentication import TokenAuthentication, UserBackend, user_by_id
from labeling.models import LoopConfig, Membership, Project
from labeling.selectors import sql
from labeling.selectors.projects import member_by_token, project_for_member
from labeling.sessions import SessionStore
from tests.factories import MembershipFactory, ProjectFactory, UserFactory

pytestmark = pytest.mark.django_db


def test_user_read_by_fixed_statement_equals_the_orm_one():
    user = UserFactory(username="ada", is_staff=True, email="ada@example.org")
    user.last_login = timezone.now()
    user.save()
    fixed = user_by_id(user.pk)
    orm = type(user).objects.get(pk=user.pk)
    for field in type(user)._meta.concrete_fields:
        assert getattr(fixed, field.attname) == getattr(orm, field.attname), field.name
    assert fixed.is_staff is True and fixed.is_superuser is False  # bools, not 0 / 1
    assert fixed.date_joined.tzinfo is not None
    assert fixed.check_password("correct-horse-battery")


@pytest.mark.parametrize("bad", [None, "", "abc", 0, -1, 2**63, str(2**70)])
def test_user_by_id_refuses_what_is_no_key(bad):
    assert user_by_id(bad) is None


def test_backend_refuses_an_inactive_user():
    user = UserFactory()
    assert UserBackend().get_user(user.pk) == user
    user.is_active = False
    user.save()
    assert UserBackend().get_user(user.pk) is None
    assert UserBackend().get_user(user.pk + 1000) is None


def test_token_authentication():
    user = UserFactory()
    token = Token.objects.create(user=user)
    found, auth = TokenAuthentication().authenticate_credentials(token.key)
    assert found == user and auth.key == token.key and auth.user_id == user.pk
    with pytest.raises(AuthenticationFailed, match="Invalid token"):
        TokenAuthentication().authenticate_credentials(token.key[::-1])
    user.is_active = False
    user.save()
    with pytest.raises(AuthenticationFailed, match="inactive"):
        TokenAuthentication().authenticate_credentials(token.key)


def test_token_reaches_the_api_and_a_wrong_one_is_401():
    member = MembershipFactory(role=Membership.Role.ANNOTATOR)
    token = Token.objects.create(user=member.user)
    client = Client()
    ok = client.get("/api/v1/projects/", HTTP_AUTHORIZATION=f"Token {token.key}")
    assert ok.status_code == 200
    assert [p["id"] for p in ok.json()["results"]] == [member.project.pk]
    bad = client.get("/api/v1/projects/", HTTP_AUTHORIZATION="Token nope")
    assert bad.status_code == 401


def test_member_by_token_reads_user_role_and_loop():
    member = MembershipFactory(role=Membership.Role.ANNOTATOR)
    project = member.project
    LoopConfig.objects.create(project=project, overlap=3, reservation_seconds=45)
    key = Token.objects.create(user=member.user).key
    user, found = member_by_token(key=key, project_id=project.pk)
    assert user == member.user and user.username == member.user.username
    assert found == project_for_member(project_id=project.pk, user_id=member.user_id)
    assert found.member_role == "annotator" and found.classes == project.classes
    assert (found.loop_config.overlap, found.loop_config.reservation_seconds) == (3, 45)
    other = ProjectFactory()
    assert member_by_token(key=key, project_id=other.pk) == (member.user, None)
    assert member_by_token(key=key, project_id=2**63) == (member.user, None)
    assert member_by_token(key=key[::-1], project_id=project.pk) is None
    member.user.is_active = False
    member.user.save(update_fields=["is_active"])
    assert member_by_token(key=key, project_id=project.pk) is None


def _queue_next(client, project, **headers):
    LoopConfig.objects.get_or_create(project=project)
    return client.post(
        f"/api/v1/projects/{project.pk}/queue/next/",
        {"count": 1},
        content_type="application/json",
        **headers,
    )


def test_queue_call_with_a_token_reads_who_asks_and_the_project_in_one_statement():
    member = MembershipFactory(role=Membership.Role.ANNOTATOR)
    key = Token.objects.create(user=member.user).key
    tables = (Token._meta.db_table, Membership._meta.db_table, Project._meta.db_table)
    with CaptureQueriesContext(connection) as queries:
        answer = _queue_next(Client(), member.project, HTTP_AUTHORIZATION=f"Token {key}")
    assert answer.status_code == 200
    reading = [
        q["sql"]
        for q in queries
        if any(f'"{t}"' in q["sql"] or f" {t} " in q["sql"] for t in tables)
    ]
    assert len(reading) == 1 and all(t in reading[0] for t in tables)


@pytest.mark.parametrize(
    ("header", "status", "detail"),
    [
        ("Token {key}", 200, None),
        ("Token {other}", 404, "No such project."),
        ("Token {inactive}", 401, "User inactive or deleted."),
        ("Token nope", 401, "Invalid token."),
        ("Token a b", 401, "Invalid token header. Token string should not contain spaces."),
        ("Token", 401, "Invalid token header. No credentials provided."),
        ("Bearer {key}", 401, "Authentication credentials were not provided."),
    ],
)
def test_queue_calls_with_tokens_are_answered_as_any_api_call(header, status, detail):
    member = MembershipFactory(role=Membership.Role.ANNOTATOR)
    outsider = MembershipFactory(role=Membership.Role.OWNER).user  # of another project
    inactive = MembershipFactory(project=member.project).user
    inactive.is_active = False
    inactive.save()
    keys = {
        "key": Token.objects.create(user=member.user).key,
        "other": Token.objects.create(user=outsider).key,
        "inactive": Token.objects.create(user=inactive).key,
    }
    answer = _queue_next(Client(), member.project, HTTP_AUTHORIZATION=header.format(**keys))
    assert answer.status_code == status
    if detail is not None:
        assert answer.json()["detail"] == detail
    if status == 401:
        assert answer["WWW-Authenticate"] == "Token"


def test_queue_call_with_a_session_still_works():
    member = MembershipFactory(role=Membership.Role.ANNOTATOR)
    client = Client(enforce_csrf_checks=False)
    client.force_login(member.user)
    assert _queue_next(client, member.project).status_code == 200
    client.force_login(UserFactory())
    assert _queue_next(client, member.project).status_code == 404


def test_session_store_loads_saves_and_expires():
    store = SessionStore()
    store["answer"] = 42
    store.create()
    assert SessionStore(store.session_key).load() == {"answer": 42}
    Session.objects.filter(session_key=store.session_key).update(
        expire_date=timezone.now() - timedelta(seconds=1)
    )
    expired = SessionStore(store.session_key)
    assert expired.load() == {}
    assert expired.session_key is None  # a fresh key is made on the next save
    assert SessionStore("no-such-key").load() == {}
    assert SessionStore(None).load() == {}


def test_logged_in_browser_keeps_its_user_and_logout_ends_it():
    user = UserFactory()
    client = Client()
    client.force_login(user)
    request = type("R", (), {})()
    request.session = SessionStore(client.session.session_key)
    assert request.session[SESSION_KEY] == str(user.pk)
    assert get_user(request) == user
    client.logout()
    request.session = SessionStore(request.session.session_key)
    assert not get_user(request).is_authenticated


def test_project_for_member_carries_role_and_loop():
    member = MembershipFactory(role=Membership.Role.ENGINEER)
    project = member.project
    project.classes = ["cat", "dög", "<b>x</b>"]
    project.label_budget = 7
    project.save()
    LoopConfig.objects.create(project=project, overlap=2, reservation_seconds=90)
    found = project_for_member(project_id=project.pk, user_id=member.user_id)
    assert found == project and found.member_role == "engineer"
    assert found.classes == ["cat", "dög", "<b>x</b>"] and found.label_budget == 7
    assert (found.loop_config.overlap, found.loop_config.reservation_seconds) == (2, 90)
    assert found.loop_config.strategy == "hybrid"  # a field not selected loads on access
    assert found.created_at == Project.objects.get(pk=project.pk).created_at
    outsider = UserFactory()
    assert project_for_member(project_id=project.pk, user_id=outsider.pk) is None
    assert project_for_member(project_id=2**63, user_id=member.user_id) is None


def test_project_without_loop_config_raises_like_the_orm():
    member = MembershipFactory()
    found = project_for_member(project_id=member.project.pk, user_id=member.user_id)
    with pytest.raises(Project.loop_config.RelatedObjectDoesNotExist):
        found.loop_config  # noqa: B018


def test_fields_refuses_an_unknown_field():
    with pytest.raises(ValueError, match="no field"):
        sql.Fields(Project, ["id", "nope"])


def test_fields_instance_is_what_the_orm_loads():
    project = MembershipFactory().project
    fields = sql.Fields(Project, ["id", "name", "classes"])
    ((row),) = sql.fetch(
        f"SELECT {fields.select('p')} FROM {Project._meta.db_table} p WHERE p.id = %s",
        [project.pk],
    )
    found = fields.instance(row)
    orm = Project.objects.only("id", "name", "classes").get(pk=project.pk)
    assert type(found) is Project
    assert (found.pk, found.name, found.classes) == (orm.pk, orm.name, orm.classes)
    assert isinstance(found.classes, list)  # through the JSON field's converter
    assert (found._state.adding, found._state.db) == (False, "default")
    assert found.get_deferred_fields() == orm.get_deferred_fields()
    assert found.created_at == project.created_at  # not selected: loads on access
    found.name = "renamed"
    found.save(update_fields=["name"])  # an update of the stored row, not an insert
    assert Project.objects.get(pk=project.pk).name == "renamed"
    assert Project.objects.count() == 1


def test_fields_instance_sends_init_signals_where_someone_listens():
    from django.db.models.signals import post_init

    project = MembershipFactory().project
    fields = sql.Fields(Project, ["id", "name"])
    seen = []

    def receiver(sender, instance, **kwargs):
        seen.append(instance)

    post_init.connect(receiver, sender=Project)
    try:
        found = fields.instance([project.pk, project.name])
    finally:
        post_init.disconnect(receiver, sender=Project)
    assert len(seen) == 1 and seen[0] is found and found.name == project.name
    fields.instance([project.pk, project.name])  # nobody listens now
    assert len(seen) == 1


def test_project_lookup_ignores_projects_of_others():
    mine = MembershipFactory()
    other = ProjectFactory()
    assert project_for_member(project_id=other.pk, user_id=mine.user_id) is None


def test_a_failing_fixed_statement_raises_django_errors_and_breaks_the_transaction():
    from django.db import IntegrityError, transaction
    from django.db.transaction import TransactionManagementError

    member = MembershipFactory()
    table = Membership._meta.db_table
    duplicate = f"""INSERT INTO {table} (project_id, user_id, role, created_at)
        VALUES (%s, %s, %s, %s)"""
    params = [member.project_id, member.user_id, "owner", sql.db_time(timezone.now())]
    with transaction.atomic():
        with pytest.raises(IntegrityError):
            with transaction.atomic():
                sql.execute(duplicate, params)
        assert sql.fetch(f"SELECT COUNT(*) FROM {table}", []) == [(1,)]
        with pytest.raises(IntegrityError):
            with transaction.atomic(savepoint=False):  # marks the outer block as broken
                sql.execute(duplicate, params)
        with pytest.raises(TransactionManagementError):
            sql.fetch(f"SELECT COUNT(*) FROM {table}", [])


def test_fixed_statements_pass_through_execute_wrappers():
    from django.db import connection

    MembershipFactory()
    seen = []

    def wrapper(execute, sql_text, params, many, context):
        seen.append(sql_text)
        return execute(sql_text, params, many, context)

    with connection.execute_wrapper(wrapper):
        rows = sql.fetch(f"SELECT COUNT(*) FROM {Membership._meta.db_table}", [])
        changed = sql.execute(f"UPDATE {Membership._meta.db_table} SET role = role", [])
    assert rows == [(1,)] and changed == 1
    assert len(seen) == 2


@pytest.mark.parametrize("prefix", ["/", "/quarry/", "/a b/"])
def test_sample_image_url_is_what_reverse_gives(prefix):
    from django.urls import reverse, set_script_prefix

    from labeling.selectors.queue_items import sample_image_url

    set_script_prefix(prefix)
    try:
        for project_id, sample_id in [(1, 1), (7, 2**63 - 1), (2**40, 9), (3, 1234567)]:
            expected = reverse("ui:sample-image", args=[project_id, sample_id])
            assert sample_image_url(project_id, sample_id) == expected
    finally:
        set_script_prefix("/")


@pytest.mark.parametrize(
    "header",
    [None, "", "Token", "Token a b", "Bearer abc", "token {key}", "Token {key}", "Token nope"],
)
def test_token_header_is_read_as_drf_reads_it(header):
    from rest_framework.authentication import TokenAuthentication as DrfTokenAuthentication
    from rest_framework.request import Request
    from rest_framework.test import APIRequestFactory

    token = Token.objects.create(user=UserFactory())
    headers = {} if header is None else {"HTTP_AUTHORIZATION": header.format(key=token.key)}
    request = Request(APIRequestFactory().get("/", **headers))

    def answer(auth):
        try:
            found = auth.authenticate(request)
        except AuthenticationFailed as exc:
            return str(exc.detail)
        return found and (found[0].pk, found[1].key)

    assert answer(TokenAuthentication()) == answer(DrfTokenAuthentication())
