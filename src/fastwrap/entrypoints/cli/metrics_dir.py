"""The directory where `fastwrap serve --workers N` keeps its workers' metrics.

prometheus-client counts across processes through per-process files in PROMETHEUS_MULTIPROC_DIR,
which must be set before a worker creates its first metric and be empty at start (files of an
earlier run would be added to this one's counts). The workers inherit the variable.
"""

from __future__ import annotations

import atexit
import os
import shutil
import tempfile
from pathlib import Path

VARIABLE = "PROMETHEUS_MULTIPROC_DIR"


def prepare_metrics_dir(workers: int, metrics_enabled: bool) -> Path | None:
    """Empty the operator's PROMETHEUS_MULTIPROC_DIR, or make one (removed at exit) for N > 1."""
    if not metrics_enabled:
        return None
    given = os.environ.get(VARIABLE)
    if given:
        directory = Path(given)
        directory.mkdir(parents=True, exist_ok=True)
        for stale in directory.glob("*.db"):
            stale.unlink()
        return directory
    if workers <= 1:
        return None  # one process counts in memory
    directory = Path(tempfile.mkdtemp(prefix="fastwrap-metrics-"))
    atexit.register(shutil.rmtree, directory, ignore_errors=True)
    os.environ[VARIABLE] = str(directory)
    return directory
