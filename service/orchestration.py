"""The pass from alert to crisis: alert stored → crisis rule → zone → exposure → (playbooks →
tasks) → timeline and audit. Run by the worker on every new alert version; idempotent, so a crash
part-way leaves a state from which the next run completes the work without duplicates."""

from __future__ import annotations

import dataclasses
import logging
from dataclasses import dataclass
from typing import Any

from shapely.geometry import mapping, shape
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from geo.exposure import ExposureCounts
from integrations.alert import Certainty, Hazard, Severity
from service.alerts.models import AlertRecord
from service.auth.principal import Principal
from service.crises import service as crises
from service.crises.models import CrisisSeverity
from service.crises.playbook_runner import run_playbooks
from service.crises.rules import JOIN_WINDOW_HOURS, CrisisRule, qualifies, rules_from
from service.exposure.engine import RegisterIndex
from service.settings import Settings, get_settings
from service.tasks.service import stand_down_tasks

log = logging.getLogger("lifeline.orchestration")
WORKER = Principal.system("worker")


@dataclass(frozen=True, slots=True)
class Outcome:
    alert_id: str
    result: str  # opened, updated, joined, stood_down, unchanged, not_a_crisis, no_zone
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


def exposure_counts(index: RegisterIndex, zone: dict[str, Any]) -> ExposureCounts:
    return index.index.query(shape(zone))


async def handle_alert(
    session: AsyncSession,
    *,
    alert: AlertRecord,
    index: RegisterIndex,
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
    counts = exposure_counts(index, alert.zone)
    if alert.status not in {"actual", "exercise", "test"}:
        # System messages and drafts are kept, never acted on.
        where = crisis.id if crisis else None
        return Outcome(alert.id, "not_a_crisis", where, f"status {alert.status}")
    exercise = alert.status != "actual"
    result = "updated"
    if crisis is None:
        crisis = await crises.overlapping_crisis(
            session, hazard=alert.hazard, exercise=exercise, zone=alert.zone, hours=join_hours
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
        zone_geometry = dict(mapping(shape(current.geometry).union(shape(alert.zone))))
    zone = await crises.add_zone(
        session, crisis, zone_geometry, source=f"alert:{alert.id}@{alert.version}", actor=WORKER
    )
    if zone is not None:
        taken = exposure_counts(index, zone_geometry) if result == "joined" else counts
        await crises.snapshot(session, crisis, zone, dataclasses.asdict(taken))
    created = await run_playbooks(session, crisis, actor=WORKER)
    if zone is None and not linked and not created:
        return Outcome(alert.id, "unchanged", crisis.id)
    return Outcome(alert.id, result, crisis.id, tasks=created)


async def run_pass(
    engine: AsyncEngine, maker: async_sessionmaker[AsyncSession], index: RegisterIndex
) -> list[Outcome]:
    """One crisis pass over every pending alert, by one process at a time (the API right after a
    push, or the worker on its schedule: whoever holds the lock; the other skips)."""
    from service.db import session_scope
    from service.worker import singleton

    async with singleton(engine, "lifeline:crises") as mine:
        if not mine:
            return []
        await index.refresh()
        async with session_scope(maker) as session:
            return await process_pending(session, index=index)


async def pending_alerts(session: AsyncSession, *, limit: int = 100) -> list[AlertRecord]:
    """Alerts whose latest version has not been through the pass yet."""
    query = (
        select(AlertRecord)
        .where(
            (col(AlertRecord.processed_version).is_(None))
            | (AlertRecord.processed_version != AlertRecord.version)
        )
        .order_by(col(AlertRecord.updated_at))
        .limit(limit)
    )
    return list((await session.exec(query)).all())


async def process_pending(
    session: AsyncSession,
    *,
    index: RegisterIndex,
    limit: int = 100,
    settings: Settings | None = None,
) -> list[Outcome]:
    settings = settings or get_settings()
    rules = rules_from(settings.crisis_rules)
    join_hours = settings.crisis_join_hours
    outcomes = []
    for alert in await pending_alerts(session, limit=limit):
        outcome = await handle_alert(
            session, alert=alert, index=index, rules=rules, join_hours=join_hours
        )
        alert.processed_version = alert.version
        session.add(alert)
        await session.flush()
        outcomes.append(outcome)
        log.info(
            "alert processed",
            extra={"alert": alert.id, "result": outcome.result, "crisis": outcome.crisis_id},
        )
    return outcomes
