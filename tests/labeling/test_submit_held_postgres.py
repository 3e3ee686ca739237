"""Submit's one-statement path on PostgreSQL: a new label for a sample the user holds.

Outside a transaction (as a web request runs), the label, its count on the queue item and
the dropped reservation are one statement, and so is the get-next a submit asks for after
it (``"next": N``, as the label view sends); every other case (a label given before, a
key used, no reservation) changes nothing there and is decided by the locking path, with
get-next on its own."""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest
from django.db import IntegrityError, connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from labeling.models import Annotation, LoopConfig, QueueItem, Reservation
from labeling.selectors.labels import labeled_count_recent
from labeling.selectors.projects import project_for_member
from labeling.services import queue_sql
from labeling.services.queue import QueueError, queue_next
from labeling.services.queue_submit import annotation_submit, queue_submit

pytestmark = [pytest.mark.services, pytest.mark.django_db(transaction=True)]


def as_member(project, user):
    return project_for_member(project_id=project.pk, user_id=user.pk)


def item_of(sample):
    return QueueItem.objects.get(sample=sample)


def test_a_held_sample_is_labeled_in_one_statement(project, queued, annotators):
    assert connection.vendor == "postgresql"
    alice = annotators[0]
    mine = as_member(project, alice)
    queue_next(project=mine, user=alice, count=2)
    before = labeled_count_recent(project=project)
    with CaptureQueriesContext(connection) as queries:
        result = annotation_submit(
            project=mine, user=alice, sample_id=queued[0].pk, label=2, idempotency_key="h-1"
        )
    assert len(queries) == 1 and "quarry_label_held(" in queries[0]["sql"]
    assert result.created and not result.replayed
    stored = Annotation.objects.get(pk=result.annotation.pk)
    assert (stored.sample_id, stored.annotator_id, stored.label) == (queued[0].pk, alice.pk, 2)
    item = item_of(queued[0])
    assert (item.n_annotations, item.state) == (1, QueueItem.State.DONE)
    assert list(Reservation.objects.values_list("item__sample_id", flat=True)) == [queued[1].pk]
    assert labeled_count_recent(project=project) == before + 1
    # the retry finds no reservation and replays through the locking path
    again = annotation_submit(
        project=mine, user=alice, sample_id=queued[0].pk, label=2, idempotency_key="h-1"
    )
    assert again.replayed and again.annotation.pk == result.annotation.pk
    assert Annotation.objects.count() == 1


def test_overlap_counts_each_label_and_closes_at_the_last(project, queued, annotators):
    LoopConfig.objects.filter(project=project).update(overlap=2)
    alice, bob, _ = annotators
    for user in (alice, bob):
        assert queue_next(project=as_member(project, user), user=user, count=1)[0].sample_id == (
            queued[0].pk
        )
    annotation_submit(
        project=as_member(project, alice), user=alice, sample_id=queued[0].pk, label=1
    )
    item = item_of(queued[0])
    assert (item.n_annotations, item.state) == (1, QueueItem.State.OPEN)
    annotation_submit(project=as_member(project, bob), user=bob, sample_id=queued[0].pk, label=0)
    item = item_of(queued[0])
    assert (item.n_annotations, item.state) == (2, QueueItem.State.DONE)
    assert not Reservation.objects.exists()


def test_a_label_given_before_is_changed_not_doubled(project, queued, annotators):
    alice = annotators[0]
    mine = as_member(project, alice)
    queue_next(project=mine, user=alice, count=1)
    annotation_submit(project=mine, user=alice, sample_id=queued[0].pk, label=1)
    # a reservation of a sample she labeled (get-next never hands one out; made here)
    Reservation.objects.create(
        item=item_of(queued[0]), user=alice, expires_at=timezone.now() + timedelta(minutes=5)
    )
    with pytest.raises(IntegrityError):
        queue_sql.label_store_held(
            project_id=project.pk,
            sample_id=queued[0].pk,
            user_id=alice.pk,
            overlap=1,
            label=2,
            time_spent_ms=0,
            key=None,
            now=timezone.now(),
        )
    assert Reservation.objects.filter(user=alice).count() == 1  # the failed statement kept it
    changed = annotation_submit(project=mine, user=alice, sample_id=queued[0].pk, label=2)
    assert not changed.created
    assert list(Annotation.objects.values_list("label", flat=True)) == [2]
    assert item_of(queued[0]).n_annotations == 1


def test_a_key_used_for_another_sample_changes_nothing(project, queued, annotators):
    alice = annotators[0]
    mine = as_member(project, alice)
    queue_next(project=mine, user=alice, count=2)
    annotation_submit(
        project=mine, user=alice, sample_id=queued[0].pk, label=1, idempotency_key="k"
    )
    with pytest.raises(QueueError, match="used for another submission"):
        annotation_submit(
            project=mine, user=alice, sample_id=queued[1].pk, label=1, idempotency_key="k"
        )
    item = item_of(queued[1])
    assert (item.n_annotations, item.state) == (0, QueueItem.State.OPEN)
    assert Reservation.objects.filter(user=alice, item=item).exists()


def test_without_a_live_reservation_the_locking_path_decides(project, queued, annotators):
    alice, bob, _ = annotators
    queue_next(project=as_member(project, alice), user=alice, count=1)
    Reservation.objects.update(expires_at=timezone.now() - timedelta(seconds=1))
    # lapsed and nobody took it: still accepted
    assert annotation_submit(
        project=as_member(project, alice), user=alice, sample_id=queued[0].pk, label=0
    ).created
    # held by someone else: refused
    queue_next(project=as_member(project, bob), user=bob, count=1)
    with pytest.raises(QueueError, match="handed to someone else"):
        annotation_submit(
            project=as_member(project, alice), user=alice, sample_id=queued[1].pk, label=0
        )
    assert Annotation.objects.count() == 1


def race(submit, n: int = 6) -> list:
    """``submit(label)`` in ``n`` threads released at once (labels 0, 1, 2, 0, ...), each on
    its own connection; their results, after asserting that none raised."""
    barrier = threading.Barrier(n)
    results, errors = [], []

    def run(label):
        try:
            barrier.wait()
            results.append(submit(label))
        except Exception as exc:  # noqa: BLE001 - reported by the test
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(i % 3,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert not errors, errors
    assert len(results) == n
    return results


def test_racing_submissions_of_one_sample_store_one_label(project, queued, annotators):
    alice = annotators[0]
    queue_next(project=as_member(project, alice), user=alice, count=1)
    results = race(
        lambda label: annotation_submit(
            project=as_member(project, alice), user=alice, sample_id=queued[0].pk, label=label
        )
    )
    assert sum(r.created for r in results) == 1
    assert Annotation.objects.count() == 1
    assert item_of(queued[0]).n_annotations == 1


def reserved_samples(user):
    return sorted(Reservation.objects.filter(user=user).values_list("item__sample_id", flat=True))


def test_a_held_label_and_the_next_sample_are_one_statement(project, queued, annotators):
    alice, bob, _ = annotators
    mine = as_member(project, alice)
    queue_next(project=mine, user=alice, count=1)
    queue_next(project=as_member(project, bob), user=bob, count=1)  # holds queued[1]
    with CaptureQueriesContext(connection) as queries:
        done = queue_submit(
            project=mine,
            user=alice,
            items=[{"sample_id": queued[0].pk, "label": 1, "idempotency_key": "n-1"}],
            top_up=2,
        )
    assert len(queries) == 1 and "quarry_label_held(" in queries[0]["sql"]
    (outcome,) = done.outcomes
    assert outcome.result.created and outcome.result.annotation.label == 1
    assert Annotation.objects.get(idempotency_key="n-1").sample_id == queued[0].pk
    assert (item_of(queued[0]).n_annotations, item_of(queued[0]).state) == (
        1,
        QueueItem.State.DONE,
    )
    # the next ones in queue order, past bob's, reserved by her, with what the view shows
    handed = [item.sample_id for item in done.top_up]
    assert handed == [queued[2].pk, queued[3].pk]
    assert reserved_samples(alice) == handed
    assert all(item.shown is not None for item in done.top_up)


def test_get_next_after_a_label_hands_out_what_she_holds_first(project, queued, annotators):
    alice = annotators[0]
    mine = as_member(project, alice)
    queue_next(project=mine, user=alice, count=3)
    done = queue_submit(
        project=mine, user=alice, items=[{"sample_id": queued[1].pk, "label": 0}], top_up=3
    )
    assert [item.sample_id for item in done.top_up] == [queued[0].pk, queued[2].pk, queued[3].pk]
    # with nothing left to hand out, the label is stored and the answer is empty
    QueueItem.objects.exclude(sample__in=queued[:4]).delete()
    for sample in (queued[0], queued[2]):
        queue_submit(project=mine, user=alice, items=[{"sample_id": sample.pk, "label": 0}])
    last = queue_submit(
        project=mine, user=alice, items=[{"sample_id": queued[3].pk, "label": 2}], top_up=1
    )
    assert last.outcomes[0].result.created and last.top_up == []
    assert Annotation.objects.count() == 4


def test_when_the_label_takes_the_locking_path_get_next_runs_on_its_own(
    project, queued, annotators
):
    alice = annotators[0]
    mine = as_member(project, alice)
    queue_next(project=mine, user=alice, count=1)
    Reservation.objects.update(expires_at=timezone.now() - timedelta(seconds=1))
    with CaptureQueriesContext(connection) as queries:
        done = queue_submit(
            project=mine, user=alice, items=[{"sample_id": queued[0].pk, "label": 2}], top_up=1
        )
    assert done.outcomes[0].result.created  # lapsed and nobody took it: accepted
    assert sum("quarry_queue_next(" in q["sql"] for q in queries) == 1
    assert [item.sample_id for item in done.top_up] == [queued[1].pk]
    # a retry replays the label and still hands out the next sample
    again = queue_submit(
        project=mine, user=alice, items=[{"sample_id": queued[0].pk, "label": 2}], top_up=1
    )
    assert not again.outcomes[0].result.created
    assert [item.sample_id for item in again.top_up] == [queued[1].pk]
    assert Annotation.objects.count() == 1


def test_under_a_label_budget_get_next_counts_the_label_first(project, queued, annotators):
    project.label_budget = 1
    project.save(update_fields=["label_budget"])
    alice = annotators[0]
    mine = as_member(project, alice)
    queue_next(project=mine, user=alice, count=1)
    done = queue_submit(
        project=mine, user=alice, items=[{"sample_id": queued[0].pk, "label": 1}], top_up=1
    )
    assert done.outcomes[0].result.created
    assert done.top_up == [] and reserved_samples(alice) == []  # the budget is spent


def test_in_a_batch_the_last_label_carries_get_next(project, queued, annotators):
    alice = annotators[0]
    mine = as_member(project, alice)
    queue_next(project=mine, user=alice, count=2)
    with CaptureQueriesContext(connection) as queries:
        done = queue_submit(
            project=mine,
            user=alice,
            items=[
                {"sample_id": queued[0].pk, "label": 1},
                {"sample_id": queued[1].pk, "label": 99},  # refused: not a class
                {"sample_id": queued[1].pk, "label": 0},
            ],
            top_up=1,
        )
    assert [o.result is not None for o in done.outcomes] == [True, False, True]
    assert "not a class" in done.outcomes[1].error
    assert len(queries) == 2 and all("quarry_label_held(" in q["sql"] for q in queries)
    assert [item.sample_id for item in done.top_up] == [queued[2].pk]
    assert Annotation.objects.count() == 2


def test_racing_submissions_with_next_store_one_label(project, queued, annotators):
    alice = annotators[0]
    queue_next(project=as_member(project, alice), user=alice, count=1)
    results = race(
        lambda label: queue_submit(
            project=as_member(project, alice),
            user=alice,
            items=[{"sample_id": queued[0].pk, "label": label}],
            top_up=1,
        )
    )
    assert sum(r.outcomes[0].result.created for r in results) == 1
    assert Annotation.objects.count() == 1
    assert item_of(queued[0]).n_annotations == 1
    # each answer holds one sample she now holds, never the labeled one
    assert all(len(r.top_up) == 1 for r in results)
    handed = {r.top_up[0].sample_id for r in results}
    assert queued[0].pk not in handed and handed <= set(reserved_samples(alice))
