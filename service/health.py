"""Liveness and readiness."""

from __future__ import annotations

import logging

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from sqlalchemy import text

from service import migrate
from service.observability import DATABASE_RETRY_AFTER_S

router = APIRouter(tags=["health"])
log = logging.getLogger("lifeline.health")


@router.get("/healthz")
async def healthz() -> dict[str, str]:
    """The process answers."""
    return {"status": "ok"}


@router.get("/readyz", responses={503: {"description": "Not ready: see `checks`"}})
async def readyz(request: Request) -> JSONResponse:
    """The database is reachable, its schema at this release's latest migration (or a later
    release's), and the exposure index loaded."""
    checks: dict[str, str] = {}
    engine = request.app.state.engine
    try:
        async with engine.connect() as conn:
            await conn.execute(text("SELECT 1"))
        checks["database"] = "ok"
        current = await migrate.current_revision(engine)
        head = migrate.head_revision()
        # At this release's latest revision, or past it: a revision this release does not know
        # is a later release's migration, run while this pod still serves (a migration leaves
        # a schema the release before works with), so a rolling update is never left without a
        # ready pod. Behind it, or nothing: not ready.
        ahead = current is not None and current not in migrate.revisions()
        checks["migrations"] = (
            "ok" if current == head or ahead else f"at {current or 'nothing'}, expected {head}"
        )
        index = getattr(request.app.state, "register_index", None)
        checks["exposure_index"] = "ok" if index is not None and index.ready.is_set() else "loading"
    except Exception as exc:  # readiness reports, it does not fail
        log.warning("readiness check failed", exc_info=exc)
        checks.setdefault("database", f"unreachable: {type(exc).__name__}")
    ready = all(v == "ok" for v in checks.values()) and len(checks) == 3
    if ready:
        return JSONResponse({"status": "ready", "checks": checks})
    return JSONResponse(
        {
            "type": "https://lifeline.example.org/problems/not-ready",
            "title": "Not ready",
            "status": 503,
            "detail": "; ".join(f"{k}: {v}" for k, v in checks.items() if v != "ok"),
            "checks": checks,
        },
        status_code=503,
        media_type="application/problem+json",
        headers={"Retry-After": str(DATABASE_RETRY_AFTER_S)},
    )
