"""Writes: every change to Quarry's data goes through a function in this package."""
