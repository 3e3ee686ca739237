"""Suite-wide fixtures and the rules for the ``services`` and ``gpu`` markers.

``make test`` runs the suite twice: everything but ``services`` on the embedded
default (SQLite, filesystem broker), then ``services`` against the real PostgreSQL
and Redis on 127.0.0.1. Outside CI a missing server skips those tests with the
reason; under ``CI=true`` it fails them.
"""

from __future__ import annotations

import os
import socket

import pytest

IN_CI = os.environ.get("CI", "").lower() in {"1", "true", "yes"}


def _reachable(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=1):
            return True
    except OSError:
        return False


def _services_problem() -> str | None:
    from django.conf import settings

    engine = settings.DATABASES["default"]["ENGINE"]
    if "postgresql" not in engine:
        return (
            "needs PostgreSQL: run with DATABASE_URL=postgres://postgres@127.0.0.1:5432/quarry "
            "(make test does)"
        )
    if not settings.CELERY_BROKER_URL.startswith("redis://"):
        return "needs Redis: run with CELERY_BROKER_URL=redis://127.0.0.1:6379/15 (make test does)"
    db = settings.DATABASES["default"]
    if not _reachable(db.get("HOST") or "127.0.0.1", int(db.get("PORT") or 5432)):
        return "PostgreSQL is not reachable"
    if not _reachable("127.0.0.1", 6379):
        return "Redis is not reachable on 127.0.0.1:6379"
    return None


def pytest_runtest_setup(item: pytest.Item) -> None:
    if item.get_closest_marker("services"):
        problem = _services_problem()
        if problem:
            if IN_CI:
                pytest.fail(f"services test cannot run under CI=true: {problem}")
            pytest.skip(problem)
    if item.get_closest_marker("gpu"):
        import torch

        if not torch.cuda.is_available():
            pytest.skip("needs a CUDA device")


@pytest.fixture(autouse=True)
def _fresh_cache():
    """Counts cached by services (e.g. the labeled count behind the budget) never leak
    from one test into the next, where primary keys may be reused."""
    from django.core.cache import cache

    cache.clear()
    yield
    cache.clear()
