"""Users read by fixed statements: the session's user, and the user behind a token."""

from __future__ import annotations

from django.contrib.auth import get_user_model

from labeling.selectors import sql

User = get_user_model()
USER = sql.Fields(User, [f.attname for f in User._meta.concrete_fields])


def user_by_id(user_id) -> User | None:
    try:
        pk = int(user_id)
    except (TypeError, ValueError):
        return None
    if not sql.is_key(pk):
        return None
    rows = sql.fetch(
        f"SELECT {USER.select('u')} FROM {User._meta.db_table} u WHERE u.id = %s", [pk]
    )
    return USER.instance(rows[0]) if rows else None
