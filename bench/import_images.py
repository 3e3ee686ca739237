#!/usr/bin/env python
"""Import benchmark: CIFAR-10 as 60,000 JPEGs in one zip, into a fresh project.

    python bench/import_images.py [--limit N] [--database sqlite|postgres|both] [--workers N]

Each database runs in its own process with fresh state: SQLite in a new file under
``var/bench/sqlite/``, PostgreSQL in a new database ``quarry_bench`` on 127.0.0.1.
Prints images per second, CPU seconds per 1,000 images, and the resident memory of the
importing process at the start and after 25%, 50% and 100% of the files (flat memory
means these stay level), with the peak of the importer and of its decoder processes.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import subprocess
import sys
import time
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DATASET = ROOT.parent / "shared" / "datasets" / "cifar10-jpeg.zip"
PG_ADMIN_URL = "postgresql://postgres@127.0.0.1:5432/postgres"
PG_BENCH_URL = "postgres://postgres@127.0.0.1:5432/quarry_bench"


def status_mib(field: str, pid: str = "self") -> float:
    """``VmRSS`` (resident now) or ``VmHWM`` (peak resident) of a process, in MiB."""
    try:
        with open(f"/proc/{pid}/status") as status:
            for line in status:
                if line.startswith(field + ":"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return 0.0


def rss_mib() -> float:
    return status_mib("VmRSS")


def reset_peak() -> None:
    """Start VmHWM afresh, so the peak is the import's, not the migrations'."""
    try:
        with open("/proc/self/clear_refs", "w") as fh:
            fh.write("5")
    except OSError:
        pass


def decoder_peaks() -> dict[str, float]:
    """Peak resident memory of this process's children (the decoder processes)."""
    pids: list[str] = []
    for task in Path("/proc/self/task").iterdir():
        try:
            pids += (task / "children").read_text().split()
        except OSError:
            continue
    return {pid: status_mib("VmHWM", pid) for pid in pids}


def subset(source: Path, limit: int, out: Path) -> Path:
    """The first ``limit`` files of ``source`` as a new (stored) zip."""
    with zipfile.ZipFile(source) as src, zipfile.ZipFile(out, "w") as dst:
        files = [info for info in src.infolist() if not info.is_dir()][:limit]
        for info in files:
            dst.writestr(info, src.read(info))
    return out


def child(args: argparse.Namespace) -> None:
    import django

    sys.path.insert(0, str(ROOT))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "labeling.settings")
    django.setup()
    from django.core.management import call_command
    from django.db import connection

    from labeling.models import Sample
    from labeling.services.imports import dataset_import
    from labeling.services.projects import project_create

    call_command("migrate", verbosity=0)
    project = project_create(name="bench")
    path = Path(args.zip)
    if args.limit:
        path = subset(path, args.limit, Path(os.environ["QUARRY_VAR_DIR"]) / "subset.zip")
    marks: dict[str, float] = {"start": rss_mib()}
    decoders: dict[str, float] = {}

    def progress(done: int, total: int) -> None:
        for label, fraction in (("1%", 0.01), ("25%", 0.25), ("50%", 0.5), ("100%", 1.0)):
            if label not in marks and done >= fraction * total:
                marks[label] = rss_mib()
                for pid, peak in decoder_peaks().items():
                    decoders[pid] = max(peak, decoders.get(pid, 0.0))

    reset_peak()
    usage0 = resource.getrusage(resource.RUSAGE_SELF)
    started = time.perf_counter()
    report = dataset_import(
        project=project,
        path=path,
        labels_as="oracle",
        holdout=0.1,
        on_progress=progress,
        workers=args.workers,
    )
    seconds = time.perf_counter() - started
    marks["after commit"] = rss_mib()
    usage1 = resource.getrusage(resource.RUSAGE_SELF)
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (usage1.ru_utime - usage0.ru_utime) + (usage1.ru_stime - usage0.ru_stime)
    cpu += children.ru_utime + children.ru_stime
    assert Sample.objects.filter(project=project).count() == report.imported
    print(
        json.dumps(
            {
                "database": connection.vendor,
                "images": report.imported,
                "rejected": len(report.rejected),
                "duplicates": len(report.duplicates),
                "seconds": round(seconds, 2),
                "images_per_s": round(report.imported / seconds, 1),
                "cpu_s_per_1000": round(1000 * cpu / max(report.imported, 1), 3),
                "rss_mib": {k: round(v, 1) for k, v in marks.items()},
                "peak_rss_mib": round(status_mib("VmHWM"), 1),
                # Child processes: the decoders and multiprocessing's resource tracker.
                "decoder_peak_rss_mib": sorted(round(v, 1) for v in decoders.values() if v),
                "workers": args.workers,
            }
        )
    )


def fresh_postgres() -> str | None:
    """Drop and create ``quarry_bench``; the reason when PostgreSQL is not there."""
    try:
        import psycopg
    except ImportError:
        return "psycopg is not installed"
    try:
        with psycopg.connect(PG_ADMIN_URL, autocommit=True, connect_timeout=3) as conn:
            conn.execute("DROP DATABASE IF EXISTS quarry_bench WITH (FORCE)")
            conn.execute("CREATE DATABASE quarry_bench")
    except psycopg.OperationalError as exc:
        return f"PostgreSQL is not reachable on 127.0.0.1:5432 ({str(exc).strip()})"
    return None


def run(database: str, args: argparse.Namespace) -> dict | None:
    var = ROOT / "var" / "bench" / database
    shutil.rmtree(var, ignore_errors=True)
    var.mkdir(parents=True)
    env = {**os.environ, "QUARRY_VAR_DIR": str(var), "PYTHONPATH": str(ROOT)}
    env.pop("DATABASE_URL", None)
    env.pop("CELERY_BROKER_URL", None)
    if database == "postgres":
        problem = fresh_postgres()
        if problem:
            print(f"postgres: skipped: {problem}")
            return None
        env["DATABASE_URL"] = PG_BENCH_URL
    command = [sys.executable, __file__, "--child", "--zip", args.zip]
    if args.limit:
        command += ["--limit", str(args.limit)]
    if args.workers is not None:
        command += ["--workers", str(args.workers)]
    try:
        out = subprocess.run(command, env=env, check=True, capture_output=True, text=True)
    except subprocess.CalledProcessError as exc:
        sys.stderr.write(exc.stdout + exc.stderr)
        raise SystemExit(f"{database}: the benchmark failed") from None
    finally:
        if not args.keep:
            shutil.rmtree(var, ignore_errors=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--limit", type=int, default=0, help="import only the first N files")
    parser.add_argument("--database", choices=["sqlite", "postgres", "both"], default="both")
    parser.add_argument(
        "--workers", type=int, default=None, help="decoder processes (default: automatic)"
    )
    parser.add_argument("--zip", default=str(DATASET), help="the archive to import")
    parser.add_argument("--keep", action="store_true", help="keep var/bench/<database>/")
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args)
        return
    if not Path(args.zip).is_file():
        raise SystemExit(f"{args.zip}: not found (the CIFAR-10 JPEG zip is needed)")
    databases = ["sqlite", "postgres"] if args.database == "both" else [args.database]
    print(f"importing {args.zip} ({args.limit or 'all'} files), {os.cpu_count()} CPUs")
    for database in databases:
        result = run(database, args)
        if result is None:
            continue
        rss = ", ".join(f"{k} {v:.0f}" for k, v in result["rss_mib"].items())
        decoders = result["decoder_peak_rss_mib"]
        print(
            f"{result['database']:>10}: {result['images']:,} images in {result['seconds']:.1f} s"
            f" = {result['images_per_s']:,.0f} images/s"
            f" ({result['cpu_s_per_1000']:.2f} CPU s per 1,000 images)\n"
            f"{'':>12}RSS MiB: {rss}; peak {result['peak_rss_mib']:.0f}"
            f" (decoder processes: peak {', '.join(f'{v:.0f}' for v in decoders) or 'none'})"
        )


if __name__ == "__main__":
    main()
