"""Memory of the streaming exports: peak RSS exporting a 100,000-sample project vs an empty one.

Builds a throw-away database (SQLite under a temporary QUARRY_VAR_DIR by default, or
PostgreSQL database ``quarry_export`` with ``--postgres``): one empty project and one with
100,000 samples, 60% of them labeled (a third by two annotators), and a prediction for
every sample. Each export then runs in a fresh process through the API view (Django test
client, streamed response consumed chunk by chunk) and reports its peak RSS, its size
and its time. Every labeled sample points at the same tiny PNG so the ImageFolder zip
can be streamed too.

    .venv/bin/python bench/export_memory.py [--samples 100000] [--postgres]

Prints, asserts nothing.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PG = os.environ.get("QUARRY_LOAD_PG", "postgres://postgres@127.0.0.1:5432")
KINDS = ("csv", "jsonl", "coco", "imagefolder")


def setup_django() -> None:
    sys.path.insert(0, str(ROOT))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "labeling.settings")
    import django

    django.setup()


def build(n_samples: int) -> None:
    setup_django()
    import hashlib
    import io

    from django.contrib.auth import get_user_model
    from django.core.files.storage import default_storage
    from PIL import Image

    from labeling.models import Annotation, ModelVersion, Prediction, Sample
    from labeling.services.projects import membership_set, project_create

    User = get_user_model()
    owner = User.objects.create_user("owner", password="x" * 12)
    annotators = [User.objects.create_user(f"ann{i}", password="x" * 12) for i in range(5)]
    project_create(name="Empty", classes=["a", "b", "c"], owner=owner)
    project = project_create(name="Big", classes=[f"class{i}" for i in range(10)], owner=owner)
    for user in annotators:
        membership_set(project=project, user=user, role="annotator")
    buffer = io.BytesIO()
    Image.new("RGB", (32, 32), (10, 20, 30)).save(buffer, format="PNG")
    shared = default_storage.save("samples/bench/shared.png", io.BytesIO(buffer.getvalue()))
    version = ModelVersion.objects.create(project=project, kind="linear", n_labels=0)
    batch = 10_000
    for start in range(0, n_samples, batch):
        samples = Sample.objects.bulk_create(
            Sample(
                project=project,
                file=shared,
                sha256=hashlib.sha256(str(i).encode()).hexdigest(),
                original_name=f"img_{i:06d}.png",
                width=32,
                height=32,
            )
            for i in range(start, min(n_samples, start + batch))
        )
        annotations = []
        for j, sample in enumerate(samples):
            i = start + j
            if i % 10 < 6:
                annotations.append(
                    Annotation(sample=sample, annotator=annotators[i % 5], label=i % 10)
                )
            if i % 10 < 2:
                second = annotators[(i + 1) % 5]
                annotations.append(
                    Annotation(sample=sample, annotator=second, label=(i + i % 2) % 10)
                )
        Annotation.objects.bulk_create(annotations)
        Prediction.objects.bulk_create(
            Prediction(
                model_version=version,
                sample=s,
                predicted_label=(start + j) % 10,
                confidence=0.5,
                score=0.5,
            )
            for j, s in enumerate(samples)
        )


def export_once(project_name: str, kind: str) -> None:
    """Run one export through the API view; print a JSON line with size, time, peak RSS."""
    setup_django()
    from django.contrib.auth import get_user_model
    from django.test import Client

    from labeling.models import Project

    baseline = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    project = Project.objects.get(name=project_name)
    client = Client()
    client.force_login(get_user_model().objects.get(username="owner"))
    client.get("/healthz")  # import the URL conf and views before measuring
    started = time.perf_counter()
    response = client.get(f"/api/v1/projects/{project.pk}/export/", {"kind": kind})
    assert response.status_code == 200, response.status_code
    size = chunks = 0
    for chunk in response.streaming_content:
        size += len(chunk)
        chunks += 1
    elapsed = time.perf_counter() - started
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print(
        json.dumps(
            {
                "bytes": size,
                "chunks": chunks,
                "seconds": elapsed,
                "rss_before_mib": baseline / 1024,
                "peak_rss_mib": peak / 1024,
            }
        )
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--samples", type=int, default=100_000)
    parser.add_argument("--postgres", action="store_true")
    parser.add_argument("--child", nargs=2, help=argparse.SUPPRESS)
    parser.add_argument("--build", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        export_once(*args.child)
        return
    if args.build:
        build(args.samples)
        return
    env = {**os.environ, "QUARRY_VAR_DIR": tempfile.mkdtemp(prefix="quarry-export-")}
    (Path(env["QUARRY_VAR_DIR"]) / "static").mkdir()
    env.pop("DATABASE_URL", None)
    if args.postgres:
        import psycopg

        with psycopg.connect(f"{PG}/postgres", autocommit=True) as conn:
            conn.execute("DROP DATABASE IF EXISTS quarry_export WITH (FORCE)")
            conn.execute("CREATE DATABASE quarry_export")
        env["DATABASE_URL"] = f"{PG}/quarry_export"
    subprocess.run([sys.executable, "manage.py", "migrate", "-v0"], cwd=ROOT, env=env, check=True)
    started = time.perf_counter()
    subprocess.run(
        [sys.executable, __file__, "--build", "--samples", str(args.samples)],
        cwd=ROOT,
        env=env,
        check=True,
    )
    database = "PostgreSQL" if args.postgres else "SQLite"
    print(
        f"== {args.samples:,} samples on {database} built in {time.perf_counter() - started:.0f} s"
    )
    print(f"{'export':<12} {'project':<8} {'size':>11} {'time':>8} {'peak RSS':>10}  vs empty")
    for kind in KINDS:
        results = {}
        for project in ("Empty", "Big"):
            out = subprocess.run(
                [sys.executable, __file__, "--child", project, kind],
                cwd=ROOT,
                env=env,
                capture_output=True,
                text=True,
                check=True,
            )
            results[project] = json.loads(out.stdout.strip().splitlines()[-1])
        empty, big = results["Empty"], results["Big"]
        for name, r in (("empty", empty), ("100k", big)):
            print(
                f"{kind:<12} {name:<8} {r['bytes'] / 1e6:>9.1f}MB {r['seconds']:>7.1f}s "
                f"{r['peak_rss_mib']:>8.1f}MiB"
                + (
                    f"  +{big['peak_rss_mib'] - empty['peak_rss_mib']:.1f} MiB"
                    if name == "100k"
                    else ""
                )
            )
    if args.postgres:
        import psycopg

        with psycopg.connect(f"{PG}/postgres", autocommit=True) as conn:
            conn.execute("DROP DATABASE IF EXISTS quarry_export WITH (FORCE)")


if __name__ == "__main__":
    main()
