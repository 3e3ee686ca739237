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


def test_the_upkeep_every_second_keeps_out_of_the_logs_but_its_errors(caplog):
    """beat's, the worker's and the task tracer's lines about the upkeep are dropped at
    INFO (three a second otherwise); other tasks' lines, and the upkeep's errors, stay."""
    import logging

    import workers.celery as celery_module

    caplog.set_level(logging.INFO)
    beat = logging.getLogger("celery.beat")
    received = logging.getLogger("celery.worker.strategy")
    traced = logging.getLogger("celery.app.trace")
    beat.info(
        "Scheduler: Sending due task %s (%s)", "quarry-queue-upkeep", celery_module.UPKEEP_TASK
    )
    received.info("Task %(name)s[%(id)s] received", {"name": celery_module.UPKEEP_TASK, "id": "1"})
    traced.info(
        "Task %(name)s[%(id)s] succeeded in %(runtime)ss: %(return_value)s",
        {"name": celery_module.UPKEEP_TASK, "id": "1", "runtime": 0.01, "return_value": {}},
    )
    beat.info("Scheduler: Sending due task %s (%s)", "quarry-reap-jobs", "workers.reap_jobs")
    traced.error("Task %(name)s[%(id)s] raised", {"name": celery_module.UPKEEP_TASK, "id": "2"})
    assert [r.getMessage() for r in caplog.records] == [
        "Scheduler: Sending due task quarry-reap-jobs (workers.reap_jobs)",
        "Task workers.queue_upkeep[2] raised",
    ]
    assert app.conf.beat_schedule["quarry-queue-upkeep"]["task"] == celery_module.UPKEEP_TASK
