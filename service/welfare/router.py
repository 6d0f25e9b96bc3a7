"""`/api/v1/crises/{id}/welfare`: workers' welfare statuses in a crisis, their history, counts."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Request, Response, status
from sqlmodel import col

from service.audit.service import record
from service.crises.service import get_crisis
from service.deps import SessionDep, send_etag
from service.exports import hxl, tables
from service.exposure.dependencies import IndexDep
from service.exposure.service import admin1_names
from service.flows import welfare_checks
from service.flows.welfare import record_welfare
from service.messaging.service import progress
from service.openapi import problems
from service.pagination import CursorParam, LimitParam, Page, paginate
from service.registry.dependencies import ProtectorDep, rate_limit
from service.welfare import service
from service.welfare.dependencies import Checker, Reader, Writer
from service.welfare.models import WelfareCheck, WelfareOutcome
from service.welfare.schemas import (
    DRILL_NOTICE,
    CheckRecipient,
    OutcomeCreate,
    WelfareCheckCreate,
    WelfareCheckPreview,
    WelfareCheckPublic,
    WelfareCounts,
    WelfareDetail,
    WelfarePublic,
)

router = APIRouter(tags=["welfare"])

#: The most rows one CSV export holds.
CSV_LIMIT = 10_000


@router.get(
    "/crises/{id}/welfare",
    response_model=Page[WelfarePublic],
    responses={**tables.ANSWER, **problems(404, 429)},
)
async def list_welfare(
    id: str,
    request: Request,
    session: SessionDep,
    actor: Reader,
    protect: ProtectorDep,
    limit: LimitParam = 50,
    cursor: CursorParam = None,
    status: Annotated[WelfareOutcome | None, Query(description="Only this status")] = None,
    format: Annotated[str, Query(pattern=tables.PATTERN)] = "json",
) -> Any:
    """The crisis's welfare statuses of the workers whose record you may read (as
    `GET /workers/{id}` decides), by id; format=csv exports them without notes."""
    crisis = await get_crisis(session, id)
    rate_limit(request, actor)
    every_row = format in tables.FORMATS
    page = await service.list_statuses(
        session,
        actor=actor,
        crisis_id=crisis.id,
        limit=CSV_LIMIT if every_row else limit,
        cursor=cursor,
        status=status.value if status else None,
    )
    items = [service.present(s, w, protect) for s, w in page.items]
    if every_row:
        shown = Page[WelfarePublic](items=items, next_cursor=page.next_cursor)
        status_asked = status.value if status else None
        return service.download(
            session, actor, crisis.id, format, shown, cap=CSV_LIMIT, status=status_asked
        )
    return Page[WelfarePublic](items=items, next_cursor=page.next_cursor)


# Beside `/welfare`, not under it: `/welfare/counts` would be the path of a worker's status too
# (a worker id "counts"), and its answers would mix the two routes' methods.
@router.get(
    "/crises/{id}/welfare-counts",
    response_model=WelfareCounts,
    responses={200: {"content": {"text/csv": {}}}, **problems(404)},
)
async def welfare_counts(
    id: str,
    request: Request,
    session: SessionDep,
    actor: Reader,
    format: Annotated[
        str,
        Query(pattern="^(json|hxl)$", description="hxl: as CSV with a row of HXL hashtags"),
    ] = "json",
) -> Any:
    """Every welfare status of the crisis counted by status, nationality and province: exact
    for coordinators, else rounded with small cells withheld, as the exposure is. format=hxl:
    the same counts, a row a cell, the first the total."""
    crisis = await get_crisis(session, id)
    counts = await service.counts(
        session,
        actor=actor,
        crisis=crisis,
        threshold=request.app.state.settings.suppress_below,
    )
    if format == "hxl":
        names = admin1_names(counts.get("by_admin1", {}))
        lines = list(hxl.welfare_lines(counts, names))
        record(
            session,
            actor=actor,
            action="welfare_counts.exported",
            subject_type="crisis",
            subject_id=crisis.id,
            detail={"format": format, "rows": len(lines), "exact": counts.get("exact", False)},
        )
        return hxl.response(hxl.WELFARE_COLUMNS, lines, f"crisis-{crisis.id}-welfare-counts.csv")
    return counts


@router.get(
    "/crises/{id}/welfare/{worker_id}", response_model=WelfareDetail, responses=problems(404)
)
async def get_welfare(
    id: str,
    worker_id: str,
    session: SessionDep,
    actor: Reader,
    protect: ProtectorDep,
    response: Response,
) -> WelfareDetail:
    """The worker's status in the crisis with its history; 404 as `GET /workers/{id}` for a
    worker you may not read, and for one with no status recorded yet."""
    crisis = await get_crisis(session, id)
    found, worker = await service.get_status(
        session, actor=actor, crisis=crisis, worker_id=worker_id
    )
    send_etag(response, found.version)
    events = await service.history(session, found.id)
    return WelfareDetail(
        **service.present(found, worker, protect).model_dump(),
        history=[service.present_event(e, protect) for e in events],
    )


@router.post(
    "/crises/{id}/welfare/{worker_id}",
    response_model=WelfarePublic,
    responses=problems(403, 404),
)
async def record_outcome(
    id: str,
    worker_id: str,
    data: OutcomeCreate,
    session: SessionDep,
    actor: Writer,
    protect: ProtectorDep,
    response: Response,
) -> WelfarePublic:
    """Record what a welfare check found. The same outcome and note again change nothing; a
    change is kept in the history and on the crisis timeline; `needs_help` opens one task for
    the organisation that serves the person. 404 as `GET /workers/{id}` for a worker you may
    not read; `deceased` by others than consular officers and coordinators is 403."""
    crisis = await get_crisis(session, id)
    found = service.Outcome.asked(worker_id, data)
    recorded = await record_welfare(session, found, by=actor, crisis=crisis, protector=protect)
    send_etag(response, recorded.status.version)
    return service.present(recorded.status, recorded.worker, protect)


def _check_public(
    check: WelfareCheck, messages: dict[str, dict[str, int]], answers: dict[str, int]
) -> WelfareCheckPublic:
    return WelfareCheckPublic(
        **{
            name: getattr(check, name)
            for name in WelfareCheckPublic.model_fields
            if name not in {"drill_notice", "messages", "answers"}
        },
        drill_notice=DRILL_NOTICE if check.exercise else None,
        messages=messages,
        answers=answers,
    )


async def _present_check(session: SessionDep, check: WelfareCheck) -> WelfareCheckPublic:
    return _check_public(
        check, await progress(session, check.id), await welfare_checks.answers(session, check)
    )


@router.post(
    "/crises/{id}/welfare-check-preview",
    response_model=WelfareCheckPreview,
    responses=problems(404, 422),
)
async def preview_check(
    id: str,
    data: WelfareCheckCreate,
    request: Request,
    session: SessionDep,
    actor: Checker,
    index: IndexDep,
) -> dict[str, Any]:
    """What `POST /crises/{id}/welfare-checks` with the same body would send now: to how many
    (and how many in scope it would not reach, and why), in which languages, with each text and
    its SMS length (GSM-7 or UCS-2 segments). Sends nothing."""
    crisis = await get_crisis(session, id)
    return await welfare_checks.preview(
        session,
        actor=actor,
        crisis=crisis,
        data=data,
        index=index,
        budget=request.app.state.geometry.budget(),
        settings=request.app.state.settings,
    )


@router.post(
    "/crises/{id}/welfare-checks",
    response_model=WelfareCheckPublic,
    status_code=status.HTTP_201_CREATED,
    responses=problems(404, 409, 422),
)
async def start_check(
    id: str,
    data: WelfareCheckCreate,
    request: Request,
    session: SessionDep,
    actor: Checker,
    index: IndexDep,
    protect: ProtectorDep,
    response: Response,
) -> WelfareCheckPublic:
    """Start a welfare check: a message in their language to each exposed worker of the crisis
    you may contact (consular officers: your nationals who agreed to sharing with the embassy;
    society responders: those who agreed to humanitarian sharing), optionally narrowed; a
    reminder to the silent ones after `reminder_after_hours`; `no_answer` and a tracing task
    for those still silent after `answer_within_hours`. An exercise's messages go to the drill
    gateway only. One running check per organisation and crisis: a second is 409."""
    crisis = await get_crisis(session, id)
    check = await welfare_checks.start(
        session,
        actor=actor,
        crisis=crisis,
        data=data,
        index=index,
        budget=request.app.state.geometry.budget(),
        settings=request.app.state.settings,
        protector=protect,
    )
    send_etag(response, check.version)
    response.headers["Location"] = f"{request.url.path}/{check.id}"
    return await _present_check(session, check)


@router.get(
    "/crises/{id}/welfare-checks", response_model=Page[WelfareCheckPublic], responses=problems(404)
)
async def list_checks(
    id: str, session: SessionDep, actor: Checker, limit: LimitParam = 20, cursor: CursorParam = None
) -> Page[WelfareCheckPublic]:
    """The crisis's welfare checks you may follow (your organisation's; coordinators: all),
    newest first, each with its messages by step and state and its recipients' statuses."""
    crisis = await get_crisis(session, id)
    page = await paginate(
        session,
        welfare_checks.checks_of(actor, crisis.id),
        key=[col(WelfareCheck.created_at), col(WelfareCheck.id)],
        limit=limit,
        cursor=cursor,
        descending=True,
    )
    return Page[WelfareCheckPublic](
        items=[await _present_check(session, c) for c in page.items],
        next_cursor=page.next_cursor,
    )


@router.get(
    "/crises/{id}/welfare-checks/{check_id}",
    response_model=WelfareCheckPublic,
    responses=problems(404),
)
async def get_check(
    id: str, check_id: str, session: SessionDep, actor: Checker, response: Response
) -> WelfareCheckPublic:
    """One welfare check: its state, messages by step and state, its recipients' statuses."""
    check = await welfare_checks.followed_check(session, actor, id, check_id)
    send_etag(response, check.version)
    return await _present_check(session, check)


@router.post(
    "/crises/{id}/welfare-checks/{check_id}/cancel",
    response_model=WelfareCheckPublic,
    responses=problems(404),
)
async def cancel_check(
    id: str, check_id: str, session: SessionDep, actor: Checker, response: Response
) -> WelfareCheckPublic:
    """Stop a running check: what was not sent is not sent; statuses stay as they are. A check
    already closed or cancelled is answered as it is."""
    crisis = await get_crisis(session, id)
    check = await welfare_checks.followed_check(session, actor, crisis.id, check_id)
    await welfare_checks.cancel(session, actor=actor, crisis=crisis, check=check)
    send_etag(response, check.version)
    return await _present_check(session, check)


@router.get(
    "/crises/{id}/welfare-checks/{check_id}/recipients",
    response_model=list[CheckRecipient],
    responses={**tables.ANSWER, **problems(404, 429)},
)
async def check_recipients(
    id: str,
    check_id: str,
    request: Request,
    session: SessionDep,
    actor: Checker,
    format: Annotated[str, Query(pattern=tables.PATTERN)] = "json",
) -> Any:
    """The check's recipients you may read: the state of each one's first message and reminder,
    and their welfare status (ids, provinces, languages; no number, name or text). Up to 10,000;
    format=csv exports them."""
    check = await welfare_checks.followed_check(session, actor, id, check_id)
    rate_limit(request, actor)
    rows = await welfare_checks.recipients(session, actor=actor, check=check, limit=CSV_LIMIT + 1)
    more, rows = len(rows) > CSV_LIMIT, rows[:CSV_LIMIT]
    if format in tables.FORMATS:
        columns = welfare_checks.RECIPIENT_COLUMNS
        return tables.download(
            session,
            actor,
            format,
            columns,
            [[row[c] for c in columns] for row in rows],
            f"welfare-check-{check.id}-recipients.csv",
            what="welfare_check.recipients",
            subject=("welfare_check", check.id),
            cap=CSV_LIMIT,
            more=more,
        )
    return [CheckRecipient(**row) for row in rows]
