"""Importing labels or model predictions from a CSV file, all or nothing.

Every row is checked first; when any row is wrong nothing is written and the report
lists each bad row (1-based line number in the file, and what is wrong with it).

Columns (header row required):
- a sample: ``sample_id``, ``sha256`` or ``file_name`` (the name it was imported under);
- ``label``: a class name or index (``kind="labels"`` and ``kind="oracle"``);
- ``prediction`` (or ``label``), ``confidence`` in [0, 1] and an optional ``score``
  (``kind="predictions"``).

``labels`` become the importing user's annotations; ``oracle`` sets the hidden ground
truth used by simulations and evaluation; ``predictions`` become a new model version
of kind ``imported``.
"""

from __future__ import annotations

import csv
import io
import math
from collections import defaultdict
from dataclasses import dataclass, field
from typing import IO

from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction
from django.db.models import Count
from django.utils import timezone

from labeling.models import Annotation, ModelVersion, Prediction, Project, QueueItem, Sample
from labeling.selectors.labels import labeled_count, labeled_count_forget

KINDS = ("labels", "oracle", "predictions")
KEY_COLUMNS = ("sample_id", "sha256", "file_name")
MAX_ROWS = 1_000_000
MAX_REPORTED_ERRORS = 200
_BATCH = 1000


@dataclass
class LabelImportReport:
    kind: str
    rows: int = 0
    created: int = 0
    updated: int = 0
    errors: list[dict] = field(default_factory=list)
    error_count: int = 0
    model_version_id: int | None = None

    def error(self, row: int, message: str) -> None:
        self.error_count += 1
        if len(self.errors) < MAX_REPORTED_ERRORS:
            self.errors.append({"row": row, "error": message})

    def to_dict(self) -> dict:
        return {
            "kind": self.kind,
            "rows": self.rows,
            "created": self.created,
            "updated": self.updated,
            "errors": self.errors,
            "error_count": self.error_count,
            "model_version_id": self.model_version_id,
        }


class LabelImportError(ValueError):
    """The file was refused; ``report.errors`` says which rows and why."""

    def __init__(self, message: str, report: LabelImportReport) -> None:
        super().__init__(message)
        self.report = report


def _text_stream(source) -> IO[str]:
    if isinstance(source, str | bytes):
        data = source.encode() if isinstance(source, str) else source
        return io.TextIOWrapper(io.BytesIO(data), encoding="utf-8-sig", newline="")
    if hasattr(source, "seek"):
        source.seek(0)
    return io.TextIOWrapper(source, encoding="utf-8-sig", newline="")


def _class_index(value: str, classes: list[str]) -> int:
    value = value.strip()
    if value in classes:
        return classes.index(value)
    if value.lstrip("-").isdigit():
        index = int(value)
        if 0 <= index < len(classes):
            return index
        raise ValueError(f"class index {index} is out of range (0..{len(classes) - 1})")
    raise ValueError(f"{value[:50]!r} is not a class of this project")


def _fraction(value: str, name: str, *, bounded: bool) -> float:
    try:
        number = float(value)
    except ValueError as exc:
        raise ValueError(f"{name} {value[:30]!r} is not a number") from exc
    if not math.isfinite(number):
        raise ValueError(f"{name} must be finite")
    if bounded and not 0.0 <= number <= 1.0:
        raise ValueError(f"{name} {number} is outside [0, 1]")
    return number


def _parse(reader, kind: str, classes: list[str], report: LabelImportReport):
    header = reader.fieldnames or []
    key = next((c for c in KEY_COLUMNS if c in header), None)
    value_column = "prediction" if kind == "predictions" and "prediction" in header else "label"
    missing = []
    if key is None:
        missing.append(" or ".join(KEY_COLUMNS))
    if value_column not in header:
        missing.append(value_column)
    if kind == "predictions" and "confidence" not in header:
        missing.append("confidence")
    if missing:
        raise LabelImportError(
            f"the header row lacks the column(s): {'; '.join(missing)} (found: "
            f"{', '.join(h for h in header if h)[:200] or 'nothing'})",
            report,
        )
    parsed = []
    for row in reader:
        report.rows += 1
        line = reader.line_num
        if report.rows > MAX_ROWS:
            raise LabelImportError(f"at most {MAX_ROWS} rows per file", report)
        try:
            ident = (row.get(key) or "").strip()
            if not ident:
                raise ValueError(f"{key} is empty")
            if key == "sample_id" and not ident.isdigit():
                raise ValueError(f"sample_id {ident[:30]!r} is not a number")
            label = _class_index(row.get(value_column) or "", classes)
            confidence = score = None
            if kind == "predictions":
                confidence = _fraction(row.get("confidence") or "", "confidence", bounded=True)
                if (row.get("score") or "").strip():
                    score = _fraction(row["score"], "score", bounded=False)
        except ValueError as exc:
            report.error(line, str(exc))
            continue
        parsed.append((line, ident, label, confidence, score))
    return key, parsed


def _resolve(project: Project, key: str, parsed, report: LabelImportReport) -> list[tuple]:
    """Replace each row's identifier by a sample id; unknown or ambiguous ones are errors."""
    field_name = {"sample_id": "pk", "sha256": "sha256", "file_name": "original_name"}[key]
    resolved = []
    seen: dict[int, int] = {}
    for start in range(0, len(parsed), _BATCH):
        batch = parsed[start : start + _BATCH]
        idents = {p[1] if key != "sample_id" else int(p[1]) for p in batch}
        found: dict = defaultdict(list)
        for pk, value in Sample.objects.filter(
            project=project, **{f"{field_name}__in": idents}
        ).values_list("pk", field_name):
            found[str(value)].append(pk)
        for line, ident, label, confidence, score in batch:
            matches = found.get(str(int(ident)) if key == "sample_id" else ident, [])
            if not matches:
                report.error(line, f"no sample with {key} {ident[:80]!r} in this project")
            elif len(matches) > 1:
                report.error(line, f"{key} {ident[:80]!r} names {len(matches)} samples; use sha256")
            elif matches[0] in seen:
                report.error(line, f"the sample is listed twice (also on line {seen[matches[0]]})")
            else:
                seen[matches[0]] = line
                resolved.append((matches[0], label, confidence, score))
    return resolved


def _write_labels(project, user, rows, report) -> None:
    ids = [r[0] for r in rows]
    existing = {
        a.sample_id: a for a in Annotation.objects.filter(annotator=user, sample_id__in=ids)
    }
    new, changed = [], []
    now = timezone.now()  # bulk_update does not apply auto_now
    for sample_id, label, _, _ in rows:
        if sample_id in existing:
            annotation = existing[sample_id]
            if annotation.label != label:
                annotation.label, annotation.updated_at = label, now
                changed.append(annotation)
        else:
            new.append(Annotation(sample_id=sample_id, annotator=user, label=label))
    Annotation.objects.bulk_create(new, batch_size=_BATCH)
    Annotation.objects.bulk_update(changed, ["label", "updated_at"], batch_size=_BATCH)
    report.created, report.updated = len(new), len(changed)
    labeled_count_forget(project_id=project.pk)
    overlap = project.loop_config.overlap if hasattr(project, "loop_config") else 1
    for start in range(0, len(ids), _BATCH):
        items = QueueItem.objects.filter(project=project, sample_id__in=ids[start : start + _BATCH])
        counts = items.annotate(n=Count("sample__annotations")).values_list("pk", "n")
        for pk, n in counts:
            state = QueueItem.State.DONE if n >= overlap else QueueItem.State.OPEN
            QueueItem.objects.filter(pk=pk).update(n_annotations=n, state=state)


def _write_oracle(rows, report) -> None:
    samples = Sample.objects.in_bulk([r[0] for r in rows])
    for sample_id, label, _, _ in rows:
        samples[sample_id].oracle_label = label
    Sample.objects.bulk_update(samples.values(), ["oracle_label"], batch_size=_BATCH)
    report.updated = len(samples)


def _write_predictions(project, rows, report) -> None:
    version = ModelVersion.objects.create(
        project=project,
        kind=ModelVersion.IMPORTED,
        n_labels=labeled_count(project=project),
        params={"source": "csv"},
    )
    Prediction.objects.bulk_create(
        (
            Prediction(
                model_version=version,
                sample_id=sample_id,
                predicted_label=label,
                confidence=confidence,
                score=score,
            )
            for sample_id, label, confidence, score in rows
        ),
        batch_size=_BATCH,
    )
    report.created = len(rows)
    report.model_version_id = version.pk


def labels_import_csv(
    *, project: Project, user: AbstractBaseUser, source, kind: str = "labels"
) -> LabelImportReport:
    """Import a CSV (path-less: a file object, bytes or text) of ``kind`` into the project.

    Raises ``LabelImportError`` (nothing written) when the header or any row is wrong.
    """
    if kind not in KINDS:
        raise ValueError(f"kind must be one of {', '.join(KINDS)}")
    report = LabelImportReport(kind=kind)
    classes = list(project.classes)
    if not classes:
        raise LabelImportError("the project has no classes yet", report)
    try:
        reader = csv.DictReader(_text_stream(source))
        key, parsed = _parse(reader, kind, classes, report)
    except UnicodeDecodeError as exc:
        raise LabelImportError("the file is not UTF-8 text", report) from exc
    except csv.Error as exc:
        raise LabelImportError(f"the file is not valid CSV: {exc}", report) from exc
    if report.rows == 0:
        raise LabelImportError("the file has a header but no rows", report)
    rows = _resolve(project, key, parsed, report)
    if report.error_count:
        raise LabelImportError(
            f"{report.error_count} of {report.rows} rows are wrong; nothing was imported", report
        )
    with transaction.atomic():
        if kind == "labels":
            _write_labels(project, user, rows, report)
        elif kind == "oracle":
            _write_oracle(rows, report)
        else:
            _write_predictions(project, rows, report)
    return report
