"""Exports of a project's labels as streams of bytes: CSV, JSON Lines, COCO, ImageFolder zip.

Each function returns a generator; rows are read ``CHUNK`` samples at a time and
written out as they come, so a 100,000-sample project never sits in memory. The zip is
written with :mod:`zipfile` to a buffer that is emptied after every block.
"""

from __future__ import annotations

import csv
import io
import json
import re
import zipfile
from collections.abc import Iterator
from datetime import UTC, datetime

from django.core.files.storage import default_storage

from labeling.models import Project
from labeling.selectors.exports import ExportRow, export_rows

FORMATS = {
    "csv": ("text/csv; charset=utf-8", "csv"),
    "jsonl": ("application/x-ndjson; charset=utf-8", "jsonl"),
    "coco": ("application/json; charset=utf-8", "coco.json"),
    "imagefolder": ("application/zip", "zip"),
}
CSV_COLUMNS = [
    "sample_id",
    "file_name",
    "sha256",
    "split",
    "label",
    "label_index",
    "annotators",
    "n_annotations",
    "agreement",
    "prediction",
    "prediction_index",
    "confidence",
]
_FLUSH_BYTES = 256 * 1024
_UNSAFE = re.compile(r"[^\w.\- ]+|\.{2,}")


def _class_name(classes: list[str], index: int | None) -> str:
    if index is None:
        return ""
    return classes[index] if 0 <= index < len(classes) else str(index)


def _record(row: ExportRow, classes: list[str]) -> dict:
    return {
        "sample_id": row.sample_id,
        "file_name": row.file_name,
        "sha256": row.sha256,
        "split": row.split,
        "label": _class_name(classes, row.label) or None,
        "label_index": row.label,
        "annotators": row.annotators,
        "n_annotations": row.n_annotations,
        "agreement": row.agreement,
        "prediction": _class_name(classes, row.prediction) or None,
        "prediction_index": row.prediction,
        "confidence": None if row.confidence is None else round(row.confidence, 6),
    }


def _csv_cell(value) -> str:
    """Text for a CSV cell; a leading = + - @ is quoted so spreadsheets do not run it."""
    text = "" if value is None else str(value)
    if text[:1] in ("=", "+", "-", "@", "\t", "\r") and not _is_number(text):
        return "'" + text
    return text


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def export_csv(*, project: Project, split: str | None = None, labeled_only: bool = False):
    classes = list(project.classes)
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(CSV_COLUMNS)
    for row in export_rows(project=project, split=split, labeled_only=labeled_only):
        record = _record(row, classes)
        record["annotators"] = ";".join(record["annotators"])
        writer.writerow([_csv_cell(record[c]) for c in CSV_COLUMNS])
        if buffer.tell() >= _FLUSH_BYTES:
            yield buffer.getvalue().encode()
            buffer.seek(0)
            buffer.truncate()
    yield buffer.getvalue().encode()


def export_jsonl(*, project: Project, split: str | None = None, labeled_only: bool = False):
    classes = list(project.classes)
    parts: list[str] = []
    size = 0
    for row in export_rows(project=project, split=split, labeled_only=labeled_only):
        line = json.dumps(_record(row, classes), ensure_ascii=False) + "\n"
        parts.append(line)
        size += len(line)
        if size >= _FLUSH_BYTES:
            yield "".join(parts).encode()
            parts, size = [], 0
    yield "".join(parts).encode()


def export_coco(*, project: Project, split: str | None = None, labeled_only: bool = False):
    """COCO-style classification: images, categories, one annotation per labeled image.

    Two passes over the samples (images, then annotations), each streamed.
    """
    classes = list(project.classes)
    head = {
        "info": {
            "description": f"Quarry export of {project.name}",
            "version": "1",
            "date_created": datetime.now(UTC).isoformat(timespec="seconds"),
        },
        "licenses": [],
        "categories": [{"id": i, "name": name} for i, name in enumerate(classes)],
    }
    opening = json.dumps(head, ensure_ascii=False)[:-1]
    yield (opening + ', "images": [').encode()
    yield from _coco_array(
        {
            "id": row.sample_id,
            "file_name": row.file_name,
            "width": row.width,
            "height": row.height,
            "sha256": row.sha256,
            "split": row.split,
        }
        for row in export_rows(project=project, split=split, labeled_only=labeled_only)
    )
    yield b'], "annotations": ['
    yield from _coco_array(
        {
            "id": row.sample_id,
            "image_id": row.sample_id,
            "category_id": row.label,
            "annotators": row.annotators,
            "agreement": row.agreement,
            "prediction": row.prediction,
            "confidence": row.confidence,
        }
        for row in export_rows(project=project, split=split, labeled_only=True)
        if row.label is not None
    )
    yield b"]}\n"


def _coco_array(items) -> Iterator[bytes]:
    parts: list[str] = []
    size = 0
    first = True
    for item in items:
        text = ("" if first else ",") + json.dumps(item, ensure_ascii=False)
        first = False
        parts.append(text)
        size += len(text)
        if size >= _FLUSH_BYTES:
            yield "".join(parts).encode()
            parts, size = [], 0
    yield "".join(parts).encode()


def safe_component(name: str, fallback: str) -> str:
    """A single, harmless path component for a zip entry (no separators, no dot-names)."""
    cleaned = _UNSAFE.sub("_", name).strip(" .")[:100]
    return cleaned or fallback


class _Drain(io.RawIOBase):
    """A write-only, unseekable sink whose contents are taken out after every write."""

    def __init__(self) -> None:
        self._parts: list[bytes] = []
        self._size = 0

    def writable(self) -> bool:
        return True

    def write(self, data) -> int:
        self._parts.append(bytes(data))
        self._size += len(data)
        return len(data)

    def take(self) -> bytes:
        data = b"".join(self._parts)
        self._parts.clear()
        return data

    def tell(self) -> int:  # zipfile asks for the offset of each entry
        return self._size


def export_imagefolder(*, project: Project, split: str | None = None, labeled_only: bool = True):
    """A zip of ``<class>/<sample id>-<name>`` for every labeled sample, streamed."""
    classes = list(project.classes)
    sink = _Drain()
    with zipfile.ZipFile(sink, mode="w", compression=zipfile.ZIP_STORED, allowZip64=True) as zf:
        for row in export_rows(project=project, split=split, labeled_only=True):
            if row.label is None:
                continue
            folder = safe_component(_class_name(classes, row.label), f"class_{row.label}")
            stored = row.stored_name
            extension = stored.rsplit(".", 1)[-1].lower() if "." in stored else "png"
            stem = safe_component(row.file_name.rsplit(".", 1)[0], row.sha256[:16])
            arcname = f"{folder}/{row.sample_id}-{stem}.{safe_component(extension, 'png')}"
            try:
                source = default_storage.open(stored, "rb")
            except (FileNotFoundError, ValueError):
                continue
            with source, zf.open(arcname, mode="w", force_zip64=True) as target:
                while block := source.read(_FLUSH_BYTES):
                    target.write(block)
                    yield sink.take()
            # Names are unique (sample id first): the by-name index is not needed, and the
            # central directory (zf.filelist, ~0.5 KB per file) is all that stays in memory.
            zf.NameToInfo.clear()
            yield sink.take()
    yield sink.take()


EXPORTERS = {
    "csv": export_csv,
    "jsonl": export_jsonl,
    "coco": export_coco,
    "imagefolder": export_imagefolder,
}


def export_stream(
    *, project: Project, kind: str, split: str | None = None, labeled_only: bool = False
) -> Iterator[bytes]:
    """The bytes of an export of ``kind`` (one of ``FORMATS``), as a generator."""
    if kind not in EXPORTERS:
        raise ValueError(f"unknown export format {kind!r}; valid: {', '.join(EXPORTERS)}")
    return EXPORTERS[kind](project=project, split=split, labeled_only=labeled_only)


def export_filename(*, project: Project, kind: str) -> str:
    stem = safe_component(project.name, f"project-{project.pk}").replace(" ", "_")
    return f"{stem}.{FORMATS[kind][1]}"
