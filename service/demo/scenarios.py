"""The demo's scenarios: three zones to count who is exposed in, and a drill that takes a CAP
flood warning through the crisis pass and the playbooks."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel import select
from sqlmodel.ext.asyncio.session import AsyncSession

from geo.admin import AdminAreas
from integrations.cap import parse_cap
from service.alerts.service import store_alert
from service.auth.principal import Principal
from service.crises.models import Crisis
from service.crises.service import crisis_of_alert
from service.db import session_scope
from service.directory.models import Organization
from service.exposure.index import RegisterIndex
from service.flows.alert_pass import process_pending
from service.tasks.models import Task

#: Scenario zones over real places, for the demo's first exposure.
KLANG_VALLEY_FLOOD: dict[str, object] = {
    "type": "Polygon",
    "coordinates": [
        [
            [101.40, 2.98],
            [101.55, 2.95],
            [101.70, 3.02],
            [101.74, 3.12],
            [101.66, 3.22],
            [101.52, 3.20],
            [101.42, 3.10],
            [101.40, 2.98],
        ]
    ],
}
SCENARIOS: tuple[tuple[str, dict[str, object]], ...] = (
    (
        "Flood over the Klang Valley (Kuala Lumpur, Shah Alam, Klang)",
        {"geometry": KLANG_VALLEY_FLOOD},
    ),
    (
        "Earthquake scenario: 150 km around Bangkok",
        {"circle": {"lat": 13.7563, "lon": 100.5018, "radius_m": 150_000}},
    ),
    (
        "Cyclone scenario: 200 km around Hong Kong",
        {"circle": {"lat": 22.3193, "lon": 114.1694, "radius_m": 200_000}},
    ),
)


#: A flood warning over the Klang Valley, as MetMalaysia would send it in CAP, marked as an
#: exercise: the demo's crisis is a drill, and nothing it produces may reach a real person.
DRILL_CAP_TEMPLATE = """<?xml version="1.0" encoding="UTF-8"?>
<alert xmlns="urn:oasis:names:tc:emergency:cap:1.2">
  <identifier>LIFELINE-DEMO-KLANG-FLOOD-1</identifier>
  <sender>demo.lifeline</sender>
  <sent>2026-11-24T06:00:00+08:00</sent>
  <status>Exercise</status>
  <msgType>Alert</msgType>
  <scope>Public</scope>
  <info>
    <language>en</language>
    <category>Met</category>
    <event>Flood</event>
    <urgency>Immediate</urgency>
    <severity>Severe</severity>
    <certainty>Observed</certainty>
    <headline>Flash floods in the Klang Valley (drill)</headline>
    <area>
      <areaDesc>Kuala Lumpur, Shah Alam, Klang</areaDesc>
      <polygon>{polygon}</polygon>
    </area>
  </info>
</alert>"""
# CAP writes latitude first.
DRILL_CAP = DRILL_CAP_TEMPLATE.format(
    polygon=" ".join(f"{lat},{lon}" for lon, lat in KLANG_VALLEY_FLOOD["coordinates"][0])  # type: ignore[index]
).encode()


@dataclass(frozen=True, slots=True)
class CoverageGap:
    """A role nobody in the directory fills for one scope of the crisis, and its tasks."""

    role: str
    scope: str
    tasks: int

    def __str__(self) -> str:
        task_s = "task" if self.tasks == 1 else "tasks"
        return f"no {self.role.replace('_', ' ')} for {self.scope} ({self.tasks} {task_s})"


@dataclass(frozen=True, slots=True)
class DrillSummary:
    crisis_id: str | None
    title: str
    tasks: list[tuple[str, str, str, bool]]  # (organisation, title, status, coverage gap)
    gaps: list[CoverageGap] = field(default_factory=list)


def _named(part: str) -> str:
    """A province by its name and code (``Selangor (MY-10)``); a country code as it is."""
    if "-" not in part:
        return part
    name = AdminAreas.load().admin1_name(part)
    return f"{name} ({part})" if name else part


def coverage_gaps(tasks: Sequence[tuple[str, str | None, bool]]) -> list[CoverageGap]:
    """The gaps among (task key, actor role, coverage gap) triples: one per role and scope.

    A missing embassy leaves several tasks undone (hotline, contact, documents, ...); it is one
    gap. The scope is the key's suffix the playbook engine adds per nationality and country
    (``@PHL@MYS``), province (``@MY-10``) or nothing (the whole crisis)."""
    counts: dict[tuple[str, str], int] = {}
    for key, role, gap in tasks:
        if not gap:
            continue
        parts = key.split("@")[1:]
        scope = " in ".join(_named(p) for p in parts) if parts else "the crisis"
        counts[(role or "unknown", scope)] = counts.get((role or "unknown", scope), 0) + 1
    return [CoverageGap(role, scope, n) for (role, scope), n in sorted(counts.items())]


async def run_drill(
    maker: async_sessionmaker[AsyncSession], index: RegisterIndex, *, actor: Principal
) -> DrillSummary:
    """Push the drill's CAP alert, take it through the crisis pass, and list the tasks it made."""
    async with session_scope(maker) as session:
        stored, _ = await store_alert(session, alert=parse_cap(DRILL_CAP), actor=actor)
        alert_id = stored.id
    await process_pending(maker, index=index)
    async with session_scope(maker) as session:
        crisis: Crisis | None = await crisis_of_alert(session, alert_id)
        if crisis is None:
            return DrillSummary(None, "no crisis: nobody registered in the zone", [])
        names = {o.id: o.slug for o in (await session.exec(select(Organization))).all()}
        rows = (await session.exec(select(Task).where(Task.crisis_id == crisis.id))).all()
        tasks = sorted(
            (
                (names.get(t.assignee_org or "", "coordinators"), t.title, t.status, t.coverage_gap)
                for t in rows
            ),
            key=lambda t: (t[3], t[0], t[1]),
        )
        gaps = coverage_gaps([(t.key, t.actor_role, t.coverage_gap) for t in rows])
        return DrillSummary(crisis.id, crisis.title, tasks, gaps)
