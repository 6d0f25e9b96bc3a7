"""Running the playbooks for a crisis: the pure engine plans, this module persists the tasks."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sqlmodel import select
from sqlmodel.ext.asyncio.session import AsyncSession

from playbooks.actors import Organization as Actor
from playbooks.engine import CrisisState, ExposureView, PlannedTask, plan
from playbooks.loader import load_library
from service.auth.principal import Principal
from service.crises.models import Crisis
from service.crises.service import latest_snapshot
from service.directory.models import Organization
from service.tasks.service import create_task, existing_keys


async def directory(session: AsyncSession) -> list[Actor]:
    rows = (await session.exec(select(Organization))).all()
    return [
        Actor(
            o.id, o.slug, o.kind, o.country, o.represents, tuple(o.jurisdiction), tuple(o.acts_for)
        )
        for o in rows
    ]


def view(counts: Mapping[str, Any]) -> ExposureView:
    return ExposureView(
        workers=int(counts.get("workers", 0)),
        by_nationality_country=counts.get("by_nationality_country", {}),
        by_admin1=counts.get("by_admin1", {}),
        by_sector=counts.get("by_sector", {}),
        vulnerable=int(counts.get("vulnerable", 0)),
        family=int(counts.get("accompanying_family", 0)),
        by_employer=counts.get("by_employer", {}),
        by_agency=counts.get("by_agency", {}),
    )


def state(crisis: Crisis) -> CrisisState:
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


async def planned(session: AsyncSession, crisis: Crisis) -> list[PlannedTask]:
    """What the playbooks would add now (nothing for a crisis stood down)."""
    if crisis.stood_down:
        return []
    snapshot = await latest_snapshot(session, crisis.id)
    counts: Mapping[str, Any] = snapshot.counts if snapshot else {}
    existing = await existing_keys(session, crisis.id)
    return plan(state(crisis), view(counts), await directory(session), existing, load_library())


async def run_playbooks(session: AsyncSession, crisis: Crisis, *, actor: Principal) -> int:
    """Create the tasks the playbooks plan and that do not exist yet; return how many."""
    tasks = await planned(session, crisis)
    ids = await existing_keys(session, crisis.id)
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
