"""``/api/v1/exposure``: who is in a zone."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Request

from service.audit.service import record
from service.deps import SessionDep
from service.exports import tables
from service.exposure import service
from service.exposure.dependencies import IndexDep, Lister, Reader
from service.exposure.people import PeopleAsked, people_csv, people_in, people_page
from service.exposure.schemas import Exposure, WorkersInZoneQuery, ZoneQuery
from service.openapi import problems
from service.pagination import CursorParam, LimitParam
from service.registry.dependencies import ProtectorDep, rate_limit
from service.registry.schemas import PeoplePage

router = APIRouter(prefix="/exposure", tags=["exposure"])


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
    response_model=PeoplePage,
    responses={**tables.ANSWER, **problems(429)},
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
        str, Query(pattern=tables.PATTERN, description="csv, xlsx: every row at once")
    ] = "json",
) -> Any:
    """The workers in the zone whose personal data you may read (your own nationals, for consular
    staff), oldest registration first, with how many more match and are not shown, and why.
    Every list is audited with the ids it returned."""
    rate_limit(request, actor)
    budget = request.app.state.geometry.budget()
    zone = await service.zone_of(query, budget)
    asked = PeopleAsked(
        actor=actor,
        index=index,
        budget=budget,
        protect=protect,
        threshold=request.app.state.settings.suppress_below,
        nationalities=[query.nationality] if query.nationality else None,
        own_country=query.nationals_in_own_country,
        limit=limit,
        cursor=cursor,
        download=format if format in tables.FORMATS else None,
        sessions=request.app.state.sessionmaker,
    )
    found = await people_in(session, asked, zone=zone.geometry, audit_detail={})
    if format in tables.FORMATS:
        return people_csv(found, "workers-in-zone.csv", format)
    return people_page(found)
