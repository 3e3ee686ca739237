"""No Docker engine runs here, so the compose file is checked by reading it: every
service's command must refer to things that exist in this repository."""

from __future__ import annotations

import importlib
import os
import re
import runpy
import shlex
from pathlib import Path

import pytest
import yaml
from django.core.management import get_commands

from workers.dispatch import QUEUES

ROOT = Path(__file__).resolve().parent.parent
COMPOSE = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
SERVICES = COMPOSE["services"]


def command_words(service: str) -> list[str]:
    command = SERVICES[service]["command"]
    if isinstance(command, list):
        return command
    return shlex.split(command)


def test_all_production_services_present():
    assert {"postgres", "redis", "web", "worker", "worker-gpu", "beat"} <= set(SERVICES)


def test_web_runs_gunicorn_on_the_wsgi_application():
    words = " ".join(command_words("web"))
    match = re.search(r"gunicorn (\S+):(\S+)", words)
    assert match, words
    module = importlib.import_module(match.group(1))
    assert callable(getattr(module, match.group(2)))


@pytest.mark.parametrize("service", ["worker", "worker-gpu", "beat"])
def test_celery_services_use_the_quarry_app(service):
    words = command_words(service)
    assert words[0] == "celery"
    app_path = words[words.index("-A") + 1]
    module = importlib.import_module(app_path)
    assert module.app.main == "quarry"


@pytest.mark.parametrize(("service", "queue"), [("worker", "default"), ("worker-gpu", "gpu")])
def test_workers_consume_known_queues(service, queue):
    words = command_words(service)
    queues = words[words.index("-Q") + 1].split(",")
    assert queues == [queue]
    assert set(queues) <= set(QUEUES)


def test_gpu_worker_reserves_an_nvidia_device():
    devices = SERVICES["worker-gpu"]["deploy"]["resources"]["reservations"]["devices"]
    assert any(d["driver"] == "nvidia" and "gpu" in d["capabilities"] for d in devices)


def test_beat_uses_the_database_scheduler():
    words = " ".join(command_words("beat"))
    scheduler = re.search(r"--scheduler (\S+)", words).group(1)
    module, _, name = scheduler.partition(":")
    assert hasattr(importlib.import_module(module), name)


def test_manage_py_commands_exist():
    known = get_commands()
    for service, spec in SERVICES.items():
        words = " ".join(command_words(service)) if "command" in spec else ""
        for name in re.findall(r"manage\.py (\w+)", words):
            assert name in known, f"{service} runs unknown command manage.py {name}"


def test_dockerfile_copies_what_exists():
    dockerfile = (ROOT / "Dockerfile").read_text()
    for source in re.findall(r"^COPY (.+) \S+$", dockerfile, flags=re.M):
        for path in source.split():
            assert (ROOT / path).exists(), f"Dockerfile copies missing {path}"


def test_gunicorn_reads_its_settings_from_the_config_file(monkeypatch):
    from gunicorn.config import Config

    monkeypatch.delenv("WEB_CONCURRENCY", raising=False)
    found = runpy.run_path(str(ROOT / "gunicorn.conf.py"))
    config = Config()
    for name in ("worker_class", "workers", "timeout", "worker_tmp_dir"):
        config.set(name, found[name])  # gunicorn validates each value
    assert config.worker_class_str == "sync"
    # the workers' heartbeat files in memory, not on the disk (Linux has /dev/shm)
    assert config.worker_tmp_dir == "/dev/shm"
    assert config.workers == os.cpu_count() + 1
    monkeypatch.setenv("WEB_CONCURRENCY", "7")
    assert runpy.run_path(str(ROOT / "gunicorn.conf.py"))["workers"] == 7
    # the image ships the file next to manage.py, gunicorn's working directory
    assert "gunicorn.conf.py" in (ROOT / "Dockerfile").read_text()
    assert "--workers" not in " ".join(command_words("web"))
