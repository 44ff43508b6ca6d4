"""Where `serve --workers N` keeps its workers' metrics: a fresh directory, or the operator's
emptied of an earlier run's files."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from fastwrap.entrypoints.cli.metrics_dir import VARIABLE, prepare_metrics_dir


@pytest.fixture(autouse=True)
def no_directory_set(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(VARIABLE, raising=False)


def test_workers_get_a_fresh_directory_they_inherit() -> None:
    made = prepare_metrics_dir(workers=2, metrics_enabled=True)
    try:
        assert made is not None
        assert made.is_dir()
        assert list(made.iterdir()) == []
        assert os.environ[VARIABLE] == str(made)
    finally:
        # Not monkeypatch.delenv: it would put the variable back at teardown, for every later
        # test's app to find a directory that no longer exists.
        os.environ.pop(VARIABLE, None)
        if made is not None:
            made.rmdir()


def test_one_process_or_metrics_off_needs_none() -> None:
    assert prepare_metrics_dir(workers=1, metrics_enabled=True) is None
    assert prepare_metrics_dir(workers=4, metrics_enabled=False) is None
    assert VARIABLE not in os.environ


def test_the_operators_directory_is_emptied_of_earlier_runs(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(VARIABLE, str(tmp_path))
    (tmp_path / "counter_123.db").write_bytes(b"old")
    (tmp_path / "notes.txt").write_text("not ours")
    assert prepare_metrics_dir(workers=1, metrics_enabled=True) == tmp_path
    assert sorted(p.name for p in tmp_path.iterdir()) == ["notes.txt"]
