"""Django's database sessions, loaded by one fixed statement (see ``selectors.sql``).

Every browser request reads its session; saving, expiry and clean-up are Django's.
"""

from __future__ import annotations

from django.contrib.sessions.backends import db
from django.utils import timezone

from labeling.selectors import sql


class SessionStore(db.SessionStore):
    def load(self):
        if not self.session_key:
            return {}
        model = self.get_model_class()
        rows = sql.fetch(
            f"""SELECT session_data FROM {model._meta.db_table}
            WHERE session_key = %s AND expire_date > %s""",
            [self.session_key, sql.db_time(timezone.now())],
        )
        if not rows:
            self._session_key = None
            return {}
        return self.decode(rows[0][0])
