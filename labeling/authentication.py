"""Who is asking: the user behind a session or an API token, read by fixed statements.

Every labeling call authenticates before anything else; composed through the ORM these
lookups cost more than the rest of a submit. The queue's calls read a token's user
together with the project (``labeling.api.queue``); ``token_key`` gives them the key.
Behaviour is Django's and DRF's: inactive users are refused the same way.
"""

from __future__ import annotations

from django.contrib.auth.backends import ModelBackend
from django.utils.translation import gettext_lazy as _
from rest_framework import HTTP_HEADER_ENCODING, authentication, exceptions
from rest_framework.authtoken.models import Token

from labeling.selectors import sql
from labeling.selectors.users import USER, User, user_by_id

__all__ = ["TokenAuthentication", "UserBackend", "token_key", "user_by_id"]


def _authorization(request) -> list[bytes]:
    """The ``Authorization`` header's words, read from ``request.META`` (what
    ``request.headers`` is built from, without building the whole mapping)."""
    auth = request.META.get("HTTP_AUTHORIZATION", b"")
    if isinstance(auth, str):
        auth = auth.encode(HTTP_HEADER_ENCODING)
    return auth.split()


class UserBackend(ModelBackend):
    """Django's ModelBackend; the session's user is loaded by one fixed statement."""

    def get_user(self, user_id):
        user = user_by_id(user_id)
        return user if user is not None and self.user_can_authenticate(user) else None


class TokenAuthentication(authentication.TokenAuthentication):
    """DRF's token authentication; token and user are read by one fixed statement.
    The checks and messages are DRF's."""

    def authenticate(self, request):
        auth = _authorization(request)
        if not auth or auth[0].lower() != self.keyword.lower().encode():
            return None
        if len(auth) == 1:
            msg = _("Invalid token header. No credentials provided.")
            raise exceptions.AuthenticationFailed(msg)
        elif len(auth) > 2:
            msg = _("Invalid token header. Token string should not contain spaces.")
            raise exceptions.AuthenticationFailed(msg)
        try:
            token = auth[1].decode()
        except UnicodeError:
            msg = _("Invalid token header. Token string should not contain invalid characters.")
            raise exceptions.AuthenticationFailed(msg) from None
        return self.authenticate_credentials(token)

    def authenticate_credentials(self, key):
        rows = sql.fetch(
            f"""SELECT {USER.select("u")} FROM {Token._meta.db_table} t
            JOIN {User._meta.db_table} u ON u.id = t.user_id WHERE t.key = %s""",
            [key],
        )
        if not rows:
            raise exceptions.AuthenticationFailed(_("Invalid token."))
        user = USER.instance(rows[0])
        if not user.is_active:
            raise exceptions.AuthenticationFailed(_("User inactive or deleted."))
        token = Token(key=key, user=user)
        return user, token


def token_key(request) -> str | None:
    """The key of a well-formed ``Authorization: Token <key>`` header, else None (no
    header, another scheme, or a malformed one, which ``TokenAuthentication`` refuses)."""
    auth = _authorization(request)
    if len(auth) != 2 or auth[0].lower() != TokenAuthentication.keyword.lower().encode():
        return None
    try:
        return auth[1].decode()
    except UnicodeError:
        return None
