"""Quarry's Django project and app: models, services, selectors, views, API, settings."""
