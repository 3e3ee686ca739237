"""The periodic tasks beat sends: each names a registered task and runs."""

import pytest

import workers.tasks  # noqa: F401  (registers the tasks, as a worker's autodiscovery does)
from workers.celery import UPKEEP_SECONDS, app


def test_every_scheduled_task_is_registered():
    schedule = app.conf.beat_schedule
    assert {entry["task"] for entry in schedule.values()} >= {
        "workers.reap_jobs",
        "workers.queue_upkeep",
    }
    for entry in schedule.values():
        assert entry["task"] in app.tasks
    upkeep = schedule["quarry-queue-upkeep"]
    assert upkeep["schedule"] == UPKEEP_SECONDS
    # a message older than one interval is dropped: a busy worker does not pile them up
    assert upkeep["options"]["expires"] == UPKEEP_SECONDS


@pytest.mark.django_db
def test_queue_upkeep_task_runs_the_service():
    result = app.tasks["workers.queue_upkeep"].apply().get()
    assert result == {"reservations purged": 0, "vacuumed": False}  # SQLite: no VACUUM
