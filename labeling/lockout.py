"""The answer to a login that django-axes has locked out (``AXES_LOCKOUT_CALLABLE``).

Through the API (the token endpoint) it is JSON, ``{"detail": ...}`` as every API error
and as the schema documents it; the login page keeps axes' own message. Both come with
axes' status (429) and, while the lock lasts for a time, ``Retry-After``.
"""

from __future__ import annotations

import math

from axes.conf import settings as axes_settings
from axes.helpers import get_cool_off, get_lockout_message
from django.http import HttpRequest, HttpResponse, JsonResponse

API_PREFIX = "/api/"


def lockout_response(
    request: HttpRequest, original_response: HttpResponse | None = None, credentials=None
) -> HttpResponse:
    cool_off = get_cool_off(request)
    status = axes_settings.AXES_HTTP_RESPONSE_CODE
    if request.path_info.startswith(API_PREFIX):
        wait = (
            f"try again in {math.ceil(cool_off.total_seconds() / 60)} minutes"
            if cool_off
            else "an administrator can lift the lock"
        )
        response: HttpResponse = JsonResponse(
            {"detail": f"too many failed logins for this username from this address; {wait}"},
            status=status,
        )
    else:
        response = HttpResponse(get_lockout_message(), status=status)
    if cool_off:
        response["Retry-After"] = str(math.ceil(cool_off.total_seconds()))
    return response
