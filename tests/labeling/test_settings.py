"""Settings come from the environment: embedded by default, strict in production."""

from __future__ import annotations

import os
import secrets
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def run_manage(
    args: list[str], env_extra: dict[str, str], tmp_path: Path
) -> subprocess.CompletedProcess:
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "QUARRY_VAR_DIR": str(tmp_path / "var"),
        **env_extra,
    }
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def settings_value(expr: str, env_extra: dict[str, str], tmp_path: Path) -> str:
    code = f"from django.conf import settings; print({expr})"
    out = run_manage(["shell", "--no-imports", "-c", code], env_extra, tmp_path)
    assert out.returncode == 0, out.stderr
    return out.stdout.strip()


def test_embedded_default_uses_sqlite_and_filesystem_broker(tmp_path):
    engine = settings_value("settings.DATABASES['default']['ENGINE']", {}, tmp_path)
    broker = settings_value("settings.CELERY_BROKER_URL", {}, tmp_path)
    media = settings_value("settings.MEDIA_ROOT", {}, tmp_path)
    assert engine == "django.db.backends.sqlite3"
    assert broker == "filesystem://"
    assert media == str(tmp_path / "var" / "media")
    assert (tmp_path / "var" / "broker" / "queue").is_dir()


def test_environment_switches_to_postgres_and_redis(tmp_path):
    env = {
        "DATABASE_URL": "postgres://quarry:pw@db.internal:5433/quarry",
        "CELERY_BROKER_URL": "redis://cache.internal:6379/2",
    }
    assert settings_value("settings.DATABASES['default']['ENGINE']", env, tmp_path) == (
        "django.db.backends.postgresql"
    )
    assert settings_value("settings.DATABASES['default']['PORT']", env, tmp_path) == "5433"
    assert settings_value("settings.CELERY_BROKER_URL", env, tmp_path) == env["CELERY_BROKER_URL"]


def test_postgres_prepares_fixed_statements_unless_turned_off(tmp_path):
    env = {"DATABASE_URL": "postgres://quarry:pw@db.internal:5432/quarry"}
    options = "settings.DATABASES['default'].get('OPTIONS', {}).get('prepare_threshold')"
    assert settings_value(options, env, tmp_path) == "5"
    env["QUARRY_DB_PREPARE_THRESHOLD"] = "0"  # PgBouncer before 1.21, transaction mode
    assert settings_value(options, env, tmp_path) == "None"
    env["QUARRY_DB_PREPARE_THRESHOLD"] = "often"
    out = run_manage(["check"], env, tmp_path)
    assert out.returncode != 0
    assert "QUARRY_DB_PREPARE_THRESHOLD='often' is not an integer" in out.stderr
    assert settings_value(options, {}, tmp_path) == "None"  # SQLite: nothing to prepare


PRODUCTION_OK = {
    "QUARRY_ENV": "production",
    "SECRET_KEY": secrets.token_urlsafe(60),
    "ALLOWED_HOSTS": "quarry.example.org",
}


def test_production_passes_check_deploy_without_warnings(tmp_path):
    out = run_manage(["check", "--deploy", "--fail-level", "WARNING"], PRODUCTION_OK, tmp_path)
    assert out.returncode == 0, out.stdout + out.stderr
    assert "no issues" in out.stdout


@pytest.mark.parametrize(
    ("override", "reason"),
    [
        ({"DEBUG": "true"}, "DEBUG is on"),
        ({"SECRET_KEY": ""}, "SECRET_KEY is missing"),
        ({"SECRET_KEY": None}, "SECRET_KEY is missing"),
        ({"SECRET_KEY": "short"}, "SECRET_KEY is too short"),
        ({"ALLOWED_HOSTS": ""}, "ALLOWED_HOSTS is empty"),
        ({"ALLOWED_HOSTS": None}, "ALLOWED_HOSTS is empty"),
    ],
)
def test_production_refuses_unsafe_settings(tmp_path, override, reason):
    env = {**PRODUCTION_OK, **{k: v for k, v in override.items() if v is not None}}
    for key, value in override.items():
        if value is None:
            env.pop(key)
    out = run_manage(["check"], env, tmp_path)
    assert out.returncode != 0
    assert "QUARRY_ENV=production refuses to start" in out.stderr
    assert reason in out.stderr


def test_cache_url_must_be_redis(tmp_path):
    out = run_manage(["check"], {"QUARRY_CACHE_URL": "memcached://x:11211"}, tmp_path)
    assert out.returncode != 0
    assert "QUARRY_CACHE_URL must be a Redis URL" in out.stderr


def test_cache_url_selects_redis(tmp_path):
    env = {"QUARRY_CACHE_URL": "redis://127.0.0.1:6379/13"}
    assert settings_value("settings.CACHES['default']['BACKEND']", env, tmp_path).endswith(
        "RedisCache"
    )


def test_every_import_limit_comes_from_its_environment_variable(tmp_path):
    from labeling.imports.limits import DEFAULTS

    env = {f"QUARRY_{key.upper()}": str(1000 + i) for i, key in enumerate(DEFAULTS)}
    limits = settings_value("sorted(settings.QUARRY_IMPORT.items())", env, tmp_path)
    assert limits == str(sorted((key, 1000 + i) for i, key in enumerate(DEFAULTS)))
    assert "('ratio_floor_bytes', 1005)" in limits
