"""`/api/v1/crises/{id}/welfare`: workers' welfare statuses in a crisis, their history, counts."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Request, Response

from service.crises.service import get_crisis
from service.deps import SessionDep, send_etag
from service.exports import csv as welfare_csv
from service.flows.welfare import record_welfare
from service.openapi import problems
from service.pagination import CursorParam, LimitParam, Page
from service.registry.dependencies import ProtectorDep, rate_limit
from service.welfare import service
from service.welfare.dependencies import Reader, Writer
from service.welfare.models import WelfareOutcome
from service.welfare.schemas import OutcomeCreate, WelfareCounts, WelfareDetail, WelfarePublic

router = APIRouter(tags=["welfare"])

#: The most rows one CSV export holds.
CSV_LIMIT = 10_000


@router.get(
    "/crises/{id}/welfare",
    response_model=Page[WelfarePublic],
    responses={200: {"content": {"text/csv": {}}}, **problems(404, 429)},
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
    format: Annotated[str, Query(pattern="^(json|csv)$")] = "json",
) -> Any:
    """The crisis's welfare statuses of the workers whose record you may read (as
    `GET /workers/{id}` decides), by id; format=csv exports them without notes."""
    crisis = await get_crisis(session, id)
    rate_limit(request, actor)
    every_row = format == "csv"
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
        rows = service.csv_rows(items)
        return welfare_csv.response(service.CSV_COLUMNS, rows, f"crisis-{crisis.id}-welfare.csv")
    return Page[WelfarePublic](items=items, next_cursor=page.next_cursor)


# Beside `/welfare`, not under it: `/welfare/counts` would be the path of a worker's status too
# (a worker id "counts"), and its answers would mix the two routes' methods.
@router.get("/crises/{id}/welfare-counts", response_model=WelfareCounts, responses=problems(404))
async def welfare_counts(
    id: str, request: Request, session: SessionDep, actor: Reader
) -> dict[str, Any]:
    """Every welfare status of the crisis counted by status, nationality and province: exact
    for coordinators, else rounded with small cells withheld, as the exposure is."""
    crisis = await get_crisis(session, id)
    return await service.counts(
        session,
        actor=actor,
        crisis=crisis,
        threshold=request.app.state.settings.suppress_below,
    )


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
