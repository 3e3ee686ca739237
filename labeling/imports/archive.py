"""Zip archives, read member by member: never ``extractall``, never a member's path on disk.

Caps: member count (read from the end-of-central-directory record before the
directory itself is parsed), per-member and total uncompressed size, and compression
ratio. Members with ``..``, absolute paths, drive letters, NUL bytes, symlink
attributes or encryption are refused with the reason; the rest continue.
"""

from __future__ import annotations

import re
import stat
import struct
import zipfile
import zlib
from collections.abc import Iterator
from typing import IO

from labeling.imports.entries import Entry, ImportRefused, Source, class_folder, is_ignored
from labeling.imports.images import Rejected
from labeling.imports.limits import ImportLimits

ZIP_MAGIC = (b"PK\x03\x04", b"PK\x05\x06")
_EOCD = b"PK\x05\x06"
_ZIP64_LOCATOR = b"PK\x06\x07"
_ZIP64_EOCD = b"PK\x06\x06"
_DRIVE = re.compile(r"^[A-Za-z]:")


def declared_member_count(fp: IO[bytes]) -> int | None:
    """Entries the archive says it holds, from its end record; None if unreadable."""
    fp.seek(0, 2)
    size = fp.tell()
    tail_len = min(size, 22 + 0xFFFF)
    fp.seek(size - tail_len)
    tail = fp.read(tail_len)
    pos = tail.rfind(_EOCD)
    if pos < 0 or pos + 22 > len(tail):
        return None
    (total,) = struct.unpack_from("<H", tail, pos + 10)
    if total == 0xFFFF and pos >= 20 and tail[pos - 20 : pos - 16] == _ZIP64_LOCATOR:
        (offset,) = struct.unpack_from("<Q", tail, pos - 12)
        if offset < size:
            fp.seek(offset)
            record = fp.read(56)
            if len(record) == 56 and record[:4] == _ZIP64_EOCD:
                (total,) = struct.unpack_from("<Q", record, 32)
    return total


def unsafe_name(name: str) -> str | None:
    """Why a member name is refused, or None. Backslashes count as separators."""
    if "\x00" in name:
        return "unsafe path (NUL byte in the name)"
    posix = name.replace("\\", "/")
    if posix.startswith("/"):
        return "unsafe path (absolute path)"
    if _DRIVE.match(posix):
        return "unsafe path (drive letter)"
    if ".." in posix.split("/"):
        return "unsafe path (parent directory reference '..')"
    return None


def member_problem(info: zipfile.ZipInfo, limits: ImportLimits) -> str | None:
    """Why a member is refused without reading it, or None."""
    problem = unsafe_name(info.orig_filename)
    if problem:
        return problem
    if stat.S_ISLNK(info.external_attr >> 16):
        return "symbolic link (archive members may not be links)"
    if info.flag_bits & 0x1:
        return "encrypted archive member"
    if info.file_size == 0:
        return "empty file"
    if info.file_size > limits.max_image_bytes:
        return (
            f"over the byte cap ({info.file_size:,} bytes uncompressed; "
            f"the cap is {limits.max_image_bytes:,})"
        )
    if info.file_size >= limits.ratio_floor_bytes:
        ratio = info.file_size / max(info.compress_size, 1)
        if ratio > limits.max_compression_ratio:
            return (
                f"compression ratio over the cap ({ratio:,.0f}:1; "
                f"the cap is {limits.max_compression_ratio}:1)"
            )
    return None


def read_member(archive: zipfile.ZipFile, info: zipfile.ZipInfo, cap: int) -> bytes:
    """At most ``cap + 1`` bytes of a member (zipfile checks its CRC at the end)."""
    try:
        with archive.open(info) as member:
            return member.read(cap + 1)
    except (zipfile.BadZipFile, NotImplementedError, zlib.error, EOFError, OSError) as exc:
        raise Rejected(f"unreadable archive member ({exc})") from None


class ZipSource(Source):
    def __init__(
        self,
        name: str,
        fileobj: IO[bytes],
        limits: ImportLimits,
        *,
        owns: bool,
        path: str | None = None,
    ):
        super().__init__(name=name)
        self._fileobj, self._owns, self._limits, self.path = fileobj, owns, limits, path
        declared = declared_member_count(fileobj)
        if declared is not None and declared > limits.max_archive_members:
            self.close()
            raise ImportRefused(
                f"{name}: the archive lists {declared:,} members; the cap is "
                f"{limits.max_archive_members:,} (QUARRY_MAX_ARCHIVE_MEMBERS)"
            )
        fileobj.seek(0)
        try:
            self._zip = zipfile.ZipFile(fileobj)
            infos = self._zip.infolist()
        except (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, EOFError) as exc:
            self.close()
            raise ImportRefused(f"{name}: not a readable zip archive ({exc})") from None
        if len(infos) > limits.max_archive_members:
            self.close()
            raise ImportRefused(
                f"{name}: the archive holds {len(infos):,} members; the cap is "
                f"{limits.max_archive_members:,} (QUARRY_MAX_ARCHIVE_MEMBERS)"
            )
        self._members: list[tuple[int, zipfile.ZipInfo, str | None]] = []
        expanded = 0
        for index, info in enumerate(infos):
            if info.is_dir():
                continue
            # Unsafe names are rejected (and reported) before hidden files are skipped.
            problem = member_problem(info, limits)
            if problem is None and is_ignored(info.filename.replace("\\", "/")):
                self.ignored.append(info.filename)
                continue
            self._members.append((index, info, problem))
            if problem is None:
                expanded += info.file_size
        if expanded > limits.max_archive_bytes:
            self.close()
            raise ImportRefused(
                f"{name}: the archive expands to {expanded:,} bytes; the cap is "
                f"{limits.max_archive_bytes:,} (QUARRY_MAX_ARCHIVE_BYTES)"
            )
        self.total = len(self._members)

    def entries(self, *, lazy: bool = False) -> Iterator[Entry]:
        cap = self._limits.max_image_bytes
        for index, info, problem in self._members:
            name = info.filename
            folder = class_folder(name.replace("\\", "/"))
            if problem:
                yield Entry(name, folder, problem=problem)
            elif lazy and self.path is not None:
                yield Entry(name, folder, ref=("zip", self.path, index))
            else:
                try:
                    yield Entry(name, folder, data=read_member(self._zip, info, cap))
                except Rejected as exc:
                    yield Entry(name, folder, problem=str(exc))

    def close(self) -> None:
        zf = getattr(self, "_zip", None)
        if zf is not None:
            zf.close()
        if self._owns:
            self._fileobj.close()
