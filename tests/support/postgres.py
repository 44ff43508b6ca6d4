"""Fixtures for postgres (filled in by its adapter work)."""
