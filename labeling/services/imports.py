"""Importing images into a project: ``dataset_import`` and the seed labeller.

Two phases. First every file is read, validated, re-encoded and written to a
staging folder under MEDIA_ROOT while the rows wait in a spool file (no database lock
is held). Then one transaction moves the accepted files to their hash-derived names
and inserts the rows in batches. If anything fails, the transaction rolls back, every
file this import moved into place is removed, and the staging folder goes too.
Call it outside an open transaction: a caller's later rollback cannot remove files.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable, Iterator
from functools import lru_cache
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import AbstractBaseUser
from django.core.exceptions import ValidationError
from django.db import transaction

from labeling.imports.decode import Staged, default_workers, staged
from labeling.imports.entries import Entry, ImportRefused
from labeling.imports.limits import ImportLimits
from labeling.imports.report import ImportReport
from labeling.imports.sources import open_source
from labeling.imports.split import holdout_picks
from labeling.imports.staging import Spool, Staging
from labeling.models import Annotation, Project, Sample
from labeling.services.projects import project_classes_extend, validate_class_names

__all__ = ["ImportRefused", "ImportReport", "dataset_import", "seed_user_get"]

LABELS_AS = ("none", "seed", "oracle")
SEED_USERNAME = "quarry-seed"
GROUP = 256  # results checked against the database per query
INSERT_BATCH = 1000

ProgressCallback = Callable[[int, int], None]


def seed_user_get() -> AbstractBaseUser:
    """The inactive system account that owns labels imported with ``labels_as="seed"``."""
    user, created = get_user_model().objects.get_or_create(
        username=SEED_USERNAME, defaults={"is_active": False}
    )
    if created:
        user.set_unusable_password()
        user.save(update_fields=["password"])
    return user


@lru_cache(maxsize=4096)
def _class_name_problem(folder: str) -> str | None:
    try:
        validate_class_names([folder])
    except ValidationError as exc:
        return f"invalid class folder name ({'; '.join(exc.messages)})"
    return None


def _natural_key(name: str) -> list[Any]:
    return [int(part) if part.isdigit() else part for part in re.split(r"(\d+)", name)]


def _existing_hashes(project: Project, hashes: list[str]) -> set[str]:
    if not hashes:
        return set()
    return set(
        Sample.objects.filter(project=project, sha256__in=hashes).values_list("sha256", flat=True)
    )


def _groups(stream: Iterator[tuple[Entry, Any]]) -> Iterator[list[tuple[Entry, Any]]]:
    group: list[tuple[Entry, Any]] = []
    for item in stream:
        group.append(item)
        if len(group) >= GROUP:
            yield group
            group = []
    if group:
        yield group


class _Stage:
    """Phase one: duplicates and bad class folders out, rows in the spool, class counts."""

    def __init__(self, project: Project, labels_as: str, spool: Spool):
        self.project, self.labels_as, self.spool = project, labels_as, spool
        self.seen: set[bytes] = set()  # raw digests of this import's images: 32 bytes each
        self.strata: Counter[str | None] = Counter()
        self.report = ImportReport()

    def take(self, group: list[tuple[Entry, Any]]) -> None:
        fresh = [o.sha256 for _, o in group if isinstance(o, Staged)]
        existing = _existing_hashes(
            self.project, [h for h in fresh if bytes.fromhex(h) not in self.seen]
        )
        for entry, outcome in group:
            if not isinstance(outcome, Staged):
                self.report.rejected.append((entry.name, outcome))
                continue
            folder = entry.folder.strip() if entry.folder else None
            if self.labels_as != "none" and folder is not None:
                problem = _class_name_problem(folder)
                if problem:
                    self.report.rejected.append((entry.name, problem))
                    continue
            digest = bytes.fromhex(outcome.sha256)
            if digest in self.seen or outcome.sha256 in existing:
                self.report.duplicates.append(entry.name)
                continue
            self.seen.add(digest)
            ordinal = self.strata[folder]
            self.strata[folder] += 1
            self.spool.add(
                [
                    outcome.sha256,
                    outcome.ext,
                    outcome.width,
                    outcome.height,
                    entry.name[-255:],
                    folder,
                    ordinal,
                ]
            )


def _insert(
    project: Project, stage: _Stage, staging: Staging, labels_as: str, holdout: float, seed: int
) -> None:
    """Phase two, in one transaction: classes, files to their names, rows, seed labels."""
    report = stage.report
    picks = holdout_picks(stage.strata, holdout, seed)
    project = Project.objects.select_for_update().get(pk=project.pk)
    index: dict[str, int] = {}
    if labels_as != "none":
        folders = sorted((f for f in stage.strata if f is not None), key=_natural_key)
        before = list(project.classes)
        classes = project_classes_extend(project=project, names=folders) if folders else before
        report.classes_added = [c for c in classes if c not in before]
        index = {name: i for i, name in enumerate(classes)}
    annotator = seed_user_get() if labels_as == "seed" else None
    for batch in stage.spool.batches(INSERT_BATCH):
        # Another import may have committed the same images since phase one.
        taken = _existing_hashes(project, [row[0] for row in batch])
        samples, labels = [], []
        for sha, ext, width, height, name, folder, ordinal in batch:
            if sha in taken:
                report.duplicates.append(name)
                continue
            held = ordinal in picks.get(folder, ())
            label = index.get(folder) if folder is not None else None
            samples.append(
                Sample(
                    project=project,
                    file=staging.publish(sha, ext),
                    sha256=sha,
                    original_name=name,
                    width=width,
                    height=height,
                    split=Sample.Split.HOLDOUT if held else Sample.Split.POOL,
                    oracle_label=label if labels_as == "oracle" else None,
                )
            )
            labels.append(label)
            report.holdout += held
        created = Sample.objects.bulk_create(samples)
        report.imported += len(created)
        if annotator is not None:
            Annotation.objects.bulk_create(
                Annotation(sample=s, annotator=annotator, label=label)
                for s, label in zip(created, labels, strict=True)
                if label is not None
            )


def dataset_import(
    *,
    project: Project,
    path: Any,
    labels_as: str = "none",
    holdout: float = 0.0,
    seed: int = 0,
    on_progress: ProgressCallback | None = None,
    workers: int | None = None,
) -> ImportReport:
    """Import a folder, a ``.zip`` path, or an uploaded file (zip or single image).

    ``labels_as``: ``"none"`` ignores class sub-folders; ``"seed"`` stores them as
    annotations by the inactive ``quarry-seed`` user; ``"oracle"`` stores them as the
    hidden ``Sample.oracle_label``. Unknown folder names extend the project's classes.
    ``holdout``: fraction of each class folder put in the holdout split, chosen by
    ``seed``. ``on_progress(done, total)`` is called as files are processed.
    ``workers``: decoder processes (None chooses by size and CPU count; 0 = in-process).
    Raises ``ImportRefused`` (a ValueError) when the whole source is refused.
    """
    if labels_as not in LABELS_AS:
        raise ValueError(f"labels_as must be one of {', '.join(LABELS_AS)}, not {labels_as!r}")
    if not isinstance(holdout, int | float) or not 0 <= holdout < 1:
        raise ValueError(f"holdout must be a fraction in [0, 1), not {holdout!r}")
    limits = ImportLimits.from_settings()
    source = open_source(path, limits)
    try:
        staging = Staging(settings.MEDIA_ROOT, f"samples/{project.pk}")
    except BaseException:
        source.close()
        raise
    spool = Spool()
    stage = _Stage(project, labels_as, spool)
    committed = False
    try:
        n_workers = default_workers(source.total) if workers is None else workers
        entries = source.entries(lazy=n_workers > 0)
        stream = staged(entries, limits, str(staging.folder), workers=n_workers)
        done = 0
        for group in _groups(stream):
            stage.take(group)
            done += len(group)
            if on_progress is not None:
                on_progress(done, source.total)
        with transaction.atomic():
            _insert(project, stage, staging, labels_as, holdout, seed)
        committed = True
    except BaseException:
        if not committed:
            staging.rollback()
        raise
    finally:
        spool.close()
        staging.close()
        source.close()
    report = stage.report
    report.source = source.name
    report.ignored = list(source.ignored)
    return report
