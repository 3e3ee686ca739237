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


@pytest.fixture
def real_workers(settings, tmp_path, monkeypatch):
    """Start real worker processes: ``start(name, beat=False, **env)``. They share this
    test's database and media folder; all are stopped at the end."""
    import os

    from django.db import connection

    from tests.workers.worker import ROOT, Worker, redis_purge
    from workers.celery import app

    broker = tmp_path / "broker"
    for folder in ("queue", "processed", "control"):
        (broker / folder).mkdir(parents=True)
    if settings.CELERY_BROKER_URL.startswith("filesystem://"):
        # This test's own broker folder, for this process too (a fresh connection pool).
        options = {
            "data_folder_in": str(broker / "queue"),
            "data_folder_out": str(broker / "queue"),
            "processed_folder": str(broker / "processed"),
            "control_folder": str(broker / "control"),
            "store_processed": False,
        }
        monkeypatch.setitem(app.conf, "broker_transport_options", options)
    else:
        redis_purge(settings.CELERY_BROKER_URL)
    monkeypatch.setattr(app, "_pool", None)
    monkeypatch.setattr(app.amqp, "_producer_pool", None)
    settings.QUARRY_JOB_LEASE_SECONDS = 3.0
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "tests.workers.worker_settings",
        "PYTHONPATH": str(ROOT),
        "QUARRY_TEST_DB_NAME": str(connection.settings_dict["NAME"]),
        "QUARRY_TEST_MEDIA_ROOT": str(settings.MEDIA_ROOT),
        "QUARRY_TEST_BROKER_DIR": str(broker),
        "QUARRY_JOB_LEASE_SECONDS": "3",
        "QUARRY_JOB_HEARTBEAT_SECONDS": "0.5",
        "QUARRY_JOB_RETRY_DELAY_SECONDS": "0",
        "QUARRY_REAP_SECONDS": "1",
        "OMP_NUM_THREADS": "1",
    }
    started: list[Worker] = []

    def start(name: str, *, beat: bool = False, **extra: str) -> Worker:
        worker = Worker(name, {**env, **extra}, tmp_path, beat=beat).start()
        started.append(worker)
        return worker

    yield start
    for worker in started:
        worker.stop()
