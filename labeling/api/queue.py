"""The labeling queue over JSON, as the browser's label and grid views use it.

``next`` reserves samples (held ones first), ``submit`` stores one or many labels, each
with its own idempotency key so a retried request is applied once, ``skip`` passes on a
sample, ``release`` hands reservations back, ``undo`` returns the user's previous label
so it can be changed (changing is a ``submit`` for that sample). Every endpoint answers
404 to users outside the project.
"""

from __future__ import annotations

from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.authtoken.models import Token
from rest_framework.exceptions import NotFound
from rest_framework.response import Response
from rest_framework.views import APIView

from labeling.api.base import Conflict, QuarryApiMixin
from labeling.authentication import TokenAuthentication, token_key
from labeling.models import Project
from labeling.selectors.projects import member_by_token, project_for_member
from labeling.selectors.queue_items import previous_annotation, sample_payloads
from labeling.services.queue import (
    QueueError,
    queue_blocked_reason,
    queue_next,
    queue_release,
    queue_skip,
)
from labeling.services.queue_submit import queue_submit

MAX_ID = 2**63 - 1
# Bounds of the bodies, shared by the serializers and the direct reading below.
MAX_COUNT = 100
MAX_ITEMS = 100
MAX_LABEL = 32767
MAX_TIME_SPENT_MS = 86_400_000
MAX_KEY_LENGTH = 64


class SuggestionSerializer(serializers.Serializer):
    label = serializers.IntegerField()
    class_name = serializers.CharField()
    confidence = serializers.FloatField()
    model_version = serializers.IntegerField()
    heatmap = serializers.CharField(allow_null=True)


class QueueSampleSerializer(serializers.Serializer):
    sample_id = serializers.IntegerField()
    image = serializers.CharField()
    thumb = serializers.CharField()
    width = serializers.IntegerField()
    height = serializers.IntegerField()
    suggestion = SuggestionSerializer(allow_null=True)


class NextInSerializer(serializers.Serializer):
    count = serializers.IntegerField(min_value=1, max_value=MAX_COUNT, default=5)


class SubmitItemSerializer(serializers.Serializer):
    sample_id = serializers.IntegerField(min_value=1, max_value=MAX_ID)
    label = serializers.IntegerField(min_value=0, max_value=MAX_LABEL)
    idempotency_key = serializers.CharField(min_length=1, max_length=MAX_KEY_LENGTH, required=False)
    time_spent_ms = serializers.IntegerField(min_value=0, max_value=MAX_TIME_SPENT_MS, default=0)


class SubmitInSerializer(serializers.Serializer):
    items = SubmitItemSerializer(many=True, allow_empty=False, max_length=MAX_ITEMS)
    next = serializers.IntegerField(
        min_value=0,
        max_value=MAX_COUNT,
        required=False,
        help_text="After storing the labels, reserve up to this many samples as `next` "
        "does and answer them under `next`: one round trip per label.",
    )


def _plain_int(value, low: int, high: int) -> bool:
    return type(value) is int and low <= value <= high


def _plain_key(value) -> bool:
    """A key ``SubmitItemSerializer`` takes as it is: 1-64 printable characters (no NUL,
    no surrogates, no other control or separator characters) with nothing to trim."""
    return (
        type(value) is str
        and 0 < len(value) <= MAX_KEY_LENGTH
        and value.isprintable()
        and value == value.strip()
    )


def next_in(data) -> dict:
    """``NextInSerializer``'s validated data. The bodies clients send (a JSON object with
    an integer count in range, or none) are read directly; anything else goes through the
    serializer, which answers with its own errors."""
    return next_plain(data) or _validated(NextInSerializer, data)


def next_plain(data) -> dict | None:
    """What ``NextInSerializer`` makes of a plainly well-formed body, read directly; None
    for any other body."""
    if type(data) is dict:
        count = data.get("count", 5)
        if _plain_int(count, 1, MAX_COUNT):
            return {"count": count}
    return None


def submit_in(data) -> dict:
    """``SubmitInSerializer``'s validated data, read directly from a well-formed JSON body
    (as ``next_in``); any other body goes through the serializer and its errors."""
    return submit_plain(data) or _validated(SubmitInSerializer, data)


def submit_plain(data) -> dict | None:
    """What ``SubmitInSerializer`` makes of a plainly well-formed body, read directly; None
    for any other body."""
    items = data.get("items") if type(data) is dict else None
    top_up = data.get("next", 0) if type(data) is dict else None
    if type(items) is list and 0 < len(items) <= MAX_ITEMS and _plain_int(top_up, 0, MAX_COUNT):
        valid = []
        for item in items:
            if type(item) is not dict:
                break
            sample_id, label = item.get("sample_id"), item.get("label")
            spent = item.get("time_spent_ms", 0)
            if not (
                _plain_int(sample_id, 1, MAX_ID)
                and _plain_int(label, 0, MAX_LABEL)
                and _plain_int(spent, 0, MAX_TIME_SPENT_MS)
            ):
                break
            out = {"sample_id": sample_id, "label": label, "time_spent_ms": spent}
            if "idempotency_key" in item:
                if not _plain_key(item["idempotency_key"]):
                    break
                out["idempotency_key"] = item["idempotency_key"]
            valid.append(out)
        else:
            return {"items": valid, "next": top_up} if "next" in data else {"items": valid}
    return None


def _validated(serializer_class, data):
    serializer = serializer_class(data=data)
    serializer.is_valid(raise_exception=True)
    return serializer.validated_data


class SkipInSerializer(serializers.Serializer):
    sample_id = serializers.IntegerField(min_value=1, max_value=MAX_ID)


class ReleaseInSerializer(serializers.Serializer):
    sample_ids = serializers.ListField(
        child=serializers.IntegerField(min_value=1, max_value=MAX_ID),
        required=False,
        max_length=1000,
    )


class QueueApi(QuarryApiMixin, APIView):
    # (project id, the project as the caller's token found it or None) once authenticated
    # by ``member_by_token``
    _member: tuple[int, Project | None] | None = None

    def perform_authentication(self, request):
        """A call with an API token reads the user and the project in one statement
        (``member_by_token``). Without a token, or with one that does not authenticate,
        authentication runs as in every other view, with its errors."""
        key = token_key(request) if self._takes_tokens() else None
        project_id = self.kwargs.get("project_id")
        if key is None or type(project_id) is not int:
            return super().perform_authentication(request)
        found = member_by_token(key=key, project_id=project_id)
        if found is None:
            return super().perform_authentication(request)
        user, project = found
        request.user, request.auth = user, Token(key=key, user=user)
        self._member = (project_id, project)

    def _takes_tokens(self) -> bool:
        return any(issubclass(c, TokenAuthentication) for c in self.authentication_classes)

    def project(self, project_id: int) -> Project:
        """The project with the user's role and its loop configuration (404 to outsiders)."""
        if self._member is not None and self._member[0] == project_id:
            project = self._member[1]
        else:
            project = project_for_member(project_id=project_id, user_id=self.request.user.pk)
        if project is None:
            raise NotFound("No such project.")
        return project

    def validated(self, serializer_class, data):
        return _validated(serializer_class, data)


def _handed_out(project: Project, items: list) -> dict:
    """The answer to a get-next: the items' payloads, or why there are none."""
    # get-next on PostgreSQL read what the view shows with the items (``item.shown``)
    known = {i.sample_id: i.shown for i in items if i.shown is not None}
    payloads = sample_payloads(
        project=project, sample_ids=[i.sample_id for i in items], known=known
    )
    blocked = None if payloads else queue_blocked_reason(project=project)
    if not payloads and blocked is None:
        blocked = "the queue is empty: nothing is waiting to be labeled right now"
    return {"items": payloads, "blocked": blocked}


def _handed_out_fields() -> dict:
    # fresh instances for each serializer: a field binds to one parent
    return {
        "items": QueueSampleSerializer(many=True),
        "blocked": serializers.CharField(allow_null=True),
    }


def next_answer(project: Project, user, body: dict) -> dict:
    """Get-next's answer to a validated body (``next_in``)."""
    try:
        items = queue_next(project=project, user=user, count=body["count"])
    except QueueError as exc:
        raise Conflict(str(exc)) from exc
    return _handed_out(project, items)


def submit_answer(project: Project, user, body: dict) -> dict:
    """Submit's answer to a validated body (``submit_in``): each label's result, and what
    the get-next after them handed out when the body asked for one."""
    try:
        done = queue_submit(
            project=project, user=user, items=body["items"], top_up=body.get("next", 0)
        )
    except QueueError as exc:
        raise Conflict(str(exc)) from exc
    results = [
        {"sample_id": out.sample_id, "ok": False, "error": out.error}
        if out.result is None
        else {
            "sample_id": out.sample_id,
            "ok": True,
            "annotation_id": out.result.annotation.pk,
            "created": out.result.created,
            "replayed": out.result.replayed,
        }
        for out in done.outcomes
    ]
    handed = None if done.top_up is None else _handed_out(project, done.top_up)
    return {"results": results, "next": handed}


class QueueNextApi(QueueApi):
    @extend_schema(
        request=NextInSerializer,
        responses=inline_serializer("QueueNext", _handed_out_fields()),
        summary="Reserve the next samples to label (held ones first)",
    )
    def post(self, request, project_id: int):
        project = self.project(project_id)
        return Response(next_answer(project, request.user, next_in(request.data)))


class QueueSubmitApi(QueueApi):
    @extend_schema(
        request=SubmitInSerializer,
        responses=inline_serializer(
            "QueueSubmit",
            {
                "results": inline_serializer(
                    "QueueSubmitResult",
                    {
                        "sample_id": serializers.IntegerField(),
                        "ok": serializers.BooleanField(),
                        "annotation_id": serializers.IntegerField(required=False),
                        "created": serializers.BooleanField(required=False),
                        "replayed": serializers.BooleanField(required=False),
                        "error": serializers.CharField(required=False),
                    },
                    many=True,
                ),
                "next": inline_serializer(
                    "QueueSubmitNext",
                    _handed_out_fields(),
                    allow_null=True,
                    help_text="What `next` handed out after the labels were stored "
                    "(null unless the body asked for it)",
                ),
            },
        ),
        summary="Store labels (one or many); a retry with the same idempotency key is applied once",
    )
    def post(self, request, project_id: int):
        project = self.project(project_id)
        return Response(submit_answer(project, request.user, submit_in(request.data)))


class QueueSkipApi(QueueApi):
    @extend_schema(
        request=SkipInSerializer,
        responses=inline_serializer("QueueSkip", {"ok": serializers.BooleanField()}),
        summary="Pass on a sample: it goes to others and is not handed to you again",
    )
    def post(self, request, project_id: int):
        project = self.project(project_id)
        sample_id = self.validated(SkipInSerializer, request.data)["sample_id"]
        try:
            queue_skip(project=project, user=request.user, sample_id=sample_id)
        except QueueError as exc:
            raise Conflict(str(exc)) from exc
        return Response({"ok": True})


class QueueReleaseApi(QueueApi):
    @extend_schema(
        request=ReleaseInSerializer,
        responses=inline_serializer("QueueRelease", {"released": serializers.IntegerField()}),
        summary="Give reserved samples back to the queue (all of yours, or the ones named)",
    )
    def post(self, request, project_id: int):
        project = self.project(project_id)
        sample_ids = self.validated(ReleaseInSerializer, request.data).get("sample_ids")
        released = queue_release(project=project, user=request.user, sample_ids=sample_ids)
        return Response({"released": released})


class UndoInSerializer(serializers.Serializer):
    before = serializers.IntegerField(min_value=1, max_value=MAX_ID, required=False)


class QueueUndoApi(QueueApi):
    @extend_schema(
        parameters=[UndoInSerializer],
        responses=inline_serializer(
            "QueueUndo",
            {
                "item": QueueSampleSerializer(allow_null=True),
                "label": serializers.IntegerField(allow_null=True),
                "annotation_id": serializers.IntegerField(allow_null=True),
            },
        ),
        summary="Your previous label (before annotation `before`), to change it with submit",
    )
    def get(self, request, project_id: int):
        project = self.project(project_id)
        before = self.validated(UndoInSerializer, request.query_params).get("before")
        annotation = previous_annotation(project=project, user=request.user, before_id=before)
        if annotation is None:
            return Response({"item": None, "label": None, "annotation_id": None})
        payload = sample_payloads(project=project, sample_ids=[annotation.sample_id])
        return Response(
            {
                "item": payload[0] if payload else None,
                "label": annotation.label,
                "annotation_id": annotation.pk,
            }
        )
