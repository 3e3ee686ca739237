"""What a source yields: one file's name, class sub-folder and bytes, or why it was refused."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field

# Operating-system litter that is skipped silently (and listed as ignored).
IGNORED_NAMES = frozenset({"thumbs.db", "desktop.ini", "__macosx"})


class ImportRefused(ValueError):
    """The whole source is refused (missing path, not a zip, over an archive cap)."""


@dataclass(frozen=True, slots=True)
class Entry:
    name: str  # shown to the user: the path inside the folder or archive
    folder: str | None  # the folder that directly holds the file (its class), if any
    data: bytes = b""
    problem: str | None = None  # refused before decoding: the reason
    # Instead of ``data``, where a decoder process reads the bytes itself:
    # ("file", path) or ("zip", archive path, member index).
    ref: tuple | None = None


@dataclass
class Source:
    """Base for folder, archive and single-file sources."""

    name: str
    total: int = 0  # entries ``entries()`` will yield
    ignored: list[str] = field(default_factory=list)

    def entries(self, *, lazy: bool = False) -> Iterator[Entry]:
        """Every file; with ``lazy``, a ``ref`` instead of the bytes where possible."""
        raise NotImplementedError

    def close(self) -> None:
        return None


def _parts(posix_name: str) -> list[str]:
    return [part for part in posix_name.split("/") if part and part != "."]


def is_ignored(posix_name: str) -> bool:
    """Hidden files and folders, macOS resource forks and Windows thumbnails."""
    return any(
        (p.startswith(".") and p != "..") or p.lower() in IGNORED_NAMES for p in _parts(posix_name)
    )


def class_folder(posix_name: str) -> str | None:
    """The name of the folder that directly holds the file, or None at the top level."""
    parts = _parts(posix_name)
    return parts[-2] if len(parts) >= 2 else None
