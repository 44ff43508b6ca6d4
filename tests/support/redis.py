"""Fixtures for redis (filled in by its adapter work)."""
