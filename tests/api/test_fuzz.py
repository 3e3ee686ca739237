"""schemathesis against the running API on loopback: no 5xx, every response as documented.

A modest number of examples per operation here; ``bench/fuzz_api.py`` runs a larger budget.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from rest_framework.authtoken.models import Token

from tests.api.conftest import build_world

CHECKS = ",".join(
    [
        "not_a_server_error",
        "status_code_conformance",
        "content_type_conformance",
        "response_headers_conformance",
        "response_schema_conformance",
    ]
)


def schemathesis_command(schema_url: str, token: str, examples: int, report: Path) -> list[str]:
    executable = shutil.which("schemathesis", path=str(Path(sys.executable).parent))
    assert executable, "schemathesis is not installed (pip install -e '.[dev]')"
    return [
        executable,
        "run",
        schema_url,
        "--checks",
        CHECKS,
        "--max-examples",
        str(examples),
        "--phases",
        "examples,fuzzing",
        "--workers",
        "1",
        "--seed",
        "7",
        "--request-timeout",
        "60",
        "--header",
        f"Authorization: Token {token}",
        "--suppress-health-check",
        "all",
        "--no-shrink",
        "--report",
        "junit",
        "--report-junit-path",
        str(report),
    ]


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_fuzzing_the_api_finds_no_server_errors(live_server, monkeypatch, tmp_path, settings):
    # Jobs are rows here; no broker message leaves the test.
    sent: list[int] = []
    monkeypatch.setattr("labeling.services.jobs._enqueue", sent.append)
    world = build_world("f")
    build_world("g")  # a second project the fuzzer must never reach
    token = Token.objects.create(user=world.owner).key
    command = schemathesis_command(
        f"{live_server.url}/api/v1/schema/?format=json", token, 8, tmp_path / "junit.xml"
    )
    env = {**os.environ, "NO_COLOR": "1", "SCHEMATHESIS_HOOKS": ""}
    result = subprocess.run(
        command, capture_output=True, text=True, timeout=900, env=env, cwd=tmp_path
    )
    (tmp_path / "schemathesis.txt").write_text(result.stdout + result.stderr)
    failures = [
        line.strip()
        for line in result.stdout.splitlines()
        if line.startswith("___") or line.strip().startswith(("- ST", "Received:", "Documented:"))
    ]
    output = "\n".join(failures) + "\n" + result.stdout[-3000:] + result.stderr[-2000:]
    assert result.returncode == 0, output
    assert "passed" in output.lower()
