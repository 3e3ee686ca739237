"""With QUARRY_CACHE_URL the labeled count lives in Redis: a bump by one web process is
seen at once by every other (here: a second, separately built cache client)."""

from __future__ import annotations

import os

import pytest
from django.core.cache import caches
from django.core.cache.backends.redis import RedisCache

from labeling.selectors.labels import labeled_count_key, labeled_count_recent
from labeling.services.queue import queue_next
from labeling.services.queue_submit import annotation_submit

pytestmark = [pytest.mark.services, pytest.mark.django_db]


@pytest.fixture
def redis_cache(settings, monkeypatch):
    # one window for the whole test (a 5 s window could turn over between two steps)
    monkeypatch.setattr("labeling.selectors.labels.LABELED_COUNT_TTL_S", 3600)
    base = os.environ.get("CELERY_BROKER_URL", "redis://127.0.0.1:6379/15").rsplit("/", 1)[0]
    url = f"{base}/13"  # not the broker's database: clearing it must not drop tasks
    config = {
        "BACKEND": "django.core.cache.backends.redis.RedisCache",
        "LOCATION": url,
        "KEY_PREFIX": "quarry",
    }
    settings.CACHES = {"default": config}
    caches["default"].clear()
    yield RedisCache(url, {"KEY_PREFIX": "quarry"})  # as another process would build it
    caches["default"].clear()


def test_labeled_count_is_shared_through_redis(redis_cache, project, queued, annotators):
    alice = annotators[0]
    key = labeled_count_key(project.pk)
    assert labeled_count_recent(project=project) == 0
    assert redis_cache.get(key) == 0
    for sample in queued[:3]:
        queue_next(project=project, user=alice, count=1)
        annotation_submit(project=project, user=alice, sample_id=sample.pk, label=0)
    assert redis_cache.get(key) == 3  # bumped where the other process reads it
    redis_cache.delete(key)  # e.g. a label import elsewhere
    assert labeled_count_recent(project=project) == 3
