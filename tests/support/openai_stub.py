"""Fixtures for openai_stub (filled in by its adapter work)."""
