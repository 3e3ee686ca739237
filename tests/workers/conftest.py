"""Fixtures for the worker tests: media in a temporary folder, a recorded broker."""

from __future__ import annotations

import pytest


@pytest.fixture(autouse=True)
def _media_root(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"


@pytest.fixture
def sent(monkeypatch):
    """Messages the code under test sends to the broker, recorded instead of sent
    (tests that run a real worker use ``tests.workers.worker`` instead)."""
    calls: list[tuple] = []

    def send_task(name, args, queue, **options):
        calls.append((name, args, queue, options))

    monkeypatch.setattr("workers.dispatch.app.send_task", send_task)
    return calls


@pytest.fixture
def fast_lease(settings):
    settings.QUARRY_JOB_LEASE_SECONDS = 2.0
    settings.QUARRY_JOB_HEARTBEAT_SECONDS = 0.2
    settings.QUARRY_JOB_RETRY_DELAY_SECONDS = 0.0
