"""The label each sample counts as: adjudicated, else the annotators' majority."""

from __future__ import annotations

import time
from collections import Counter, defaultdict

from django.core.cache import cache

from labeling.models import Adjudication, Annotation, Project

# How long a project's labeled count is shared (see ``labeled_count_recent``).
LABELED_COUNT_TTL_S = 5


def labeled_count(*, project: Project) -> int:
    """Samples with at least one annotation."""
    return Annotation.objects.filter(sample__project=project).values("sample_id").distinct().count()


def labeled_count_key(project_id: int) -> str:
    """The cache key of the project's shared count for the current window: a new key every
    ``LABELED_COUNT_TTL_S`` seconds, kept twice as long, so the key being read and bumped
    never expires under an increment (Redis's INCR would recreate it without a timeout)."""
    window = int(time.time() // LABELED_COUNT_TTL_S)
    return f"quarry:labeled:{project_id}:{window}"


def labeled_count_recent(*, project: Project) -> int:
    """``labeled_count``, shared for up to ``LABELED_COUNT_TTL_S`` seconds.

    Every get-next checks the label budget and every label checks the retrain trigger;
    counting distinct labeled samples is a scan (tens of milliseconds at 20,000 labels),
    so the count is kept in the cache and bumped by each first label of a sample
    (``labeled_count_bump``). With a shared cache (``QUARRY_CACHE_URL``) or in one process
    it stays exact; with per-process caches the labels other processes took show within
    the window; a label import drops it. The workers' steps and the evaluation use the
    exact count.
    """
    return cache.get_or_set(
        labeled_count_key(project.pk),
        lambda: labeled_count(project=project),
        timeout=2 * LABELED_COUNT_TTL_S,
    )


def labeled_count_forget(*, project_id: int) -> None:
    """Labels were stored in bulk: the next reader counts again."""
    cache.delete(labeled_count_key(project_id))


def labeled_count_bump(*, project_id: int) -> None:
    """One more sample has a label (its first): keep the shared count current."""
    try:
        cache.incr(labeled_count_key(project_id))
    except ValueError:
        pass  # not cached in this window: its first reader counts


def effective_labels(*, project: Project) -> dict[int, int]:
    """Sample id -> label used for training and evaluation.

    An adjudicated label wins; otherwise the majority of the annotations. A tie with
    no adjudication is left out until someone adjudicates it.
    """
    votes: dict[int, Counter[int]] = defaultdict(Counter)
    rows = Annotation.objects.filter(sample__project=project).values_list("sample_id", "label")
    for sample_id, label in rows.iterator(chunk_size=10_000):
        votes[sample_id][label] += 1
    labels: dict[int, int] = {}
    for sample_id, counter in votes.items():
        (top, n), *rest = counter.most_common(2) + [(None, 0)]
        if rest[0][1] < n:
            labels[sample_id] = top
    adjudicated = Adjudication.objects.filter(sample__project=project).values_list(
        "sample_id", "label"
    )
    labels.update(adjudicated)
    return labels
