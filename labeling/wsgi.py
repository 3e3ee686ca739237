"""WSGI entry point (gunicorn labeling.wsgi)."""

import os

from django.core.wsgi import get_wsgi_application
from django.urls import get_resolver

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "labeling.settings")
application = get_wsgi_application()

# Import every view and build the URL maps now, while the worker starts, instead of in
# the first request each worker serves (about a second of CPU, paid while users wait).
get_resolver().reverse_dict  # noqa: B018
