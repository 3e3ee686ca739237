"""CPU per label, in one process: the label view's call (a submit that carries the next
get-next) made straight to Quarry's WSGI application, with no HTTP server, no sockets
and no other process competing for the cores. ``bench/annotate_load.py`` measures the
whole deployment under load; this measures the application's own share of it, and with
``--profile`` shows where it goes.

    .venv/bin/python bench/label_cpu.py [--calls 3000] [--profile 30] [--against-drf]

``--against-drf`` alternates blocks of calls answered outside DRF's request cycle (the
plain calls clients send, ``labeling.api.queue_direct``) with blocks of the same calls
sent with ``Content-Type: application/json; charset=utf-8``, which the DRF view answers,
and prints both: what the direct path saves, with the VM's drift spread over both.

Uses the same bulk-loaded PostgreSQL database ``quarry_load`` (dropped afterwards) and
the production settings. Prints the CPU of this process (Django, DRF, psycopg) and of
its PostgreSQL backend per call.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from load_server import (  # noqa: E402
    DB_NAME,
    ROOT,
    build_project,
    cpu_seconds,
    drop_database,
    recreate_database,
    server_env,
    stat_fields,
)


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--calls", type=int, default=3000, help="measured calls")
    parser.add_argument("--warmup", type=int, default=300, help="calls before measuring")
    parser.add_argument("--samples", type=int, default=100_000)
    parser.add_argument("--annotators", type=int, default=50)
    parser.add_argument(
        "--profile", type=int, default=0, metavar="N", help="print cProfile's N costliest"
    )
    parser.add_argument(
        "--against-drf",
        action="store_true",
        help="alternate blocks of calls with blocks the DRF view answers",
    )
    parser.add_argument("--block", type=int, default=250, help="calls per block (--against-drf)")
    args = parser.parse_args()
    if args.calls < 1 or args.warmup < 0:
        parser.error("--calls must be at least 1 and --warmup at least 0")
    return args


class Caller:
    """Builds each call's WSGI environ as gunicorn would, and reads the answer."""

    def __init__(self, application, project_id: int):
        self.application, self.project_id = application, project_id
        self.content_type = "application/json"

    def post(self, token: str, name: str, body: dict) -> dict:
        payload = json.dumps(body).encode()
        environ = {
            "REQUEST_METHOD": "POST",
            "PATH_INFO": f"/api/v1/projects/{self.project_id}/queue/{name}/",
            "QUERY_STRING": "",
            "SERVER_NAME": "127.0.0.1",
            "SERVER_PORT": "8000",
            "SERVER_PROTOCOL": "HTTP/1.1",
            "REMOTE_ADDR": "127.0.0.1",
            "HTTP_HOST": "127.0.0.1:8000",
            "HTTP_AUTHORIZATION": f"Token {token}",
            "CONTENT_TYPE": self.content_type,
            "CONTENT_LENGTH": str(len(payload)),
            "wsgi.input": io.BytesIO(payload),
            "wsgi.errors": sys.stderr,
            "wsgi.url_scheme": "http",
            "wsgi.version": (1, 0),
            "wsgi.multithread": False,
            "wsgi.multiprocess": True,
            "wsgi.run_once": False,
        }
        status: list[str] = []
        chunks = self.application(environ, lambda s, headers, exc_info=None: status.append(s))
        try:
            data = b"".join(chunks)
        finally:
            getattr(chunks, "close", lambda: None)()
        if not status[0].startswith("200"):
            raise SystemExit(f"{name}: {status[0]} {data[:300]!r}")
        return json.loads(data)


def wal_position() -> int:
    """Bytes of WAL PostgreSQL has written so far (what the calls write is the label's
    write work, and steadier to compare than CPU time on a shared machine)."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_current_wal_lsn() - '0/0'")
        return int(cursor.fetchone()[0])


def label_calls(caller: Caller, tokens: list[str], handed: dict[str, dict], calls: int) -> None:
    """``calls`` submits, the annotators in turn, each labeling what it was handed; the
    queue's upkeep in between at beat's interval, as a deployment runs it."""
    from labeling.services.queue import queue_upkeep
    from workers.celery import UPKEEP_SECONDS

    upkeep_at = time.monotonic() + UPKEEP_SECONDS
    for i in range(calls):
        if time.monotonic() >= upkeep_at:
            queue_upkeep()
            upkeep_at += UPKEEP_SECONDS
        token = tokens[i % len(tokens)]
        sample_id = handed[token]["items"][0]["sample_id"]
        item = {"sample_id": sample_id, "label": i % 4, "idempotency_key": uuid.uuid4().hex}
        reply = caller.post(token, "submit", {"items": [item], "next": 1})
        if not reply["results"][0]["ok"]:
            raise SystemExit(f"submit: {reply['results'][0]}")
        handed[token] = reply["next"]


def main() -> None:
    args = parse_args()
    database_url = recreate_database()
    var_dir = tempfile.mkdtemp(prefix="quarry-cpu-")
    env = server_env(database_url, var_dir)
    subprocess.run(
        [sys.executable, "manage.py", "migrate", "--noinput", "-v0"], cwd=ROOT, env=env, check=True
    )
    os.environ.update(env)
    sys.path.insert(0, str(ROOT))
    try:
        project_id, tokens = build_project(args.samples, args.annotators)
        from django.db import connection

        from labeling.wsgi import application

        connection.close()  # the requests open their own, as a web worker's first does
        caller = Caller(application, project_id)
        handed = {t: caller.post(t, "next", {"count": 1}) for t in tokens}
        label_calls(caller, tokens, handed, args.warmup)
        backend = connection.connection.info.backend_pid
        if args.against_drf:
            against_drf(caller, tokens, handed, args.calls, args.block, backend)
            return
        wal = wal_position()
        cpu, pg, wall = time.process_time(), cpu_seconds(stat_fields(backend)), time.perf_counter()
        if args.profile:
            import cProfile
            import pstats

            profiler = cProfile.Profile()
            profiler.runcall(label_calls, caller, tokens, handed, args.calls)
        else:
            label_calls(caller, tokens, handed, args.calls)
        cpu, pg = time.process_time() - cpu, cpu_seconds(stat_fields(backend)) - pg
        wall = time.perf_counter() - wall
        wal = wal_position() - wal
        print(
            f"== {args.calls:,} label calls (submit + next) after {args.warmup:,} warm-up, "
            f"{args.samples:,} samples, {len(tokens)} annotators"
        )
        print(
            f"per call: {1000 * cpu / args.calls:.3f} ms CPU in the application, "
            f"{1000 * pg / args.calls:.3f} ms in PostgreSQL, {1000 * wall / args.calls:.3f} ms wall"
            + ("  (under cProfile)" if args.profile else "")
        )
        print(f"WAL written: {wal / args.calls:,.0f} bytes per call")
        print("(PostgreSQL's CPU and WAL include the queue's upkeep, run at beat's interval)")
        if args.profile:
            stats = pstats.Stats(profiler)
            stats.sort_stats("cumulative").print_stats(args.profile)
            stats.sort_stats("tottime").print_stats(args.profile)
        connection.close()
    finally:
        from django.db import connections

        connections.close_all()
        drop_database()
        print(f"== database {DB_NAME} dropped")


def against_drf(caller, tokens, handed, calls: int, block: int, backend: int) -> None:
    """Blocks of direct calls and of DRF's, alternating; CPU per call for each."""
    spent = {"application/json": [], "application/json; charset=utf-8": []}
    for n in range(max(2, calls // block)):
        caller.content_type = list(spent)[n % 2]
        cpu, pg = time.process_time(), cpu_seconds(stat_fields(backend))
        label_calls(caller, tokens, handed, block)
        pg = cpu_seconds(stat_fields(backend)) - pg
        spent[caller.content_type].append((time.process_time() - cpu, pg))
    print(f"== label calls (submit + next) in alternating blocks of {block:,}")
    for (content_type, blocks), side in zip(spent.items(), ("direct", "DRF's view"), strict=True):
        per_call = sorted(1000 * cpu / block for cpu, _ in blocks)
        pg = 1000 * sum(p for _, p in blocks) / (block * len(blocks))
        print(
            f"{side:>10} ({content_type}): {len(blocks)} blocks, application CPU per call "
            f"median {per_call[len(per_call) // 2]:.3f} ms (min {per_call[0]:.3f}, "
            f"max {per_call[-1]:.3f}); PostgreSQL {pg:.3f} ms"
        )


if __name__ == "__main__":
    main()
