"""A crisis's welfare checks: the statuses of the workers the caller may read, a form to record
what a check found, and their CSV export (no notes, no documentation status)."""

from __future__ import annotations

from typing import Annotated

from fastapi import Form, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import ValidationError

from service.console.registry import Section
from service.console.render import render
from service.console.routing import console_router
from service.crises.service import get_crisis
from service.deps import SessionDep
from service.errors import InvalidInput
from service.exports import csv as welfare_csv
from service.flows.welfare import record_welfare
from service.registry.dependencies import ProtectorDep, rate_limit
from service.welfare import service
from service.welfare.dependencies import Reader, Writer
from service.welfare.models import WelfareChannel, WelfareOutcome
from service.welfare.schemas import DRILL_NOTICE, OutcomeCreate

router = console_router("/crises")

#: Rows one page shows (the export holds them all).
PAGE = 200
CSV_LIMIT = 10_000


@router.get("/{id}/welfare", response_class=HTMLResponse, name="console.crisis_welfare")
async def welfare_page(
    id: str,
    request: Request,
    session: SessionDep,
    actor: Reader,
    protect: ProtectorDep,
    status: Annotated[WelfareOutcome | None, Query()] = None,
) -> HTMLResponse:
    crisis = await get_crisis(session, id)
    rate_limit(request, actor)
    page = await service.list_statuses(
        session,
        actor=actor,
        crisis_id=crisis.id,
        limit=PAGE,
        cursor=None,
        status=status.value if status else None,
    )
    counts = await service.counts(
        session, actor=actor, crisis=crisis, threshold=request.app.state.settings.suppress_below
    )
    return render(
        request,
        actor,
        "welfare.html",
        crisis=crisis,
        statuses=[service.present(s, w, protect) for s, w in page.items],
        more=page.next_cursor is not None,
        counts=counts,
        outcomes=list(WelfareOutcome),
        channels=list(WelfareChannel),
        shown=status.value if status else "",
        drill_notice=DRILL_NOTICE,
    )


@router.post("/{id}/welfare", response_class=HTMLResponse, name="console.crisis_welfare_record")
async def record(
    id: str,
    session: SessionDep,
    actor: Writer,
    protect: ProtectorDep,
    worker_id: Annotated[str, Form(min_length=1, max_length=36)],
    outcome: Annotated[WelfareOutcome, Form()],
    how: Annotated[WelfareChannel | None, Form()] = None,
    note: Annotated[str, Form(max_length=2000)] = "",
    csrf_token: Annotated[str, Form()] = "",
) -> Response:
    """Record what a check found, as ``POST /crises/{id}/welfare/{worker_id}`` does."""
    try:
        data = OutcomeCreate.model_validate({"outcome": outcome, "note": note or None, "how": how})
    except ValidationError as exc:
        said = exc.errors()[0]["msg"]
        raise InvalidInput(f"What they said cannot be stored as it is: {said}") from exc
    crisis = await get_crisis(session, id)
    found = service.Outcome.asked(worker_id, data)
    await record_welfare(session, found, by=actor, crisis=crisis, protector=protect)
    return RedirectResponse(f"/console/crises/{crisis.id}/welfare", status_code=303)


@router.get("/{id}/welfare.csv", name="console.crisis_welfare_csv")
async def welfare_export(
    id: str, request: Request, session: SessionDep, actor: Reader, protect: ProtectorDep
) -> Response:
    """Every status the caller may see, as ``GET /crises/{id}/welfare?format=csv`` answers."""
    crisis = await get_crisis(session, id)
    rate_limit(request, actor)
    page = await service.list_statuses(
        session, actor=actor, crisis_id=crisis.id, limit=CSV_LIMIT, cursor=None
    )
    items = [service.present(s, w, protect) for s, w in page.items]
    return welfare_csv.response(
        service.CSV_COLUMNS, service.csv_rows(items), f"crisis-{crisis.id}-welfare.csv"
    )


#: Reached from each crisis's page (a list of one crisis: no entry of the navigation of its own).
section = Section(router=router)
