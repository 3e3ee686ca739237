"""Validate, re-encode and stage a stream of entries, in decoder processes when it pays.

Decoders write the clean bytes straight into the staging folder and send back only
the hash, the extension and the size. Creating a file is bound by disk latency, not
CPU (about 0.7 ms each on the reference machine), so each decoder hands its writes to
a few threads while it decodes the next image. Order is kept, and only a few chunks are in flight at a time,
so memory stays flat however many images there are.
"""

from __future__ import annotations

import logging
import multiprocessing
import os
import zipfile
from collections import deque
from collections.abc import Iterable, Iterator
from concurrent.futures import Executor, Future, ProcessPoolExecutor, ThreadPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from typing import NamedTuple

from labeling.imports.archive import read_member
from labeling.imports.entries import Entry
from labeling.imports.images import Rejected, clean_image
from labeling.imports.limits import ImportLimits
from labeling.imports.sources import read_capped
from labeling.imports.staging import write_staged

logger = logging.getLogger("quarry.imports")

CHUNK_ENTRIES = 128
CHUNK_BYTES = 8 * 1024 * 1024
# Below this many entries a pool costs more to start than it saves.
POOL_THRESHOLD = 500
WRITER_THREADS = 8
_writers: ThreadPoolExecutor | None = None  # one per decoder process
_archives: dict[str, zipfile.ZipFile] = {}  # archives a decoder process has opened


class Staged(NamedTuple):
    sha256: str
    ext: str
    width: int
    height: int


Outcome = Staged | str  # a staged image, or why the file was rejected


def load(ref: tuple, cap: int) -> bytes:
    """The bytes an entry's ``ref`` points at; ``Rejected`` when they cannot be read."""
    if ref[0] == "file":
        try:
            return read_capped(ref[1], cap)
        except (OSError, ValueError) as exc:
            raise Rejected(f"unreadable file ({exc})") from None
    _, path, index = ref
    archive = _archives.get(path)
    if archive is None:
        archive = _archives[path] = zipfile.ZipFile(path)
    return read_member(archive, archive.infolist()[index], cap)


def stage_chunk(
    blobs: list[bytes | tuple], limits: ImportLimits, folder: str, writers: Executor | None = None
) -> list[Outcome]:
    """Clean each blob (bytes, or a ``ref`` to read) and write it to ``folder``;
    returns when every write is done."""
    global _writers
    if writers is None:
        if _writers is None:
            _writers = ThreadPoolExecutor(WRITER_THREADS, thread_name_prefix="quarry-stage")
        writers = _writers
    outcomes: list[Outcome] = []
    writes: list[Future] = []
    for blob in blobs:
        try:
            data = blob if isinstance(blob, bytes) else load(blob, limits.max_image_bytes)
            image = clean_image(data, limits)
        except Rejected as exc:
            outcomes.append(str(exc))
            continue
        writes.append(writers.submit(write_staged, folder, image.sha256, image.ext, image.data))
        outcomes.append(Staged(image.sha256, image.ext, image.width, image.height))
    for write in writes:
        write.result()
    return outcomes


def default_workers(total: int) -> int:
    """Decoder processes for ``total`` entries: none for small imports or inside daemons."""
    if total < POOL_THRESHOLD or multiprocessing.current_process().daemon:
        return 0
    cpus = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    return min(cpus or 1, 4) if (cpus or 1) > 1 else 0


def _chunks(entries: Iterable[Entry]) -> Iterator[list[Entry]]:
    chunk: list[Entry] = []
    size = 0
    for entry in entries:
        chunk.append(entry)
        size += len(entry.data)
        if len(chunk) >= CHUNK_ENTRIES or size >= CHUNK_BYTES:
            yield chunk
            chunk, size = [], 0
    if chunk:
        yield chunk


def _merge(chunk: list[Entry], outcomes: list[Outcome]) -> Iterator[tuple[Entry, Outcome]]:
    results = iter(outcomes)
    for entry in chunk:
        yield entry, (entry.problem if entry.problem else next(results))


def _start_pool(workers: int) -> ProcessPoolExecutor | None:
    """A pool of spawned decoders, or None when they cannot start here."""
    # spawn, not fork: the caller may hold database connections and threads.
    pool = ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("spawn"))
    try:
        pool.submit(os.getpid).result(timeout=120)
    except (BrokenProcessPool, OSError, TimeoutError) as exc:
        pool.shutdown(wait=False, cancel_futures=True)
        logger.warning("decoder processes did not start (%s); decoding in-process", exc)
        return None
    return pool


def staged(
    entries: Iterable[Entry], limits: ImportLimits, folder: str, *, workers: int = 0
) -> Iterator[tuple[Entry, Outcome]]:
    """``(entry, Staged | reason)`` for every entry, in order; clean bytes go to ``folder``."""
    pool = _start_pool(workers) if workers > 0 else None
    if pool is None:
        try:
            with ThreadPoolExecutor(WRITER_THREADS, thread_name_prefix="quarry-stage") as writers:
                for chunk in _chunks(entries):
                    blobs = [entry.ref or entry.data for entry in chunk if not entry.problem]
                    yield from _merge(chunk, stage_chunk(blobs, limits, folder, writers))
        finally:
            while _archives:
                _archives.popitem()[1].close()
        return
    try:
        pending: deque = deque()
        for chunk in _chunks(entries):
            blobs = [entry.ref or entry.data for entry in chunk if not entry.problem]
            pending.append((chunk, pool.submit(stage_chunk, blobs, limits, folder)))
            if len(pending) > 2 * workers:
                done_chunk, future = pending.popleft()
                yield from _merge(done_chunk, future.result())
        while pending:
            done_chunk, future = pending.popleft()
            yield from _merge(done_chunk, future.result())
    finally:
        # Waits for running chunks, so nothing writes into staging after it is removed.
        pool.shutdown(wait=True, cancel_futures=True)
