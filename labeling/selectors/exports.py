"""Samples as table rows: label, annotators, agreement, the model's prediction.

Used by the sample list of the API (a page at a time) and by the exports (the whole
project, streamed in chunks: memory stays flat in the number of samples).
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from itertools import islice

from django.db.models import Exists, OuterRef, QuerySet, Subquery

from labeling.models import (
    Adjudication,
    Annotation,
    Prediction,
    Project,
    QueueItem,
    Sample,
)

CHUNK = 2000
STATES = ("labeled", "queued", "unlabeled", "holdout")


@dataclass
class LabelInfo:
    label: int | None = None
    annotators: list[str] = field(default_factory=list)
    votes: list[int] = field(default_factory=list)
    adjudicated: bool = False

    @property
    def agreement(self) -> float | None:
        """Share of the annotations that agree with the majority label."""
        if not self.votes:
            return None
        top = Counter(self.votes).most_common(1)[0][1]
        return round(top / len(self.votes), 4)


def sample_table(*, project_ids) -> QuerySet:
    """Samples of the given projects with ``state`` flags and their newest prediction.

    A sample's prediction is the one of the newest model version that predicted it, as the
    label view shows it (``latest_predictions``): predictions imported for a few samples do
    not hide the rest, and a labeled sample keeps the guess of the model that last scored it.
    """
    labeled = Exists(Annotation.objects.filter(sample=OuterRef("pk")))
    queued = Exists(QueueItem.objects.filter(sample=OuterRef("pk"), state=QueueItem.State.OPEN))
    newest = Prediction.objects.filter(sample=OuterRef("pk")).order_by("-model_version_id")
    return (
        Sample.objects.filter(project_id__in=project_ids)
        .annotate(is_labeled=labeled, is_queued=queued)
        .annotate(
            pred_label=Subquery(newest.values("predicted_label")[:1]),
            pred_confidence=Subquery(newest.values("confidence")[:1]),
            pred_score=Subquery(newest.values("score")[:1]),
        )
    )


def filter_state(rows: QuerySet, state: str) -> QuerySet:
    if state == "holdout":
        return rows.filter(split=Sample.Split.HOLDOUT)
    if state == "labeled":
        return rows.filter(is_labeled=True)
    if state == "queued":
        return rows.filter(is_queued=True, is_labeled=False)
    if state == "unlabeled":
        return rows.filter(is_labeled=False, is_queued=False, split=Sample.Split.POOL)
    raise ValueError(f"state must be one of {', '.join(STATES)}")


def state_of(sample) -> str:
    if sample.split == Sample.Split.HOLDOUT:
        return "holdout"
    if getattr(sample, "is_labeled", False):
        return "labeled"
    if getattr(sample, "is_queued", False):
        return "queued"
    return "unlabeled"


def label_info(
    sample_ids: Iterable[int], *, annotator_id: int | None = None
) -> dict[int, LabelInfo]:
    """Effective label, annotators and votes for the given samples.

    With ``annotator_id`` only that annotator's labels are read (what an annotator may
    see of their own work); adjudications are then left out.
    """
    ids = list(sample_ids)
    infos: dict[int, LabelInfo] = defaultdict(LabelInfo)
    annotations = Annotation.objects.filter(sample_id__in=ids)
    if annotator_id is not None:
        annotations = annotations.filter(annotator_id=annotator_id)
    rows = annotations.order_by("sample_id", "created_at", "pk").values_list(
        "sample_id", "label", "annotator__username"
    )
    for sample_id, label, username in rows:
        info = infos[sample_id]
        info.votes.append(label)
        info.annotators.append(username)
    for info in infos.values():
        (top, n), *rest = Counter(info.votes).most_common(2) + [(None, 0)]
        info.label = top if rest[0][1] < n else None
    if annotator_id is None:
        adjudicated = Adjudication.objects.filter(sample_id__in=ids).values_list(
            "sample_id", "label"
        )
        for sample_id, label in adjudicated:
            infos[sample_id].label = label
            infos[sample_id].adjudicated = True
    return dict(infos)


def _chunks(iterator: Iterator, size: int) -> Iterator[list]:
    while chunk := list(islice(iterator, size)):
        yield chunk


@dataclass(frozen=True)
class ExportRow:
    sample_id: int
    file_name: str
    stored_name: str
    sha256: str
    split: str
    width: int
    height: int
    label: int | None
    annotators: list[str]
    n_annotations: int
    agreement: float | None
    prediction: int | None
    confidence: float | None


def export_rows(
    *,
    project: Project,
    split: str | None = None,
    labeled_only: bool = False,
    chunk_size: int = CHUNK,
) -> Iterator[ExportRow]:
    """Every sample of the project as an ``ExportRow``, in id order, ``chunk_size`` at a time."""
    rows = Sample.objects.filter(project=project)
    if split:
        rows = rows.filter(split=split)
    if labeled_only:
        rows = rows.filter(Exists(Annotation.objects.filter(sample=OuterRef("pk"))))
    values = rows.order_by("pk").values_list(
        "pk", "original_name", "file", "sha256", "split", "width", "height"
    )
    for chunk in _chunks(values.iterator(chunk_size=chunk_size), chunk_size):
        ids = [row[0] for row in chunk]
        infos = label_info(ids)
        # Each sample's newest prediction (as ``latest_predictions`` picks it), read as tuples.
        predictions: dict[int, tuple[int, float]] = {}
        newest_first = (
            Prediction.objects.filter(sample_id__in=ids)
            .order_by("sample_id", "-model_version_id")
            .values_list("sample_id", "predicted_label", "confidence")
        )
        for sid, label, conf in newest_first:
            predictions.setdefault(sid, (label, conf))
        for pk, name, stored, sha, split_, width, height in chunk:
            info = infos.get(pk) or LabelInfo()
            pred = predictions.get(pk, (None, None))
            yield ExportRow(
                sample_id=pk,
                file_name=name or stored.rsplit("/", 1)[-1],
                stored_name=stored,
                sha256=sha,
                split=split_,
                width=width,
                height=height,
                label=info.label,
                annotators=info.annotators,
                n_annotations=len(info.votes),
                agreement=info.agreement,
                prediction=pred[0],
                confidence=pred[1],
            )
