"""The labeling queue's hot statements: get-next and submit as fixed SQL.

Why fixed statements, see ``labeling.selectors.sql``. Row locks (``FOR UPDATE [SKIP
LOCKED]``) are added where the database has them.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any, NamedTuple

from django.db import connection

from labeling.models import Annotation, QueueItem, Reservation, Skip
from labeling.selectors import sql

ITEMS = QueueItem._meta.db_table
RESERVATIONS = Reservation._meta.db_table
ANNOTATIONS = Annotation._meta.db_table
SKIPS = Skip._meta.db_table

OPEN = QueueItem.State.OPEN.value
DONE = QueueItem.State.DONE.value


class Item(NamedTuple):
    id: int
    sample_id: int
    position: int


class LockedItem(NamedTuple):
    id: int
    state: str
    n_annotations: int


ANNOTATION = sql.Fields(
    Annotation, ("id", "sample_id", "annotator_id", "label", "time_spent_ms", "idempotency_key")
)


def held(*, project_id: int, user_id: int, now: datetime, limit: int) -> list[Item]:
    """Open items of the project that the user holds an unexpired reservation of."""
    # CROSS JOIN makes SQLite start from the user's few reservations (PostgreSQL plans
    # it as any inner join); left to itself, SQLite without statistics may walk the
    # queue's (project, state, position) index instead.
    statement = f"""
        SELECT q.id, q.sample_id, q.position
        FROM {RESERVATIONS} r CROSS JOIN {ITEMS} q
        WHERE r.user_id = %(user)s AND r.expires_at > %(now)s AND q.id = r.item_id
          AND q.project_id = %(project)s AND q.state = %(open)s
        ORDER BY q.position LIMIT %(limit)s"""
    params = {
        "user": user_id,
        "now": sql.db_time(now),
        "project": project_id,
        "open": OPEN,
        "limit": limit,
    }
    return [Item(*row) for row in sql.fetch(statement, params)]


def available(
    *,
    project_id: int,
    user_id: int,
    now: datetime,
    overlap: int,
    limit: int,
    exclude: Sequence[int] = (),
    only: Sequence[int] | None = None,
    lock: bool = False,
) -> list[Item]:
    """Open items, in queue order, that this user may be handed now.

    Left out: samples the user labeled, items they skipped or hold, and items whose
    ``overlap`` places are taken by labels and unexpired reservations. ``lock`` takes
    row locks on the rows returned and skips rows another transaction holds.
    """
    params: dict[str, Any] = {
        "project": project_id,
        "open": OPEN,
        "user": user_id,
        "now": sql.db_time(now),
        "overlap": overlap,
        "limit": limit,
    }
    if overlap == 1:
        room = f"""AND NOT EXISTS (
            SELECT 1 FROM {RESERVATIONS} r WHERE r.item_id = q.id AND r.expires_at > %(now)s)"""
    else:
        room = f"""AND NOT EXISTS (
            SELECT 1 FROM {RESERVATIONS} r
            WHERE r.item_id = q.id AND r.user_id = %(user)s AND r.expires_at > %(now)s)
          AND q.n_annotations + (
            SELECT COUNT(*) FROM {RESERVATIONS} r
            WHERE r.item_id = q.id AND r.expires_at > %(now)s) < %(overlap)s"""
    extra = ""
    if exclude:
        extra += f" AND q.id NOT IN ({', '.join(sql.named_marks('x', exclude, params))})"
    if only is not None:
        extra += f" AND q.id IN ({', '.join(sql.named_marks('o', only, params)) or 'NULL'})"
    statement = f"""
        SELECT q.id, q.sample_id, q.position FROM {ITEMS} q
        WHERE q.project_id = %(project)s AND q.state = %(open)s
          AND NOT EXISTS (
            SELECT 1 FROM {ANNOTATIONS} a
            WHERE a.sample_id = q.sample_id AND a.annotator_id = %(user)s)
          AND NOT EXISTS (
            SELECT 1 FROM {SKIPS} s WHERE s.item_id = q.id AND s.user_id = %(user)s)
          {room}{extra}
        ORDER BY q.position LIMIT %(limit)s"""
    if lock:
        statement += " FOR UPDATE OF q SKIP LOCKED"
    return [Item(*row) for row in sql.fetch(statement, params)]


def reserve(*, item_ids: Sequence[int], user_id: int, now: datetime, expires: datetime) -> None:
    """Reserve the items for the user until ``expires`` (renewing a lapsed reservation)."""
    params: dict[str, Any] = {
        "user": user_id,
        "now": sql.db_time(now),
        "expires": sql.db_time(expires),
    }
    values = ", ".join(
        f"({item}, %(user)s, %(expires)s, %(now)s)"
        for item in sql.named_marks("i", item_ids, params)
    )
    sql.execute(
        f"""INSERT INTO {RESERVATIONS} (item_id, user_id, expires_at, created_at)
        VALUES {values}
        ON CONFLICT (item_id, user_id)
        DO UPDATE SET expires_at = excluded.expires_at, created_at = excluded.created_at""",
        params,
    )


def item_for_update(*, project_id: int, sample_id: int) -> LockedItem | None:
    """The sample's queue item, locked until the transaction ends (where rows lock)."""
    statement = f"""SELECT id, state, n_annotations FROM {ITEMS}
        WHERE project_id = %(project)s AND sample_id = %(sample)s"""
    if connection.features.has_select_for_update:
        statement += " FOR UPDATE"
    found = sql.fetch(statement, {"project": project_id, "sample": sample_id})
    return LockedItem(*found[0]) if found else None


def annotations_of(*, sample_id: int, user_id: int, key: str | None) -> list[Annotation]:
    """The user's label of the sample and the idempotency key's label (at most two)."""
    found = sql.fetch(
        f"""SELECT {ANNOTATION.select("a")} FROM {ANNOTATIONS} a
        WHERE (sample_id = %(sample)s AND annotator_id = %(user)s) OR idempotency_key = %(key)s
        LIMIT 2""",
        {"sample": sample_id, "user": user_id, "key": key},
    )
    return [ANNOTATION.instance(row) for row in found]


def annotation_insert(
    *, sample_id: int, user_id: int, label: int, time_spent_ms: int, key: str | None, now: datetime
) -> Annotation:
    params = {
        "sample": sample_id,
        "user": user_id,
        "label": label,
        "spent": time_spent_ms,
        "key": key,
        "now": sql.db_time(now),
    }
    statement = f"""INSERT INTO {ANNOTATIONS}
        (sample_id, annotator_id, label, time_spent_ms, idempotency_key, created_at, updated_at)
        VALUES (%(sample)s, %(user)s, %(label)s, %(spent)s, %(key)s, %(now)s, %(now)s)"""
    with connection.cursor() as cursor:
        if connection.features.can_return_columns_from_insert:
            cursor.execute(statement + " RETURNING id", params)
            pk = cursor.fetchone()[0]
        else:
            cursor.execute(statement, params)
            pk = cursor.lastrowid
    values = {
        "id": pk,
        "sample_id": sample_id,
        "annotator_id": user_id,
        "label": label,
        "time_spent_ms": time_spent_ms,
        "idempotency_key": key,
    }
    return ANNOTATION.instance([values[name] for name in ANNOTATION.names])


def annotation_update(annotation: Annotation, *, now: datetime) -> None:
    sql.execute(
        f"""UPDATE {ANNOTATIONS}
        SET label = %(label)s, time_spent_ms = %(spent)s, idempotency_key = %(key)s,
            updated_at = %(now)s
        WHERE id = %(id)s""",
        {
            "label": annotation.label,
            "spent": annotation.time_spent_ms,
            "key": annotation.idempotency_key,
            "now": sql.db_time(now),
            "id": annotation.pk,
        },
    )


def reservation_holders(*, item_id: int, now: datetime) -> list[int]:
    """Users holding an unexpired reservation of the item."""
    found = sql.fetch(
        f"SELECT user_id FROM {RESERVATIONS} WHERE item_id = %(item)s AND expires_at > %(now)s",
        {"item": item_id, "now": sql.db_time(now)},
    )
    return [user_id for (user_id,) in found]


def item_count_label(*, item_id: int, n_annotations: int, state: str) -> None:
    sql.execute(
        f"UPDATE {ITEMS} SET n_annotations = %(n)s, state = %(state)s WHERE id = %(id)s",
        {"n": n_annotations, "state": state, "id": item_id},
    )


def reservation_delete(*, item_id: int, user_id: int) -> None:
    sql.execute(
        f"DELETE FROM {RESERVATIONS} WHERE item_id = %(item)s AND user_id = %(user)s",
        {"item": item_id, "user": user_id},
    )
