"""Logging to the console and to a rotating file (LOG_DIR/logfile.log), as text or JSON lines."""

from __future__ import annotations

import atexit
import json
import logging
import logging.handlers
import queue
from datetime import UTC, datetime
from pathlib import Path
from typing import Literal


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        if record.exc_info:
            entry["traceback"] = self.formatException(record.exc_info)
        return json.dumps(entry, ensure_ascii=False)


def configure_logging(
    level: str, log_dir: Path | None, fmt: Literal["text", "json"] = "text"
) -> None:
    """Idempotent: replaces the handlers this function installed before."""
    formatter: logging.Formatter = (
        JsonFormatter()
        if fmt == "json"
        else logging.Formatter("%(asctime)s %(levelname)s %(name)s %(message)s")
    )
    handlers: list[logging.Handler] = [logging.StreamHandler()]
    if log_dir is not None:
        log_dir.mkdir(parents=True, exist_ok=True)
        handlers.append(
            logging.handlers.RotatingFileHandler(
                log_dir / "logfile.log", maxBytes=10_000_000, backupCount=5, encoding="utf-8"
            )
        )
    for handler in handlers:
        handler.setFormatter(formatter)
    _install(logging.getLogger("fastwrap"), handlers)
    logging.getLogger("fastwrap").setLevel(level)


_listener: logging.handlers.QueueListener | None = None


def _install(root: logging.Logger, handlers: list[logging.Handler]) -> None:
    """Writing to the console and the file happens on a listener thread: the event loop only
    enqueues records, so a slow disk or terminal never stalls requests."""
    global _listener
    if _listener is not None:
        _listener.stop()
        for handler in _listener.handlers:
            handler.close()
    for old in [h for h in root.handlers if isinstance(h, logging.handlers.QueueHandler)]:
        root.removeHandler(old)
    records: queue.SimpleQueue[logging.LogRecord] = queue.SimpleQueue()
    _listener = logging.handlers.QueueListener(records, *handlers, respect_handler_level=True)
    _listener.start()
    atexit.register(_listener.stop)
    root.addHandler(logging.handlers.QueueHandler(records))
    root.propagate = False
