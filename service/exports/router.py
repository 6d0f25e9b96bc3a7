"""Export routes that gather more than one domain: a crisis's situation report."""

from __future__ import annotations

import asyncio
from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, Response

from service.audit.service import record
from service.crises.dependencies import CrisisDep, Reader
from service.db import utcnow
from service.deps import SessionDep
from service.exports.pdf import MEDIA_TYPE as PDF
from service.flows import sitrep
from service.openapi import problems

router = APIRouter(tags=["exports"])


@router.get(
    "/crises/{id}/sitrep",
    response_class=Response,
    responses={
        200: {
            "description": "The report: a PDF, A4 (2 or 3 pages mostly), or a page of HTML",
            "content": {PDF: {}, "text/html": {}},
        },
        **problems(404, 422),
    },
)
async def crisis_sitrep(
    request: Request,
    session: SessionDep,
    actor: Reader,
    crisis: CrisisDep,
    date: Annotated[
        date | None,
        Query(
            description="The day reported (UTC), from the day the crisis opened to today; "
            "today by default"
        ),
    ] = None,
    format: Annotated[str, Query(pattern="^(pdf|html)$")] = "pdf",
) -> Any:
    """The situation report of the crisis for a day: what happened, who is exposed, what is being
    done, welfare, movements and returns, and what changed in the 24 hours to the report's time.
    Counts only, as you may see them (rounded and withheld as the exposure is for you); never a
    name, never a documentation status. A drill says EXERCISE on every page. Each export is
    audited (`crisis.sitrep_exported`)."""
    now = utcnow()
    day = date or now.date()
    report = await sitrep.gather(
        session,
        actor=actor,
        crisis=crisis,
        day=day,
        threshold=request.app.state.settings.suppress_below,
        now=now,
    )
    record(
        session,
        actor=actor,
        action="crisis.sitrep_exported",
        subject_type="crisis",
        subject_id=crisis.id,
        detail={"date": day.isoformat(), "format": format, "exact": _exact(report)},
    )
    name = f"crisis-{crisis.id}-sitrep-{day.isoformat()}"
    if format == "html":
        link = f"{request.url.path}?date={day.isoformat()}&format=pdf"
        return HTMLResponse(sitrep.html_document(report, link))
    document = await asyncio.to_thread(
        sitrep.render_pdf, report, created_at=now.replace(microsecond=0)
    )
    return Response(
        document,
        media_type=PDF,
        headers={"Content-Disposition": f'attachment; filename="{name}.pdf"'},
    )


def _exact(report: sitrep.Sitrep) -> bool:
    return bool((report.exposure or {}).get("exact", False))
