"""Settings for Celery worker processes started by the tests: the test database, the
test's media folder and its private broker folder (filesystem transport), and Redis
redelivery within seconds so a short visibility timeout can be tested."""

import os
from pathlib import Path

from labeling.settings import *  # noqa: F403
from labeling.settings import CELERY_BROKER_URL, DATABASES

DATABASES["default"]["NAME"] = os.environ["QUARRY_TEST_DB_NAME"]
MEDIA_ROOT = Path(os.environ["QUARRY_TEST_MEDIA_ROOT"])

if CELERY_BROKER_URL.startswith("filesystem://"):
    _broker = Path(os.environ["QUARRY_TEST_BROKER_DIR"])
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(_broker / "queue"),
        "data_folder_out": str(_broker / "queue"),
        "processed_folder": str(_broker / "processed"),
        "control_folder": str(_broker / "control"),
        "store_processed": False,
    }
else:
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "visibility_timeout": int(os.environ.get("CELERY_VISIBILITY_TIMEOUT", "3600")),
        "unacked_restore_interval": 1,
        "unacked_restore_throttle": 1,
    }
