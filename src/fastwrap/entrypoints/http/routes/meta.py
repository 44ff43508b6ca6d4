"""Service info and health."""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError, version

from fastapi import APIRouter
from fastapi.responses import JSONResponse

from fastwrap.entrypoints.http.deps import ServicesDep
from fastwrap.entrypoints.http.schemas import CheckOut, Envelope, HealthOut, ServiceInfo

router = APIRouter(tags=["service"])


def package_version() -> str:
    try:
        return version("fastwrap")
    except PackageNotFoundError:  # running from a source tree that is not installed
        return "0+unknown"


@router.get("/")
async def info() -> Envelope[ServiceInfo]:
    data = ServiceInfo(
        name="FastWrap", version=package_version(), docs_url="/docs", playground_url="/playground"
    )
    return Envelope(message="FastWrap is running", data=data)


@router.get(
    "/health",
    response_model=HealthOut,
    responses={503: {"model": HealthOut, "description": "A dependency is down"}},
)
async def health(services: ServicesDep) -> JSONResponse:
    report = await services.health.report()
    body = HealthOut(
        status="ok" if report.ok else "degraded",
        checks={
            name: CheckOut(status="ok" if s.ok else "down", adapter=s.adapter, detail=s.detail)
            for name, s in report.checks.items()
        },
    )
    return JSONResponse(body.model_dump(), status_code=200 if report.ok else 503)
