"""How PostgreSQL runs get-next: the open-items index and server-side prepared statements."""

from __future__ import annotations

import json

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from labeling.models import QueueItem, Sample
from labeling.selectors import sql
from labeling.services.queue import queue_next
from labeling.services.queue_submit import annotation_submit, queue_submit

pytestmark = [pytest.mark.services, pytest.mark.django_db]


def queue_rows(project, n: int) -> None:
    """``n`` queued pool samples as bare rows (no image files): enough for the planner."""
    samples = Sample.objects.bulk_create(
        Sample(project=project, file=f"samples/plan/{i}.png", sha256=f"{i:064x}", width=8, height=8)
        for i in range(n)
    )
    QueueItem.objects.bulk_create(
        QueueItem(project=project, sample=s, position=i) for i, s in enumerate(samples)
    )


def nested_plans(project, user) -> list[dict]:
    """The plans of the statements get-next runs inside its database function, as
    auto_explain reports them to this session."""
    notices: list[str] = []
    pg = connection.connection

    def keep(diagnostic):
        notices.append(diagnostic.message_primary or "")

    with connection.cursor() as cursor:
        cursor.execute("LOAD 'auto_explain'")
        for setting, value in (
            ("auto_explain.log_min_duration", "0"),
            ("auto_explain.log_nested_statements", "on"),
            ("auto_explain.log_analyze", "on"),
            ("auto_explain.log_format", "json"),
            ("client_min_messages", "log"),
        ):
            cursor.execute("SELECT set_config(%s, %s, true)", [setting, value])
    pg.add_notice_handler(keep)
    try:
        assert queue_next(project=project, user=user, count=1)
    finally:
        pg.remove_notice_handler(keep)
    plans = []
    for message in notices:
        _, brace, rest = message.partition("{")
        if brace:
            plans.append(json.loads(brace + rest))
    return plans


def test_get_next_walks_the_open_items_when_the_statistics_think_all_are_open(project, annotators):
    queue_rows(project, 5000)
    with connection.cursor() as cursor:
        cursor.execute(f"ANALYZE {QueueItem._meta.db_table}")  # every item open
    # The head of the queue is done, as after a day of labeling; no ANALYZE since.
    head = QueueItem.objects.filter(project=project, position__lt=4000)
    head.update(state=QueueItem.State.DONE, n_annotations=1)
    plans = nested_plans(project, annotators[0])
    (lock,) = [json.dumps(p) for p in plans if "SKIP LOCKED" in p["Query Text"]]
    assert '"Index Name": "queue_open"' in lock, lock
    # the scan never steps over the 4,000 done items
    assert '"Rows Removed by Filter": 4000' not in lock


def test_fixed_statements_are_prepared_on_the_server(project, queued, annotators):
    threshold = connection.connection.prepare_threshold
    assert threshold == 5  # settings: QUARRY_DB_PREPARE_THRESHOLD's default
    alice = annotators[0]
    for _ in range(threshold + 1):
        (item,) = queue_next(project=project, user=alice, count=1)
        annotation_submit(project=project, user=alice, sample_id=item.sample_id, label=1)
    prepared = [
        statement for (statement,) in sql.fetch("SELECT statement FROM pg_prepared_statements", {})
    ]
    assert any("quarry_queue_next(" in s for s in prepared), prepared
    assert any(s.lstrip().startswith("WITH a AS (INSERT INTO") for s in prepared), prepared
    # and the labels went where they should
    assert QueueItem.objects.filter(project=project, state=QueueItem.State.DONE).count() == 6


def test_logged_queries_show_the_statements_text(project, queued, annotators):
    """DEBUG and query-counting tests log the SQL; server-bound statements have none."""
    with CaptureQueriesContext(connection) as captured:
        (item,) = queue_next(project=project, user=annotators[0], count=1)
        annotation_submit(project=project, user=annotators[0], sample_id=item.sample_id, label=0)
    texts = [query["sql"] for query in captured.captured_queries]
    assert all(texts), texts
    assert any("quarry_queue_next(" in text for text in texts)
    assert any(text.lstrip().startswith("WITH a AS (INSERT INTO") for text in texts)


def planned_by_key(monkeypatch, function: str, call) -> None:
    """The statement around ``function`` that ``call`` runs joins the few samples it
    returns by key; had the planner taken the function for a thousand rows (PostgreSQL's
    guess for one that returns a set), it would read every sample and prediction of the
    pool instead."""
    seen = []
    fetch = sql.fetch
    monkeypatch.setattr(
        sql, "fetch", lambda text, params: seen.append((text, params)) or fetch(text, params)
    )
    call()
    ((text, params),) = [(t, p) for t, p in seen if f"{function}(" in t]
    with connection.cursor() as cursor:
        cursor.execute("EXPLAIN (FORMAT JSON) " + text, params)
        plan = json.dumps(cursor.fetchone()[0])
    assert '"Node Type": "Seq Scan"' not in plan, plan
    assert '"Node Type": "Hash Join"' not in plan, plan


@pytest.fixture
def analyzed_pool(project):
    queue_rows(project, 5000)
    with connection.cursor() as cursor:
        cursor.execute(f"ANALYZE {QueueItem._meta.db_table}, {Sample._meta.db_table}")


def test_get_next_reads_the_samples_it_hands_out_by_their_keys(
    project, annotators, analyzed_pool, monkeypatch
):
    planned_by_key(
        monkeypatch,
        "quarry_queue_next",
        lambda: queue_next(project=project, user=annotators[0], count=1),
    )


@pytest.mark.django_db(transaction=True)  # as a web request runs: outside a transaction
def test_a_label_with_the_next_reads_the_samples_it_hands_out_by_their_keys(
    project, annotators, analyzed_pool, monkeypatch
):
    alice = annotators[0]
    (held,) = queue_next(project=project, user=alice, count=1)

    def label():
        item = {"sample_id": held.sample_id, "label": 0}
        assert queue_submit(project=project, user=alice, items=[item], top_up=1).top_up

    planned_by_key(monkeypatch, "quarry_label_held", label)
