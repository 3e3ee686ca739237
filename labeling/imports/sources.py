"""Where images come from: a folder, a zip archive, one image file, or an upload."""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator
from pathlib import Path, PurePath
from typing import IO, Any

from labeling.imports.archive import ZIP_MAGIC, ZipSource
from labeling.imports.entries import Entry, ImportRefused, Source, class_folder, is_ignored
from labeling.imports.limits import ImportLimits

_OPEN_FLAGS = os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0)


def read_capped(path: str | os.PathLike[str], cap: int) -> bytes:
    """At most ``cap + 1`` bytes of a regular file, never through a symlink."""
    fd = os.open(path, _OPEN_FLAGS)
    with os.fdopen(fd, "rb") as fh:
        if not stat.S_ISREG(os.fstat(fh.fileno()).st_mode):
            raise ImportRefused(f"{path}: not a regular file")
        return fh.read(cap + 1)


def _too_big(size: int, cap: int) -> str:
    return f"over the byte cap ({size:,} bytes; the cap is {cap:,})"


class FolderSource(Source):
    """Files under a folder, in sorted order; links are refused, never followed."""

    def __init__(self, root: Path, limits: ImportLimits):
        super().__init__(name=str(root))
        self._root, self._limits = root, limits
        self.total = sum(1 for kind, _, _ in self._walk(root, "") if kind != "ignored")
        self.ignored.clear()  # the counting pass filled it; entries() fills it again

    def _walk(self, folder: Path, prefix: str) -> Iterator[tuple[str, str, os.DirEntry]]:
        with os.scandir(folder) as it:
            children = sorted(it, key=lambda e: e.name)
        for child in children:
            name = f"{prefix}{child.name}"
            if is_ignored(name):
                self.ignored.append(name)
                yield "ignored", name, child
            elif child.is_symlink():
                yield "link", name, child
            elif child.is_dir(follow_symlinks=False):
                yield from self._walk(Path(child.path), f"{name}/")
            else:
                yield "file", name, child

    def entries(self, *, lazy: bool = False) -> Iterator[Entry]:
        cap = self._limits.max_image_bytes
        for kind, name, child in self._walk(self._root, ""):
            if kind == "ignored":
                continue
            folder = class_folder(name)
            if kind == "link":
                yield Entry(name, folder, problem="symbolic link (not followed)")
                continue
            try:
                info = child.stat(follow_symlinks=False)
                if not stat.S_ISREG(info.st_mode):
                    yield Entry(name, folder, problem="not a regular file")
                elif info.st_size > cap:
                    yield Entry(name, folder, problem=_too_big(info.st_size, cap))
                elif lazy:
                    yield Entry(name, folder, ref=("file", child.path))
                else:
                    yield Entry(name, folder, data=read_capped(child.path, cap))
            except (OSError, ImportRefused) as exc:
                yield Entry(name, folder, problem=f"unreadable file ({exc})")


class SingleFileSource(Source):
    """One image, from a path or an uploaded file; no class folder."""

    def __init__(self, name: str, data: bytes, problem: str | None = None):
        super().__init__(name=name, total=1)
        self._entry = Entry(name, None, data=data, problem=problem)

    def entries(self, *, lazy: bool = False) -> Iterator[Entry]:
        yield self._entry


def _upload_name(fileobj: Any) -> str:
    raw = getattr(fileobj, "name", None) or "upload"
    # Only the last component of a client-supplied name, whatever its separators.
    return PurePath(str(raw).replace("\\", "/")).name or "upload"


def open_source(path_or_file: Any, limits: ImportLimits) -> Source:
    """A source for a folder path, a zip or image path, or an open/uploaded file object."""
    if isinstance(path_or_file, str | os.PathLike):
        return _open_path(Path(path_or_file), limits)
    fileobj: IO[bytes] = path_or_file
    name = _upload_name(fileobj)
    if hasattr(fileobj, "open") and getattr(fileobj, "closed", False):
        fileobj.open("rb")
    fileobj.seek(0)
    head = fileobj.read(4)
    fileobj.seek(0)
    if head in ZIP_MAGIC:
        return ZipSource(name, fileobj, limits, owns=False)
    data = fileobj.read(limits.max_image_bytes + 1)
    return SingleFileSource(name, data)


def _open_path(path: Path, limits: ImportLimits) -> Source:
    if not path.exists() and not path.is_symlink():
        raise ImportRefused(f"{path}: no such file or folder")
    if path.is_dir():
        return FolderSource(path.resolve(), limits)
    try:
        fh = open(path, "rb")  # noqa: SIM115 (the source owns and closes it)
    except OSError as exc:
        raise ImportRefused(f"{path}: cannot be read ({exc.strerror})") from None
    if path.suffix.lower() == ".zip" or fh.read(4) in ZIP_MAGIC:
        return ZipSource(path.name, fh, limits, owns=True, path=str(path.resolve()))
    fh.close()
    size = path.stat().st_size
    if size > limits.max_image_bytes:
        return SingleFileSource(path.name, b"", _too_big(size, limits.max_image_bytes))
    return SingleFileSource(path.name, read_capped(path, limits.max_image_bytes))
