"""`fastwrap health`: every dependency's status, as GET /health reports it."""

from __future__ import annotations

import typer

from fastwrap.domain.health import HealthReport
from fastwrap.entrypoints.cli.console import JsonFlag, print_json, print_rows, run


def health_json(report: HealthReport) -> dict[str, object]:
    checks = {
        name: {"status": "ok" if s.ok else "down", "adapter": s.adapter, "detail": s.detail}
        for name, s in report.checks.items()
    }
    return {"status": "ok" if report.ok else "degraded", "checks": checks}


def health(as_json: JsonFlag = False) -> None:
    """Check PostgreSQL, Redis, the LLM and the embedder; exit status 1 when degraded."""
    report: HealthReport = run(lambda services: services.health.report())
    if as_json:
        print_json(health_json(report))
    else:
        rows = [
            [name, "ok" if s.ok else "down", s.adapter, s.detail or ""]
            for name, s in report.checks.items()
        ]
        print_rows(rows, ["CHECK", "STATUS", "ADAPTER", "DETAIL"])
        typer.echo(f"status: {'ok' if report.ok else 'degraded'}")
    if not report.ok:
        raise typer.Exit(1)
