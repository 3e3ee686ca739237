"""What every API view shares: pagination, body limits, error mapping, documented errors.

Errors always come back as JSON ``{"detail": "...", "errors": {...}?}`` with a 4xx code:
a Django ``ValidationError`` from a service is a 400, a busy project a 409, a body over
the limits a 413.
"""

from __future__ import annotations

from django.conf import settings
from django.core.exceptions import RequestDataTooBig, SuspiciousOperation
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import DataError
from django.http import JsonResponse
from django.views.decorators.csrf import csrf_exempt
from drf_spectacular.openapi import AutoSchema
from drf_spectacular.utils import inline_serializer
from rest_framework import exceptions, serializers, status
from rest_framework.negotiation import DefaultContentNegotiation
from rest_framework.pagination import PageNumberPagination
from rest_framework.parsers import FormParser, JSONParser, MultiPartParser
from rest_framework.response import Response
from rest_framework.settings import api_settings
from rest_framework.views import exception_handler as drf_exception_handler

from labeling.services.jobs import JobConflictError


class PayloadTooLarge(exceptions.APIException):
    status_code = status.HTTP_413_REQUEST_ENTITY_TOO_LARGE
    default_detail = "the request body is too large"
    default_code = "payload_too_large"


class Conflict(exceptions.APIException):
    status_code = status.HTTP_409_CONFLICT
    default_detail = "the request conflicts with the current state"
    default_code = "conflict"


def body_limit() -> int:
    return int(settings.DATA_UPLOAD_MAX_MEMORY_SIZE or 0)


def check_content_length(request, limit: int, what: str = "request body") -> None:
    """Refuse a declared body over ``limit`` bytes before reading any of it."""
    try:
        length = int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError as exc:
        raise exceptions.ParseError("the Content-Length header is not a number") from exc
    if limit and length > limit:
        raise PayloadTooLarge(f"the {what} is {length} bytes; the limit is {limit} bytes")


class LimitedJSONParser(JSONParser):
    """JSON bodies larger than DATA_UPLOAD_MAX_MEMORY_SIZE are refused, not read."""

    def parse(self, stream, media_type=None, parser_context=None):
        request = (parser_context or {}).get("request")
        if request is not None:
            check_content_length(request, body_limit(), "JSON body")
        return super().parse(stream, media_type, parser_context)


class QuarryContentNegotiation(DefaultContentNegotiation):
    """DRF's content negotiation, with its answer for most API calls given directly.

    With no query string, no format suffix and an ``Accept`` header that is absent, ``*/*``
    or exactly the first renderer's media type, DRF picks the first renderer with its own
    media type; that answer skips parsing the header. Any other request negotiates as in DRF.
    """

    def select_renderer(self, request, renderers, format_suffix=None):
        if not format_suffix and renderers and not request.META.get("QUERY_STRING"):
            first = renderers[0]
            accept = request.META.get("HTTP_ACCEPT")
            if accept is None or accept == "*/*" or accept == first.media_type:
                return first, first.media_type
        return super().select_renderer(request, renderers, format_suffix)


class ApiPagination(PageNumberPagination):
    page_size = 50
    page_size_query_param = "page_size"
    max_page_size = 500


def _messages(error: DjangoValidationError):
    if hasattr(error, "error_dict"):
        return {field: [str(m) for m in errs] for field, errs in error.message_dict.items()}
    return [str(m) for m in error.messages]


def _first_problem(errors, path: str = "") -> tuple[str, str] | None:
    """The first message in DRF's (possibly nested) field errors and where it is.

    Nested serializers and list items give ``{"items": {0: {"label": [...]}}}``; the
    answer is then ``("items[0].label", "Ensure ...")``, not the Python repr of the dict.
    """
    if isinstance(errors, dict):
        for key, value in errors.items():
            if isinstance(key, int):
                where = f"{path}[{key}]"
            elif key == api_settings.NON_FIELD_ERRORS_KEY:
                where = path
            else:
                where = f"{path}.{key}" if path else str(key)
            found = _first_problem(value, where)
            if found:
                return found
        return None
    if isinstance(errors, list):
        for index, value in enumerate(errors):
            # A list of messages stays at its field; a list of objects (many=True) is indexed.
            found = _first_problem(value, f"{path}[{index}]" if isinstance(value, dict) else path)
            if found:
                return found
        return None
    return path, str(errors)


def exception_handler(exc, context):
    """DRF's handler, plus the exceptions Quarry's services raise."""
    if isinstance(exc, RequestDataTooBig):
        exc = PayloadTooLarge(
            f"the request body exceeds the limit of {body_limit()} bytes "
            "(DATA_UPLOAD_MAX_MEMORY_SIZE; upload files as multipart form data)"
        )
    elif isinstance(exc, DjangoValidationError):
        errors = _messages(exc)
        if isinstance(errors, dict):
            first = next(iter(errors.items()), ("", [""]))
            detail = f"{first[0]}: {first[1][0]}" if first[0] else first[1][0]
            return Response(
                {"detail": detail, "errors": errors}, status=status.HTTP_400_BAD_REQUEST
            )
        return Response({"detail": "; ".join(errors)}, status=status.HTTP_400_BAD_REQUEST)
    elif isinstance(exc, SuspiciousOperation):
        # Too many fields or files in a form, a malformed multipart body, ...
        return Response(
            {"detail": f"the request was refused: {exc}"[:500]},
            status=status.HTTP_400_BAD_REQUEST,
        )
    elif isinstance(exc, JobConflictError):
        exc = Conflict(str(exc))
    elif isinstance(exc, OverflowError | DataError):
        # A number or text from the request that the database cannot hold.
        return Response(
            {"detail": "a value in the request is out of range for the database"},
            status=status.HTTP_400_BAD_REQUEST,
        )
    response = drf_exception_handler(exc, context)
    if response is not None and isinstance(response.data, dict) and "detail" not in response.data:
        # Field errors from a serializer: keep them, and say in one line what is wrong.
        field, first = _first_problem(response.data) or ("", "invalid input")
        detail = f"{field}: {first}" if field else first
        response.data = {"detail": detail, "errors": response.data}
    elif response is not None and isinstance(response.data, list):
        response.data = {"detail": "; ".join(str(m) for m in response.data)}
    return response


ErrorSerializer = inline_serializer(
    "Error",
    {
        "detail": serializers.CharField(),
        "errors": serializers.JSONField(required=False),
    },
)

_ERROR_CODES = {
    "400": "The request is invalid; `detail` says why.",
    "401": "Not authenticated.",
    "403": "Authenticated, but your role in the project does not allow this.",
    "404": "No such object, or it belongs to a project you are not a member of.",
    "405": "Method not allowed.",
    "409": "The project is busy or the object conflicts with the current state.",
    "413": "The request body is over the limit.",
    "414": "The URL is too long (the web server's limit).",
    "415": "Unsupported media type.",
}


class QuarryAutoSchema(AutoSchema):
    """drf-spectacular's schema with Quarry's error responses documented on every operation."""

    def _get_response_bodies(self, direction="response"):
        responses = super()._get_response_bodies(direction)
        for code, description in _ERROR_CODES.items():
            if code == "414" and code not in responses:
                responses[code] = {"description": description}
            elif code not in responses:
                body = self._get_response_for_code(ErrorSerializer, code, direction=direction)
                body["description"] = description
                responses[code] = body
        return responses


class QuarryApiMixin:
    """Mixed into every Quarry API view."""

    pagination_class = ApiPagination
    parser_classes = [LimitedJSONParser, FormParser, MultiPartParser]
    content_negotiation_class = QuarryContentNegotiation
    schema = QuarryAutoSchema()

    def get_exception_handler(self):
        return exception_handler


@csrf_exempt
def not_found(request, *args, **kwargs):
    """JSON 404 for any path under the API that matches no route."""
    detail = "no such API route"
    if not request.path.endswith("/"):
        detail += " (API paths end with a slash)"
    return JsonResponse({"detail": detail}, status=404)


# The answer of an upload or a CSV label import: one line, the full report, row errors.
ImportReport = inline_serializer(
    "ImportReport",
    {
        "detail": serializers.CharField(),
        "report": serializers.DictField(child=serializers.JSONField(), required=False),
        "errors": serializers.JSONField(required=False),
    },
)
