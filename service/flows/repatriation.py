"""Repatriation across domains: a case opened for a worker the caller may read (with the embassy's
task for an emergency travel document when the passport is not in the person's hands), and on
arrival the origin side's reception tasks.
"""

from __future__ import annotations

from datetime import datetime

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from service.auth.principal import Principal
from service.changes import who
from service.crises.models import Crisis
from service.directory.models import Organization, OrgKind
from service.errors import Conflict, NotFound
from service.flows.welfare import embassy_for, where_and_language
from service.lookups import not_found
from service.registry.models import Worker
from service.registry.protect import Protector
from service.registry.service import get_worker
from service.repatriation import service
from service.repatriation.checks_file import CheckFile, refuse
from service.repatriation.models import CaseKind, CaseState, Movement, Passport, RepatriationCase
from service.repatriation.schemas import CaseCreate, ChecksApplied
from service.tasks.service import create_task, existing_keys, has_task

#: What the origin side does for a person who arrived (AFML 2011 rec. 11, 12, 16; MICIC G14):
#: key, title, who (kind of organisation of the worker's country).
RECEPTION = (
    ("reception", "Reception at arrival and health screening", OrgKind.LABOUR_MINISTRY),
    ("psychosocial", "Psychosocial support", OrgKind.NATIONAL_SOCIETY),
    ("reintegration", "Livelihood and reintegration services; follow-up at 30 and 90 days",
     OrgKind.LABOUR_MINISTRY),
    ("claims", "Recovery of unpaid wages and claims against the employer",
     OrgKind.LABOUR_MINISTRY),
)  # fmt: skip


async def open_case(
    session: AsyncSession,
    *,
    actor: Principal,
    crisis: Crisis,
    data: CaseCreate,
    protector: Protector,
) -> tuple[RepatriationCase, bool]:
    """A case for the worker (404 as ``GET /workers/{id}`` for one the caller may not read),
    its eligibility decided by the crisis's rule; the same request again answers the case as it
    is (False)."""
    worker, _ = await get_worker(session, actor=actor, worker_id=data.worker_id)
    known = await service.find_case(session, crisis.id, worker.id, data.kind)
    if known is not None:
        # Asked again after the alert level rose: the rule decides again.
        state, rule = service.decide(crisis, data.kind)
        if known.state == CaseState.NOT_ELIGIBLE.value and state is CaseState.ELIGIBLE:
            known.rule = rule
            service.set_state(session, known, state, actor, rule=rule)
            await service.timeline(session, crisis, known, actor, "repatriation_case_changed")
        return known, False
    state, rule = service.decide(crisis, data.kind)
    case = RepatriationCase(
        crisis_id=crisis.id,
        worker_id=worker.id,
        nationality=worker.nationality,
        kind=data.kind.value,
        rule=rule,
        priority=service.priority_of(worker),
        passport=data.passport.value,
        family=data.family,
        needs=sorted(set(data.needs)),
        exercise=crisis.exercise,
        opened_by=who(actor),
    )
    case.note_sealed = protector.sealer.seal(data.note, record_id=case.id, field="note")
    session.add(case)
    await session.flush()
    service.set_state(session, case, state, actor, rule=rule)
    case.version = 1
    await service.timeline(session, crisis, case, actor, "repatriation_case_opened")
    if data.passport in (Passport.HELD_BY_EMPLOYER, Passport.LOST):
        await _travel_document(session, actor=actor, crisis=crisis, worker=worker, case=case)
    return case, True


async def _travel_document(
    session: AsyncSession,
    *,
    actor: Principal,
    crisis: Crisis,
    worker: Worker,
    case: RepatriationCase,
) -> None:
    key = f"repatriation.travel_document@{worker.id}"
    if await has_task(session, crisis.id, key):
        return
    embassy = await embassy_for(session, worker)
    held = "held by the employer" if case.passport == Passport.HELD_BY_EMPLOYER.value else "lost"
    await create_task(
        session,
        crisis=crisis,
        actor=actor,
        values={
            "key": key,
            "title": "Emergency travel document for a person leaving",
            "description": f"Worker {worker.id} (case {case.id}): passport {held}. "
            f"{where_and_language(worker)} Issue an emergency travel document.",
            "assignee_org": embassy.id if embassy else None,
            "actor_role": "embassy",
            "coverage_gap": embassy is None,
        },
    )


async def after_arrival(
    session: AsyncSession, *, actor: Principal, crisis: Crisis, case: RepatriationCase
) -> int:
    """On arrival, the origin side's reception tasks, once per person and crisis; how many."""
    if case.state != CaseState.ARRIVED.value or case.kind != CaseKind.REPATRIATION.value:
        return 0
    keys = await existing_keys(session, crisis.id)
    made = 0
    for name, title, kind in RECEPTION:
        key = f"reception.{name}@{case.worker_id}"
        if key in keys:
            continue
        org = (
            await session.exec(
                select(Organization)
                .where(Organization.kind == kind.value, Organization.country == case.nationality)
                .order_by(col(Organization.created_at), col(Organization.id))
            )
        ).first()
        await create_task(
            session,
            crisis=crisis,
            actor=actor,
            values={
                "key": key,
                "title": title,
                "description": f"Worker {case.worker_id} (case {case.id}) arrived home.",
                "assignee_org": org.id if org else None,
                "actor_role": "labour_ministry_origin"
                if kind is OrgKind.LABOUR_MINISTRY
                else "national_society_origin",
                "coverage_gap": org is None,
            },
        )
        made += 1
    return made


async def check_in(
    session: AsyncSession,
    *,
    actor: Principal,
    movement: Movement,
    seq: int,
    case: RepatriationCase,
    arrived: bool,
    at: datetime | None = None,
) -> service.Checked:
    """A person checked at a gate (``service.check``); their arrival home on the timeline and,
    with it, the origin side's reception tasks."""
    done = await service.check(
        session, actor=actor, movement=movement, seq=seq, case=case, arrived=arrived, at=at
    )
    if done.changed and case.state == CaseState.ARRIVED.value:
        crisis = await session.get(Crisis, case.crisis_id)
        if crisis is not None:
            await service.timeline(session, crisis, case, actor, "repatriation_case_changed")
            await after_arrival(session, actor=actor, crisis=crisis, case=case)
    return done


async def check_in_file(
    session: AsyncSession,
    *,
    actor: Principal,
    movement: Movement,
    seq: int,
    read: CheckFile,
) -> ChecksApplied:
    """A gate's file of checks, row by row in the file's order through ``check_in`` (an arrival
    after its boarding in the same file is good), all or nothing: any bad row (one the reader
    refused, a case unknown or not yours to read, a person with no seat on this leg, an arrival
    before its boarding) is a 422 that lists each one, and the caller's transaction, rolled back,
    keeps nothing of the rows before it."""
    if seq not in {leg.seq for leg in await service.legs_of(session, movement.id)}:
        raise not_found("leg", str(seq))
    errors = list(read.errors)
    cases: dict[str, RepatriationCase | None] = {}
    applied = unchanged = 0
    for row in read.rows:
        if row.case_id not in cases:
            try:
                cases[row.case_id] = await service.get_case(
                    session, actor=actor, case_id=row.case_id
                )
            except NotFound:
                cases[row.case_id] = None
        case = cases[row.case_id]
        if case is None:
            errors.append({"loc": ["body", "file", row.row, "case_id"], "msg": "no such case"})
            continue
        try:
            done = await check_in(
                session,
                actor=actor,
                movement=movement,
                seq=seq,
                case=case,
                arrived=row.arrived,
                at=row.at,
            )
        except Conflict as exc:
            errors.append({"loc": ["body", "file", row.row, "check"], "msg": exc.detail})
            continue
        if done.changed:
            applied += 1
        else:
            unchanged += 1
    if errors:
        raise refuse(errors, read.count)
    return ChecksApplied(applied=applied, unchanged=unchanged, other_legs=read.other_legs)
