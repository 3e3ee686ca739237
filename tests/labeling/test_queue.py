"""Handing out queued samples, taking labels back: reservations, overlap, idempotency."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import connection
from django.utils import timezone

from labeling.models import Annotation, Job, QueueItem, Reservation, Sample
from labeling.services.queue import (
    NotAMemberError,
    QueueError,
    queue_append,
    queue_next,
    queue_release,
    queue_skip,
    queue_upkeep,
)
from labeling.services.queue_submit import annotation_submit, queue_submit
from tests.factories import AnnotationFactory, ProjectFactory, SampleFactory, UserFactory

pytestmark = pytest.mark.django_db


def ids(items):
    return [item.sample_id for item in items]


def test_append_keeps_order_and_never_queues_twice(project):
    samples = SampleFactory.create_batch(5, project=project)
    holdout = SampleFactory(project=project, split=Sample.Split.HOLDOUT)
    labeled = SampleFactory(project=project)
    AnnotationFactory(sample=labeled)
    foreign = SampleFactory()
    order = [samples[3].pk, samples[1].pk, holdout.pk, labeled.pk, foreign.pk, samples[3].pk]
    assert queue_append(project=project, sample_ids=order, scores=[6, 5, 4, 3, 2, 1]) == 2
    assert queue_append(project=project, sample_ids=[samples[1].pk, samples[0].pk]) == 1
    items = QueueItem.objects.filter(project=project).order_by("position")
    assert [i.sample_id for i in items] == [samples[3].pk, samples[1].pk, samples[0].pk]
    assert [i.score for i in items] == [6.0, 5.0, None]


def test_next_reserves_in_order_and_tops_up(project, queued, annotators):
    alice = annotators[0]
    first = queue_next(project=project, user=alice, count=3)
    assert ids(first) == [s.pk for s in queued[:3]]
    again = queue_next(project=project, user=alice, count=3)
    assert ids(again) == ids(first)
    annotation_submit(project=project, user=alice, sample_id=queued[0].pk, label=1)
    topped = queue_next(project=project, user=alice, count=3)
    assert ids(topped) == [s.pk for s in queued[1:4]]


def test_two_annotators_never_share_a_sample_without_overlap(project, queued, annotators):
    alice, bob, _ = annotators
    a = queue_next(project=project, user=alice, count=4)
    b = queue_next(project=project, user=bob, count=4)
    assert not set(ids(a)) & set(ids(b))
    assert ids(b) == [s.pk for s in queued[4:8]]


def test_expired_reservation_returns_sample_to_queue(project, queued, annotators):
    alice, bob, _ = annotators
    queue_next(project=project, user=alice, count=1)
    later = timezone.now() + timedelta(seconds=project.loop_config.reservation_seconds + 1)
    assert ids(queue_next(project=project, user=bob, count=1, now=later)) == [queued[0].pk]
    with pytest.raises(QueueError, match="expired"):
        annotation_submit(project=project, user=alice, sample_id=queued[0].pk, label=0, now=later)


def test_lapsed_reservation_still_accepted_when_nobody_took_it(project, queued, annotators):
    alice = annotators[0]
    queue_next(project=project, user=alice, count=1)
    later = timezone.now() + timedelta(hours=2)
    result = annotation_submit(
        project=project, user=alice, sample_id=queued[0].pk, label=2, now=later
    )
    assert result.created


def test_overlap_hands_each_sample_to_k_annotators(project, queued, annotators):
    project.loop_config.overlap = 2
    project.loop_config.save()
    alice, bob, carol = annotators
    assert ids(queue_next(project=project, user=alice, count=1)) == [queued[0].pk]
    assert ids(queue_next(project=project, user=bob, count=1)) == [queued[0].pk]
    assert ids(queue_next(project=project, user=carol, count=1)) == [queued[1].pk]
    annotation_submit(project=project, user=alice, sample_id=queued[0].pk, label=0)
    item = QueueItem.objects.get(sample=queued[0])
    assert (item.state, item.n_annotations) == (QueueItem.State.OPEN, 1)
    annotation_submit(project=project, user=bob, sample_id=queued[0].pk, label=1)
    item.refresh_from_db()
    assert (item.state, item.n_annotations) == (QueueItem.State.DONE, 2)
    # Alice never gets the sample she labeled again.
    assert queued[0].pk not in ids(queue_next(project=project, user=alice, count=10))


def test_submit_marks_done_and_releases(project, queued, annotators):
    alice = annotators[0]
    queue_next(project=project, user=alice, count=2)
    result = annotation_submit(
        project=project, user=alice, sample_id=queued[0].pk, label=2, time_spent_ms=1500
    )
    assert result.created and result.annotation.label == 2
    assert result.annotation.time_spent_ms == 1500
    assert QueueItem.objects.get(sample=queued[0]).state == QueueItem.State.DONE
    assert not Reservation.objects.filter(item__sample=queued[0]).exists()
    assert Reservation.objects.filter(item__sample=queued[1], user=alice).exists()


def test_idempotent_retry_is_applied_once(project, queued, annotators):
    alice = annotators[0]
    queue_next(project=project, user=alice, count=1)
    first = annotation_submit(
        project=project, user=alice, sample_id=queued[0].pk, label=1, idempotency_key="k-1"
    )
    retry = annotation_submit(
        project=project, user=alice, sample_id=queued[0].pk, label=1, idempotency_key="k-1"
    )
    assert first.created and retry.replayed and not retry.created
    assert retry.annotation.pk == first.annotation.pk
    assert Annotation.objects.filter(sample=queued[0]).count() == 1
    assert QueueItem.objects.get(sample=queued[0]).n_annotations == 1
    with pytest.raises(QueueError, match="used for another submission"):
        annotation_submit(
            project=project, user=alice, sample_id=queued[1].pk, label=0, idempotency_key="k-1"
        )


def test_changing_a_label_does_not_count_twice(project, queued, annotators):
    alice = annotators[0]
    queue_next(project=project, user=alice, count=1)
    annotation_submit(project=project, user=alice, sample_id=queued[0].pk, label=1)
    changed = annotation_submit(project=project, user=alice, sample_id=queued[0].pk, label=2)
    assert not changed.created and changed.annotation.label == 2
    assert Annotation.objects.get(sample=queued[0]).label == 2
    assert QueueItem.objects.get(sample=queued[0]).n_annotations == 1


@pytest.mark.parametrize("label", [-1, 3, "1", 1.0, True, None])
def test_bad_labels_are_refused(project, queued, annotators, label):
    queue_next(project=project, user=annotators[0], count=1)
    with pytest.raises(QueueError, match="label"):
        annotation_submit(project=project, user=annotators[0], sample_id=queued[0].pk, label=label)
    assert not Annotation.objects.exists()


def test_outsiders_are_refused(project, queued):
    stranger = UserFactory()
    with pytest.raises(NotAMemberError):
        queue_next(project=project, user=stranger)
    with pytest.raises(NotAMemberError):
        annotation_submit(project=project, user=stranger, sample_id=queued[0].pk, label=0)


def test_unqueued_sample_cannot_be_labeled(project, annotators):
    sample = SampleFactory(project=project)
    with pytest.raises(QueueError, match="not in the labeling queue"):
        annotation_submit(project=project, user=annotators[0], sample_id=sample.pk, label=0)
    other_project_sample = SampleFactory(project=ProjectFactory())
    with pytest.raises(QueueError, match="not in the labeling queue"):
        annotation_submit(
            project=project, user=annotators[0], sample_id=other_project_sample.pk, label=0
        )


def test_skip_passes_the_sample_to_others_only(project, queued, annotators):
    alice, bob, _ = annotators
    queue_next(project=project, user=alice, count=1)
    queue_skip(project=project, user=alice, sample_id=queued[0].pk)
    assert queued[0].pk not in ids(queue_next(project=project, user=alice, count=3))
    assert ids(queue_next(project=project, user=bob, count=1)) == [queued[0].pk]


def test_release_gives_samples_back(project, queued, annotators):
    alice, bob, _ = annotators
    queue_next(project=project, user=alice, count=3)
    assert queue_release(project=project, user=alice, sample_ids=[queued[1].pk]) == 1
    assert ids(queue_next(project=project, user=bob, count=1)) == [queued[1].pk]
    assert queue_release(project=project, user=alice) == 2
    assert ids(queue_next(project=project, user=bob, count=3)) == [
        queued[1].pk,
        queued[0].pk,
        queued[2].pk,
    ]


def test_spent_budget_stops_handing_out(project, queued, annotators):
    project.label_budget = 2
    project.save()
    alice = annotators[0]
    for sample in queued[:2]:
        queue_next(project=project, user=alice, count=1)
        annotation_submit(project=project, user=alice, sample_id=sample.pk, label=0)
    assert queue_next(project=project, user=alice, count=5) == []


def test_a_prefetch_stops_at_the_budget(project, queued, annotators):
    """3 labels left: a prefetch of 5 gets 3, and topping it up after a label adds none."""
    project.label_budget = 4
    project.save()
    alice, bob, _ = annotators
    queue_next(project=project, user=alice, count=1)
    annotation_submit(project=project, user=alice, sample_id=queued[0].pk, label=0)
    first = queue_next(project=project, user=alice, count=5)
    assert ids(first) == [s.pk for s in queued[1:4]]
    annotation_submit(project=project, user=alice, sample_id=queued[1].pk, label=0)
    assert ids(queue_next(project=project, user=alice, count=5)) == [s.pk for s in queued[2:4]]
    # Another annotator's prefetch is capped by the labels left, not by what others hold
    # (that would cost a statement per call): the budget can overshoot by their holdings.
    assert len(queue_next(project=project, user=bob, count=5)) == 2


def test_retrain_round_after_every_n_labels_debounced(
    project, queued, annotators, django_capture_on_commit_callbacks, monkeypatch
):
    monkeypatch.setattr("workers.dispatch.app.send_task", lambda *a, **k: None)
    project.loop_config.retrain_every = 3
    project.loop_config.save()
    alice = annotators[0]
    for sample in queued[:6]:
        queue_next(project=project, user=alice, count=1)
        with django_capture_on_commit_callbacks(execute=True):
            annotation_submit(project=project, user=alice, sample_id=sample.pk, label=0)
    rounds = Job.objects.filter(project=project, kind=Job.Kind.ROUND)
    # The first round is still queued at 6 labels: no second one.
    assert rounds.count() == 1
    assert rounds.get().params == {"trigger": "labels", "n_labels": 3}


def test_labeled_count_is_shared_bumped_by_first_labels_and_cleared_by_imports(
    project, queued, annotators, django_assert_num_queries, monkeypatch
):
    from labeling.selectors.labels import (
        labeled_count,
        labeled_count_forget,
        labeled_count_recent,
    )

    # one window for the whole test (a 5 s window could turn over between two steps)
    monkeypatch.setattr("labeling.selectors.labels.LABELED_COUNT_TTL_S", 3600)
    project.loop_config.overlap = 2
    project.loop_config.save()
    alice, bob = annotators[:2]
    assert labeled_count_recent(project=project) == 0
    queue_next(project=project, user=alice, count=2)
    queue_next(project=project, user=bob, count=1)
    annotation_submit(project=project, user=alice, sample_id=queued[0].pk, label=0)
    annotation_submit(project=project, user=alice, sample_id=queued[1].pk, label=0)
    annotation_submit(project=project, user=bob, sample_id=queued[0].pk, label=1)  # not first
    with django_assert_num_queries(0):  # bumped, not counted again
        assert labeled_count_recent(project=project) == 2
    assert labeled_count(project=project) == 2
    # Labels stored by another path show once the shared count is dropped (or expires).
    AnnotationFactory(sample=queued[5], annotator=alice)
    assert labeled_count_recent(project=project) == 2
    labeled_count_forget(project_id=project.pk)
    assert labeled_count_recent(project=project) == 3


def test_submit_batch_reports_each_item_then_tops_up(project, queued, annotators):
    alice = annotators[0]
    held = queue_next(project=project, user=alice, count=2)
    done = queue_submit(
        project=project,
        user=alice,
        items=[
            {"sample_id": held[0].sample_id, "label": 1, "idempotency_key": "q-1"},
            {"sample_id": held[1].sample_id, "label": 99},
            {"sample_id": SampleFactory(project=project).pk, "label": 0},
        ],
        top_up=2,
    )
    first, bad_label, unqueued = done.outcomes
    assert first.result.created and first.error is None
    assert "not a class" in bad_label.error and bad_label.result is None
    assert "not in the labeling queue" in unqueued.error
    # the refused sample is still held, so it comes first; then the queue's next
    assert ids(done.top_up) == [queued[1].pk, queued[2].pk]
    assert queue_submit(project=project, user=alice, items=[]).top_up is None


def _vacuum_count(table: str) -> int:
    with connection.cursor() as cursor:
        cursor.execute("SELECT vacuum_count FROM pg_stat_user_tables WHERE relname = %s", [table])
        return cursor.fetchone()[0]


@pytest.mark.django_db(transaction=True)
def test_upkeep_purges_lapsed_reservations_and_vacuums_postgres(project, queued, annotators):
    alice, bob, _ = annotators
    queue_next(project=project, user=alice, count=2)
    queue_next(project=project, user=bob, count=1)
    Reservation.objects.filter(user=alice).update(expires_at=timezone.now() - timedelta(seconds=1))
    postgres = connection.vendor == "postgresql"
    before = _vacuum_count(QueueItem._meta.db_table) if postgres else None
    assert queue_upkeep() == {"reservations purged": 2, "vacuumed": postgres}
    assert list(Reservation.objects.values_list("user_id", flat=True)) == [bob.pk]
    if postgres:
        assert _vacuum_count(QueueItem._meta.db_table) == before + 1
