"""What an annotator's browser receives for a queued sample: never the oracle label,
never the original file name (it may carry the class folder), never others' labels."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from functools import lru_cache
from typing import NamedTuple

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.urls import get_script_prefix, get_urlconf, reverse

from labeling.models import Annotation, Prediction, Project, Sample
from labeling.selectors import sql


def sample_image_url(project_id: int, sample_id: int) -> str:
    head, tail = _image_url_parts(
        get_script_prefix(), get_urlconf() or settings.ROOT_URLCONF, project_id
    )
    return f"{head}{int(sample_id)}{tail}"


# Any id the route accepts; it stands for the sample in the reversed URL.
_MARKER = 9_182_736_450_192_837


@lru_cache(maxsize=512)
def _image_url_parts(script_prefix: str, urlconf: str, project_id: int) -> tuple[str, str]:
    """``reverse("ui:sample-image", args=[project_id, sample_id])`` around the sample id,
    reversed once per project (and script prefix and URL configuration): the label
    view asks for one URL per sample, and reversing costs more than the rest of a payload."""
    url = reverse("ui:sample-image", args=[project_id, _MARKER], urlconf=urlconf)
    head, marker, tail = url.partition(str(_MARKER))
    if not marker or str(_MARKER) in head + tail:
        raise ImproperlyConfigured(f"cannot find the sample id in {url!r}")
    return head, tail


PREDICTION = sql.Fields(
    Prediction,
    ("id", "sample_id", "model_version_id", "predicted_label", "confidence", "heatmap"),
)


def latest_predictions(*, sample_ids: Iterable[int]) -> dict[int, Prediction]:
    """Sample id -> the prediction of the newest model version that scored it."""
    ids = [int(i) for i in sample_ids]
    found: dict[int, Prediction] = {}
    if not ids:
        return found
    rows = sql.fetch(
        f"""SELECT {PREDICTION.select("p")} FROM {Prediction._meta.db_table} p
        WHERE sample_id IN ({sql.marks(ids)}) ORDER BY sample_id, model_version_id DESC""",
        ids,
    )
    for row in rows:
        prediction = PREDICTION.instance(row)
        found.setdefault(prediction.sample_id, prediction)
    return found


def suggestion_payload(project: Project, prediction: Prediction | None) -> dict | None:
    if prediction is None or not 0 <= prediction.predicted_label < len(project.classes):
        return None
    return {
        "label": prediction.predicted_label,
        "class_name": project.classes[prediction.predicted_label],
        "confidence": round(float(prediction.confidence), 4),
        "model_version": prediction.model_version_id,
        "heatmap": reverse("ui:heatmap", args=[project.pk, prediction.pk])
        if prediction.heatmap
        else None,
    }


class Shown(NamedTuple):
    """What a payload shows of a sample besides its id."""

    width: int
    height: int
    prediction: Prediction | None  # of the newest model version that scored it


# A statement that joins a sample as ``s`` and its predictions as ``p`` (LEFT JOIN,
# newest model version first) selects these after the sample's id; ``shown`` reads them.
SHOWN_COLUMNS = f"s.width, s.height, {PREDICTION.select('p')}"


def shown(rows: Iterable[Sequence]) -> dict[int, Shown]:
    """Sample id -> ``Shown`` from rows of (sample id, ``SHOWN_COLUMNS``...), each sample's
    newest prediction first."""
    found: dict[int, Shown] = {}
    for pk, width, height, *prediction in rows:
        if pk not in found:  # later rows: older model versions' predictions
            scored = PREDICTION.instance(prediction) if prediction[0] is not None else None
            found[pk] = Shown(width, height, scored)
    return found


def sample_payloads(
    *, project: Project, sample_ids: list[int], known: dict[int, Shown] | None = None
) -> list[dict]:
    """One JSON-able dict per sample, in the order given. ``known`` holds what a caller
    already read of some of them (get-next reads it with the items it hands out); the
    rest is read here, in one statement."""
    ids = [int(i) for i in sample_ids]
    samples = dict(known or {})
    missing = [i for i in ids if i not in samples]
    if missing:
        rows = sql.fetch(
            f"""SELECT s.id, {SHOWN_COLUMNS}
            FROM {Sample._meta.db_table} s
            LEFT JOIN {Prediction._meta.db_table} p ON p.sample_id = s.id
            WHERE s.project_id = %s AND s.id IN ({sql.marks(missing)})
            ORDER BY s.id, p.model_version_id DESC""",
            [project.pk, *missing],
        )
        samples.update(shown(rows))
    payloads = []
    for sid in ids:
        if sid not in samples:
            continue
        width, height, prediction = samples[sid]
        url = sample_image_url(project.pk, sid)
        payloads.append(
            {
                "sample_id": sid,
                "image": url,
                "thumb": url + ("?thumb=1" if max(width, height) > 256 else ""),
                "width": width,
                "height": height,
                "suggestion": suggestion_payload(project, prediction),
            }
        )
    return payloads


def previous_annotation(
    *, project: Project, user, before_id: int | None = None
) -> Annotation | None:
    """The user's most recent label in the project (before ``before_id`` when given)."""
    rows = Annotation.objects.filter(sample__project=project, annotator=user)
    if before_id is not None:
        rows = rows.filter(pk__lt=before_id)
    return rows.order_by("-pk").first()
