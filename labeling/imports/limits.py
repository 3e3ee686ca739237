"""Import limits, read from ``settings.QUARRY_IMPORT`` when an import starts."""

from __future__ import annotations

from dataclasses import dataclass, fields

DEFAULTS = {
    "max_image_pixels": 40_000_000,
    "max_image_bytes": 50 * 1024 * 1024,
    "max_archive_members": 1_000_000,
    "max_archive_bytes": 20 * 1024 * 1024 * 1024,
    "max_compression_ratio": 200,
    # Archive members smaller than this are not held to the compression ratio:
    # a tiny file that compresses well cannot exhaust anything.
    "ratio_floor_bytes": 1024 * 1024,
}


@dataclass(frozen=True, slots=True)
class ImportLimits:
    max_image_pixels: int = DEFAULTS["max_image_pixels"]
    max_image_bytes: int = DEFAULTS["max_image_bytes"]
    max_archive_members: int = DEFAULTS["max_archive_members"]
    max_archive_bytes: int = DEFAULTS["max_archive_bytes"]
    max_compression_ratio: int = DEFAULTS["max_compression_ratio"]
    ratio_floor_bytes: int = DEFAULTS["ratio_floor_bytes"]

    def __post_init__(self) -> None:
        for field in fields(self):
            value = getattr(self, field.name)
            if not isinstance(value, int) or isinstance(value, bool) or value < 1:
                raise ValueError(f"QUARRY_IMPORT[{field.name!r}] must be a positive integer")

    @classmethod
    def from_settings(cls) -> ImportLimits:
        from django.conf import settings

        configured = getattr(settings, "QUARRY_IMPORT", {}) or {}
        unknown = set(configured) - set(DEFAULTS)
        if unknown:
            raise ValueError(
                f"unknown QUARRY_IMPORT keys: {', '.join(sorted(unknown))} "
                f"(known: {', '.join(DEFAULTS)})"
            )
        return cls(**{**DEFAULTS, **configured})
