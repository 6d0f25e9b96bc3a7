"""A crisis's map for a file (``GET /crises/{id}/map``): its zone versions and the provinces hit,
each with the count the caller may see, exactly that of ``GET /crises/{id}/exposure`` for them
(``exposure_seen_by``: exact within need-to-know, else rounded with small cells withheld, and a
withheld province is no feature). No point of a person is in it."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from shapely.geometry import shape
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from geo.admin import AdminAreas
from service.audit.service import record
from service.auth.principal import Principal
from service.crises.exposure import exposure_seen_by
from service.crises.models import Crisis, CrisisZone
from service.errors import NotFound
from service.exports.geo import MapFeature


@dataclass(frozen=True, slots=True)
class CrisisMap:
    """What a crisis's map file is made of, read from the database."""

    crisis_id: str
    exercise: bool
    zones: list[CrisisZone]
    #: The exposure as the caller sees it (``exposure_seen_by``); empty without a zone.
    seen: dict[str, Any]


async def crisis_map(
    session: AsyncSession, *, actor: Principal, crisis: Crisis, threshold: int
) -> CrisisMap:
    """The crisis's zone versions, oldest first, and its exposure as ``actor`` sees it."""
    zones = (
        await session.exec(
            select(CrisisZone)
            .where(CrisisZone.crisis_id == crisis.id)
            .order_by(col(CrisisZone.version))
        )
    ).all()
    try:
        seen = await exposure_seen_by(
            session, actor=actor, crisis_id=crisis.id, threshold=threshold
        )
    except NotFound:  # no zone yet: no province hit either
        seen = {}
    return CrisisMap(crisis.id, crisis.exercise, list(zones), seen)


def map_features(found: CrisisMap) -> list[MapFeature]:
    """The features of the map file: each zone version (the latest marked), then each province
    the exposure counts workers in, with its count; every one marked ``exercise``. Geometry
    work: run it in a geometry thread."""
    features = [
        MapFeature(
            "zones",
            f"zone version {zone.version}",
            shape(zone.geometry),
            {
                "version": zone.version,
                "source": zone.source,
                "created_at": zone.created_at.isoformat(),
                "latest": i == len(found.zones) - 1,
                "exercise": found.exercise,
            },
        )
        for i, zone in enumerate(found.zones)
    ]
    areas = AdminAreas.load()
    names = found.seen.get("admin1_names", {})
    for code, workers in sorted(found.seen.get("by_admin1", {}).items()):
        outline = areas.admin1_geometry(code)
        if outline is None:  # "unknown": workers outside the shipped provinces
            continue
        features.append(
            MapFeature(
                "areas",
                names.get(code) or code,
                outline,
                {
                    "admin1": code,
                    "workers": workers,
                    "exact": bool(found.seen.get("exact")),
                    "zone_version": found.seen.get("zone_version"),
                    "exercise": found.exercise,
                },
            )
        )
    return features


def audit_export(
    session: AsyncSession,
    *,
    actor: Principal,
    crisis: Crisis,
    format: str,
    features: list[MapFeature],
) -> None:
    """The export in the audit log: its format and how many features of each kind, no more."""
    record(
        session,
        actor=actor,
        action="crisis.map_exported",
        subject_type="crisis",
        subject_id=crisis.id,
        detail={
            "format": format,
            "zones": sum(f.kind == "zones" for f in features),
            "areas": sum(f.kind == "areas" for f in features),
            "exercise": crisis.exercise,
        },
    )
