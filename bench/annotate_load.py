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
        [--rate 500 | --think-ms MS] [--separate] [--warmup 5] [--no-upkeep] [--workers N]
        [--threads N] [--keep]

By default the annotators label as the label view does (each submit brings the next
sample back: one request per label) and are paced at the target rate: together they
submit 500 labels a second, each one every annotators / rate seconds on its own schedule
(open loop). A submit's latency is counted from when it was due, so an answer that came
late also counts against the submits it held back, and a server that cannot keep up shows
as fewer labels per second and a latency that grows through the run.

``--rate 0`` takes the pause away: the annotators then load the server as hard as it
goes (its capacity), and each waits behind the others' calls, so the latency is the
queue: 50 / throughput on average. The first ``--warmup`` seconds (the annotators opening
the view at once, the workers' first connections) are reported apart. Below the
latencies: in how many seconds of the measured window the calls' p99 passed 50 ms (a
tail from a few bad seconds reads differently from one spread over the run; how busy the
CPUs were in the worst of them, and how much of their time the hypervisor took), and what
each upkeep run took.

Needs PostgreSQL on 127.0.0.1:5432 (user postgres, trust auth). Prints, asserts nothing.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import secrets
import signal
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections import defaultdict
from pathlib import Path

from latencies import latency_line, percentile, slow_seconds
from load_client import Connection
from load_server import (
    DB_NAME,
    ROOT,
    MachineCpu,
    Upkeep,
    build_project,
    cpu_by_group,
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
        "--warmup",
        type=float,
        default=5.0,
        help="seconds at the start whose calls are reported apart (default 5); --seconds "
        "includes them",
    )
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
        "--separate",
        action="store_true",
        help="get-next and submit as two calls per label (by default each submit asks for "
        "the next sample, `next: 1`, as the label view does: one request per label)",
    )
    parser.add_argument("--combined", action="store_true", help="the default (older commands)")
    parser.add_argument(
        "--think-ms",
        type=float,
        default=0.0,
        help="instead of --rate: each annotator looks at every sample this long before "
        "submitting it",
    )
    parser.add_argument(
        "--rate",
        type=float,
        default=None,
        help="labels per second the annotators submit together, each on its own schedule "
        "(default 500, the target; 0: no pause, as fast as the server answers)",
    )
    parser.add_argument(
        "--no-upkeep",
        action="store_true",
        help="leave out the queue's upkeep that beat runs in a deployment "
        "(workers.queue_upkeep every QUARRY_QUEUE_UPKEEP_SECONDS: reservations purged, "
        "queue tables vacuumed); the bench otherwise runs it in a thread",
    )
    parser.add_argument("--keep", action="store_true", help="keep the quarry_load database")
    args = parser.parse_args()
    if args.rate and args.think_ms:
        parser.error("--rate and --think-ms are two ways to pause: give one")
    if args.separate and args.combined:
        parser.error("--separate and --combined exclude each other")
    if args.rate is None:
        args.rate = 0.0 if args.think_ms else 500.0
    args.combined = not args.separate
    if not 0 <= args.warmup < args.seconds:
        parser.error("--warmup must be at least 0 and shorter than --seconds")
    if args.rate < 0 or args.think_ms < 0:
        parser.error("--rate and --think-ms cannot be negative")
    return args


class Annotator(threading.Thread):
    def __init__(
        self, port, project_id, token, stop_at, combined: bool, think: float, period: float
    ):
        super().__init__(daemon=True)
        self.port, self.project_id, self.token = port, project_id, token
        self.stop_at, self.combined = stop_at, combined
        self.think, self.period = think, period
        # per call: (when it began or was due, seconds until its answer was read)
        self.latency: dict[str, list[tuple[float, float]]] = defaultdict(list)
        self.labeled_at: list[float] = []
        self.issued: list[int] = []
        self.keys: list[str] = []
        self.errors: list[str] = []

    def call(self, conn, name: str, body: dict, due: float | None = None):
        """POSTs one queue call; its latency counts from ``due`` when that has passed."""
        payload = json.dumps(body).encode()
        started = time.perf_counter()
        status, data = conn.post(f"/api/v1/projects/{self.project_id}/queue/{name}/", payload)
        origin = started if due is None else min(due, started)
        self.latency[name].append((origin, time.perf_counter() - origin))
        if status != 200:
            self.errors.append(f"{name}: HTTP {status} {data[:200]!r}")
            return None
        return json.loads(data)

    def run(self) -> None:
        conn = Connection(self.port, self.token)
        rng = secrets.SystemRandom()
        handed = None  # with --combined: what the last submit handed out
        due = None  # with --rate: when the next submit is due
        while time.monotonic() < self.stop_at:
            try:
                reply, handed = handed or self.call(conn, "next", {"count": 1}), None
                if not reply or not reply["items"]:
                    if reply:
                        self.errors.append(f"next: nothing issued ({reply.get('blocked')})")
                    continue
                sample_id = reply["items"][0]["sample_id"]
                self.issued.append(sample_id)
                if self.period and due is None:
                    # the schedule starts once the view has opened (the first get-next),
                    # the annotators' first submits spread over one period
                    due = time.perf_counter() + rng.random() * self.period
                if due is not None:
                    time.sleep(max(0.0, due - time.perf_counter()))
                elif self.think:
                    time.sleep(self.think)  # looking at the image
                key = uuid.uuid4().hex
                body: dict = {
                    "items": [
                        {"sample_id": sample_id, "label": rng.randrange(4), "idempotency_key": key}
                    ]
                }
                if self.combined:
                    body["next"] = 1
                submitted = self.call(conn, "submit", body, due)
                if due is not None:
                    due += self.period
                if submitted is None:
                    continue
                handed = submitted.get("next")
                result = submitted["results"][0]
                if result["ok"] and result.get("created"):
                    self.keys.append(key)
                    self.labeled_at.append(self.latency["submit"][-1][0])
                else:
                    self.errors.append(f"submit: {result}")
            except (OSError, ValueError) as exc:
                self.errors.append(f"connection: {exc!r}")
                conn.close()
        conn.close()


def report(args, annotators, began, measured_from, ended, cpu_after, cpu_before, machine) -> None:
    """Throughput, CPU and latency of the calls that began after the warm-up; the
    warm-up's calls (the annotators opening the view at once, the workers' first
    connections) on their own lines."""
    window = ended - measured_from
    labels = sum(1 for a in annotators for t in a.labeled_at if t >= measured_from)
    requests = sum(
        1 for a in annotators for v in a.latency.values() for t, _ in v if t >= measured_from
    )
    load = ", ".join(f"{v:.1f}" for v in os.getloadavg())
    print(
        f"\n== {ended - began:.1f} s, {args.annotators} concurrent annotators; "
        f"measured: the {window:.1f} s after a {measured_from - began:.1f} s warm-up"
    )
    print(f"machine: {os.cpu_count()} CPUs, load average {load} at the end")
    print(f"labels/s: {labels / window:,.1f}  ({labels:,} labels)")
    if cpu_after and requests:
        print(
            "CPU: "
            + ", ".join(
                f"{name} {(cpu_after[name] - cpu_before[name]) / window:.2f} cores "
                f"({1000 * (cpu_after[name] - cpu_before[name]) / requests:.2f} ms per request)"
                for name in cpu_after
            )
        )
    for warmup in (False, True):
        for name in ("next", "submit"):
            values = [
                v * 1000
                for a in annotators
                for t, v in a.latency[name]
                if (t < measured_from) == warmup
            ]
            if values or (name == "submit" and not warmup):
                print(latency_line(name, values) + ("  (warm-up)" if warmup else ""))
    calls = [c for a in annotators for name in ("next", "submit") for c in a.latency[name]]
    print(slow_seconds(calls, measured_from, busy=machine.busy))


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
        + (f", {args.think_ms:g} ms think time" if args.think_ms and not args.rate else "")
        + (f", paced at {args.rate:g} labels/s in all" if args.rate else ""),
        flush=True,
    )
    try:
        stop_at = time.monotonic() + args.seconds
        annotators = [
            Annotator(
                port,
                project_id,
                t,
                stop_at,
                args.combined,
                args.think_ms / 1000,
                args.annotators / args.rate if args.rate else 0.0,
            )
            for t in tokens
        ]
        upkeep, machine = Upkeep(stop_at), MachineCpu(stop_at)
        # What the set-up left (Django, the project's rows: 170,000 objects) out of the
        # collector's reach: a full collection took 88 ms, and every annotator thread
        # waits for it, so the calls in flight would read that pause as server latency.
        gc.freeze()
        began = time.perf_counter()
        machine.start()
        if not args.no_upkeep:
            upkeep.start()
        for annotator in annotators:
            annotator.start()
        time.sleep(args.warmup)
        measured_from = time.perf_counter()
        cpu_before = cpu_by_group(server.pid)
        for annotator in annotators:
            annotator.join(args.seconds + 60)
        ended = time.perf_counter()
        if upkeep.is_alive():
            upkeep.join(60)
        cpu_after = cpu_by_group(server.pid)
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(timeout=30)
    report(args, annotators, began, measured_from, ended, cpu_after, cpu_before, machine)
    print(f"queue upkeep runs (reservations purged, tables vacuumed): {upkeep.runs}")
    if upkeep.wall_ms:
        print(
            f"  each run: wall p50={percentile(upkeep.wall_ms, 50):.1f} ms  "
            f"max={max(upkeep.wall_ms):.1f} ms; its PostgreSQL backend's CPU "
            f"{upkeep.backend_cpu_s / upkeep.runs * 1000:.1f} ms per run"
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
