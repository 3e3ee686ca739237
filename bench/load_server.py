"""What ``bench/annotate_load.py`` runs against: the PostgreSQL database ``quarry_load``
with a bulk-loaded project, gunicorn started as production runs it, the queue's upkeep
as beat runs it, and the CPU the server's processes spend."""

from __future__ import annotations

import http.client
import os
import runpy
import secrets
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PG = os.environ.get("QUARRY_LOAD_PG", "postgres://postgres@127.0.0.1:5432")
DB_NAME = "quarry_load"


def production_workers() -> int:
    return runpy.run_path(str(ROOT / "gunicorn.conf.py"))["workers"]


def recreate_database(name: str = DB_NAME) -> str:
    """An empty database (``quarry_load`` unless named); returns its URL."""
    drop_database(name)
    import psycopg

    with psycopg.connect(f"{PG}/postgres", autocommit=True) as conn:
        conn.execute(f"CREATE DATABASE {name}")
    return f"{PG}/{name}"


def drop_database(name: str = DB_NAME) -> None:
    import psycopg

    with psycopg.connect(f"{PG}/postgres", autocommit=True) as conn:
        conn.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


def server_env(database_url: str, var_dir: str) -> dict[str, str]:
    return {
        **os.environ,
        "DATABASE_URL": database_url,
        "QUARRY_VAR_DIR": var_dir,
        "QUARRY_ENV": "production",
        "SECRET_KEY": secrets.token_urlsafe(60),
        "ALLOWED_HOSTS": "127.0.0.1",
        "SECURE_SSL_REDIRECT": "false",
        "DJANGO_SETTINGS_MODULE": "labeling.settings",
    }


def build_project(n_samples: int, n_annotators: int):
    """The project, its annotators and their tokens; returns (project id, tokens)."""
    import django

    django.setup()
    from django.contrib.auth import get_user_model
    from rest_framework.authtoken.models import Token

    from labeling.models import LoopConfig, Membership, QueueItem, Sample
    from labeling.services.projects import project_create

    User = get_user_model()
    project = project_create(name="Load test", classes=["a", "b", "c", "d"])
    # The loop stays out of the way: no retrain rounds are queued by the labels.
    LoopConfig.objects.filter(project=project).update(retrain_every=0, overlap=1)
    users = User.objects.bulk_create(
        User(username=f"annotator{i:03d}", password="!") for i in range(n_annotators)
    )
    Membership.objects.bulk_create(
        Membership(user=u, project=project, role=Membership.Role.ANNOTATOR) for u in users
    )
    tokens = Token.objects.bulk_create(Token(key=secrets.token_hex(20), user=u) for u in users)
    batch = 10_000
    for start in range(0, n_samples, batch):
        samples = Sample.objects.bulk_create(
            Sample(
                project=project,
                file=f"samples/load/{i:06d}.png",
                sha256=f"{i:064x}",
                original_name=f"{i:06d}.png",
                width=32,
                height=32,
            )
            for i in range(start, min(n_samples, start + batch))
        )
        QueueItem.objects.bulk_create(
            QueueItem(project=project, sample=s, position=start + j, score=1.0 - (start + j) / 1e6)
            for j, s in enumerate(samples)
        )
    from django.db import connection

    # The database as it is after a while in service, not right after a bulk load:
    # planner statistics (without them PostgreSQL guesses the queue holds a handful of
    # rows), the new rows' hint bits and visibility map set, and the dirty pages written
    # out. Left to the run, autovacuum and a checkpoint took the cores for seconds.
    with connection.cursor() as cursor:
        cursor.execute("VACUUM (ANALYZE)")
        cursor.execute("CHECKPOINT")
    return project.pk, [t.key for t in tokens]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_gunicorn(env: dict[str, str], port: int, workers: int, threads: int):
    command = [
        str(Path(sys.executable).parent / "gunicorn"),
        "labeling.wsgi:application",
        "--bind",
        f"127.0.0.1:{port}",
        "--workers",
        str(workers),
        "--threads",
        str(threads),
        "--worker-class",
        "sync" if threads == 1 else "gthread",
        "--keep-alive",
        "30",
        "--log-level",
        "warning",
    ]
    process = subprocess.Popen(command, cwd=ROOT, env=env, start_new_session=True)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
            conn.request("GET", "/healthz")
            if conn.getresponse().status == 200:
                return process
        except OSError:
            time.sleep(0.3)
        if process.poll() is not None:
            raise SystemExit("gunicorn stopped during start-up")
    raise SystemExit("gunicorn did not answer /healthz within 60 s")


def cpu_by_group(server_pgid: int) -> dict[str, float]:
    """CPU seconds (user + system) so far of the gunicorn processes, the PostgreSQL
    processes and this client (all its threads); empty where /proc is missing."""
    totals = {"gunicorn": 0.0, "postgres": 0.0, "client": 0.0}
    proc = Path("/proc")
    if not proc.is_dir():
        return {}
    for entry in proc.iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = stat_fields(int(entry.name))
            comm = (entry / "comm").read_text().strip()
        except OSError:
            continue  # the process ended meanwhile
        if int(entry.name) == os.getpid():
            totals["client"] += cpu_seconds(fields)
        elif int(fields[2]) == server_pgid:  # field 5 of stat: the process group
            totals["gunicorn"] += cpu_seconds(fields)
        elif comm.startswith("postgres"):
            # with the children it reaped: backends that ended meanwhile (a web worker's
            # connection is replaced after CONN_MAX_AGE) take their CPU time with them
            totals["postgres"] += cpu_seconds(fields, reaped=True)
    return totals


def stat_fields(pid: int) -> list[str]:
    """The fields of /proc/PID/stat after the command name (the first is field 3)."""
    return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()


def cpu_seconds(fields: list[str], *, reaped: bool = False) -> float:
    """User + system CPU seconds of a process from its ``stat_fields``; with ``reaped``,
    those of the children it waited for too."""
    ticks = int(fields[11]) + int(fields[12])
    if reaped:
        ticks += int(fields[13]) + int(fields[14])
    return ticks / os.sysconf("SC_CLK_TCK")


class MachineCpu(threading.Thread):
    """How busy the machine's CPUs were, read from /proc/stat four times a second until
    ``stop_at``: a slow second with the CPUs saturated is load; one with CPU to spare is
    a stall elsewhere (a lock, the disk); time stolen (the hypervisor ran another guest
    while this VM wanted its CPUs) is the VM."""

    def __init__(self, stop_at: float):
        super().__init__(daemon=True)
        self.stop_at = stop_at
        # (perf_counter, busy, stolen, total) in ticks
        self.samples: list[tuple[float, int, int, int]] = []

    def run(self) -> None:
        while time.monotonic() < self.stop_at:
            line = Path("/proc/stat").read_text().split("\n", 1)[0]
            fields = [int(f) for f in line.split()[1:9]]  # user .. steal; guest is in user
            idle, stolen = fields[3] + fields[4], fields[7]  # idle + iowait, steal
            total = sum(fields)
            self.samples.append((time.perf_counter(), total - idle - stolen, stolen, total))
            time.sleep(0.25)

    def busy(self, start: float, end: float) -> tuple[float, float] | None:
        """The CPUs' busy and stolen shares between two ``perf_counter`` times (None: not
        sampled)."""
        inside = [s for s in self.samples if start <= s[0] <= end]
        if len(inside) < 2 or inside[-1][3] == inside[0][3]:
            return None
        first, last = inside[0], inside[-1]
        total = last[3] - first[3]
        return (last[1] - first[1]) / total, (last[2] - first[2]) / total


class Upkeep(threading.Thread):
    """The queue's upkeep at beat's interval, as a deployment's beat and worker run it."""

    def __init__(self, stop_at: float):
        super().__init__(daemon=True)
        self.stop_at = stop_at
        self.wall_ms: list[float] = []  # each run's
        self.backend_cpu_s = 0.0  # of the connection's PostgreSQL backend, all runs

    @property
    def runs(self) -> int:
        return len(self.wall_ms)

    def run(self) -> None:
        from django.db import connection

        from labeling.services.queue import queue_upkeep
        from workers.celery import UPKEEP_SECONDS

        try:
            connection.ensure_connection()
            backend = connection.connection.info.backend_pid
            cpu_before = cpu_seconds(stat_fields(backend))
            while time.monotonic() + UPKEEP_SECONDS < self.stop_at:
                time.sleep(UPKEEP_SECONDS)
                began = time.perf_counter()
                queue_upkeep()
                self.wall_ms.append((time.perf_counter() - began) * 1000)
            self.backend_cpu_s = cpu_seconds(stat_fields(backend)) - cpu_before
        finally:
            connection.close()
