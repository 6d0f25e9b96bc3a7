"""Aggregate population groups: counts without personal data, at a point or over an area."""

from __future__ import annotations

import hashlib
import json
from typing import Any

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from service.audit.service import record
from service.auth.principal import Principal
from service.errors import InvalidInput
from service.geowork import Budget
from service.pagination import Page, paginate
from service.registry.locate import Locator
from service.registry.models import PopulationGroup
from service.registry.schemas import PopulationCreate


def _key(data: PopulationCreate) -> str:
    """Same group, same key: a group sent twice is recorded once."""
    canonical = json.dumps(data.model_dump(mode="json"), sort_keys=True)
    return hashlib.sha256(canonical.encode()).hexdigest()


async def create_group(
    session: AsyncSession,
    *,
    actor: Principal,
    locator: Locator,
    data: PopulationCreate,
    budget: Budget | None = None,
) -> tuple[PopulationGroup, bool]:
    """Record a group (``budget``: the request's geometry deadline; the area is read in a
    geometry thread within it, or here without one)."""
    if (data.location is None) == (data.area is None):
        raise InvalidInput(
            "Give either a location (a point) or an area (a polygon), not both and not neither",
            errors=[{"loc": ["body", "area"], "msg": "exactly one of location and area"}],
        )
    if data.female is not None and data.female > data.count:
        raise InvalidInput(
            "female cannot exceed count",
            errors=[{"loc": ["body", "female"], "msg": "greater than count"}],
        )
    key = _key(data)
    existing = (
        await session.exec(select(PopulationGroup).where(PopulationGroup.key == key))
    ).first()
    if existing is not None:
        return existing, False
    area = None
    country = admin1 = None
    if data.area is not None:
        from geo.errors import GeometryError
        from geo.geojson import parse_geojson

        try:
            if budget is None:
                parsed = parse_geojson(data.area)
            else:
                parsed = await budget.run(parse_geojson, data.area)
        except GeometryError as exc:
            raise InvalidInput(
                f"The area is not a usable polygon: {exc.reason}",
                errors=[{"loc": ["body", "area", *exc.loc], "msg": exc.reason}],
            ) from exc
        area = parsed.to_geojson()
        centre = parsed.geometry.representative_point()
        placed = locator.locate(lon=centre.x, lat=centre.y)
        country, admin1 = placed.country, placed.admin1
    else:
        assert data.location is not None
        placed = locator.locate(lon=data.location.lon, lat=data.location.lat)
        if placed.doubtful:
            raise InvalidInput(
                f"The location looks wrong: {placed.explain()}",
                errors=[{"loc": ["body", "location"], "msg": placed.explain()}],
            )
        country, admin1 = placed.country, placed.admin1
    group = PopulationGroup(
        nationality=data.nationality,
        count=data.count,
        female=data.female,
        sector=data.sector.value if data.sector else None,
        lat=data.location.lat if data.location else None,
        lon=data.location.lon if data.location else None,
        area=area,
        country=country,
        admin1=admin1,
        source=data.source,
        as_of=data.as_of,
        key=key,
        created_by=actor.organization_id,
    )
    session.add(group)
    await session.flush()
    record(
        session,
        actor=actor,
        action="population.create",
        subject_type="population",
        subject_id=group.id,
        detail={"nationality": group.nationality, "count": group.count},
    )
    return group, True


async def list_groups(
    session: AsyncSession,
    *,
    limit: int,
    cursor: str | None,
    nationality: str | None,
    country: str | None,
) -> Page[PopulationGroup]:
    query = select(PopulationGroup)
    if nationality:
        query = query.where(PopulationGroup.nationality == nationality)
    if country:
        query = query.where(PopulationGroup.country == country)
    return await paginate(session, query, key=[col(PopulationGroup.id)], limit=limit, cursor=cursor)


def public(group: PopulationGroup) -> dict[str, Any]:
    out = group.model_dump(exclude={"lat", "lon", "key", "created_by", "created_at"})
    out["location"] = {"lat": group.lat, "lon": group.lon} if group.lat is not None else None
    return out
