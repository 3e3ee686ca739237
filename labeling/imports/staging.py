"""Files on their way into MEDIA_ROOT, and a spool of rows waiting to be inserted.

Decoders write each clean image into a per-import staging folder,
``MEDIA_ROOT/.staging/<token>/``, named by its hash. Just before the rows commit, the
accepted files are renamed to their final hash-derived names (every rename is
journalled); duplicates and rejects never leave staging. On failure the journalled
files are removed; staging is always removed. Staging folders left by a killed process
are swept by the next import after a day.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

STAGING_DIR = ".staging"
STALE_SECONDS = 24 * 3600
_HEX = frozenset("0123456789abcdef")
_WRITE_FLAGS = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | getattr(os, "O_CLOEXEC", 0)


def check_name(sha256: str, ext: str) -> str:
    """``<sha256>.<ext>`` after checking both parts: no path can come out of it."""
    if len(sha256) != 64 or not _HEX.issuperset(sha256):
        raise ValueError("not a sha256 hex digest")
    if ext not in ("png", "jpg"):
        raise ValueError(f"unexpected extension {ext!r}")
    return f"{sha256}.{ext}"


def write_staged(folder: str, sha256: str, ext: str, data: bytes) -> None:
    """Write ``folder/<sha>.<ext>`` once; an existing copy is the same bytes."""
    path = os.path.join(folder, check_name(sha256, ext))
    try:
        fd = os.open(path, _WRITE_FLAGS, 0o644)
    except FileExistsError:
        return
    with os.fdopen(fd, "wb") as fh:
        fh.write(data)


class Staging:
    """One import's staging folder and the journal of files it published."""

    def __init__(self, media_root: str | os.PathLike[str], prefix: str):
        self.root = Path(media_root).resolve()
        self.prefix = prefix.strip("/")
        base = self.root / STAGING_DIR
        base.mkdir(parents=True, exist_ok=True)
        sweep_stale(base)
        self.folder = base / uuid.uuid4().hex
        self.folder.mkdir()
        self._staged = str(self.folder)
        self._dirs: dict[str, str] = {}
        self._journal = tempfile.TemporaryFile(mode="w+", encoding="utf-8")
        self.published = 0

    def relname(self, sha256: str, ext: str) -> str:
        return f"{self.prefix}/{sha256[:2]}/{check_name(sha256, ext)}"

    def _final_folder(self, sub: str) -> str:
        folder = self._dirs.get(sub)
        if folder is None:
            path = self.root / sub
            path.mkdir(parents=True, exist_ok=True)
            if not path.resolve().is_relative_to(self.root):
                raise RuntimeError(f"refusing to write outside MEDIA_ROOT: {path}")
            folder = self._dirs[sub] = str(path)
        return folder

    def publish(self, sha256: str, ext: str) -> str:
        """Move a staged file to its final name; returns the name relative to MEDIA_ROOT."""
        relname = self.relname(sha256, ext)
        sub, name = relname.rsplit("/", 1)
        final = os.path.join(self._final_folder(sub), name)
        staged = os.path.join(self._staged, name)
        try:
            existing = os.lstat(final)
        except FileNotFoundError:
            existing = None
        if existing is not None and existing.st_size == os.stat(staged).st_size:
            return relname  # an intact copy is there already, and not ours to remove
        self._journal.write(relname + "\n")
        os.replace(staged, final)
        self.published += 1
        return relname

    def rollback(self) -> int:
        """Remove every file this import published; returns how many."""
        self._journal.flush()
        self._journal.seek(0)
        removed = 0
        for line in self._journal:
            try:
                (self.root / line.rstrip("\n")).unlink()
                removed += 1
            except FileNotFoundError:
                pass
        self._journal.seek(0)
        self._journal.truncate()
        return removed

    def close(self) -> None:
        self._journal.close()
        shutil.rmtree(self.folder, ignore_errors=True)


def sweep_stale(base: Path, max_age: float = STALE_SECONDS) -> None:
    """Remove staging folders a killed import left behind."""
    cutoff = time.time() - max_age
    for child in base.iterdir():
        try:
            if child.is_dir() and not child.is_symlink() and child.stat().st_mtime < cutoff:
                shutil.rmtree(child, ignore_errors=True)
        except OSError:
            continue


class Spool:
    """Rows as JSON lines in a temporary file, read back in batches."""

    def __init__(self) -> None:
        self._file = tempfile.TemporaryFile(mode="w+", encoding="utf-8")
        self.count = 0

    def add(self, row: list[Any]) -> None:
        self._file.write(json.dumps(row, separators=(",", ":")) + "\n")
        self.count += 1

    def batches(self, size: int) -> Iterator[list[list[Any]]]:
        self._file.flush()
        self._file.seek(0)
        batch: list[list[Any]] = []
        for line in self._file:
            batch.append(json.loads(line))
            if len(batch) >= size:
                yield batch
                batch = []
        if batch:
            yield batch

    def close(self) -> None:
        self._file.close()
