"""The labeling queue: appending chosen samples, handing them out, taking labels back.

Handing out is safe under concurrency on both databases. On PostgreSQL candidates are
locked with ``SELECT ... FOR UPDATE SKIP LOCKED``, then reserved by a second statement
that checks them again (it sees every reservation committed before the lock was
granted), both inside one database function. On SQLite every write transaction is
``BEGIN IMMEDIATE`` (see settings), so writers are serialized and the same steps run
from here without row locks.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.contrib.auth.models import AbstractBaseUser
from django.db import IntegrityError, connection, transaction
from django.db.models import Exists, Max, OuterRef
from django.utils import timezone

from labeling.models import (
    Annotation,
    Membership,
    Project,
    QueryBatch,
    QueueItem,
    Reservation,
    Sample,
    Skip,
)
from labeling.selectors.labels import labeled_count_bump, labeled_count_recent
from labeling.services import queue_sql

# Rows locked but found reserved by a transaction that committed meanwhile are lost to
# this call; each loss means another annotator got work, so a few more tries are cheap.
# Under 50 annotators racing for the queue's head, 3 tries sometimes all lost and an
# annotator was told the queue was empty.
LOCK_ATTEMPTS = 10


class QueueError(Exception):
    """A labeling request that cannot be honoured; the message says why."""


class NotAMemberError(QueueError):
    pass


@dataclass(frozen=True)
class SubmitResult:
    annotation: Annotation
    created: bool  # False when an existing label was changed or a retry was replayed
    replayed: bool = False  # True when the idempotency key had been applied already


def _require_member(project: Project, user: AbstractBaseUser) -> str:
    # a project loaded through ``for_member`` already carries the user's role
    if getattr(project, "member_id", None) == user.pk and project.member_role:
        return project.member_role
    role = (
        Membership.objects.filter(project=project, user_id=user.pk)
        .values_list("role", flat=True)
        .first()
    )
    if role is None:
        raise NotAMemberError("you are not a member of this project")
    return role


def _supports_skip_locked() -> bool:
    return connection.features.has_select_for_update_skip_locked


@transaction.atomic
def queue_append(
    *,
    project: Project,
    sample_ids: Sequence[int],
    scores: Sequence[float] | None = None,
    batch: QueryBatch | None = None,
) -> int:
    """Append pool samples to the queue in the given order; returns how many were added.

    Samples already queued, labeled, in the holdout split or of another project are
    left out, so a strategy's pick can never be queued twice.
    """
    if scores is not None and len(scores) != len(sample_ids):
        raise ValueError("scores and sample_ids differ in length")
    order = {int(sid): i for i, sid in reversed(list(enumerate(sample_ids)))}
    Project.objects.select_for_update().filter(pk=project.pk).first()
    eligible = set(
        Sample.objects.filter(pk__in=order.keys(), project=project, split=Sample.Split.POOL)
        .exclude(Exists(QueueItem.objects.filter(sample=OuterRef("pk"))))
        .exclude(Exists(Annotation.objects.filter(sample=OuterRef("pk"))))
        .values_list("pk", flat=True)
    )
    chosen = sorted(eligible, key=order.__getitem__)
    if not chosen:
        return 0
    top = QueueItem.objects.filter(project=project).aggregate(m=Max("position"))["m"]
    start = -1 if top is None else top
    QueueItem.objects.bulk_create(
        QueueItem(
            project=project,
            sample_id=sid,
            batch=batch,
            position=start + 1 + i,
            score=None if scores is None else float(scores[order[sid]]),
        )
        for i, sid in enumerate(chosen)
    )
    return len(chosen)


def held_items(
    *, project: Project, user: AbstractBaseUser, now: datetime | None = None, limit: int = 100
) -> list[QueueItem]:
    """Items reserved by this user and not yet labeled by them, in queue order."""
    return _items(
        project,
        queue_sql.held(
            project_id=project.pk, user_id=user.pk, now=now or timezone.now(), limit=limit
        ),
    )


def _items(project: Project, found: Sequence[queue_sql.Item]) -> list[QueueItem]:
    return [
        QueueItem(id=row.id, project=project, sample_id=row.sample_id, position=row.position)
        for row in found
    ]


def _budget_left(project: Project) -> int | None:
    """Labels the budget still allows (None: no budget). The count is shared for a few
    seconds, and annotators reserve at the same time, so the budget may overshoot by the
    labels taken in that window; the evaluate step marks the project done with the exact
    count."""
    if project.label_budget is None:
        return None
    return project.label_budget - labeled_count_recent(project=project)


def queue_blocked_reason(*, project: Project, budget_left: int | None = None) -> str | None:
    """Why the queue hands out nothing at all right now, or None."""
    if project.status == Project.Status.DONE:
        return project.done_reason or "this project is done"
    left = _budget_left(project) if budget_left is None else budget_left
    if left is not None and left <= 0:
        return f"the label budget of {project.label_budget} is spent"
    return None


def queue_next(
    *, project: Project, user: AbstractBaseUser, count: int = 1, now: datetime | None = None
) -> list[QueueItem]:
    """Reserve up to ``count`` items for the user: the ones they hold first, then new ones.

    Calling it again after a submission tops the set back up, so a client can keep a
    few samples prefetched without ever holding more than ``count``.
    """
    if not 1 <= count <= 100:
        raise QueueError("count must be between 1 and 100")
    _require_member(project, user)
    now = now or timezone.now()
    config = project.loop_config
    expires = now + timedelta(seconds=config.reservation_seconds)
    left = _budget_left(project)
    if queue_blocked_reason(project=project, budget_left=left):
        cap = 0  # only what the user already holds
    else:
        # A prefetch does not reserve past the budget: what is held will be labeled too.
        cap = count if left is None else max(0, min(count, left))
    query = {"project_id": project.pk, "user_id": user.pk, "now": now, "overlap": config.overlap}
    if _supports_skip_locked():
        # held items, then candidates locked with SKIP LOCKED and reserved by a statement
        # that checks them again: one call of a database function
        found = queue_sql.next_locked(
            **query, expires=expires, count=count, cap=cap, attempts=LOCK_ATTEMPTS
        )
        return _items(project, found)
    with transaction.atomic():
        held = held_items(project=project, user=user, now=now, limit=count)
        want = cap - len(held)
        if want <= 0:
            return held
        fresh = queue_sql.available(**query, limit=want)
        if fresh:
            queue_sql.reserve(
                item_ids=[item.id for item in fresh], user_id=user.pk, now=now, expires=expires
            )
    return held + _items(project, fresh)


def _check_label(project: Project, label: int) -> int:
    if isinstance(label, bool) or not isinstance(label, int):
        raise QueueError("label must be a class index (an integer)")
    if not 0 <= label < len(project.classes):
        raise QueueError(
            f"label {label} is not a class of this project (0..{len(project.classes) - 1})"
        )
    return label


def _replay(key: str, user: AbstractBaseUser, sample_id: int) -> SubmitResult | None:
    done = Annotation.objects.filter(idempotency_key=key).first()
    if done is None:
        return None
    if done.annotator_id != user.pk or done.sample_id != sample_id:
        raise QueueError("this idempotency key was used for another submission")
    return SubmitResult(annotation=done, created=False, replayed=True)


def annotation_submit(
    *,
    project: Project,
    user: AbstractBaseUser,
    sample_id: int,
    label: int,
    time_spent_ms: int = 0,
    idempotency_key: str | None = None,
    now: datetime | None = None,
) -> SubmitResult:
    """Store the user's label for a queued sample, or change the one they gave.

    Accepted when the user holds the sample's reservation, already labeled it, or the
    item still has room (its reservation lapsed and nobody took it). A retry with the
    same idempotency key is applied once.
    """
    _require_member(project, user)
    label = _check_label(project, label)
    time_spent_ms = max(0, min(int(time_spent_ms or 0), 24 * 3600 * 1000))
    if idempotency_key is not None and not 1 <= len(idempotency_key) <= 64:
        raise QueueError("idempotency key must be 1 to 64 characters")
    now = now or timezone.now()
    result = _submit_held(project, user, sample_id, label, time_spent_ms, idempotency_key, now)
    if result is None:
        try:
            with transaction.atomic():
                result = _submit_locked(
                    project, user, sample_id, label, time_spent_ms, idempotency_key, now
                )
        except IntegrityError:
            # A concurrent retry of the same submission won the race: replay it.
            replay = idempotency_key and _replay(idempotency_key, user, sample_id)
            if not replay:
                raise
            return replay
    if result.created and not result.replayed and _retrain_on_labels(project):
        from labeling.services.rounds import round_maybe_trigger

        transaction.on_commit(lambda: round_maybe_trigger(project=project))
    return result


@dataclass(frozen=True)
class SubmitOutcome:
    """One item of a batch submission: its result, or why it was refused."""

    sample_id: int
    result: SubmitResult | None = None
    error: str | None = None


@dataclass(frozen=True)
class Submitted:
    outcomes: list[SubmitOutcome]
    top_up: list[QueueItem] | None  # what ``queue_next`` handed out after, when asked


def queue_submit(
    *,
    project: Project,
    user: AbstractBaseUser,
    items: Sequence[Mapping],
    top_up: int = 0,
) -> Submitted:
    """Store a batch of labels, each on its own (one refused item does not stop the
    others), then, when ``top_up`` > 0, reserve up to that many items as ``queue_next``
    does: a client labeling one sample at a time gets its next sample in the same round
    trip.

    Each item holds ``sample_id``, ``label`` and optionally ``time_spent_ms`` and
    ``idempotency_key``.
    """
    outcomes = []
    for item in items:
        sample_id = item["sample_id"]
        try:
            result = annotation_submit(
                project=project,
                user=user,
                sample_id=sample_id,
                label=item["label"],
                time_spent_ms=item.get("time_spent_ms", 0),
                idempotency_key=item.get("idempotency_key"),
            )
        except (QueueError, IntegrityError) as exc:
            outcomes.append(SubmitOutcome(sample_id=sample_id, error=str(exc)))
        else:
            outcomes.append(SubmitOutcome(sample_id=sample_id, result=result))
    handed = queue_next(project=project, user=user, count=top_up) if top_up else None
    return Submitted(outcomes=outcomes, top_up=handed)


def _retrain_on_labels(project: Project) -> bool:
    """Whether the project retrains every N labels, as loaded with this request (no query).

    Decided here, not in ``round_maybe_trigger``: a project object kept longer (a worker's,
    a test's) may hold a loop configuration changed since, which the trigger reads afresh.
    """
    config = getattr(project, "loop_config", None)
    return config is None or bool(config.retrain_every)


def _submit_held(project, user, sample_id, label, time_spent_ms, key, now) -> SubmitResult | None:
    """The common case in one statement (PostgreSQL, outside a transaction): a new label
    for a sample the user holds. None when that is not the case, or on SQLite or inside
    a transaction; ``_submit_locked`` then decides, as it always did."""
    if connection.vendor != "postgresql" or connection.in_atomic_block:
        return None
    try:
        stored = queue_sql.label_store_held(
            project_id=project.pk,
            sample_id=sample_id,
            user_id=user.pk,
            overlap=project.loop_config.overlap,
            label=label,
            time_spent_ms=time_spent_ms,
            key=key,
            now=now,
        )
    except IntegrityError:
        return None  # labeled before, or the key was used: the statement changed nothing
    if stored is None:
        return None
    annotation, n_annotations = stored
    if n_annotations == 1:
        labeled_count_bump(project_id=project.pk)
    return SubmitResult(annotation=annotation, created=True)


def _submit_locked(project, user, sample_id, label, time_spent_ms, key, now) -> SubmitResult:
    item = queue_sql.item_for_update(project_id=project.pk, sample_id=sample_id)
    # read under the item's lock: the user's label of this sample, the key's earlier
    # submission and the item's reservations, in one statement
    seen = queue_sql.submit_state(
        sample_id=sample_id, user_id=user.pk, key=key, item_id=item.id if item else None, now=now
    )
    found = seen.annotations
    done = next((a for a in found if key and a.idempotency_key == key), None)
    if done is not None:
        if done.annotator_id != user.pk or done.sample_id != sample_id:
            raise QueueError("this idempotency key was used for another submission")
        return SubmitResult(annotation=done, created=False, replayed=True)
    existing = next(
        (a for a in found if a.sample_id == sample_id and a.annotator_id == user.pk), None
    )
    if existing is not None:
        if existing.label != label or key:
            existing.label = label
            existing.time_spent_ms += time_spent_ms
            if key:
                existing.idempotency_key = key
            queue_sql.annotation_update(existing, now=timezone.now())
        return SubmitResult(annotation=existing, created=False)
    if item is None:
        raise QueueError("this sample is not in the labeling queue")
    holders = seen.holders
    if user.pk not in holders:
        if item.state != QueueItem.State.OPEN or item.n_annotations + len(holders) >= (
            project.loop_config.overlap
        ):
            raise QueueError(
                "your reservation of this sample expired and it was handed to someone else"
            )
    n_annotations = item.n_annotations + 1
    annotation = queue_sql.label_store(
        item_id=item.id,
        n_annotations=n_annotations,
        state=QueueItem.State.DONE if n_annotations >= project.loop_config.overlap else item.state,
        sample_id=sample_id,
        user_id=user.pk,
        label=label,
        time_spent_ms=time_spent_ms,
        key=key,
        now=timezone.now(),
    )
    if n_annotations == 1:
        labeled_count_bump(project_id=project.pk)
    return SubmitResult(annotation=annotation, created=True)


@transaction.atomic
def queue_skip(*, project: Project, user: AbstractBaseUser, sample_id: int) -> None:
    """The user passes on a sample: it goes back to the others and not to them again."""
    _require_member(project, user)
    item = QueueItem.objects.filter(project=project, sample_id=sample_id).first()
    if item is None:
        raise QueueError("this sample is not in the labeling queue")
    Skip.objects.get_or_create(item=item, user=user)
    Reservation.objects.filter(item=item, user=user).delete()


@transaction.atomic
def queue_release(
    *, project: Project, user: AbstractBaseUser, sample_ids: Sequence[int] | None = None
) -> int:
    """Give reserved samples back to the queue (all of the user's, or the ones named)."""
    _require_member(project, user)
    reservations = Reservation.objects.filter(item__project=project, user=user)
    if sample_ids is not None:
        reservations = reservations.filter(item__sample_id__in=list(sample_ids))
    deleted, _ = reservations.delete()
    return deleted


def reservations_purge_expired(*, now: datetime | None = None) -> int:
    """Delete lapsed reservations (they are already ignored; this keeps the table small)."""
    deleted, _ = Reservation.objects.filter(expires_at__lte=now or timezone.now()).delete()
    return deleted


def queue_upkeep(*, now: datetime | None = None) -> dict:
    """The queue's periodic upkeep (beat, every ``QUARRY_QUEUE_UPKEEP_SECONDS``): lapsed
    reservations are deleted and, on PostgreSQL, the queue's tables vacuumed, so the
    dead rows the labels leave behind do not slow get-next down (see
    ``queue_sql.vacuum``). Runs outside a transaction."""
    purged = reservations_purge_expired(now=now)
    return {"reservations purged": purged, "vacuumed": queue_sql.vacuum()}
