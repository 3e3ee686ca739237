"""What an import did: counts, and every skipped or rejected file with its reason."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any


def reason_kind(reason: str) -> str:
    """The reason without its details: ``"truncated image (OSError: ...)"`` -> ``"truncated image"``."""
    return reason.split(" (", 1)[0]


@dataclass
class ImportReport:
    imported: int = 0
    duplicates: list[str] = field(default_factory=list)
    rejected: list[tuple[str, str]] = field(default_factory=list)
    holdout: int = 0
    ignored: list[str] = field(default_factory=list)
    classes_added: list[str] = field(default_factory=list)
    source: str = ""

    def rejected_by_reason(self) -> dict[str, int]:
        counts = Counter(reason_kind(reason) for _, reason in self.rejected)
        return dict(sorted(counts.items(), key=lambda kv: (-kv[1], kv[0])))

    def to_dict(self) -> dict[str, Any]:
        return {
            "source": self.source,
            "imported": self.imported,
            "holdout": self.holdout,
            "duplicates": list(self.duplicates),
            "rejected": [{"name": name, "reason": reason} for name, reason in self.rejected],
            "rejected_by_reason": self.rejected_by_reason(),
            "ignored": list(self.ignored),
            "classes_added": list(self.classes_added),
        }

    def summary_lines(self, *, max_duplicates: int = 20) -> list[str]:
        lines = [
            f"imported:   {self.imported:,} ({self.holdout:,} in the holdout split)",
            f"duplicates: {len(self.duplicates):,} (same SHA-256 as an existing or earlier image)",
            f"rejected:   {len(self.rejected):,}",
        ]
        lines += [f"  {kind}: {n:,}" for kind, n in self.rejected_by_reason().items()]
        if self.classes_added:
            lines.append(f"new classes: {', '.join(self.classes_added)}")
        if self.ignored:
            lines.append(f"ignored (hidden or system files): {len(self.ignored):,}")
        if self.rejected:
            lines.append("rejected files:")
            lines += [f"  {name}: {reason}" for name, reason in self.rejected]
        if self.duplicates:
            lines.append("duplicate files:")
            lines += [f"  {name}" for name in self.duplicates[:max_duplicates]]
            if len(self.duplicates) > max_duplicates:
                lines.append(f"  ... and {len(self.duplicates) - max_duplicates:,} more")
        return lines
