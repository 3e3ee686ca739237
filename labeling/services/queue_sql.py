"""The labeling queue's hot statements: get-next and submit as fixed SQL.

Why fixed statements, see ``labeling.selectors.sql``. On PostgreSQL, get-next is one call
of a database function (``next_locked``), and a new label for a held sample, with the
get-next after it, one call of another (``label_store_held``); SQLite, whose write
transactions are serialized, runs the steps one by one. Row locks (``FOR UPDATE``) are
added where the database has them.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any, NamedTuple

from django.db import connection

from labeling.models import Annotation, Prediction, QueueItem, Reservation, Sample, Skip
from labeling.selectors import sql
from labeling.selectors.queue_items import SHOWN_COLUMNS, Shown, shown

ITEMS = QueueItem._meta.db_table
RESERVATIONS = Reservation._meta.db_table
ANNOTATIONS = Annotation._meta.db_table
SKIPS = Skip._meta.db_table

OPEN = QueueItem.State.OPEN.value
# Written into the text, not bound: the planner then matches the partial index
# ``queue_open`` (a prepared statement's generic plan could not, for a parameter).
OPEN_ITEM = f"q.state = '{OPEN}'"
assert OPEN.isalpha()


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
          AND q.project_id = %(project)s AND {OPEN_ITEM}
        ORDER BY q.position LIMIT %(limit)s"""
    params = {
        "user": user_id,
        "now": sql.db_time(now),
        "project": project_id,
        "limit": limit,
    }
    return [Item(*row) for row in sql.fetch(statement, params)]


def _room(
    *, project_id: int, user_id: int, now: datetime, overlap: int, params: dict[str, Any]
) -> str:
    """The WHERE clause of open items (alias ``q``) this user may be handed now.

    Left out: samples the user labeled, items they skipped or hold, and items whose
    ``overlap`` places are taken by labels and unexpired reservations. PostgreSQL's
    ``quarry_queue_next`` (migration 0003) holds the same conditions: a change here
    needs a migration that replaces the function.
    """
    params.update(project=project_id, user=user_id, now=sql.db_time(now), overlap=overlap)
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
    return f"""q.project_id = %(project)s AND {OPEN_ITEM}
          AND NOT EXISTS (
            SELECT 1 FROM {ANNOTATIONS} a
            WHERE a.sample_id = q.sample_id AND a.annotator_id = %(user)s)
          AND NOT EXISTS (
            SELECT 1 FROM {SKIPS} s WHERE s.item_id = q.id AND s.user_id = %(user)s)
          {room}"""


def available(
    *, project_id: int, user_id: int, now: datetime, overlap: int, limit: int
) -> list[Item]:
    """Open items, in queue order, that this user may be handed now (see ``_room``).

    SQLite, where write transactions are serialized; PostgreSQL runs ``next_locked``."""
    params: dict[str, Any] = {"limit": limit}
    where = _room(project_id=project_id, user_id=user_id, now=now, overlap=overlap, params=params)
    statement = f"""SELECT q.id, q.sample_id, q.position FROM {ITEMS} q
        WHERE {where}
        ORDER BY q.position LIMIT %(limit)s"""
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


class NextArgs(NamedTuple):
    """get-next's bounds, as ``labeling.services.queue`` works them out: up to ``count``
    items the user holds, then new ones up to ``cap`` in all, reserved until ``expires``,
    in at most ``attempts`` rounds of locking."""

    expires: datetime | None
    count: int
    cap: int
    attempts: int


# What the label view shows of the samples a database function handed out (``n``: its
# rows WITH ORDINALITY as ``handed``), one row per prediction, the newest first; a label
# that hands nothing out still has its row (no sample).
_SHOWN_OF_HANDED = f"""LEFT JOIN {Sample._meta.db_table} s ON s.id = n.sample_id
        LEFT JOIN {Prediction._meta.db_table} p ON p.sample_id = s.id
        ORDER BY n.handed, p.model_version_id DESC"""


def next_locked(
    *, project_id: int, user_id: int, now: datetime, overlap: int, args: NextArgs
) -> tuple[list[Item], dict[int, Shown]]:
    """PostgreSQL: up to ``count`` items the user holds, then new ones up to ``cap`` in
    all, reserved until ``expires``; held ones first, each group in queue order. With
    them, what the label view shows of their samples (sample id -> ``Shown``), read by
    the same statement.

    One call of the database function ``quarry_queue_next`` (migration 0003): it locks
    candidates in queue order with ``FOR UPDATE SKIP LOCKED`` and reserves those still
    free by a statement of its own, which sees the reservations other transactions
    committed while the rows were being locked; rows lost that way are replaced, up to
    ``attempts`` rounds. Its conditions are ``_room``'s.
    """
    rows = sql.fetch(
        f"""SELECT n.id, n.sample_id, n.position, {SHOWN_COLUMNS}
        FROM quarry_queue_next(
            %(project)s, %(user)s, %(now)s, %(expires)s, %(overlap)s, %(count)s, %(cap)s,
            %(attempts)s) WITH ORDINALITY AS n (id, sample_id, position, handed)
        {_SHOWN_OF_HANDED}""",
        {"project": project_id, "user": user_id, "now": now, "overlap": overlap, **args._asdict()},
    )
    return _handed(rows)


def _handed(rows: Sequence[Sequence]) -> tuple[list[Item], dict[int, Shown]]:
    """Rows of (item id, sample id, position, ``SHOWN_COLUMNS``...), an item's rows
    together (one per prediction, its newest first): the items and what they show."""
    items = {row[0]: Item(*row[:3]) for row in rows}
    return list(items.values()), shown((row[1], *row[3:]) for row in rows)


def item_for_update(*, project_id: int, sample_id: int) -> LockedItem | None:
    """The sample's queue item, locked until the transaction ends (where rows lock)."""
    statement = f"""SELECT id, state, n_annotations FROM {ITEMS}
        WHERE project_id = %(project)s AND sample_id = %(sample)s"""
    if connection.features.has_select_for_update:
        statement += " FOR UPDATE"
    found = sql.fetch(statement, {"project": project_id, "sample": sample_id})
    return LockedItem(*found[0]) if found else None


class Found(NamedTuple):
    """What submit reads under the item's lock."""

    annotations: list[Annotation]  # the user's label of the sample, the key's label
    holders: list[int]  # users holding an unexpired reservation of the item


def submit_state(
    *, sample_id: int, user_id: int, key: str | None, item_id: int | None, now: datetime
) -> Found:
    """The user's label of the sample, the idempotency key's label (at most two), and
    the item's reservation holders, in one statement."""
    blanks = ", ".join(["NULL"] * (len(ANNOTATION) - 1))
    found = sql.fetch(
        f"""SELECT 1, {ANNOTATION.select("a")} FROM {ANNOTATIONS} a
        WHERE (a.sample_id = %(sample)s AND a.annotator_id = %(user)s)
          OR a.idempotency_key = %(key)s
        UNION ALL
        SELECT 2, r.user_id, {blanks} FROM {RESERVATIONS} r
        WHERE r.item_id = %(item)s AND r.expires_at > %(now)s""",
        {
            "sample": sample_id,
            "user": user_id,
            "key": key,
            "item": item_id,
            "now": sql.db_time(now),
        },
    )
    return Found(
        annotations=[ANNOTATION.instance(row[1:]) for row in found if row[0] == 1],
        holders=[row[1] for row in found if row[0] == 2],
    )


_INSERT_LABEL = f"""INSERT INTO {ANNOTATIONS}
        (sample_id, annotator_id, label, time_spent_ms, idempotency_key, created_at, updated_at)"""
_LABEL_VALUES = "%(sample)s, %(user)s, %(label)s, %(spent)s, %(key)s, %(now)s, %(now)s"


def label_store(
    *,
    item_id: int,
    n_annotations: int,
    state: str,
    sample_id: int,
    user_id: int,
    label: int,
    time_spent_ms: int,
    key: str | None,
    now: datetime,
) -> Annotation:
    """Store a new label, count it on its queue item (``n_annotations``, ``state``) and
    drop the user's reservation of the item.

    One statement on PostgreSQL (the item update and the reservation delete ride along
    as data-modifying CTEs), three on SQLite.
    """
    params = {
        "sample": sample_id,
        "user": user_id,
        "label": label,
        "spent": time_spent_ms,
        "key": key,
        "now": sql.db_time(now),
        "item": item_id,
        "n": n_annotations,
        "state": state,
    }
    insert = f"{_INSERT_LABEL} VALUES ({_LABEL_VALUES})"
    count = f"UPDATE {ITEMS} SET n_annotations = %(n)s, state = %(state)s WHERE id = %(item)s"
    release = f"DELETE FROM {RESERVATIONS} WHERE item_id = %(item)s AND user_id = %(user)s"
    if connection.vendor == "postgresql":
        ((pk,),) = sql.fetch(
            f"""WITH a AS ({insert} RETURNING id), c AS ({count}), r AS ({release})
            SELECT id FROM a""",
            params,
        )
    else:
        with sql.statement_cursor() as cursor:
            cursor.execute(insert, params)
            pk = cursor.lastrowid
            cursor.execute(count, params)
            cursor.execute(release, params)
    return _stored(pk, sample_id, user_id, label, time_spent_ms, key)


def _stored(pk, sample_id, user_id, label, time_spent_ms, key) -> Annotation:
    values = {
        "id": pk,
        "sample_id": sample_id,
        "annotator_id": user_id,
        "label": label,
        "time_spent_ms": time_spent_ms,
        "idempotency_key": key,
    }
    return ANNOTATION.instance([values[name] for name in ANNOTATION.names])


def label_store_held(
    *,
    project_id: int,
    sample_id: int,
    user_id: int,
    overlap: int,
    label: int,
    time_spent_ms: int,
    key: str | None,
    now: datetime,
    then_next: NextArgs | None = None,
) -> tuple[Annotation, int, list[Item], dict[int, Shown]] | None:
    """PostgreSQL, outside a transaction: store a new label for a sample the user holds
    an unexpired reservation of, in one statement, or do nothing and return None. With
    ``then_next``, the same statement then hands out the next items as ``next_locked``.

    Returns the label, the item's new label count and what get-next handed out (empty
    without ``then_next``). One call of the database function ``quarry_label_held``
    (migration 0007): it drops the user's reservation, counts the label on the item and
    inserts it, all or nothing. Deleting the reservation is the lock: of two submissions
    racing for it, one deletes it and the other finds none and changes nothing. The count
    is taken from the item's newest row version (an ``UPDATE`` waits for, and re-reads, a
    row another transaction changed). A label the user already gave, or an idempotency
    key already used, fails on the unique constraints, and the statement then changes
    nothing: ``IntegrityError``. Whoever gets None (or that error) takes the locking path.
    """
    after = then_next or NextArgs(expires=None, count=0, cap=0, attempts=0)
    rows = sql.fetch(
        f"""SELECT n.label_id, n.label_count, n.id, n.sample_id, n.position, {SHOWN_COLUMNS}
        FROM quarry_label_held(
            %(project)s, %(sample)s, %(user)s, %(overlap)s, %(label)s, %(spent)s, %(key)s,
            %(now)s, %(expires)s, %(count)s, %(cap)s, %(attempts)s) WITH ORDINALITY
            AS n (label_id, label_count, id, sample_id, position, handed)
        {_SHOWN_OF_HANDED}""",
        {
            "project": project_id,
            "sample": sample_id,
            "user": user_id,
            "overlap": overlap,
            "label": label,
            "spent": time_spent_ms,
            "key": key,
            "now": sql.db_time(now),
            **after._asdict(),
        },
    )
    if not rows:
        return None
    pk, n_annotations = rows[0][:2]
    found, seen = _handed([row[2:] for row in rows if row[2] is not None])
    return _stored(pk, sample_id, user_id, label, time_spent_ms, key), n_annotations, found, seen


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


def vacuum() -> bool:
    """``VACUUM`` the queue's items and reservations (PostgreSQL; elsewhere nothing).

    Every label turns an open item into a done one and drops a reservation, and each
    leaves a dead entry in the open-items index at the head of the queue, where every
    get-next starts its scan, until the table is vacuumed. Autovacuum visits a database
    once a minute at most (``autovacuum_naptime``); at a few hundred labels a second
    get-next then steps over tens of thousands of dead entries. Tables another vacuum
    holds are skipped. Runs outside a transaction; returns whether it ran.
    """
    if connection.vendor != "postgresql":
        return False
    if not connection.get_autocommit():
        raise RuntimeError("VACUUM cannot run inside a transaction")
    with connection.cursor() as cursor:
        cursor.execute(f"VACUUM (SKIP_LOCKED) {ITEMS}, {RESERVATIONS}")
    return True
