"""Many annotators asking for work at once never receive the same sample.

Runs on both databases: on PostgreSQL through SKIP LOCKED row locks, on SQLite
through its serialized (BEGIN IMMEDIATE) write transactions.
"""

from __future__ import annotations

import threading
from collections import Counter

import pytest
from django.db import connection

from labeling.models import LoopConfig, Membership, Reservation
from labeling.services.queue import queue_append, queue_next
from labeling.services.queue_submit import annotation_submit
from tests.factories import MembershipFactory, ProjectFactory, SampleFactory


def hammer(n_users: int = 8, rounds: int = 6) -> tuple[list[tuple[int, int]], list[Exception]]:
    project = ProjectFactory()
    LoopConfig.objects.create(project=project, retrain_every=0)
    samples = SampleFactory.create_batch(n_users * rounds * 2, project=project)
    queue_append(project=project, sample_ids=[s.pk for s in samples])
    users = [
        MembershipFactory(project=project, role=Membership.Role.ANNOTATOR).user
        for _ in range(n_users)
    ]
    handed: list[tuple[int, int]] = []
    errors: list[Exception] = []
    barrier = threading.Barrier(n_users)

    def annotate(user):
        try:
            barrier.wait()
            for _ in range(rounds):
                items = queue_next(project=project, user=user, count=2)
                for item in items:
                    handed.append((user.pk, item.sample_id))
                annotation_submit(project=project, user=user, sample_id=items[0].sample_id, label=0)
        except Exception as exc:  # noqa: BLE001 - reported by the test
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=annotate, args=(u,)) for u in users]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    return handed, errors


def assert_exclusive(handed):
    holders: dict[int, set[int]] = {}
    for user_id, sample_id in handed:
        holders.setdefault(sample_id, set()).add(user_id)
    shared = {s: u for s, u in holders.items() if len(u) > 1}
    assert not shared, f"samples handed to several annotators: {shared}"


@pytest.mark.django_db(transaction=True)
def test_concurrent_next_is_exclusive_on_sqlite():
    handed, errors = hammer()
    assert not errors, errors
    assert_exclusive(handed)


@pytest.mark.services
@pytest.mark.django_db(transaction=True)
def test_concurrent_next_is_exclusive_on_postgres():
    assert connection.vendor == "postgresql"
    handed, errors = hammer(n_users=12)
    assert not errors, errors
    assert_exclusive(handed)
    assert Counter(Reservation.objects.values_list("user_id", flat=True))
