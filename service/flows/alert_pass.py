"""The pass from alert to tasks: alert stored → crisis rule → zone → exposure → playbooks → tasks
→ timeline and audit. Run by the worker on every new alert version; idempotent, so a crash
part-way leaves a state from which the next run completes the work without duplicates.

Each alert is claimed and handled in a transaction of its own: the claim (an UPDATE that marks
the version as processed, only if it was not) is its first write, so two passes that see the
same pending alert (the API's inline pass and the worker's, in two processes) never both handle
it; the second claims nothing and moves on. The geometry work runs in geometry threads within
the pass's deadline (``service.geowork``).

The playbooks' half (``planned``, ``run_playbooks``) also serves a crisis declared or changed
through the API: it plans from the exposure it is given, or else from the crisis's latest
snapshot."""

from __future__ import annotations

import asyncio
import dataclasses
import logging
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import shapely
from shapely.geometry import mapping, shape
from sqlalchemy import or_, update
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker
from sqlalchemy.orm import defer
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from geo.errors import GeometryLimitExceeded
from geo.exposure import ExposureCounts
from integrations.alert import Certainty, Hazard, Severity
from playbooks.actors import Organization as Actor
from playbooks.engine import CrisisState, ExposureView, PlannedTask, plan
from playbooks.loader import load_library
from service.alerts.models import AlertRecord
from service.alerts.service import record_outcome
from service.auth.principal import WORKER, Principal
from service.crises import service as crises
from service.crises.models import Crisis, CrisisSeverity
from service.crises.rules import JOIN_WINDOW_HOURS, CrisisRule, qualifies, rules_from
from service.db import session_scope
from service.directory.models import Organization
from service.exposure.index import RegisterIndex
from service.exposure.service import admin1_names
from service.geowork import Budget, GeometryWorkers, ZoneTooComplex, default_workers
from service.locks import singleton
from service.settings import Settings, get_settings
from service.tasks.service import create_task, existing_keys, stand_down_tasks

log = logging.getLogger("lifeline.orchestration")

#: The statuses the pass acts on; system messages and drafts are kept, never acted on.
ACTED_ON = frozenset({"actual", "exercise", "test"})


@dataclass(frozen=True, slots=True)
class Outcome:
    alert_id: str
    #: opened, updated, joined, stood_down, unchanged, not_a_crisis, no_zone, too_complex
    result: str
    crisis_id: str | None = None
    why: str = ""
    tasks: int = 0


def _severity_word(level: int) -> str:
    return {
        1: CrisisSeverity.MINOR,
        2: CrisisSeverity.MODERATE,
        3: CrisisSeverity.SEVERE,
        4: CrisisSeverity.EXTREME,
    }.get(level, CrisisSeverity.MINOR).value


def exposure_counts(
    index: RegisterIndex, zone: dict[str, Any], deadline: float | None = None
) -> ExposureCounts:
    """Who is in a GeoJSON zone (geometry work: run it through a ``Budget``)."""
    return index.index.query(shape(zone), deadline=deadline)


def widen(current: dict[str, Any], more: dict[str, Any]) -> dict[str, Any]:
    """The union of two GeoJSON zones (geometry work; ``GeometryLimitExceeded`` when they are
    too complex together)."""
    first, second = shape(current), shape(more)
    crises.together(first, second)
    # shapely.union, not first.union: the method on geometries made in this thread held the GIL
    # for the whole union (4.7 s for a 80,000-vertex comb), and with it the event loop.
    return dict(mapping(shapely.union(first, second)))


def exposure_view(counts: ExposureCounts) -> ExposureView:
    """The aggregates the playbooks plan from, straight from the counts just computed."""
    return ExposureView(
        workers=counts.workers,
        by_nationality_country=counts.by_nationality_country,
        by_admin1=counts.by_admin1,
        by_sector=counts.by_sector,
        vulnerable=counts.vulnerable,
        family=counts.accompanying_family,
        by_employer=counts.by_employer,
        by_agency=counts.by_agency,
        admin1_names=admin1_names(counts.by_admin1),
    )


def stored_view(counts: Mapping[str, Any]) -> ExposureView:
    """The same aggregates, read back from a stored snapshot (``asdict`` of ``ExposureCounts``)."""
    return ExposureView(
        workers=int(counts.get("workers", 0)),
        by_nationality_country=counts.get("by_nationality_country", {}),
        by_admin1=counts.get("by_admin1", {}),
        by_sector=counts.get("by_sector", {}),
        vulnerable=int(counts.get("vulnerable", 0)),
        family=int(counts.get("accompanying_family", 0)),
        by_employer=counts.get("by_employer", {}),
        by_agency=counts.get("by_agency", {}),
        admin1_names=admin1_names(counts.get("by_admin1", {})),
    )


def _state(crisis: Crisis) -> CrisisState:
    return CrisisState(
        crisis.id,
        crisis.title,
        crisis.hazard,
        crisis.severity,
        crisis.phase,
        crisis.alert_level,
        crisis.exercise,
        crisis.created_at,
    )


async def _directory(session: AsyncSession) -> list[Actor]:
    rows = (await session.exec(select(Organization))).all()
    return [
        Actor(
            o.id, o.slug, o.kind, o.country, o.represents, tuple(o.jurisdiction), tuple(o.acts_for)
        )
        for o in rows
    ]


async def planned(
    session: AsyncSession,
    crisis: Crisis,
    exposure: ExposureView | None = None,
    existing: Mapping[str, str] | None = None,
) -> list[PlannedTask]:
    """What the playbooks would add now (nothing for a crisis stood down): planned from
    ``exposure`` when given, else from the latest snapshot; ``existing`` (key → task id) when
    the caller has already read it."""
    if crisis.stood_down:
        return []
    if exposure is None:
        snapshot = await crises.latest_snapshot(session, crisis.id)
        # In a thread: naming the provinces may load the shipped boundaries, once a process.
        exposure = await asyncio.to_thread(stored_view, snapshot.counts if snapshot else {})
    if existing is None:
        existing = await existing_keys(session, crisis.id)
    return plan(_state(crisis), exposure, await _directory(session), existing, load_library())


async def run_playbooks(
    session: AsyncSession,
    crisis: Crisis,
    *,
    actor: Principal,
    exposure: ExposureView | None = None,
) -> int:
    """Create the tasks the playbooks plan and that do not exist yet; return how many."""
    ids = await existing_keys(session, crisis.id)
    tasks = await planned(session, crisis, exposure, ids)
    for task in tasks:
        made = await create_task(
            session,
            crisis=crisis,
            actor=actor,
            values={
                "key": task.key,
                "playbook": task.playbook,
                "title": task.title,
                "description": task.description,
                "assignee_org": task.assignee,
                "actor_role": task.actor,
                "coverage_gap": task.coverage_gap,
                "due_at": task.due_at,
                "escalate_after_s": task.escalate_after_s,
                "escalate_to": task.escalate_to,
                "after": [ids[k] for k in task.after if k in ids],
                "basis": list(task.basis),
            },
        )
        ids[task.key] = made.id
    return len(tasks)


async def handle_alert(
    session: AsyncSession,
    *,
    alert: AlertRecord,
    index: RegisterIndex,
    budget: Budget,
    rules: dict[Hazard, CrisisRule] | None = None,
    join_hours: int = JOIN_WINDOW_HOURS,
) -> Outcome:
    """Bring the crisis picture up to date with this alert's latest version."""
    crisis = await crises.crisis_of_alert(session, alert.id)
    if alert.cancelled:
        if crisis is None:
            return Outcome(alert.id, "unchanged", why="a cancel for an alert that opened no crisis")
        if not crisis.stood_down:
            await crises.stand_down(
                session,
                crisis,
                actor=WORKER,
                reason=f"alert {alert.source} {alert.external_id} cancelled",
            )
            await stand_down_tasks(session, crisis, WORKER)
        return Outcome(alert.id, "stood_down", crisis.id)
    if alert.zone is None:
        return Outcome(alert.id, "no_zone", crisis.id if crisis else None, "the alert has no zone")
    if alert.status not in ACTED_ON:
        where = crisis.id if crisis else None
        return Outcome(alert.id, "not_a_crisis", where, f"status {alert.status}")
    counts = await budget.run(exposure_counts, index, alert.zone, budget.deadline)
    exercise = alert.status != "actual"
    result = "updated"
    if crisis is None:
        crisis = await crises.overlapping_crisis(
            session,
            hazard=alert.hazard,
            exercise=exercise,
            zone=alert.zone,
            budget=budget,
            hours=join_hours,
        )
        result = "joined"
    if crisis is None:
        ok, why = qualifies(
            Hazard(alert.hazard),
            Severity(alert.severity),
            Certainty(alert.certainty),
            counts.workers,
            rules,
        )
        if not ok:
            return Outcome(alert.id, "not_a_crisis", why=why)
        crisis = await crises.open_crisis(
            session,
            actor=WORKER,
            title=alert.headline or f"{alert.hazard} ({alert.source})",
            hazard=alert.hazard,
            severity=_severity_word(alert.severity),
            exercise=exercise,
            countries=sorted(counts.by_country),
            opened_by=f"alert:{alert.source}:{alert.external_id}",
            why=why,
        )
        result = "opened"
    linked = await crises.link_alert(
        session, crisis, alert_id=alert.id, version=alert.version, actor=WORKER
    )
    zone_geometry = alert.zone
    current = await crises.latest_zone(session, crisis.id)
    if current is not None and result == "joined":
        # Another alert over the same crisis widens its zone; it never shrinks it.
        zone_geometry = await budget.run(widen, current.geometry, alert.zone)
    zone = await crises.add_zone(
        session,
        crisis,
        zone_geometry,
        source=f"alert:{alert.id}@{alert.version}",
        actor=WORKER,
        budget=budget,
    )
    exposure = None  # the zone is unchanged: the playbooks plan from its latest snapshot
    if zone is not None:
        taken = (
            await budget.run(exposure_counts, index, zone_geometry, budget.deadline)
            if result == "joined"
            else counts
        )
        await crises.snapshot(session, crisis, zone, dataclasses.asdict(taken))
        exposure = await budget.run(exposure_view, taken)
    created = await run_playbooks(session, crisis, actor=WORKER, exposure=exposure)
    if zone is None and not linked and not created:
        return Outcome(alert.id, "unchanged", crisis.id)
    return Outcome(alert.id, result, crisis.id, tasks=created)


async def run_pass(
    engine: AsyncEngine,
    maker: async_sessionmaker[AsyncSession],
    index: RegisterIndex,
    geometry: GeometryWorkers | None = None,
) -> list[Outcome]:
    """One crisis pass over every pending alert, by one process at a time where the database
    can say so (the API right after a push, or the worker on its schedule: whoever holds the
    lock; the other skips). The claims make it safe without the lock too."""
    async with singleton(engine, "lifeline:crises") as mine:
        if not mine:
            return []
        await index.refresh()
        return await process_pending(maker, index=index, geometry=geometry)


async def pending_alert_ids(session: AsyncSession, *, limit: int = 100) -> list[str]:
    """The ids of the alerts whose latest version has not been through the pass yet, oldest
    change first (without reading their zones)."""
    query = (
        select(AlertRecord.id)
        .where(
            (col(AlertRecord.processed_version).is_(None))
            | (AlertRecord.processed_version != AlertRecord.version)
        )
        .order_by(col(AlertRecord.updated_at))
        .limit(limit)
    )
    return list((await session.exec(query)).all())


async def claim(session: AsyncSession, alert_id: str) -> AlertRecord | None:
    """Mark the alert's latest version as processed, if no one did; the alert, or None when
    another pass has it (or had it). The first write of its transaction: on PostgreSQL a
    second claimer waits on the row until the first commits, then finds nothing to claim; on
    SQLite writers take turns, and the second's claim starts after the first committed."""
    conn = await session.connection()
    table = AlertRecord.__table__  # type: ignore[attr-defined]
    claimed = await conn.execute(
        update(table)
        .where(
            table.c.id == alert_id,
            or_(
                table.c.processed_version.is_(None),
                table.c.processed_version != table.c.version,
            ),
        )
        .values(processed_version=table.c.version)
    )
    if claimed.rowcount != 1:
        return None
    # The pass reads the zone, not the source's geometry: a large one is not decoded twice.
    return await session.get(
        AlertRecord,
        alert_id,
        populate_existing=True,
        options=[defer(AlertRecord.geometry)],  # type: ignore[arg-type]
    )


async def process_pending(
    maker: async_sessionmaker[AsyncSession],
    *,
    index: RegisterIndex,
    limit: int = 100,
    settings: Settings | None = None,
    geometry: GeometryWorkers | None = None,
) -> list[Outcome]:
    """Handle every pending alert, each claimed and committed in a transaction of its own."""
    settings = settings or get_settings()
    geometry = geometry or default_workers()
    rules = rules_from(settings.crisis_rules)
    join_hours = settings.crisis_join_hours
    async with maker() as session:
        pending = await pending_alert_ids(session, limit=limit)
    outcomes = []
    for alert_id in pending:
        try:
            async with session_scope(maker) as session:
                alert = await claim(session, alert_id)
                if alert is None:
                    continue  # another pass has it
                outcome = await handle_alert(
                    session,
                    alert=alert,
                    index=index,
                    budget=geometry.budget(),
                    rules=rules,
                    join_hours=join_hours,
                )
                await record_outcome(session, outcome, alert_id=alert_id, version=alert.version)
        except (ZoneTooComplex, GeometryLimitExceeded):
            # Nothing of it was written (the transaction rolled back). Retrying would fail the
            # same way: the version is marked processed, and the log says why.
            async with session_scope(maker) as session:
                if (alert := await claim(session, alert_id)) is None:
                    continue
                outcome = Outcome(
                    alert_id, "too_complex", why="the zone is too complex to handle in time"
                )
                await record_outcome(session, outcome, alert_id=alert_id, version=alert.version)
            log.error("alert's zone too complex for the crisis pass", extra={"alert": alert_id})
        outcomes.append(outcome)
        log.info(
            "alert processed",
            extra={"alert": alert_id, "result": outcome.result, "crisis": outcome.crisis_id},
        )
    return outcomes
