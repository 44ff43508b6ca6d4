"""Shared fixtures live in tests/support, one module per real service."""

pytest_plugins = [
    "tests.support.postgres",
    "tests.support.redis",
    "tests.support.openai_stub",
]
