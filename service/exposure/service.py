"""Exposure use cases: how many in a zone (aggregates, need-to-know applied), and who."""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import shapely
from shapely.geometry import shape
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from geo.admin import AdminAreas
from geo.area import area_share
from geo.circles import geodesic_circle
from geo.errors import GeometryError
from geo.exposure import ExposureCounts
from geo.geojson import parse_geojson
from geo.geometry import Zone
from geo.suppress import suppress, suppress_total
from service.auth.permissions import Role
from service.auth.principal import Principal
from service.exposure.index import RegisterIndex
from service.exposure.schemas import AreaGroupShare, Exposure, ZoneQuery
from service.geowork import Budget, zone_problem
from service.registry.access import is_outsider
from service.registry.models import PopulationGroup

BREAKDOWNS = ("by_nationality", "by_country", "by_admin1", "by_sector", "by_sex")


def _zone(query: ZoneQuery) -> Zone:
    if query.circle is not None:
        c = query.circle
        return Zone(geodesic_circle(c.lon, c.lat, c.radius_m))
    assert query.geometry is not None
    return parse_geojson(query.geometry)


async def zone_of(query: ZoneQuery, budget: Budget) -> Zone:
    """The zone asked for, checked off the event loop; a bad one is a 422 naming the problem,
    its place and the limit it exceeds."""
    try:
        return await budget.run(_zone, query)
    except GeometryError as exc:
        raise zone_problem(exc, ["body", "geometry"]) from exc


@dataclass
class Tally:
    """Exact counts: workers from the index plus population groups."""

    workers: int
    groups: float
    breakdowns: dict[str, Counter[str]]
    family: int
    vulnerable: int
    area_groups: list[AreaGroupShare]
    #: Workers and group members located in their own country of nationality, apart.
    nationals_in_own_country: float = 0.0


def _tally(counts: ExposureCounts, groups: Sequence[PopulationGroup], zone: Zone) -> Tally:
    breakdowns: dict[str, Counter[str]] = {
        name: Counter(getattr(counts, name)) for name in BREAKDOWNS
    }
    group_total = 0.0
    at_home = float(counts.nationals_in_own_country)
    area_groups = []
    shapely.prepare(zone.geometry)
    for group in groups:
        if group.area is not None:
            share = area_share(shape(group.area), zone.geometry, zone_checked=True)
            if share <= 0:
                continue
            counted = group.count * share
            area_groups.append(
                AreaGroupShare(
                    id=group.id,
                    nationality=group.nationality,
                    count=group.count,
                    share=round(share, 4),
                    counted=round(counted, 1),
                )
            )
        elif (
            group.lon is not None
            and group.lat is not None
            and shapely.contains_xy(zone.geometry, group.lon, group.lat)
        ):
            counted = float(group.count)
        else:
            continue
        if group.country is not None and group.country == group.nationality:
            # Nationals in their own country are no migrant population: counted apart.
            at_home += counted
            continue
        group_total += counted
        whole = round(counted)
        breakdowns["by_nationality"][group.nationality] += whole
        breakdowns["by_country"][group.country or "unknown"] += whole
        breakdowns["by_admin1"][group.admin1 or "unknown"] += whole
        breakdowns["by_sector"][group.sector or "unknown"] += whole
        if group.female is not None:
            female = round(group.female * counted / group.count)
            breakdowns["by_sex"]["F"] += female
            breakdowns["by_sex"]["M"] += whole - female
        else:
            breakdowns["by_sex"]["unknown"] += whole
    return Tally(
        counts.workers,
        group_total,
        breakdowns,
        counts.accompanying_family,
        counts.vulnerable,
        area_groups,
        at_home,
    )


def sees_exactly(principal: Principal) -> bool:
    """Coordinators and admins plan the response: they get exact aggregates (no names)."""
    return principal.role in {Role.ADMIN, Role.COORDINATOR} and not is_outsider(principal)


def _tally_and_countries(
    counts: ExposureCounts, groups: Sequence[PopulationGroup], zone: Zone
) -> tuple[Tally, list[str]]:
    return _tally(counts, groups, zone), AdminAreas.load().countries_intersecting(zone.geometry)


def admin1_names(by_admin1: Mapping[str, Any]) -> dict[str, str]:
    """The names of the subdivision codes of a ``by_admin1`` breakdown (shipped boundaries)."""
    return AdminAreas.load().names_of_admin1(by_admin1)


#: What an exposure answer counts, by who asks (its ``basis``).
EXACT_BASIS = (
    "exact: every registered migrant worker in the zone, whatever their consent, plus the "
    "population groups; workers located in their own country of nationality are counted only "
    "in nationals_in_own_country"
)
ROUNDED_BASIS = (
    "rounded to {step} with cells under {threshold} withheld, as for everyone outside the "
    "need-to-know; workers located in their own country of nationality are counted only in "
    "nationals_in_own_country"
)
SNAPSHOT_BASIS = (
    "exact: every registered migrant worker in the zone version when the snapshot was taken, "
    "whatever their consent (population groups are not in a snapshot); workers located in "
    "their own country of nationality are counted only in nationals_in_own_country (absent "
    "from snapshots taken before they were counted apart)"
)
OWN_NATIONALS_BASIS = (
    "exact: every registered worker of your nationalities in the countries your post covers, "
    "whatever their consent (the list of people says how many of them it does not show and "
    "why); those located in their own country of nationality only in nationals_in_own_country"
)


def rounded_basis(threshold: int) -> str:
    return ROUNDED_BASIS.format(step=5, threshold=threshold)


async def exposure(
    session: AsyncSession,
    *,
    actor: Principal,
    index: RegisterIndex,
    zone: Zone,
    threshold: int,
    budget: Budget,
) -> Exposure:
    counts = await budget.run(index.index.query, zone.geometry, deadline=budget.deadline)
    minx, miny, maxx, maxy = zone.geometry.bounds
    groups = (
        await session.exec(
            select(PopulationGroup).where(
                (col(PopulationGroup.area).is_not(None))
                | (
                    (col(PopulationGroup.lon) >= minx)
                    & (col(PopulationGroup.lon) <= maxx)
                    & (col(PopulationGroup.lat) >= miny)
                    & (col(PopulationGroup.lat) <= maxy)
                )
            )
        )
    ).all()
    tally, countries = await budget.run(_tally_and_countries, counts, groups, zone)
    total = tally.workers + round(tally.groups)
    at_home = round(tally.nationals_in_own_country)
    if sees_exactly(actor):
        exact = {name: dict(sorted(tally.breakdowns[name].items())) for name in BREAKDOWNS}
        return Exposure(
            total=total,
            workers=tally.workers,
            population_groups=round(tally.groups),
            **exact,
            admin1_names=admin1_names(exact["by_admin1"]),
            accompanying_family=tally.family,
            vulnerable=tally.vulnerable,
            nationals_in_own_country=at_home,
            suppressed_below=None,
            exact=True,
            basis=EXACT_BASIS,
            area_groups=tally.area_groups,
            countries=countries,
            repairs=zone.repairs,
        )
    own: dict[str, Any] | None = None
    mine = (
        sorted(actor.nationalities)
        if actor.role is Role.CONSULAR_OFFICER and not is_outsider(actor)
        else []
    )
    if mine:
        # Exact only where the post serves them; elsewhere its nationals are in the suppressed
        # counts like everyone else's.
        covers = sorted(actor.covers)
        own_counts = await budget.run(
            index.index.query,
            zone.geometry,
            nationalities=mine,
            countries=covers,
            deadline=budget.deadline,
        )
        own = {
            "nationalities": mine,
            "countries": covers,
            "workers": own_counts.workers,
            **{name: getattr(own_counts, name) for name in BREAKDOWNS if name != "by_nationality"},
            "by_nationality": own_counts.by_nationality,
            "accompanying_family": own_counts.accompanying_family,
            "vulnerable": own_counts.vulnerable,
            "admin1_names": admin1_names(own_counts.by_admin1),
            "nationals_in_own_country": own_counts.nationals_in_own_country,
            "basis": OWN_NATIONALS_BASIS,
        }

    def cut(value: int) -> int | None:
        return suppress_total(value, threshold=threshold)

    rounded = {name: suppress(tally.breakdowns[name], threshold=threshold) for name in BREAKDOWNS}
    return Exposure(
        total=cut(total),
        workers=cut(tally.workers),
        population_groups=cut(round(tally.groups)),
        **rounded,
        admin1_names=admin1_names(rounded["by_admin1"]),
        accompanying_family=cut(tally.family),
        vulnerable=cut(tally.vulnerable),
        nationals_in_own_country=cut(at_home),
        suppressed_below=threshold,
        exact=False,
        basis=rounded_basis(threshold),
        own_nationals=own,
        area_groups=[],
        countries=countries,
        repairs=zone.repairs,
    )
