"""Repatriation across domains: a case opened for a worker the caller may read (by an officer,
from the worker's reply to a welfare check, or in bulk for a province at alert level 4), with the
embassy's task for an emergency travel document when the passport is not in the person's hands;
the family at home told of the movement and of the arrival where the worker agreed; on arrival
the origin side's reception tasks; erasure.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from integrations.messaging import templates
from integrations.messaging.phones import normalise
from service.auth.principal import Principal
from service.changes import who
from service.crises.models import Crisis
from service.crises.service import event as crisis_event
from service.db import insert_rows, new_id, utcnow
from service.directory.models import Organization, OrgKind
from service.errors import Conflict, InvalidInput, NotFound
from service.flows.welfare import embassy_for, where_and_language
from service.lookups import not_found
from service.messaging import service as messaging
from service.messaging.models import InboundMessage, OutboundMessage, Step
from service.registry.access import visibility_clause
from service.registry.models import Worker
from service.registry.protect import Protector
from service.registry.service import get_worker
from service.repatriation import service
from service.repatriation.checks_file import CheckFile, refuse
from service.repatriation.models import (
    CaseEvent,
    CaseKind,
    CaseState,
    Movement,
    Passport,
    RepatriationCase,
    Source,
)
from service.repatriation.schemas import BulkCreate, BulkDone, CaseCreate, ChecksApplied
from service.settings import Settings
from service.tasks.service import create_task, existing_keys, has_task

_CASES = RepatriationCase.__table__  # type: ignore[attr-defined]
_EVENTS = CaseEvent.__table__  # type: ignore[attr-defined]
#: The most cases one bulk request opens (a province of a large host country may hold more:
#: the next request opens the rest, each case once).
BULK_MAX = 20_000

#: What the origin side does for a person who arrived (AFML 2011 rec. 11, 12, 16; MICIC G14):
#: key, title, who (kind of organisation of the worker's country), due after so many days.
RECEPTION = (
    ("reception", "Reception at arrival and health screening", OrgKind.LABOUR_MINISTRY, None),
    ("psychosocial", "Psychosocial support", OrgKind.NATIONAL_SOCIETY, None),
    ("reintegration", "Livelihood and reintegration services", OrgKind.LABOUR_MINISTRY, None),
    ("claims", "Recovery of unpaid wages and claims against the employer",
     OrgKind.LABOUR_MINISTRY, None),
    ("followup_30", "Reintegration follow-up, 30 days after arrival", OrgKind.LABOUR_MINISTRY, 30),
    ("followup_90", "Reintegration follow-up, 90 days after arrival", OrgKind.LABOUR_MINISTRY, 90),
)  # fmt: skip


async def open_case(
    session: AsyncSession,
    *,
    actor: Principal,
    crisis: Crisis,
    data: CaseCreate,
    protector: Protector,
    settings: Settings,
) -> tuple[RepatriationCase, bool]:
    """A case for the worker (404 as ``GET /workers/{id}`` for one the caller may not read),
    its eligibility decided by the crisis's rules; the same request again answers the case as
    it is (False), decided again if it was not eligible."""
    worker, _ = await get_worker(session, actor=actor, worker_id=data.worker_id)
    rules = await service.rules_of(session, crisis, settings.repatriation_rules)
    known = await service.find_case(session, crisis.id, worker.id, data.kind)
    if known is not None:
        # Asked again after the alert level rose: the rules decide again.
        state, rule = service.decide(rules, crisis, data.kind, worker)
        if known.state == CaseState.NOT_ELIGIBLE.value and state is CaseState.ELIGIBLE:
            known.rule = rule
            service.set_state(session, known, state, actor, rule=rule)
            await service.timeline(session, crisis, known, actor, "repatriation_case_changed")
        return known, False
    if data.reply_id is not None:
        await _check_reply(session, data.reply_id, worker.id)
    family_phone = None
    if data.tell_family:
        family_phone = normalise(data.family_phone or "", worker.nationality)
        if family_phone is None:
            raise InvalidInput(
                "The family is told at a number: give `family_phone` in international form "
                "(+63...) or leave `tell_family` out",
                errors=[{"loc": ["body", "family_phone"], "msg": "not a usable phone number"}],
            )
    state, rule = service.decide(rules, crisis, data.kind, worker)
    case = RepatriationCase(
        crisis_id=crisis.id,
        worker_id=worker.id,
        nationality=worker.nationality,
        kind=data.kind.value,
        rule=rule,
        priority=service.priority_of(worker, rules),
        passport=data.passport.value,
        family=data.family,
        needs=sorted(set(data.needs)),
        source=(Source.WELFARE_REPLY if data.reply_id else Source.OFFICER).value,
        reply_id=data.reply_id,
        tell_family=family_phone is not None,
        exercise=crisis.exercise,
        opened_by=who(actor),
    )
    case.note_sealed = protector.sealer.seal(data.note, record_id=case.id, field="note")
    case.family_phone_sealed = protector.sealer.seal(
        family_phone, record_id=case.id, field="family_phone"
    )
    session.add(case)
    await session.flush()
    service.set_state(session, case, state, actor, rule=rule)
    case.version = 1
    await service.timeline(session, crisis, case, actor, "repatriation_case_opened")
    if data.passport in (Passport.HELD_BY_EMPLOYER, Passport.LOST):
        await _travel_document(session, actor=actor, crisis=crisis, worker=worker, case=case)
    return case, True


async def _check_reply(session: AsyncSession, reply_id: str, worker_id: str) -> None:
    """The reply a case is opened from: a message from this worker's phone (the caller may read
    the worker, so they may read it)."""
    reply = await session.get(InboundMessage, reply_id)
    if reply is None or worker_id not in (reply.worker_ids or ()):
        raise InvalidInput(
            "`reply_id` is not a message from this worker",
            errors=[{"loc": ["body", "reply_id"], "msg": "no such message from this worker"}],
        )


async def open_bulk(
    session: AsyncSession,
    *,
    actor: Principal,
    crisis: Crisis,
    data: BulkCreate,
    settings: Settings,
) -> BulkDone:
    """At alert level 4 (mandatory repatriation), a case for each worker of the province whom
    the caller may read and who has none of this kind yet: decided by the crisis's rules, each
    waiting for the person's own consent (a refusal is recorded, never overridden). People
    under international protection are never returned to their country of origin: their
    repatriation is decided ``not_eligible`` (a relocation is open to them)."""
    if (crisis.alert_level or 1) < 4:
        raise Conflict(
            f"Cases are opened in bulk at alert level 4 (mandatory repatriation); this crisis "
            f"is at {crisis.alert_level or 1}: open them one by one"
        )
    rules = await service.rules_of(session, crisis, settings.repatriation_rules)
    have = select(RepatriationCase.worker_id).where(
        RepatriationCase.crisis_id == crisis.id, RepatriationCase.kind == data.kind.value
    )
    query = select(Worker).where(
        Worker.admin1 == data.admin1,
        visibility_clause(actor),
        col(Worker.id).not_in(have),
    )
    if crisis.countries:
        query = query.where(col(Worker.country).in_(crisis.countries))
    workers = (await session.exec(query.order_by(col(Worker.pk)).limit(BULK_MAX))).all()
    already = len(
        (
            await session.exec(
                select(RepatriationCase.id)
                .join(Worker, col(Worker.id) == col(RepatriationCase.worker_id))
                .where(
                    RepatriationCase.crisis_id == crisis.id,
                    RepatriationCase.kind == data.kind.value,
                    Worker.admin1 == data.admin1,
                )
            )
        ).all()
    )
    now = utcnow()
    by = who(actor)
    cases: list[dict[str, Any]] = []
    events: list[dict[str, Any]] = []
    done = BulkDone(opened=0, already=already, eligible=0, not_eligible=0)
    for worker in workers:
        state, rule = service.decide(rules, crisis, data.kind, worker)
        case_id = new_id()
        cases.append(
            {
                **_bulk_defaults(),
                "id": case_id,
                "crisis_id": crisis.id,
                "worker_id": worker.id,
                "nationality": worker.nationality,
                "kind": data.kind.value,
                "state": state.value,
                "rule": rule,
                "priority": service.priority_of(worker, rules),
                "family": worker.accompanying_family or 0,
                "exercise": crisis.exercise,
                "opened_by": by,
                "created_at": now,
                "updated_at": now,
            }
        )
        events.append(
            {
                "id": new_id(),
                "case_id": case_id,
                "at": now,
                "actor": by,
                "previous": CaseState.REQUESTED.value,
                "state": state.value,
                "detail": {"rule": rule, "source": Source.BULK.value},
            }
        )
        if state is CaseState.ELIGIBLE:
            done.eligible += 1
        else:
            done.not_eligible += 1
    connection = await session.connection()
    await insert_rows(connection, _CASES, cases)
    await insert_rows(connection, _EVENTS, events)
    done.opened = len(cases)
    if cases:
        # One line on the timeline for the lot: counts, no names.
        await crisis_event(
            session,
            crisis,
            "repatriation_cases_opened",
            actor,
            admin1=data.admin1,
            case_kind=data.kind.value,
            opened=done.opened,
            eligible=done.eligible,
            not_eligible=done.not_eligible,
        )
    return done


def _bulk_defaults() -> dict[str, Any]:
    """Every column of a case opened in bulk that the loop does not set."""
    return {
        "consent": "not_asked",
        "consent_at": None,
        "consent_by": None,
        "passport": Passport.UNKNOWN.value,
        "needs": [],
        "note_sealed": None,
        "movement_id": None,
        "source": Source.BULK.value,
        "reply_id": None,
        "tell_family": False,
        "family_phone_sealed": None,
        "version": 1,
    }


async def tell_family(
    session: AsyncSession,
    *,
    case: RepatriationCase,
    kind: templates.Kind,
    protector: Protector,
    settings: Settings,
) -> bool:
    """Queue the message to the family at home (where the worker agreed): through the
    deployment's gateway, the drill gateway for an exercise; in the worker's first language.
    No name and no place in it: the number is the worker's word for their family's."""
    if not case.tell_family or not case.family_phone_sealed:
        return False
    to = protector.sealer.open(case.family_phone_sealed, record_id=case.id, field="family_phone")
    if not to:
        return False
    languages = (
        await session.exec(select(Worker.languages).where(Worker.id == case.worker_id))
    ).first()
    message = OutboundMessage(
        crisis_id=case.crisis_id,
        worker_id=None,
        reply_to=None,
        step=Step.FAMILY.value,
        kind=kind.value,
        language=templates.choose_language(list(languages or ()), case.nationality),
        gateway=messaging.gateway_kind(settings, drill=case.exercise),
        drill=case.exercise,
    )
    message.to_sealed = protector.sealer.seal(to, record_id=message.id, field="to")
    session.add(message)
    return True


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
    for name, title, kind, days in RECEPTION:
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
                "due_at": utcnow() + timedelta(days=days) if days else None,
                "assignee_org": org.id if org else None,
                "actor_role": "labour_ministry_origin"
                if kind is OrgKind.LABOUR_MINISTRY
                else "national_society_origin",
                "coverage_gap": org is None,
            },
        )
        made += 1
    return made


async def seat(
    session: AsyncSession,
    *,
    actor: Principal,
    movement: Movement,
    case: RepatriationCase,
    protector: Protector,
    settings: Settings,
) -> bool:
    """A case given its seat (``service.assign``), on the timeline, and the family told where
    the worker agreed."""
    if not await service.assign(session, actor=actor, movement=movement, case=case):
        return False
    crisis = await session.get(Crisis, case.crisis_id)
    if crisis is not None:
        await service.timeline(session, crisis, case, actor, "repatriation_case_changed")
    await tell_family(
        session,
        case=case,
        kind=templates.Kind.FAMILY_ON_MOVEMENT,
        protector=protector,
        settings=settings,
    )
    return True


async def check_in(
    session: AsyncSession,
    *,
    actor: Principal,
    movement: Movement,
    seq: int,
    case: RepatriationCase,
    arrived: bool,
    protector: Protector | None = None,
    settings: Settings | None = None,
    at: datetime | None = None,
) -> service.Checked:
    """A person checked at a gate (``service.check``); their arrival home on the timeline and,
    with it, the origin side's reception tasks and (given the protector and the settings) the
    family told."""
    done = await service.check(
        session, actor=actor, movement=movement, seq=seq, case=case, arrived=arrived, at=at
    )
    if done.changed and case.state == CaseState.ARRIVED.value:
        crisis = await session.get(Crisis, case.crisis_id)
        if crisis is not None:
            await service.timeline(session, crisis, case, actor, "repatriation_case_changed")
            await after_arrival(session, actor=actor, crisis=crisis, case=case)
        if protector is not None and settings is not None:
            await tell_family(
                session,
                case=case,
                kind=templates.Kind.FAMILY_ARRIVED,
                protector=protector,
                settings=settings,
            )
    return done


async def check_in_file(
    session: AsyncSession,
    *,
    actor: Principal,
    movement: Movement,
    seq: int,
    read: CheckFile,
    protector: Protector,
    settings: Settings,
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
                protector=protector,
                settings=settings,
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
