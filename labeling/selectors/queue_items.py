"""What an annotator's browser receives for a queued sample: never the oracle label,
never the original file name (it may carry the class folder), never others' labels."""

from __future__ import annotations

from collections.abc import Iterable

from django.urls import reverse

from labeling.models import Annotation, Prediction, Project, Sample


def sample_image_url(project_id: int, sample_id: int) -> str:
    return reverse("ui:sample-image", args=[project_id, sample_id])


def latest_predictions(*, sample_ids: Iterable[int]) -> dict[int, Prediction]:
    """Sample id -> the prediction of the newest model version that scored it."""
    ids = list(sample_ids)
    found: dict[int, Prediction] = {}
    if not ids:
        return found
    rows = (
        Prediction.objects.filter(sample_id__in=ids)
        .only("id", "sample_id", "model_version_id", "predicted_label", "confidence", "heatmap")
        .order_by("sample_id", "-model_version_id")
    )
    for prediction in rows:
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


def sample_payloads(*, project: Project, sample_ids: list[int]) -> list[dict]:
    """One JSON-able dict per sample, in the order given."""
    samples = {
        s.pk: s
        for s in Sample.objects.filter(project=project, pk__in=sample_ids).only(
            "id", "width", "height"
        )
    }
    predictions = latest_predictions(sample_ids=samples.keys())
    payloads = []
    for sid in sample_ids:
        sample = samples.get(sid)
        if sample is None:
            continue
        payloads.append(
            {
                "sample_id": sample.pk,
                "image": sample_image_url(project.pk, sample.pk),
                "thumb": sample_image_url(project.pk, sample.pk)
                + ("?thumb=1" if max(sample.width, sample.height) > 256 else ""),
                "width": sample.width,
                "height": sample.height,
                "suggestion": suggestion_payload(project, predictions.get(sample.pk)),
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
