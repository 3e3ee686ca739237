"""Running fixed SQL statements and turning their rows into model instances.

The labeling hot path (authentication, get-next, submit, the payloads the label view
shows) runs on every keypress of every annotator; composing those ORM queries cost
more CPU than the database spent running them, so they are written once as SQL that
SQLite and PostgreSQL both accept. Values are always bound as parameters; only table
and column names taken from the models, and the code's own constants, are written into
the text.

On PostgreSQL the parameters are bound by the server, so psycopg prepares each statement
once it has run ``prepare_threshold`` times on a connection (see settings) and the
server stops parsing and planning it on every call. The ORM keeps Django's default,
client-side binding.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import datetime
from typing import Any, Generic, TypeVar

from django.db import DEFAULT_DB_ALIAS, connection, connections, models
from django.db.models import signals
from django.db.models.base import ModelState
from django.utils.asyncio import async_unsafe

M = TypeVar("M", bound=models.Model)


def statement_cursor():
    """A cursor for fixed statements: server-side binding on PostgreSQL.

    Not while queries are logged (DEBUG, tests counting queries): Django cannot show the
    text of a server-bound statement, so those get the ORM's client-side cursor.
    """
    conn = connections[DEFAULT_DB_ALIAS]
    if conn.vendor != "postgresql" or conn.queries_logged:
        return conn.cursor()
    return conn.make_cursor(_server_binding_cursor(conn))


def _server_binding_cursor(conn):
    """A bare psycopg cursor that binds parameters on the server, after the checks Django
    makes before it hands out a cursor (connected, used from its own thread)."""
    from django.db.backends.postgresql.base import ServerBindingCursor

    conn.ensure_connection()
    conn.validate_thread_sharing()
    with conn.wrap_database_errors:
        return ServerBindingCursor(conn.connection)


def _run(sql: str, params, read: Callable[[Any], Any]):
    """Runs a statement and returns ``read(cursor)``.

    On PostgreSQL, unless queries are logged or wrapped (``connection.execute_wrapper``),
    the statement goes to a bare psycopg cursor with the checks Django's cursor wrapper
    makes (the thread, a broken transaction, errors as Django's exceptions), without the
    wrapper's per-call cost; elsewhere through ``statement_cursor``.
    """
    conn = connections[DEFAULT_DB_ALIAS]
    if conn.vendor != "postgresql" or conn.queries_logged or conn.execute_wrappers:
        with statement_cursor() as cursor:
            cursor.execute(sql, params)
            return read(cursor)
    conn.validate_no_broken_transaction()
    cursor = _reused_cursor(conn)
    with conn.wrap_database_errors:
        cursor.execute(sql, params)
        return read(cursor)


@async_unsafe  # as Django's own cursors: no blocking query from an event loop
def _reused_cursor(conn):
    """The connection's bare cursor for fixed statements, made on its first one and kept
    while the database connection lasts. A psycopg cursor runs one statement after
    another; making and closing one per statement cost a fifth of a short statement's
    client CPU (a prepared one-row SELECT in one process: 71 against 57 us). It holds the
    last statement's rows until the next (the hot path's results are small)."""
    raw = conn.connection
    kept = getattr(conn, "_quarry_cursor", None)
    if raw is None or kept is None or kept[0] is not raw or kept[1].closed:
        cursor = _server_binding_cursor(conn)
        conn._quarry_cursor = (conn.connection, cursor)
        return cursor
    conn.validate_thread_sharing()
    return kept[1]


def is_key(pk: int) -> bool:
    """Whether a row could have this primary key: 1 to 2**63 - 1 (PostgreSQL refuses a
    larger number as a bigint parameter)."""
    return 0 < pk < 2**63


def _rows(cursor) -> list[tuple]:
    return cursor.fetchall()


def _rowcount(cursor) -> int:
    return cursor.rowcount


def fetch(sql: str, params: Sequence[Any] | Mapping[str, Any]) -> list[tuple]:
    return _run(sql, params, _rows)


def execute(sql: str, params: Sequence[Any] | Mapping[str, Any]) -> int:
    """Runs a statement; returns the number of rows it changed."""
    return _run(sql, params, _rowcount)


def db_time(value: datetime) -> Any:
    """A datetime as the database stores it (SQLite keeps naive UTC text)."""
    return connection.ops.adapt_datetimefield_value(value)


def marks(values: Sequence[Any]) -> str:
    """``%s, %s, ...``: one placeholder per value, for an IN list."""
    return ", ".join(["%s"] * len(values))


def named_marks(prefix: str, ids: Sequence[int], params: dict[str, Any]) -> list[str]:
    """``["%(prefix0)s", "%(prefix1)s", ...]`` for a statement with named parameters;
    the ids (as ints) go into ``params`` under those names."""
    names = [f"{prefix}{i}" for i in range(len(ids))]
    params.update(zip(names, (int(v) for v in ids), strict=True))
    return [f"%({n})s" for n in names]


class Fields(Generic[M]):
    """Some fields of a model: their columns for a SELECT, and a row back to an instance.

    Values go through the same converters the ORM applies (SQLite's dates and
    booleans, JSON); the fields not selected load on first access, as with ``only()``.
    """

    def __init__(self, model: type[M], names: Iterable[str]) -> None:
        wanted = set(names)
        self.model = model
        self.fields = [f for f in model._meta.concrete_fields if f.attname in wanted]
        self.names = tuple(f.attname for f in self.fields)
        if len(self.names) != len(wanted):
            raise ValueError(f"{model.__name__} has no field {sorted(wanted - set(self.names))}")
        self._converters: dict[str, list[tuple[int, Any, list[Callable]]]] = {}
        self._selects: dict[str, str] = {}
        self._plain_model: bool | None = None

    def __len__(self) -> int:
        return len(self.fields)

    def select(self, alias: str) -> str:
        """``alias.col1, alias.col2, ...`` in the order ``instance`` reads them."""
        found = self._selects.get(alias)
        if found is None:
            found = self._selects[alias] = ", ".join(f"{alias}.{f.column}" for f in self.fields)
        return found

    def converters(self, conn=None) -> list[tuple[int, Any, list[Callable]]]:
        """(position, column expression, its converters) of the fields that have
        converters on this database."""
        conn = conn or connections[DEFAULT_DB_ALIAS]
        found = self._converters.get(conn.vendor)
        if found is None:
            found = []
            for i, field in enumerate(self.fields):
                col = field.get_col(self.model._meta.db_table)
                convs = [*conn.ops.get_db_converters(col), *col.get_db_converters(conn)]
                if convs:
                    found.append((i, col, convs))
            self._converters[conn.vendor] = found
        return found

    def instance(self, row: Sequence[Any]) -> M:
        conn = connections[DEFAULT_DB_ALIAS]
        values = list(row)
        for i, col, convs in self.converters(conn):
            for convert in convs:
                values[i] = convert(values[i], col, conn)
        if not self._plain():
            return self.model.from_db(conn.alias, self.names, values)
        # what ``from_db`` leaves, without ``__init__``'s walk over every field and its
        # two signals (nobody listens): 0.7 instead of 3.9 us an instance, four in each
        # label call; the fields not selected still load on access
        obj = self.model.__new__(self.model)
        state = obj._state = ModelState()
        state.adding, state.db = False, conn.alias
        obj.__dict__.update(zip(self.names, values, strict=True))
        return obj

    def _plain(self) -> bool:
        """Whether an instance can be made by setting its attributes: the model keeps
        ``Model``'s ``__init__`` and ``from_db``, and no receiver of ``pre_init`` or
        ``post_init`` listens for it now."""
        model = self.model
        if self._plain_model is None:
            self._plain_model = (
                model.__init__ is models.Model.__init__
                and model.from_db.__func__ is models.Model.from_db.__func__
            )
        return (
            self._plain_model
            and not signals.pre_init.has_listeners(model)
            and not signals.post_init.has_listeners(model)
        )
