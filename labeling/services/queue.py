"""The labeling queue: appending chosen samples, handing them out, skips, releases and
upkeep (labels come back through ``labeling.services.queue_submit``).

Handing out is safe under concurrency on both databases. On PostgreSQL candidates are
locked with ``SELECT ... FOR UPDATE SKIP LOCKED``, then reserved by a second statement
that checks them again (it sees every reservation committed before the lock was
granted), both inside one database function. On SQLite every write transaction is
``BEGIN IMMEDIATE`` (see settings), so writers are serialized and the same steps run
from here without row locks.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta

from django.contrib.auth.models import AbstractBaseUser
from django.db import connection, transaction
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
from labeling.selectors.labels import labeled_count_recent
from labeling.selectors.queue_items import Shown
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


def require_member(project: Project, user: AbstractBaseUser) -> str:
    """The user's role in the project, or ``NotAMemberError``."""
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
    return as_queue_items(
        project,
        queue_sql.held(
            project_id=project.pk, user_id=user.pk, now=now or timezone.now(), limit=limit
        ),
    )


def as_queue_items(
    project: Project, found: Sequence[queue_sql.Item], shown: Mapping[int, Shown] | None = None
) -> list[QueueItem]:
    """The rows as queue items, each with what the label view shows of its sample as
    ``item.shown`` (for ``sample_payloads``' ``known``): from ``shown``, else None."""
    items = []
    for row in found:
        item = QueueItem(id=row.id, project=project, sample_id=row.sample_id, position=row.position)
        item.shown = None if shown is None else shown.get(row.sample_id)
        items.append(item)
    return items


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


def next_bounds(
    *, project: Project, user: AbstractBaseUser, count: int, now: datetime
) -> queue_sql.NextArgs:
    """What a get-next of ``count`` at ``now`` may hand out (``QueueError`` for a count out
    of range or a user outside the project)."""
    if not 1 <= count <= 100:
        raise QueueError("count must be between 1 and 100")
    require_member(project, user)
    left = _budget_left(project)
    if queue_blocked_reason(project=project, budget_left=left):
        cap = 0  # only what the user already holds
    else:
        # A prefetch does not reserve past the budget: what is held will be labeled too.
        cap = count if left is None else max(0, min(count, left))
    expires = now + timedelta(seconds=project.loop_config.reservation_seconds)
    return queue_sql.NextArgs(expires=expires, count=count, cap=cap, attempts=LOCK_ATTEMPTS)


def queue_next(
    *, project: Project, user: AbstractBaseUser, count: int = 1, now: datetime | None = None
) -> list[QueueItem]:
    """Reserve up to ``count`` items for the user: the ones they hold first, then new ones.

    Calling it again after a submission tops the set back up, so a client can keep a
    few samples prefetched without ever holding more than ``count``.
    """
    now = now or timezone.now()
    bounds = next_bounds(project=project, user=user, count=count, now=now)
    query = {
        "project_id": project.pk,
        "user_id": user.pk,
        "now": now,
        "overlap": project.loop_config.overlap,
    }
    if _supports_skip_locked():
        # held items, then candidates locked with SKIP LOCKED and reserved by a statement
        # that checks them again: one call of a database function
        found, shown = queue_sql.next_locked(**query, args=bounds)
        return as_queue_items(project, found, shown)
    with transaction.atomic():
        held = held_items(project=project, user=user, now=now, limit=count)
        want = bounds.cap - len(held)
        if want <= 0:
            return held
        fresh = queue_sql.available(**query, limit=want)
        if fresh:
            queue_sql.reserve(
                item_ids=[item.id for item in fresh],
                user_id=user.pk,
                now=now,
                expires=bounds.expires,
            )
    return held + as_queue_items(project, fresh)


@transaction.atomic
def queue_skip(*, project: Project, user: AbstractBaseUser, sample_id: int) -> None:
    """The user passes on a sample: it goes back to the others and not to them again."""
    require_member(project, user)
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
    require_member(project, user)
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
