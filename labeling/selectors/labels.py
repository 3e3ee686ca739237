"""The label each sample counts as: adjudicated, else the annotators' majority."""

from __future__ import annotations

from collections import Counter, defaultdict

from labeling.models import Adjudication, Annotation, Project


def labeled_count(*, project: Project) -> int:
    """Samples with at least one annotation."""
    return Annotation.objects.filter(sample__project=project).values("sample_id").distinct().count()


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
