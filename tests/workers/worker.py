"""Real Celery worker processes for the tests, on the broker the test run is configured
with (the filesystem transport by default, Redis in the ``services`` pass)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


class Worker:
    def __init__(self, name: str, env: dict[str, str], log_dir: Path, *, beat: bool = False):
        self.name = name
        self.env = env
        self.log_path = log_dir / f"{name}.log"
        self.beat = beat
        self.process: subprocess.Popen | None = None

    def start(self) -> Worker:
        command = [
            sys.executable, "-m", "celery", "-A", "workers", "worker",
            "-Q", "default,gpu", "-P", "solo", "-c", "1", "-l", "info",
            "-n", f"{self.name}@%h", "--without-gossip", "--without-mingle",
        ]  # fmt: skip
        if self.beat:
            beat_db = self.log_path.with_suffix(".beat")
            command += ["-B", "-s", str(beat_db)]
        self.log = open(self.log_path, "wb")  # noqa: SIM115 (closed in stop)
        self.process = subprocess.Popen(
            command,
            cwd=ROOT,
            env=self.env,
            stdout=self.log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        return self

    def text(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def wait_ready(self, timeout: float = 90) -> Worker:
        wait_for(lambda: "ready." in self.text(), timeout, f"worker {self.name} to start", self)
        return self

    def kill(self) -> None:
        """``kill -9`` the worker and anything it started (its own process group)."""
        if self.process and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(timeout=30)

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.kill()
        if hasattr(self, "log"):
            self.log.close()


def wait_for(check: Callable[[], object], timeout: float, what: str, *workers: Worker):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = check()
        if value:
            return value
        for worker in workers:
            if worker.process and worker.process.poll() is not None:
                pytest.fail(f"worker {worker.name} exited:\n{worker.text()[-4000:]}")
        time.sleep(0.2)
    logs = "\n".join(f"--- {w.name}\n{w.text()[-4000:]}" for w in workers)
    pytest.fail(f"timed out after {timeout} s waiting for {what}\n{logs}")


def redis_purge(url: str) -> None:
    """Empty this test database's queues and unacknowledged messages."""
    import redis

    client = redis.Redis.from_url(url)
    client.delete("default", "gpu", "unacked", "unacked_index", "unacked_mutex")
