"""A crisis's map for a file (``GET /crises/{id}/map``): its zone versions and the provinces hit,
each with the count the caller may see, exactly that of ``GET /crises/{id}/exposure`` for them
(``exposure_seen_by``: exact within need-to-know, else rounded with small cells withheld, and a
withheld province is no feature). No point of a person is in it, unless one allowed to list
people asks for them (``people=true``): then a ``people`` layer holds a point for each worker
``GET /crises/{id}/workers`` would list for them (``map_people``), with what planning needs of
them and no more (``PERSON_PROPERTIES``: never a name, a phone or a documentation status)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from shapely.geometry import Point, shape
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from geo.admin import AdminAreas
from service.audit.service import record
from service.auth.principal import Principal
from service.crises.exposure import exposure_seen_by
from service.crises.models import Crisis, CrisisZone
from service.crises.service import latest_zone
from service.errors import NotFound
from service.exports.geo import MapFeature
from service.exports.tables import size_headers
from service.exposure.people import PeopleAsked, people_in
from service.registry.unseen import Explained

#: What a point of the ``people`` layer says of the worker (and ``exercise``), nothing else.
PERSON_PROPERTIES = ("id", "nationality", "admin1", "accompanying_family", "vulnerable")
#: The fields a point is made of: no other is read (a name, a phone is never opened).
_POINT_FIELDS = frozenset(
    {"nationality", "admin1", "accompanying_family", "vulnerabilities", "location"}
)
#: Points of people in one map file at most (a GIS opens them at once, unlike a table).
PEOPLE_LIMIT = 50_000


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


@dataclass(frozen=True, slots=True)
class MapPeople:
    """The points of people of a map file: each worker's location and ``PERSON_PROPERTIES``,
    and the counts that explain the list (``None`` without a zone: nobody is in it)."""

    points: list[dict[str, Any]]
    counts: Explained | None
    #: The people the map was to hold (the list's rows up to the cap), as counted when it began.
    written: int = 0

    @property
    def truncated(self) -> bool:
        """Whether more people were listed than a file holds (``PEOPLE_LIMIT``)."""
        return self.counts is not None and self.written < self.counts.listed

    def headers(self) -> dict[str, str]:
        """The counts as response headers, as a people CSV says them; the points written, and
        the cap when it cut them; no caching."""
        said = self.counts.headers() if self.counts is not None else {}
        # Where people are: kept by no cache between the service and the caller.
        said["Cache-Control"] = "no-store"
        cut = f"{PEOPLE_LIMIT} points of people at most in one map: narrow the zone"
        said.update(size_headers(len(self.points), cut if self.truncated else None))
        return said


def _point(item: dict[str, Any]) -> dict[str, Any]:
    vulnerable = bool(item.get("vulnerabilities"))
    found = {name: item.get(name) for name in PERSON_PROPERTIES if name != "vulnerable"}
    return {**found, "vulnerable": vulnerable, "location": item["location"]}


async def map_people(
    session: AsyncSession, asked: PeopleAsked, *, crisis: Crisis, format: str
) -> MapPeople:
    """The workers in the crisis's latest zone the caller may read, exactly those of its list
    of people (``service.exposure.people.people_in``, as a download of ``asked.cap`` rows at
    most): audited there, as one export (``exposure.exported``, with the map's format) and a
    chunk at a time with the ids (``exposure.list``). The request's unit of work is committed
    first: the chunks are read, and audited, in a session of their own."""
    zone = await latest_zone(session, crisis.id)
    if zone is None:
        return MapPeople([], None)
    geometry = await asked.budget.run(shape, zone.geometry)
    found = await people_in(
        session,
        asked,
        zone=geometry,
        audit_detail={"crisis_id": crisis.id, "zone_version": zone.version, "map": format},
    )
    await session.commit()
    points: list[dict[str, Any]] = []
    assert found.download is not None
    async for batch in found.download.presented(_POINT_FIELDS):
        # Everyone in a zone has a location; a record read without one is no point.
        points.extend(_point(item) for item in batch if item.get("location"))
    return MapPeople(points, found.counts, found.written)


def map_features(found: CrisisMap, people: MapPeople | None = None) -> list[MapFeature]:
    """The features of the map file: each zone version (the latest marked), then each province
    the exposure counts workers in, with its count, then the points of ``people`` (when
    asked), named by the worker's id; every one marked ``exercise``. Geometry work: run it in
    a geometry thread."""
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
    for point in people.points if people is not None else []:
        where = point["location"]
        features.append(
            MapFeature(
                "people",
                str(point["id"]),
                Point(where["lon"], where["lat"]),
                {
                    **{name: point[name] for name in PERSON_PROPERTIES},
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
    people: MapPeople | None = None,
) -> None:
    """The export in the audit log: its format and how many features of each kind, no more
    (the ids of the people in it are in the list's own entry, ``exposure.list``)."""
    counted = {
        "format": format,
        "zones": sum(f.kind == "zones" for f in features),
        "areas": sum(f.kind == "areas" for f in features),
    }
    if people is not None:
        counted["people"] = len(people.points)
        counted["people_truncated"] = people.truncated
    record(
        session,
        actor=actor,
        action="crisis.map_exported",
        subject_type="crisis",
        subject_id=crisis.id,
        detail={**counted, "exercise": crisis.exercise},
    )
