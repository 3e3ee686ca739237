"""The labeling calls annotators' tools make all day (get-next, and submit with the
get-next after it), answered without DRF's request cycle when the request is a plain one.

A plain request: a POST with no query string, an ``Authorization: Token <key>`` whose
user is an active member of the project, a JSON body (``Content-Type: application/json``)
within the body limit that the view's direct reading takes as it is (``next_plain``,
``submit_plain``), and an ``Accept`` header that is absent, ``*/*`` or
``application/json``. Such a request gets the answer the DRF view would give, byte for
byte, from the same function (``next_answer``, ``submit_answer``); errors raised there go
through the API's exception handler. Every other request is handed to the DRF view as
it came, before anything has changed, and answered there as before: authentication and
its errors, validation, the browsable page. The schema still describes the DRF view.

Why: DRF's request wrapper, negotiation and rendering cost about a fifth of the
application's CPU on these calls (``bench/label_cpu.py --against-drf``).
"""

from __future__ import annotations

import functools
import json
from collections.abc import Callable

from django.http import HttpResponse
from rest_framework.exceptions import APIException
from rest_framework.renderers import JSONRenderer

from labeling.api.base import body_limit, check_content_length, exception_handler
from labeling.authentication import token_key
from labeling.selectors.projects import member_by_token

JSON = "application/json"
_ACCEPTED = (None, "*/*", JSON)
_RENDERER = JSONRenderer()
# the headers DRF's exception handler may set on an error's answer
_ERROR_HEADERS = ("WWW-Authenticate", "Retry-After")


def direct(drf_view: Callable, read: Callable, answer: Callable) -> Callable:
    """``drf_view`` (an ``as_view()``), answering plain requests itself: ``read`` takes
    the parsed body to validated data or None (not plain); ``answer(project, user, data)``
    gives the answer's data."""

    @functools.wraps(drf_view)
    def view(request, project_id: int):
        response = _answer(request, project_id, read, answer, drf_view)
        return response if response is not None else drf_view(request, project_id=project_id)

    return view


def _answer(request, project_id, read, answer, drf_view) -> HttpResponse | None:
    meta = request.META
    if (
        request.method != "POST"
        or meta.get("QUERY_STRING")
        or meta.get("CONTENT_TYPE") != JSON
        or meta.get("HTTP_ACCEPT") not in _ACCEPTED
    ):
        return None
    key = token_key(request)
    data = None if key is None else _body(request)
    data = None if data is None else read(data)
    if data is None:
        return None
    found = member_by_token(key=key, project_id=project_id)
    if found is None or found[1] is None:
        return None
    user, project = found
    request.user = user
    try:
        return _json(answer(project, user, data), 200, drf_view)
    except Exception as exc:
        handled = exception_handler(exc, {"request": request})
        if handled is None:
            raise
        response = _json(handled.data, handled.status_code, drf_view)
        for name in _ERROR_HEADERS:
            if name in handled:
                response[name] = handled[name]
        return response


def _body(request):
    """The body as DRF's strict JSON parser reads it, or None where that parser might
    answer otherwise (too large, not UTF-8, not strict JSON)."""
    try:
        check_content_length(request, body_limit(), "JSON body")
        return json.loads(request.body.decode("utf-8"), parse_constant=_refuse)
    except (APIException, ValueError):
        return None


def _refuse(constant: str):
    raise ValueError(f"{constant} is not JSON")


def _json(data, status: int, drf_view) -> HttpResponse:
    """``data`` rendered by DRF's ``JSONRenderer``, with the headers DRF's view adds."""
    response = HttpResponse(_RENDERER.render(data), status=status, content_type=JSON)
    for name, value in _headers(drf_view).items():
        response[name] = value
    return response


@functools.cache
def _headers(drf_view) -> dict:
    return dict(drf_view.cls().default_response_headers)
