"""``/api/v1/exposure``: who is in a zone."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from sqlmodel import col, select

from service.audit.service import record
from service.deps import SessionDep
from service.exports import workers as workers_csv
from service.exposure import service
from service.exposure.dependencies import IndexDep, Lister, Reader
from service.exposure.schemas import Exposure, WorkersInZoneQuery, ZoneQuery
from service.openapi import problems
from service.pagination import CursorParam, LimitParam, Page, cursor_of, key_after
from service.registry.access import visibility_clause, visible_fields
from service.registry.dependencies import ProtectorDep, rate_limit
from service.registry.models import Worker
from service.registry.schemas import WorkerPublic
from service.registry.service import present

router = APIRouter(prefix="/exposure", tags=["exposure"])

CSV_LIMIT = 50_000


@router.post("", response_model=Exposure, response_model_exclude_none=False)
async def exposure(
    query: ZoneQuery, request: Request, session: SessionDep, actor: Reader, index: IndexDep
) -> Exposure:
    """Counts of registered workers and population groups strictly inside the zone."""
    budget = request.app.state.geometry.budget()
    zone = await service.zone_of(query, budget)
    result = await service.exposure(
        session,
        actor=actor,
        index=index,
        zone=zone,
        threshold=request.app.state.settings.suppress_below,
        budget=budget,
    )
    record(
        session,
        actor=actor,
        action="exposure.query",
        detail={"bounds": [round(b, 4) for b in zone.geometry.bounds], "exact": result.exact},
    )
    return result


@router.post(
    "/workers",
    response_model=Page[WorkerPublic],
    responses={200: {"content": {"text/csv": {}}}, **problems(429)},
)
async def workers_in_zone(
    query: WorkersInZoneQuery,
    request: Request,
    session: SessionDep,
    actor: Lister,
    index: IndexDep,
    protect: ProtectorDep,
    limit: LimitParam = 50,
    cursor: CursorParam = None,
    format: Annotated[
        str, Query(pattern="^(json|csv)$", description="csv: every row at once")
    ] = "json",
) -> Any:
    """The workers in the zone whose personal data you may read (your own nationals, for consular
    staff), oldest registration first. Every list is audited with the ids it returned."""
    rate_limit(request, actor)
    budget = request.app.state.geometry.budget()
    zone = await service.zone_of(query, budget)
    nationalities = [query.nationality] if query.nationality else None
    pks = await budget.run(
        index.index.select_pks,
        zone.geometry,
        nationalities=nationalities,
        deadline=budget.deadline,
    )
    # The index gives the zone's workers in order of registration: the page is taken from its
    # answer in chunks (a database takes so many values in an IN), keyed as GET /workers is.
    key = [col(Worker.pk)]
    after = key_after(key, cursor)
    if after is not None:
        pks = pks[pks > after[0]]
    want = CSV_LIMIT if format == "csv" else limit + 1
    rows: list[Worker] = []
    for start in range(0, len(pks), 5000):
        chunk = [int(p) for p in pks[start : start + 5000]]
        found = (
            await session.exec(
                select(Worker)
                .where(col(Worker.pk).in_(chunk))
                .where(visibility_clause(actor))
                .order_by(col(Worker.pk))
            )
        ).all()
        rows.extend(found)
        if len(rows) >= want:
            break
    rows = rows[:want]
    shown = rows[:limit] if format == "json" else rows
    items = []
    for worker in shown:
        fields = visible_fields(actor, worker)
        assert fields is not None
        items.append(present(worker, fields, protect))
    record(
        session,
        actor=actor,
        action="exposure.list",
        subject_type="worker",
        detail={"ids": [w.id for w in shown], "format": format},
    )
    if format == "csv":
        return workers_csv.response(items, "workers-in-zone.csv")
    next_cursor = cursor_of([shown[-1].pk]) if len(rows) > limit and shown else None
    return Page[WorkerPublic](
        items=[WorkerPublic.model_validate(i) for i in items], next_cursor=next_cursor
    )
