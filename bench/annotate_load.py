"""Load: 50 annotators doing next -> submit against gunicorn on a 100,000-sample project.

Builds the PostgreSQL database ``quarry_load`` from scratch (samples bulk-created without
files, the whole pool queued), starts gunicorn on 127.0.0.1 with production settings,
runs the simulated annotators for a fixed time (token auth, one connection each, kept
alive where the workers allow) beside the queue's upkeep that beat runs in a deployment,
and prints throughput, p50/p95/p99 per call and the invariants:

- every submitted label is stored exactly once (idempotency keys and row counts agree);
- no sample was issued to two annotators (overlap 1);
- no request failed.

    .venv/bin/python bench/annotate_load.py [--annotators 50] [--seconds 60] [--samples 100000]
        [--combined] [--think-ms 0] [--no-upkeep] [--workers N] [--threads N] [--keep]

Needs PostgreSQL on 127.0.0.1:5432 (user postgres, trust auth). Prints, asserts nothing.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import secrets
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections import defaultdict
from pathlib import Path

from load_server import (
    DB_NAME,
    ROOT,
    build_project,
    drop_database,
    free_port,
    production_workers,
    recreate_database,
    server_env,
    start_gunicorn,
)


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--annotators", type=int, default=50)
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--samples", type=int, default=100_000)
    parser.add_argument(
        "--workers",
        type=int,
        default=production_workers(),
        help="gunicorn worker processes (default: gunicorn.conf.py's, 2 x CPUs + 1)",
    )
    parser.add_argument(
        "--threads",
        type=int,
        default=1,
        help="threads per worker: 1 runs gunicorn's sync workers (one request at a time per "
        "process, no keep-alive), more runs gthread workers",
    )
    parser.add_argument(
        "--combined",
        action="store_true",
        help="each submit also asks for the next sample (`next: 1`), as the label view "
        "does: one request per label after the first get-next",
    )
    parser.add_argument(
        "--think-ms",
        type=float,
        default=0.0,
        help="each annotator looks at a sample this long before submitting (default 0: "
        "the server is never idle, so latency is queueing)",
    )
    parser.add_argument(
        "--no-upkeep",
        action="store_true",
        help="leave out the queue's upkeep that beat runs in a deployment "
        "(workers.queue_upkeep every QUARRY_QUEUE_UPKEEP_SECONDS: reservations purged, "
        "queue tables vacuumed); the bench otherwise runs it in a thread",
    )
    parser.add_argument("--keep", action="store_true", help="keep the quarry_load database")
    return parser.parse_args()


class Annotator(threading.Thread):
    def __init__(self, port, project_id, token, stop_at, combined: bool, think: float):
        super().__init__(daemon=True)
        self.port, self.project_id, self.token = port, project_id, token
        self.stop_at, self.combined, self.think = stop_at, combined, think
        self.latency: dict[str, list[float]] = defaultdict(list)
        self.issued: list[int] = []
        self.keys: list[str] = []
        self.errors: list[str] = []

    def call(self, conn, name: str, body: dict):
        payload = json.dumps(body)
        headers = {"Authorization": f"Token {self.token}", "Content-Type": "application/json"}
        started = time.perf_counter()
        conn.request("POST", f"/api/v1/projects/{self.project_id}/queue/{name}/", payload, headers)
        response = conn.getresponse()
        data = response.read()
        self.latency[name].append(time.perf_counter() - started)
        if response.status != 200:
            self.errors.append(f"{name}: HTTP {response.status} {data[:200]!r}")
            return None
        return json.loads(data)

    def run(self) -> None:
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
        rng = secrets.SystemRandom()
        handed = None  # with --combined: what the last submit handed out
        while time.monotonic() < self.stop_at:
            try:
                reply, handed = handed or self.call(conn, "next", {"count": 1}), None
                if not reply or not reply["items"]:
                    if reply:
                        self.errors.append(f"next: nothing issued ({reply.get('blocked')})")
                    continue
                sample_id = reply["items"][0]["sample_id"]
                self.issued.append(sample_id)
                if self.think:
                    time.sleep(self.think)  # looking at the image
                key = uuid.uuid4().hex
                body: dict = {
                    "items": [
                        {"sample_id": sample_id, "label": rng.randrange(4), "idempotency_key": key}
                    ]
                }
                if self.combined:
                    body["next"] = 1
                submitted = self.call(conn, "submit", body)
                if submitted is None:
                    continue
                handed = submitted.get("next")
                result = submitted["results"][0]
                if result["ok"] and result.get("created"):
                    self.keys.append(key)
                else:
                    self.errors.append(f"submit: {result}")
            except (OSError, http.client.HTTPException) as exc:
                self.errors.append(f"connection: {exc!r}")
                conn.close()
                conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
        conn.close()


class Upkeep(threading.Thread):
    """The queue's upkeep at beat's interval, as a deployment's beat and worker run it."""

    def __init__(self, stop_at: float):
        super().__init__(daemon=True)
        self.stop_at = stop_at
        self.runs = 0

    def run(self) -> None:
        from django.db import connection

        from labeling.services.queue import queue_upkeep
        from workers.celery import UPKEEP_SECONDS

        try:
            while time.monotonic() + UPKEEP_SECONDS < self.stop_at:
                time.sleep(UPKEEP_SECONDS)
                queue_upkeep()
                self.runs += 1
        finally:
            connection.close()


def cpu_by_group(server_pgid: int) -> dict[str, float]:
    """CPU seconds (user + system) so far of the gunicorn processes, the PostgreSQL
    processes and this client (all its threads); empty where /proc is missing."""
    totals = {"gunicorn": 0.0, "postgres": 0.0, "client": 0.0}
    proc = Path("/proc")
    if not proc.is_dir():
        return {}
    tick = os.sysconf("SC_CLK_TCK")
    for entry in proc.iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            comm = (entry / "comm").read_text().strip()
        except OSError:
            continue  # the process ended meanwhile
        seconds = (int(fields[11]) + int(fields[12])) / tick
        if int(entry.name) == os.getpid():
            totals["client"] += seconds
        elif int(fields[2]) == server_pgid:  # field 5 of stat: the process group
            totals["gunicorn"] += seconds
        elif comm.startswith("postgres"):
            # with the children it reaped: backends that ended meanwhile (a web worker's
            # connection is replaced after CONN_MAX_AGE) take their CPU time with them
            totals["postgres"] += seconds + (int(fields[13]) + int(fields[14])) / tick
    return totals


def percentile(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q / 100 * (len(ordered) - 1))))]


def check_invariants(project_id: int, annotators: list[Annotator]) -> dict[str, object]:
    from django.db.models import Count

    from labeling.models import Annotation

    keys = [k for a in annotators for k in a.keys]
    stored = Annotation.objects.filter(sample__project_id=project_id)
    stored_keys = list(
        stored.exclude(idempotency_key=None).values_list("idempotency_key", flat=True)
    )
    owners: dict[int, set[int]] = defaultdict(set)
    for index, annotator in enumerate(annotators):
        for sample_id in annotator.issued:
            owners[sample_id].add(index)
    doubled = stored.values("sample_id").annotate(n=Count("pk")).filter(n__gt=1).count()
    return {
        "labels submitted (client)": len(keys),
        "labels stored (database)": stored.count(),
        "every label stored exactly once": sorted(keys) == sorted(stored_keys)
        and stored.count() == len(keys),
        "samples with more than one label": doubled,
        "samples issued to two annotators": sum(1 for s in owners.values() if len(s) > 1),
        "errors": sum(len(a.errors) for a in annotators),
    }


def main() -> None:
    args = parse_args()
    sys.path.insert(0, str(ROOT))
    database_url = recreate_database()
    var_dir = tempfile.mkdtemp(prefix="quarry-load-")
    (Path(var_dir) / "static").mkdir()
    env = server_env(database_url, var_dir)
    os.environ.update({k: env[k] for k in ("DATABASE_URL", "QUARRY_VAR_DIR")})
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "labeling.settings")
    print(f"== database {DB_NAME}: migrating", flush=True)
    subprocess.run(
        [sys.executable, "manage.py", "migrate", "--noinput", "-v0"], cwd=ROOT, env=env, check=True
    )
    started = time.perf_counter()
    project_id, tokens = build_project(args.samples, args.annotators)
    print(
        f"== {args.samples:,} samples queued, {args.annotators} annotators "
        f"({time.perf_counter() - started:.1f} s)",
        flush=True,
    )
    port = free_port()
    server = start_gunicorn(env, port, args.workers, args.threads)
    print(
        f"== gunicorn on 127.0.0.1:{port}: {args.workers} workers x {args.threads} threads "
        f"({'sync' if args.threads == 1 else 'gthread'}), QUARRY_ENV=production, DEBUG off, "
        + ("submit carries the next get-next" if args.combined else "next and submit apart")
        + (f", {args.think_ms:g} ms think time" if args.think_ms else ""),
        flush=True,
    )
    try:
        stop_at = time.monotonic() + args.seconds
        annotators = [
            Annotator(port, project_id, t, stop_at, args.combined, args.think_ms / 1000)
            for t in tokens
        ]
        upkeep = Upkeep(stop_at)
        began = time.perf_counter()
        cpu_before = cpu_by_group(server.pid)
        if not args.no_upkeep:
            upkeep.start()
        for annotator in annotators:
            annotator.start()
        for annotator in annotators:
            annotator.join(args.seconds + 60)
        elapsed = time.perf_counter() - began
        if upkeep.is_alive():
            upkeep.join(60)
        cpu_after = cpu_by_group(server.pid)
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(timeout=30)
    labels = sum(len(a.keys) for a in annotators)
    load = ", ".join(f"{v:.1f}" for v in os.getloadavg())
    print(f"\n== {elapsed:.1f} s, {args.annotators} concurrent annotators")
    print(f"machine: {os.cpu_count()} CPUs, load average {load} at the end")
    print(f"labels/s: {labels / elapsed:,.1f}  ({labels:,} labels)")
    print(f"queue upkeep runs (reservations purged, tables vacuumed): {upkeep.runs}")
    requests = sum(len(v) for a in annotators for v in a.latency.values())
    if cpu_after and requests:
        print(
            "CPU during the run: "
            + ", ".join(
                f"{name} {(cpu_after[name] - cpu_before[name]) / elapsed:.2f} cores "
                f"({1000 * (cpu_after[name] - cpu_before[name]) / requests:.2f} ms per request)"
                for name in cpu_after
            )
        )
    for name in ("next", "submit"):
        values = [v * 1000 for a in annotators for v in a.latency[name]]
        print(
            f"{name:>6}: n={len(values):,}  p50={percentile(values, 50):.1f} ms  "
            f"p95={percentile(values, 95):.1f} ms  p99={percentile(values, 99):.1f} ms  "
            f"mean={statistics.fmean(values) if values else float('nan'):.1f} ms"
        )
    print("\n== invariants")
    for name, value in check_invariants(project_id, annotators).items():
        print(f"{name}: {value}")
    errors = [e for a in annotators for e in a.errors][:5]
    for error in errors:
        print(f"  error: {error}")
    if not args.keep:
        from django.db import connections

        connections.close_all()
        drop_database()


if __name__ == "__main__":
    main()
