"""Agreement between annotators (Cohen's kappa per pair, Fleiss' kappa over all) and the
samples they disagree on, for the review queue.

Cohen (1960) https://doi.org/10.1177/001316446002000104; Fleiss (1971)
https://doi.org/10.1037/h0031619. Fleiss' kappa is computed in its usual generalisation to
a varying number of raters per sample (each sample's agreement uses its own rater count).
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from itertools import combinations

import numpy as np

from labeling.models import Adjudication, Annotation, Project


def cohen_kappa(a: list[int], b: list[int], n_classes: int) -> float:
    """Cohen's kappa of two raters' labels on the same items.

    Where chance agreement is certain (both always gave one and the same class), kappa
    is 1.0 for full agreement and 0.0 otherwise instead of undefined.
    """
    if len(a) != len(b) or not a:
        raise ValueError("cohen_kappa needs two equally long, non-empty label lists")
    table = np.zeros((n_classes, n_classes), dtype=np.float64)
    np.add.at(table, (np.asarray(a), np.asarray(b)), 1)
    n = table.sum()
    observed = np.trace(table) / n
    expected = float((table.sum(axis=1) / n) @ (table.sum(axis=0) / n))
    if expected >= 1.0:
        return 1.0 if observed >= 1.0 else 0.0
    return float((observed - expected) / (1.0 - expected))


def fleiss_kappa(counts: np.ndarray) -> float | None:
    """Fleiss' kappa from an [items, classes] table of rating counts (>= 2 raters per row)."""
    counts = np.asarray(counts, dtype=np.float64)
    raters = counts.sum(axis=1)
    counts = counts[raters >= 2]
    raters = raters[raters >= 2]
    if counts.shape[0] == 0:
        return None
    per_item = ((counts * counts).sum(axis=1) - raters) / (raters * (raters - 1))
    p_bar = per_item.mean()
    p_class = counts.sum(axis=0) / counts.sum()
    p_e = float((p_class * p_class).sum())
    if p_e >= 1.0:
        return 1.0 if p_bar >= 1.0 else 0.0
    return float((p_bar - p_e) / (1.0 - p_e))


def _overlapping(project: Project) -> dict[int, dict[str, int]]:
    """Sample id -> {annotator username: label} for samples with two or more labels."""
    by_sample: dict[int, dict[str, int]] = defaultdict(dict)
    rows = Annotation.objects.filter(sample__project=project).values_list(
        "sample_id", "annotator__username", "label"
    )
    for sample_id, username, label in rows.iterator(chunk_size=10_000):
        by_sample[sample_id][username] = label
    return {sid: votes for sid, votes in by_sample.items() if len(votes) >= 2}


@dataclass(frozen=True)
class Agreement:
    n_items: int  # samples with two or more labels
    n_disagreements: int
    fleiss: float | None
    pairs: list[dict]  # {"a", "b", "n", "kappa"}


def project_agreement(*, project: Project) -> Agreement:
    n_classes = max(1, len(project.classes))
    overlapping = _overlapping(project)
    counts = np.zeros((len(overlapping), n_classes), dtype=np.int64)
    disagreements = 0
    pair_labels: dict[tuple[str, str], tuple[list[int], list[int]]] = defaultdict(lambda: ([], []))
    for row, votes in enumerate(overlapping.values()):
        for label in votes.values():
            if 0 <= label < n_classes:
                counts[row, label] += 1
        if len(set(votes.values())) > 1:
            disagreements += 1
        for a, b in combinations(sorted(votes), 2):
            pair_labels[(a, b)][0].append(votes[a])
            pair_labels[(a, b)][1].append(votes[b])
    pairs = [
        {"a": a, "b": b, "n": len(la), "kappa": round(cohen_kappa(la, lb, n_classes), 4)}
        for (a, b), (la, lb) in sorted(pair_labels.items())
    ]
    fleiss = fleiss_kappa(counts)
    return Agreement(
        n_items=len(overlapping),
        n_disagreements=disagreements,
        fleiss=None if fleiss is None else round(fleiss, 4),
        pairs=pairs,
    )


def review_queue(*, project: Project, limit: int = 50) -> list[dict]:
    """Samples whose annotators disagree and that nobody adjudicated yet, oldest first."""
    adjudicated = set(
        Adjudication.objects.filter(sample__project=project).values_list("sample_id", flat=True)
    )
    items = []
    for sample_id, votes in sorted(_overlapping(project).items()):
        if sample_id in adjudicated or len(set(votes.values())) < 2:
            continue
        names = project.classes
        items.append(
            {
                "sample_id": sample_id,
                "votes": [
                    (user, label, names[label] if 0 <= label < len(names) else f"#{label}")
                    for user, label in sorted(votes.items())
                ],
            }
        )
        if len(items) >= limit:
            break
    return items
