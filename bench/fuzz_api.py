"""A larger schemathesis run against the API served by gunicorn on loopback.

A throw-away SQLite database under a temporary QUARRY_VAR_DIR (with ``--postgres``, the
PostgreSQL database ``quarry_fuzz`` on ``QUARRY_LOAD_PG``, dropped afterwards, where the
labeling calls take their one-statement paths) gets two projects with samples, queue,
labels, a model and a job; the fuzzer authenticates as the owner of the
first. Every operation of the served schema is tested with ``--max-examples`` cases
(default 100) in the examples, coverage and fuzzing phases; the checks are: no 5xx,
documented status codes, content types and headers, and bodies that match the schema.

    .venv/bin/python bench/fuzz_api.py [--max-examples 100] [--phases examples,coverage,fuzzing]
        [--postgres]

Prints schemathesis' report; exits non-zero when it found a failure.
"""

from __future__ import annotations

import argparse
import http.client
import os
import secrets
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from load_server import drop_database, recreate_database

ROOT = Path(__file__).resolve().parents[1]
FUZZ_DB = "quarry_fuzz"
CHECKS = (
    "not_a_server_error,status_code_conformance,content_type_conformance,"
    "response_headers_conformance,response_schema_conformance"
)


def build() -> str:
    """Two projects with one of every object; returns the first owner's API token."""
    sys.path.insert(0, str(ROOT))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "labeling.settings")
    import django

    django.setup()
    from rest_framework.authtoken.models import Token

    from tests.api.conftest import build_world

    first = build_world("fuzz")
    build_world("other")
    return Token.objects.create(user=first.owner).key


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--max-examples", type=int, default=100)
    parser.add_argument("--phases", default="examples,coverage,fuzzing")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument(
        "--postgres", action="store_true", help="serve from PostgreSQL instead of SQLite"
    )
    parser.add_argument("--build", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.build:
        print(build())
        return
    var_dir = tempfile.mkdtemp(prefix="quarry-fuzz-")
    (Path(var_dir) / "static").mkdir()
    env = {
        **os.environ,
        "QUARRY_VAR_DIR": var_dir,
        "SECRET_KEY": secrets.token_urlsafe(60),
        "PYTHONWARNINGS": "ignore::UserWarning",
        # Jobs the fuzzer starts stay rows: the broker folder is this run's own.
        "CELERY_BROKER_URL": "filesystem://",
    }
    env.pop("DATABASE_URL", None)
    if args.postgres:
        env["DATABASE_URL"] = recreate_database(FUZZ_DB)
    subprocess.run([sys.executable, "manage.py", "migrate", "-v0"], cwd=ROOT, env=env, check=True)
    token = (
        subprocess.run(
            [sys.executable, __file__, "--build"],
            cwd=ROOT,
            env=env,
            check=True,
            capture_output=True,
            text=True,
        )
        .stdout.strip()
        .splitlines()[-1]
    )
    port = free_port()
    server = subprocess.Popen(
        [
            str(Path(sys.executable).parent / "gunicorn"),
            "labeling.wsgi:application",
            "--bind",
            f"127.0.0.1:{port}",
            "--workers",
            "2",
            "--threads",
            "4",
            "--log-level",
            "warning",
        ],
        cwd=ROOT,
        env=env,
        start_new_session=True,
        stderr=open(Path(var_dir) / "server.log", "w"),  # noqa: SIM115 (closed with the process)
    )
    try:
        for _ in range(120):
            try:
                conn = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
                conn.request("GET", "/healthz")
                if conn.getresponse().status == 200:
                    break
            except OSError:
                time.sleep(0.5)
        command = [
            str(Path(sys.executable).parent / "schemathesis"),
            "run",
            f"http://127.0.0.1:{port}/api/v1/schema/?format=json",
            "--checks",
            CHECKS,
            "--max-examples",
            str(args.max_examples),
            "--phases",
            args.phases,
            "--workers",
            "2",
            "--seed",
            str(args.seed),
            "--request-timeout",
            "60",
            "--header",
            f"Authorization: Token {token}",
            "--suppress-health-check",
            "all",
        ]
        print("$", " ".join(c if "Token" not in c else "Authorization: Token ..." for c in command))
        started = time.perf_counter()
        result = subprocess.run(command, cwd=var_dir, env={**env, "NO_COLOR": "1"})
        print(f"== schemathesis finished in {time.perf_counter() - started:.0f} s")
        print(f"== server log: {Path(var_dir) / 'server.log'}")
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(timeout=30)
        if args.postgres:
            drop_database(FUZZ_DB)
    sys.exit(result.returncode)


if __name__ == "__main__":
    main()
