"""A crisis's own list of people: the workers in its current zone, by the rules of every list of
people (``service.exposure.people``), so that nobody copies a crisis's polygon by hand."""

from __future__ import annotations

from shapely.geometry import shape
from sqlmodel.ext.asyncio.session import AsyncSession

from service.crises.service import get_crisis, latest_zone
from service.errors import NotFound
from service.exposure.people import People, PeopleAsked, people_in


async def people_of_crisis(session: AsyncSession, asked: PeopleAsked, *, crisis_id: str) -> People:
    """The people strictly inside the crisis's latest zone (404 for no crisis, or no zone yet),
    audited with the crisis and the zone version they were read for."""
    await get_crisis(session, crisis_id)
    zone = await latest_zone(session, crisis_id)
    if zone is None:
        raise NotFound("This crisis has no zone yet")
    geometry = await asked.budget.run(shape, zone.geometry)
    return await people_in(
        session,
        asked,
        zone=geometry,
        audit_detail={"crisis_id": crisis_id, "zone_version": zone.version},
    )
