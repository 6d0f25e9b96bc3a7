"""Crisis use cases: open, join, re-zone, stand down, change phase or alert level, and the
timeline that records each of them."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import shapely
from shapely.geometry import shape
from shapely.geometry.base import BaseGeometry
from sqlmodel import col, func, select
from sqlmodel.ext.asyncio.session import AsyncSession

from geo.limits import check_complexity
from service.auth.principal import Principal
from service.changes import Guard, record_change
from service.crises.models import (
    Crisis,
    CrisisAlert,
    CrisisZone,
    ExposureSnapshot,
    Phase,
)
from service.crises.rules import JOIN_WINDOW_HOURS
from service.db import utcnow
from service.errors import InvalidInput, PreconditionFailed
from service.geowork import Budget
from service.lookups import get_or_404
from service.pagination import Page, paginate


async def event(
    session: AsyncSession, crisis: Crisis, kind: str, actor: Principal, **detail: Any
) -> None:
    """One entry on the crisis timeline, with its webhook event and its audit event."""
    await record_change(
        session,
        actor=actor,
        crisis_id=crisis.id,
        exercise=crisis.exercise,
        kind=kind,
        detail=detail,
        event={"hazard": crisis.hazard, "alert_level": crisis.alert_level},
    )


async def task_event(
    session: AsyncSession,
    *,
    crisis_id: str,
    exercise: bool,
    kind: str,
    actor: Principal,
    guard: Guard | None = None,
    **detail: Any,
) -> bool:
    """A task's change on its crisis timeline, without reading the crisis (the hot path of task
    updates). An API call is already in the audit log by its route; other callers get an audit
    event of the change. False when ``guard`` found the task changed (nothing written)."""
    return await record_change(
        session,
        actor=actor,
        crisis_id=crisis_id,
        exercise=exercise,
        kind=kind,
        detail=detail,
        audit=actor.channel != "api",
        guard=guard,
    )


async def latest_zone(session: AsyncSession, crisis_id: str) -> CrisisZone | None:
    query = (
        select(CrisisZone)
        .where(CrisisZone.crisis_id == crisis_id)
        .order_by(col(CrisisZone.version).desc())
    )
    return (await session.exec(query)).first()


def together(*zones: BaseGeometry) -> None:
    """Refuse to compare or unite zones whose edges, taken together, overlap in more pairs than
    ``MAX_OVERLAPS``: each zone alone is within it, but a star over a comb is not, and GEOS
    would spend minutes and gigabytes on the crossings (``GeometryLimitExceeded``)."""
    check_complexity(shapely.GeometryCollection(list(zones)))


def same_zone(a: dict[str, Any], b: dict[str, Any]) -> bool:
    """Whether two GeoJSON zones cover the same area (geometry work: run it in a thread)."""
    first, second = shape(a), shape(b)
    together(first, second)
    return bool(shapely.equals(first, second))


def first_overlapping(zones: list[dict[str, Any]], zone: dict[str, Any]) -> int | None:
    """The position of the first of ``zones`` that overlaps ``zone`` (geometry work)."""
    geometry = shape(zone)
    shapely.prepare(geometry)
    for i, other in enumerate(shape(z) for z in zones):
        together(geometry, other)
        if shapely.intersects(geometry, other):
            return i
    return None


async def add_zone(
    session: AsyncSession,
    crisis: Crisis,
    geometry: dict[str, Any],
    *,
    source: str,
    actor: Principal,
    budget: Budget,
) -> CrisisZone | None:
    """A new zone version, unless the geometry is the same as the current one."""
    current = await latest_zone(session, crisis.id)
    if current is not None and await budget.run(same_zone, current.geometry, geometry):
        return None
    zone = CrisisZone(
        crisis_id=crisis.id,
        version=(current.version + 1) if current else 1,
        geometry=geometry,
        source=source,
    )
    session.add(zone)
    await session.flush()
    await event(session, crisis, "zone_changed", actor, zone_version=zone.version, source=source)
    return zone


async def snapshot(
    session: AsyncSession, crisis: Crisis, zone: CrisisZone, counts: dict[str, Any]
) -> ExposureSnapshot:
    taken = ExposureSnapshot(crisis_id=crisis.id, zone_version=zone.version, counts=counts)
    session.add(taken)
    await session.flush()
    return taken


async def latest_snapshot(session: AsyncSession, crisis_id: str) -> ExposureSnapshot | None:
    query = (
        select(ExposureSnapshot)
        .where(ExposureSnapshot.crisis_id == crisis_id)
        .order_by(col(ExposureSnapshot.taken_at).desc(), col(ExposureSnapshot.id).desc())
    )
    return (await session.exec(query)).first()


async def open_crisis(
    session: AsyncSession,
    *,
    actor: Principal,
    title: str,
    hazard: str,
    severity: str,
    exercise: bool,
    countries: list[str],
    opened_by: str,
    phase: str = Phase.RESPONSE.value,
    alert_level: int = 1,
    why: str = "",
) -> Crisis:
    crisis = Crisis(
        title=title[:300],
        hazard=hazard,
        severity=severity,
        exercise=exercise,
        countries=sorted(set(countries)),
        opened_by=opened_by,
        phase=phase,
        alert_level=alert_level,
    )
    session.add(crisis)
    await session.flush()
    await event(session, crisis, "opened", actor, why=why, exercise=exercise, hazard=hazard)
    return crisis


async def link_alert(
    session: AsyncSession, crisis: Crisis, *, alert_id: str, version: str, actor: Principal
) -> bool:
    """Tie an alert version to the crisis; False when it already was."""
    existing = (
        await session.exec(
            select(CrisisAlert).where(
                CrisisAlert.crisis_id == crisis.id, CrisisAlert.alert_id == alert_id
            )
        )
    ).first()
    if existing is not None:
        if existing.alert_version == version:
            return False
        existing.alert_version = version
        session.add(existing)
        await event(
            session, crisis, "alert_updated", actor, alert_id=alert_id, alert_version=version
        )
        return True
    session.add(CrisisAlert(crisis_id=crisis.id, alert_id=alert_id, alert_version=version))
    await session.flush()
    await event(session, crisis, "alert_linked", actor, alert_id=alert_id, alert_version=version)
    return True


async def crisis_of_alert(session: AsyncSession, alert_id: str) -> Crisis | None:
    link = (await session.exec(select(CrisisAlert).where(CrisisAlert.alert_id == alert_id))).first()
    return await session.get(Crisis, link.crisis_id) if link else None


async def overlapping_crisis(
    session: AsyncSession,
    *,
    hazard: str,
    exercise: bool,
    zone: dict[str, Any],
    budget: Budget,
    hours: int = JOIN_WINDOW_HOURS,
) -> Crisis | None:
    """An open crisis of the same hazard whose zone overlaps ``zone``, changed within the window."""
    since = utcnow() - timedelta(hours=hours)
    query = select(Crisis).where(
        Crisis.hazard == hazard,
        Crisis.exercise == exercise,
        col(Crisis.stood_down).is_(False),
        Crisis.phase != Phase.CLOSED.value,
        col(Crisis.updated_at) >= since,
    )
    candidates: list[tuple[Crisis, dict[str, Any]]] = []
    for crisis in (await session.exec(query)).all():
        current = await latest_zone(session, crisis.id)
        if current is not None:
            candidates.append((crisis, current.geometry))
    found = await budget.run(first_overlapping, [g for _, g in candidates], zone)
    return None if found is None else candidates[found][0]


async def stand_down(
    session: AsyncSession, crisis: Crisis, *, actor: Principal, reason: str
) -> None:
    if crisis.stood_down:
        return
    crisis.stood_down = True
    crisis.updated_at = utcnow()
    crisis.version += 1
    session.add(crisis)
    await event(session, crisis, "stood_down", actor, reason=reason)


async def get_crisis(session: AsyncSession, crisis_id: str) -> Crisis:
    return await get_or_404(session, Crisis, crisis_id, noun="crisis")


async def list_crises(
    session: AsyncSession,
    *,
    limit: int,
    cursor: str | None,
    phase: str | None,
    hazard: str | None,
    exercise: bool | None = None,
) -> Page[Crisis]:
    """Newest first (by id, which is time-ordered); ``exercise``: drills only (True), real
    crises only (False), or both (None)."""
    query = select(Crisis)
    if phase:
        query = query.where(Crisis.phase == phase)
    if hazard:
        query = query.where(Crisis.hazard == hazard)
    if exercise is not None:
        query = query.where(col(Crisis.exercise).is_(exercise))
    return await paginate(
        session, query, key=[col(Crisis.id)], limit=limit, cursor=cursor, descending=True
    )


async def change(
    session: AsyncSession,
    crisis: Crisis,
    *,
    actor: Principal,
    if_match: int,
    changes: dict[str, Any],
) -> list[str]:
    """Apply a coordinator's changes (phase, alert level, title, severity); each is an event."""
    if if_match != crisis.version:
        raise PreconditionFailed(
            f"The crisis changed since version {if_match}",
            extra={"current_version": crisis.version},
        )
    done: list[str] = []
    for name in ("phase", "alert_level", "title", "severity", "intake"):
        if name in changes and changes[name] is not None and getattr(crisis, name) != changes[name]:
            before = getattr(crisis, name)
            setattr(crisis, name, changes[name])
            await event(
                session, crisis, f"{name}_changed", actor, before=before, after=changes[name]
            )
            done.append(name)
    if done:
        crisis.version += 1
        crisis.updated_at = utcnow()
        session.add(crisis)
    return done


async def zones_count(session: AsyncSession, crisis_id: str) -> int:
    return int(
        (await session.exec(select(func.count()).where(CrisisZone.crisis_id == crisis_id))).one()
    )


def check_level(level: int) -> int:
    if not 1 <= level <= 4:
        raise InvalidInput(
            "alert_level is 1 to 4", errors=[{"loc": ["body", "alert_level"], "msg": "1 to 4"}]
        )
    return level
