"""Reads: queries the views, API and workers share."""
