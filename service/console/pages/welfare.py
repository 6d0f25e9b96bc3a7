"""A crisis's welfare checks: the statuses of the workers the caller may read, a form to record
what a check found, and their CSV export (no notes, no documentation status)."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import Depends, Form, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import ValidationError
from sqlmodel import col

from service.auth.permissions import Permission, allowed
from service.console.registry import Section
from service.console.render import render
from service.console.routing import console_router
from service.crises.service import get_crisis
from service.deps import SessionDep
from service.errors import InvalidInput
from service.exposure.dependencies import IndexDep
from service.flows import welfare_checks
from service.flows.welfare import record_welfare
from service.messaging.service import progress
from service.pagination import Page
from service.registry.dependencies import ProtectorDep, rate_limit
from service.welfare import service
from service.welfare.dependencies import Checker, Reader, Writer
from service.welfare.models import WelfareChannel, WelfareCheck, WelfareOutcome
from service.welfare.schemas import DRILL_NOTICE, OutcomeCreate, WelfareCheckCreate, WelfarePublic

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
    checks = []
    if allowed(actor.role, Permission.WELFARE_CHECK):
        query = welfare_checks.checks_of(actor, crisis.id)
        found = (await session.exec(query.order_by(col(WelfareCheck.created_at).desc()))).all()
        checks = [
            {
                "check": c,
                "messages": await progress(session, c.id),
                "answers": await welfare_checks.answers(session, c),
            }
            for c in found[:20]
        ]
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
        checks=checks,
        may_check=allowed(actor.role, Permission.WELFARE_CHECK),
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


@router.get("/{id}/welfare.{extension}", name="console.crisis_welfare_csv")
async def welfare_export(
    id: str,
    extension: Literal["csv", "xlsx"],
    request: Request,
    session: SessionDep,
    actor: Reader,
    protect: ProtectorDep,
) -> Response:
    """Every status the caller may see, as ``GET /crises/{id}/welfare?format=csv`` (or xlsx)
    answers."""
    crisis = await get_crisis(session, id)
    rate_limit(request, actor)
    page = await service.list_statuses(
        session, actor=actor, crisis_id=crisis.id, limit=CSV_LIMIT, cursor=None
    )
    items = [service.present(s, w, protect) for s, w in page.items]
    shown = Page[WelfarePublic](items=items, next_cursor=page.next_cursor)
    return service.download(session, actor, crisis.id, extension, shown, cap=CSV_LIMIT)


def _check_form(
    admin1: str, vulnerable_only: str, reminder_after_hours: str, answer_within_hours: str,
    sender: str, label: str,
) -> WelfareCheckCreate:  # fmt: skip
    """The check a form asks for, validated as the API validates it."""
    provinces = [p.strip().upper() for p in admin1.replace(";", ",").split(",") if p.strip()]
    try:
        return WelfareCheckCreate.model_validate(
            {
                "admin1": provinces,
                "vulnerable_only": vulnerable_only == "on",
                "reminder_after_hours": reminder_after_hours or 6,
                "answer_within_hours": answer_within_hours or 24,
                "sender": sender or None,
                "label": label or None,
            }
        )
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"])
        raise InvalidInput(f"{where or 'The check'}: {first['msg']}") from exc


CheckForm = tuple[str, str, str, str, str, str]


def check_fields(
    admin1: Annotated[str, Form(max_length=2000)] = "",
    vulnerable_only: Annotated[str, Form(max_length=3)] = "",
    reminder_after_hours: Annotated[str, Form(max_length=8)] = "",
    answer_within_hours: Annotated[str, Form(max_length=8)] = "",
    sender: Annotated[str, Form(max_length=40)] = "",
    label: Annotated[str, Form(max_length=60)] = "",
) -> CheckForm:
    return admin1, vulnerable_only, reminder_after_hours, answer_within_hours, sender, label


@router.post(
    "/{id}/welfare-checks/preview", response_class=HTMLResponse, name="console.check_preview"
)
async def preview_page(
    id: str,
    request: Request,
    session: SessionDep,
    actor: Checker,
    index: IndexDep,
    fields: Annotated[CheckForm, Depends(check_fields)],
) -> HTMLResponse:
    """What a check would send, to how many, in which languages: before anything is sent."""
    crisis = await get_crisis(session, id)
    data = _check_form(*fields)
    shown = await welfare_checks.preview(
        session,
        actor=actor,
        crisis=crisis,
        data=data,
        index=index,
        budget=request.app.state.geometry.budget(),
        settings=request.app.state.settings,
    )
    names = (
        "admin1",
        "vulnerable_only",
        "reminder_after_hours",
        "answer_within_hours",
        "sender",
        "label",
    )
    return render(
        request,
        actor,
        "welfare_check_preview.html",
        crisis=crisis,
        preview=shown,
        fields=dict(zip(names, fields, strict=True)),
        drill_notice=DRILL_NOTICE,
    )


@router.post("/{id}/welfare-checks", response_class=HTMLResponse, name="console.check_start")
async def start_page(
    id: str,
    request: Request,
    session: SessionDep,
    actor: Checker,
    index: IndexDep,
    protect: ProtectorDep,
    fields: Annotated[CheckForm, Depends(check_fields)],
) -> Response:
    """Start the check previewed, as ``POST /crises/{id}/welfare-checks`` does."""
    crisis = await get_crisis(session, id)
    await welfare_checks.start(
        session,
        actor=actor,
        crisis=crisis,
        data=_check_form(*fields),
        index=index,
        budget=request.app.state.geometry.budget(),
        settings=request.app.state.settings,
        protector=protect,
    )
    return RedirectResponse(f"/console/crises/{crisis.id}/welfare", status_code=303)


@router.post(
    "/{id}/welfare-checks/{check_id}/cancel",
    response_class=HTMLResponse,
    name="console.check_cancel",
)
async def cancel_page(id: str, check_id: str, session: SessionDep, actor: Checker) -> Response:
    """Stop a running check: what was not sent is not sent."""
    crisis = await get_crisis(session, id)
    check = await welfare_checks.followed_check(session, actor, crisis.id, check_id)
    await welfare_checks.cancel(session, actor=actor, crisis=crisis, check=check)
    return RedirectResponse(f"/console/crises/{crisis.id}/welfare", status_code=303)


#: Reached from each crisis's page (a list of one crisis: no entry of the navigation of its own).
section = Section(router=router)
