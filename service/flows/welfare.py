"""A welfare outcome recorded, and what follows from it: a person who needs help gets a task for
the organisation that serves them (the host national society for a worker who agreed to
humanitarian sharing, else their embassy), once per person and crisis."""

from __future__ import annotations

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from service.auth.principal import Principal
from service.crises.models import Crisis
from service.directory.models import Organization, OrgKind
from service.registry.models import Worker
from service.registry.protect import Protector
from service.tasks.service import create_task, has_task
from service.welfare.models import WelfareOutcome
from service.welfare.service import Outcome, Recorded, record_outcome

EMBASSY_KINDS = (OrgKind.EMBASSY.value, OrgKind.CONSULATE.value)


def task_key(worker_id: str) -> str:
    """The one task a person who needs help gets in a crisis."""
    return f"welfare.needs_help@{worker_id}"


async def serving_organization(session: AsyncSession, worker: Worker) -> Organization | None:
    """Who helps this worker: the national society of the country they are in if they agreed
    to humanitarian sharing, else their own country's embassy or consulate covering it."""
    if worker.consent_humanitarian and worker.country:
        society = (
            await session.exec(
                select(Organization)
                .where(
                    Organization.kind == OrgKind.NATIONAL_SOCIETY.value,
                    Organization.country == worker.country,
                )
                .order_by(col(Organization.created_at), col(Organization.id))
            )
        ).first()
        if society is not None:
            return society
    return await embassy_for(session, worker)


async def embassy_for(session: AsyncSession, worker: Worker) -> Organization | None:
    """The worker's own country's embassy or consulate covering the country they are in."""
    posts = (
        await session.exec(
            select(Organization)
            .where(
                col(Organization.kind).in_(EMBASSY_KINDS),
                Organization.represents == worker.nationality,
            )
            .order_by(col(Organization.created_at), col(Organization.id))
        )
    ).all()
    covering = [p for p in posts if worker.country in {p.country, *p.jurisdiction}]
    return covering[0] if covering else None


def where_and_language(worker: Worker) -> str:
    """What a responder needs first, in words: the province and the language to speak."""
    languages = ", ".join(worker.languages or ()) or "not recorded"
    place = worker.admin1 or worker.country or "not recorded"
    return f"Province: {place}. Languages: {languages}."


async def help_who_needs_it(
    session: AsyncSession, *, actor: Principal, crisis: Crisis, recorded: Recorded
) -> None:
    """After an outcome is recorded: on a change to ``needs_help``, open the person's task for
    the organisation that serves them, if the crisis has it not already."""
    if recorded.changed and recorded.status.status == WelfareOutcome.NEEDS_HELP.value:
        key = task_key(recorded.worker.id)
        if not await has_task(session, crisis.id, key):
            org = await serving_organization(session, recorded.worker)
            await create_task(
                session,
                crisis=crisis,
                actor=actor,
                values={
                    "key": key,
                    "title": "Welfare check: a person needs help",
                    "description": f"Worker {recorded.worker.id} needs help (welfare check). "
                    f"{where_and_language(recorded.worker)} Their status and what they said: "
                    f"GET /api/v1/crises/{crisis.id}/welfare/{recorded.worker.id}",
                    "assignee_org": org.id if org else None,
                    "actor_role": "national_society_host"
                    if org is not None and org.kind == OrgKind.NATIONAL_SOCIETY.value
                    else "embassy",
                    "coverage_gap": org is None,
                },
            )


async def record_welfare(
    session: AsyncSession,
    found: Outcome,
    *,
    by: Principal,
    crisis: Crisis,
    protector: Protector,
) -> Recorded:
    """What the API and the console do with a check's outcome: record it, then open the task of
    a person who needs help."""
    recorded = await record_outcome(
        session, actor=by, crisis=crisis, found=found, protector=protector
    )
    await help_who_needs_it(session, actor=by, crisis=crisis, recorded=recorded)
    return recorded
