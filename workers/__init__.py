"""Celery app and tasks: the only bridge from database rows to arrays and back."""

from workers.celery import app

__all__ = ["app"]
