"""``/api/v1/exposure``: who is in a zone."""

from __future__ import annotations

import asyncio
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request
from sqlmodel import col, select

from service.audit.service import record
from service.auth.dependencies import authorize
from service.auth.permissions import Permission
from service.auth.principal import Principal
from service.deps import SessionDep
from service.errors import InvalidInput, LifelineError
from service.exports import workers as workers_csv
from service.exposure import service
from service.exposure.engine import RegisterIndex
from service.exposure.schemas import Exposure, WorkersInZoneQuery, ZoneQuery
from service.openapi import problems, raises
from service.pagination import CursorParam, LimitParam, Page, decode_cursor, encode_cursor
from service.registry.access import visibility_clause, visible_fields
from service.registry.models import Worker
from service.registry.router import ProtectorDep, rate_limit
from service.registry.schemas import WorkerPublic
from service.registry.service import present

router = APIRouter(prefix="/exposure", tags=["exposure"])

Reader = Annotated[Principal, Depends(authorize(Permission.EXPOSURE_READ))]
Lister = Annotated[Principal, Depends(authorize(Permission.EXPOSURE_LIST))]
CSV_LIMIT = 50_000


class IndexNotReady(LifelineError):
    status, code, title = 503, "index-not-ready", "The exposure index is still loading"


@raises(503)
async def current_index(request: Request) -> RegisterIndex:
    """The process's index, brought up to date with the register before it answers."""
    index: RegisterIndex = request.app.state.register_index
    try:
        await asyncio.wait_for(index.ready.wait(), timeout=30)
    except TimeoutError as exc:
        raise IndexNotReady("The register is still being loaded; try again in a minute") from exc
    await index.refresh()
    return index


IndexDep = Annotated[RegisterIndex, Depends(current_index)]


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
    after = decode_cursor(cursor)
    if after is not None and not isinstance(after, int):
        raise InvalidInput(
            "The cursor is not one this list gave out",
            errors=[{"loc": ["query", "cursor"], "msg": "invalid"}],
        )
    if after is not None:
        pks = pks[pks > after]
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
    next_cursor = encode_cursor(shown[-1].pk) if len(rows) > limit and shown else None
    return Page[WorkerPublic](
        items=[WorkerPublic.model_validate(i) for i in items], next_cursor=next_cursor
    )
