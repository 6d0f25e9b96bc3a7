"""Export routes that gather more than one domain: a crisis's situation report, live and as
kept with the crisis day by day."""

from __future__ import annotations

import asyncio
from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, Path, Query, Request, status
from fastapi.responses import HTMLResponse, Response

from service.audit.service import record
from service.crises.dependencies import CrisisDep, Reader, Writer
from service.db import utcnow
from service.deps import SessionDep
from service.exports.models import KeptSitrep
from service.exports.pdf import MEDIA_TYPE as PDF
from service.exports.schemas import KeptSitrepPublic
from service.flows import kept_sitreps, sitrep
from service.flows.sitrep_texts import LANGUAGES
from service.openapi import problems
from service.pagination import CursorParam, LimitParam, Page

router = APIRouter(tags=["exports"])

LanguageParam = Annotated[
    str,
    Query(
        max_length=16,
        pattern="^[A-Za-z_-]{1,16}$",
        description=f"The language the report is written in: {', '.join(LANGUAGES)} (ISO "
        "639-1; English by default). Another is a 422 naming those offered.",
    ),
]


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
    language: LanguageParam = "en",
) -> Any:
    """The situation report of the crisis for a day: what happened, who is exposed, what is being
    done, welfare, movements and returns, and what changed in the 24 hours to the report's time.
    Counts only, as you may see them (rounded and withheld as the exposure is for you); never a
    name, never a documentation status. A drill says EXERCISE on every page. In English or
    another language offered (`language`): the report's own words are translated, what the
    domains record (a hazard, a status, a name of an organisation) is printed as recorded. Each
    export is audited (`crisis.sitrep_exported`)."""
    now = utcnow()
    day = date or now.date()
    report = await sitrep.gather(
        session,
        actor=actor,
        crisis=crisis,
        day=day,
        threshold=request.app.state.settings.suppress_below,
        now=now,
        language=language,
    )
    record(
        session,
        actor=actor,
        action="crisis.sitrep_exported",
        subject_type="crisis",
        subject_id=crisis.id,
        detail={
            "date": day.isoformat(),
            "format": format,
            "exact": _exact(report),
            "language": language,
        },
    )
    name = f"crisis-{crisis.id}-sitrep-{day.isoformat()}"
    if language != "en":
        name += f"-{language}"
    if format == "html":
        link = f"{request.url.path}?date={day.isoformat()}&format=pdf&language={language}"
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


def _public(row: KeptSitrep) -> KeptSitrepPublic:
    return KeptSitrepPublic(
        id=row.id,
        crisis_id=row.crisis_id,
        day=row.day,
        language=row.language,
        created_at=row.created_at,
        exercise=row.exercise,
        made_by=row.made_by,
        pdf=kept_sitreps.kept_link(row.crisis_id, row.day, row.language, "pdf"),
        html=kept_sitreps.kept_link(row.crisis_id, row.day, row.language, "html"),
    )


@router.get("/crises/{id}/sitreps", response_model=Page[KeptSitrepPublic])
async def list_kept_sitreps(
    session: SessionDep,
    actor: Reader,
    crisis: CrisisDep,
    limit: LimitParam = 50,
    cursor: CursorParam = None,
) -> Page[KeptSitrepPublic]:
    """The situation reports kept with the crisis, newest day first: one a day and language,
    made by the worker each day the crisis is not closed (or kept again by a coordinator), as
    shared beyond the need-to-know (rounded, small cells withheld, counts only)."""
    page = await kept_sitreps.list_kept(session, crisis, limit=limit, cursor=cursor)
    return Page[KeptSitrepPublic](
        items=[_public(r) for r in page.items], next_cursor=page.next_cursor
    )


@router.post(
    "/crises/{id}/sitreps",
    response_model=list[KeptSitrepPublic],
    status_code=status.HTTP_201_CREATED,
    responses=problems(409),
)
async def keep_sitrep(
    request: Request, session: SessionDep, actor: Writer, crisis: CrisisDep
) -> list[KeptSitrepPublic]:
    """Keep today's shared report now, in each of its languages (English and those of the
    nationalities most exposed), replacing what was kept today: the same report the worker
    keeps each day, made at this time. Audited (`crisis.sitrep_kept`)."""
    kept = await kept_sitreps.keep(
        session,
        crisis=crisis,
        actor=actor,
        threshold=request.app.state.settings.suppress_below,
        replace=True,
    )
    return [_public(r) for r in kept]


@router.get(
    "/crises/{id}/sitreps/{day}",
    response_class=Response,
    responses={
        200: {
            "description": "The kept report: its PDF or its page of HTML, as made",
            "content": {PDF: {}, "text/html": {}},
        },
        **problems(404, 422),
    },
)
async def kept_sitrep(
    session: SessionDep,
    actor: Reader,
    crisis: CrisisDep,
    day: Annotated[date, Path(description="The day of the report (UTC)")],
    format: Annotated[str, Query(pattern="^(pdf|html)$")] = "pdf",
    language: LanguageParam = "en",
) -> Any:
    """The report kept of that day in that language, as it was made (404 when none is). Every
    reader gets the same file: the shared view, whatever their role shows live. Each download
    is audited (`crisis.sitrep_exported`, `kept` in its detail)."""
    row = await kept_sitreps.get_kept(session, crisis, day, language)
    record(
        session,
        actor=actor,
        action="crisis.sitrep_exported",
        subject_type="crisis",
        subject_id=crisis.id,
        detail={
            "date": day.isoformat(),
            "format": format,
            "exact": False,
            "language": language,
            "kept": row.id,
        },
    )
    if format == "html":
        return HTMLResponse(row.html)
    name = f"crisis-{crisis.id}-sitrep-{day.isoformat()}-{language}-kept"
    return Response(
        row.pdf,
        media_type=PDF,
        headers={"Content-Disposition": f'attachment; filename="{name}.pdf"'},
    )
