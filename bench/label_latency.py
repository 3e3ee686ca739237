"""Server-side latency of the label view's two calls: get-next and submit.

Builds a 100,000-sample project (rows only, no image files: 20,000 already labeled,
80,000 queued, a model's prediction for every sample), then times the labeling queue's
JSON endpoints through Django's test client, one annotator labeling sample after sample
the way the label view does (next with a prefetch of 5, then submit with an idempotency
key). Runs on SQLite (a fresh file) and on PostgreSQL (a fresh database on DATABASE_URL's
server, default postgres://postgres@127.0.0.1:5432) and prints p50/p99 per call.
Target: p99 under 30 ms for each.

    python bench/label_latency.py                 # both databases
    python bench/label_latency.py --backend sqlite --samples 100000 --calls 500
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from latencies import percentile

ROOT = Path(__file__).resolve().parents[1]
PG_URL = os.environ.get("BENCH_POSTGRES_URL", "postgres://postgres@127.0.0.1:5432")
PG_DB = "quarry_bench_label_latency"


def build(n_samples: int, n_labeled: int, budget: int | None = None, retrain_every: int = 0):
    from django.contrib.auth import get_user_model
    from django.db import transaction

    from labeling.models import (
        Annotation,
        LoopConfig,
        Membership,
        ModelVersion,
        Prediction,
        Project,
        QueueItem,
        Sample,
    )

    user_model = get_user_model()
    owner = user_model.objects.create_user("bench-owner")
    annotator = user_model.objects.create_user("bench-annotator")
    project = Project.objects.create(
        name="latency", classes=[f"c{i}" for i in range(10)], label_budget=budget
    )
    LoopConfig.objects.create(project=project, retrain_every=retrain_every)
    Membership.objects.create(user=owner, project=project, role=Membership.Role.OWNER)
    Membership.objects.create(user=annotator, project=project, role=Membership.Role.ANNOTATOR)
    model = ModelVersion.objects.create(project=project, kind="linear", n_labels=n_labeled)
    chunk = 10_000
    for start in range(0, n_samples, chunk):
        with transaction.atomic():
            samples = Sample.objects.bulk_create(
                Sample(
                    project=project,
                    file=f"samples/bench/{i:064x}.png",
                    sha256=f"{i:064x}",
                    width=32,
                    height=32,
                )
                for i in range(start, min(n_samples, start + chunk))
            )
            QueueItem.objects.bulk_create(
                QueueItem(
                    project=project,
                    sample=s,
                    position=start + k,
                    score=1.0 - (start + k) / n_samples,
                    state=QueueItem.State.DONE if start + k < n_labeled else QueueItem.State.OPEN,
                    n_annotations=1 if start + k < n_labeled else 0,
                )
                for k, s in enumerate(samples)
            )
            Annotation.objects.bulk_create(
                Annotation(sample=s, annotator=owner, label=(start + k) % 10)
                for k, s in enumerate(samples)
                if start + k < n_labeled
            )
            Prediction.objects.bulk_create(
                Prediction(
                    model_version=model,
                    sample=s,
                    predicted_label=(start + k) % 10,
                    confidence=0.5,
                    score=1.0 - (start + k) / n_samples,
                )
                for k, s in enumerate(samples)
            )
    return project, annotator


def measure(args) -> None:
    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection
    from django.test import Client
    from django.test.utils import setup_test_environment
    from django.urls import reverse

    setup_test_environment()
    call_command("migrate", verbosity=0)
    started = time.perf_counter()
    project, annotator = build(args.samples, args.labeled, args.budget, args.retrain_every)
    built = time.perf_counter() - started
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE")
    client = Client()
    client.force_login(annotator)
    next_url = reverse("api:queue-next", args=[project.pk])
    submit_url = reverse("api:queue-submit", args=[project.pk])
    timings: dict[str, list[float]] = {"next": [], "submit": []}
    cpu: dict[str, list[float]] = {"next": [], "submit": []}
    profiler = None
    for i in range(args.warmup + args.calls):
        if args.profile and i == args.warmup:
            import cProfile

            profiler = cProfile.Profile(time.process_time)
            profiler.enable()
        c0, t0 = time.process_time(), time.perf_counter()
        response = client.post(next_url, {"count": 5}, content_type="application/json")
        t1, c1 = time.perf_counter(), time.process_time()
        items = response.json()["items"]
        if response.status_code != 200 or not items:
            raise SystemExit(f"next failed: {response.status_code} {response.content[:200]!r}")
        body = {
            "items": [
                {"sample_id": items[0]["sample_id"], "label": i % 10, "idempotency_key": f"b{i}"}
            ]
        }
        c2, t2 = time.process_time(), time.perf_counter()
        response = client.post(submit_url, body, content_type="application/json")
        t3, c3 = time.perf_counter(), time.process_time()
        if response.status_code != 200 or not response.json()["results"][0]["ok"]:
            raise SystemExit(f"submit failed: {response.content[:300]!r}")
        if i >= args.warmup:
            timings["next"].append((t1 - t0) * 1000)
            timings["submit"].append((t3 - t2) * 1000)
            cpu["next"].append((c1 - c0) * 1000)
            cpu["submit"].append((c3 - c2) * 1000)
    if profiler is not None:
        import pstats

        profiler.disable()
        print(f"== where the web process spends its CPU ({args.calls} next + submit pairs)")
        pstats.Stats(profiler).sort_stats(args.profile).print_stats(30)
    print(
        f"{connection.vendor}: {args.samples:,} samples ({args.labeled:,} labeled), "
        f"label budget {args.budget or 'none'}, retrain every {args.retrain_every or 'off'}, "
        f"built in {built:.0f} s; "
        f"{args.calls} calls each after {args.warmup} warm-up"
    )
    for name, values in timings.items():
        print(
            f"  {name:<7} wall p50 {statistics.median(values):6.2f} ms   "
            f"p99 {percentile(values, 99):6.2f} ms   max {max(values):6.2f} ms   "
            f"(web process CPU p50 {statistics.median(cpu[name]):5.2f} ms, "
            f"p99 {percentile(cpu[name], 99):5.2f} ms)"
        )
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    print(f"  load average during the run: {load:.1f} on {os.cpu_count()} CPUs")


def run_child(backend: str, args) -> int:
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "labeling.settings", "PYTHONPATH": str(ROOT)}
    env.pop("DATABASE_URL", None)
    cmd = [
        sys.executable,
        __file__,
        "--child",
        "--backend",
        backend,
        "--samples",
        str(args.samples),
        "--labeled",
        str(args.labeled),
        "--calls",
        str(args.calls),
        "--warmup",
        str(args.warmup),
    ]
    if args.profile:
        cmd += ["--profile", args.profile]
    if args.budget:
        cmd += ["--budget", str(args.budget)]
    if args.retrain_every:
        cmd += ["--retrain-every", str(args.retrain_every)]
    with tempfile.TemporaryDirectory(prefix="quarry-bench-") as var:
        env["QUARRY_VAR_DIR"] = var
        env["CELERY_BROKER_URL"] = "memory://"
        if backend == "postgres":
            import psycopg

            try:
                admin = psycopg.connect(f"{PG_URL}/postgres", autocommit=True)
            except psycopg.OperationalError as exc:
                print(f"postgresql: not reachable at {PG_URL} ({exc}); skipped")
                return 0
            admin.execute(f"DROP DATABASE IF EXISTS {PG_DB}")
            admin.execute(f"CREATE DATABASE {PG_DB}")
            env["DATABASE_URL"] = f"{PG_URL}/{PG_DB}"
            try:
                return subprocess.call(cmd, env=env, cwd=ROOT)
            finally:
                admin.execute(f"DROP DATABASE IF EXISTS {PG_DB} WITH (FORCE)")
                admin.close()
        return subprocess.call(cmd, env=env, cwd=ROOT)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--backend", choices=["sqlite", "postgres", "both"], default="both")
    parser.add_argument("--samples", type=int, default=100_000)
    parser.add_argument("--labeled", type=int, default=20_000)
    parser.add_argument("--calls", type=int, default=500)
    parser.add_argument("--warmup", type=int, default=20)
    parser.add_argument(
        "--budget",
        type=int,
        default=None,
        help="give the project a label budget (checked per call)",
    )
    parser.add_argument(
        "--profile",
        choices=["tottime", "cumulative"],
        help="also print a cProfile of the timed calls (CPU time), sorted this way",
    )
    parser.add_argument(
        "--retrain-every",
        type=int,
        default=0,
        help="turn the retrain trigger on (checked after each label; the round it queues "
        "stays queued, as behind a busy worker)",
    )
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        measure(args)
        return
    backends = ["sqlite", "postgres"] if args.backend == "both" else [args.backend]
    for backend in backends:
        code = run_child(backend, args)
        if code:
            raise SystemExit(code)


if __name__ == "__main__":
    main()
