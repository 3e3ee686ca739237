"""Taking labels back from the queue: one label or a batch, each applied once per
idempotency key, with the next samples handed out in the same call when asked.

On PostgreSQL, outside a transaction (as a web request runs), a new label for a sample
the user holds is one statement (``queue_sql.label_store_held``), and so is the get-next
a submit asks for after it; every other case, and SQLite, takes the path that locks the
queue item and reads its state first, and runs get-next on its own.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime

from django.contrib.auth.models import AbstractBaseUser
from django.db import IntegrityError, connection, transaction
from django.utils import timezone

from labeling.models import Annotation, Project, QueueItem
from labeling.selectors.labels import labeled_count_bump
from labeling.services import queue_sql
from labeling.services.queue import (
    QueueError,
    as_queue_items,
    next_bounds,
    queue_next,
    require_member,
)


@dataclass(frozen=True)
class SubmitResult:
    annotation: Annotation
    created: bool  # False when an existing label was changed or a retry was replayed
    replayed: bool = False  # True when the idempotency key had been applied already


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
    result, _ = _label_submit(
        project, user, sample_id, label, time_spent_ms, idempotency_key, now or timezone.now()
    )
    return result


def _label_submit(
    project, user, sample_id, label, time_spent_ms, key, now, then_next=None
) -> tuple[SubmitResult, list[QueueItem] | None]:
    """``annotation_submit``, and with ``then_next`` (``next_bounds``) the get-next after
    it where one statement can do both (see ``_submit_held``): what it handed out, else
    None."""
    require_member(project, user)
    label = _check_label(project, label)
    time_spent_ms = max(0, min(int(time_spent_ms or 0), 24 * 3600 * 1000))
    if key is not None and not 1 <= len(key) <= 64:
        raise QueueError("idempotency key must be 1 to 64 characters")
    held = _submit_held(project, user, sample_id, label, time_spent_ms, key, now, then_next)
    result, handed = held or (None, None)
    if result is None:
        try:
            with transaction.atomic():
                result = _submit_locked(project, user, sample_id, label, time_spent_ms, key, now)
        except IntegrityError:
            # A concurrent retry of the same submission won the race: replay it.
            replay = key and _replay(key, user, sample_id)
            if not replay:
                raise
            return replay, None
    if result.created and not result.replayed and _retrain_on_labels(project):
        from labeling.services.rounds import round_maybe_trigger

        transaction.on_commit(lambda: round_maybe_trigger(project=project))
    return result, handed


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
    now = timezone.now()
    # The last label carries the get-next where one statement can do both. Not under a
    # label budget: what is left of it is known only once the label is counted.
    then_next = None
    if top_up and project.label_budget is None and _one_statement():
        then_next = next_bounds(project=project, user=user, count=top_up, now=now)
    outcomes, handed = [], None
    for n, item in enumerate(items, 1):
        sample_id = item["sample_id"]
        try:
            result, handed = _label_submit(
                project,
                user,
                sample_id,
                item["label"],
                item.get("time_spent_ms", 0),
                item.get("idempotency_key"),
                now,
                then_next if n == len(items) else None,
            )
        except (QueueError, IntegrityError) as exc:
            outcomes.append(SubmitOutcome(sample_id=sample_id, error=str(exc)))
        else:
            outcomes.append(SubmitOutcome(sample_id=sample_id, result=result))
    if top_up and handed is None:
        handed = queue_next(project=project, user=user, count=top_up, now=now)
    return Submitted(outcomes=outcomes, top_up=handed)


def _retrain_on_labels(project: Project) -> bool:
    """Whether the project retrains every N labels, as loaded with this request (no query).

    Decided here, not in ``round_maybe_trigger``: a project object kept longer (a worker's,
    a test's) may hold a loop configuration changed since, which the trigger reads afresh.
    """
    config = getattr(project, "loop_config", None)
    return config is None or bool(config.retrain_every)


def _one_statement() -> bool:
    """Whether a held sample's label (and the get-next after it) can be one statement:
    on PostgreSQL, outside a transaction."""
    return connection.vendor == "postgresql" and not connection.in_atomic_block


def _submit_held(
    project, user, sample_id, label, time_spent_ms, key, now, then_next
) -> tuple[SubmitResult, list[QueueItem] | None] | None:
    """The common case in one statement (PostgreSQL, outside a transaction): a new label
    for a sample the user holds, and with ``then_next`` the get-next after it. None when
    that is not the case, or on SQLite or inside a transaction; ``_submit_locked`` then
    decides, as it always did, and get-next runs on its own."""
    if not _one_statement():
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
            then_next=then_next,
        )
    except IntegrityError:
        return None  # labeled before, or the key was used: the statement changed nothing
    if stored is None:
        return None
    annotation, n_annotations, found, shown = stored
    if n_annotations == 1:
        labeled_count_bump(project_id=project.pk)
    handed = as_queue_items(project, found, shown) if then_next else None
    return SubmitResult(annotation=annotation, created=True), handed


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
