"""Welfare checks, from a crisis's exposure to a message in each worker's language, and what
follows in time: the reminder to the silent ones, then ``no_answer`` and a tracing task.

The recipients are the people strictly inside the crisis's latest zone whom the starter may
contact (``service.registry.access``: a consular officer their nationals who agreed to sharing
with the embassy, a society responder those who agreed to humanitarian sharing), narrowed as
asked, less those already settled in the crisis, those with no usable phone (``unreachable``),
those whose phone said STOP, and those another check reached within the quiet window. The check,
its statuses and every message are written in one transaction: they go out only if it commits.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from shapely.geometry import shape
from sqlmodel import col, func, select
from sqlmodel.ext.asyncio.session import AsyncSession

from integrations.messaging import segments, templates
from service.auth.permissions import Role
from service.auth.principal import Principal
from service.changes import who
from service.crises.models import Crisis, Phase
from service.crises.service import event as crisis_event
from service.crises.service import latest_zone
from service.db import new_id, utcnow
from service.directory.models import Organization
from service.errors import Conflict, NotFound
from service.exposure.index import RegisterIndex
from service.flows.welfare import serving_organization, where_and_language
from service.geowork import Budget
from service.lookups import not_found
from service.messaging import service as messaging
from service.messaging.models import MessageState, OutboundMessage, Step
from service.registry.access import visibility_clause
from service.registry.models import Worker
from service.registry.protect import Protector
from service.registry.unseen import scope_nationalities
from service.settings import Settings
from service.tasks.service import create_task, existing_keys
from service.welfare import service as welfare
from service.welfare.models import CheckState, WelfareCheck, WelfareOutcome
from service.welfare.schemas import DRILL_NOTICE, CheckText, WelfareCheckCreate

_CHUNK = 5000
#: The kinds of text a check sends, by step.
KINDS = {Step.CHECK: templates.Kind.CHECK, Step.REMINDER: templates.Kind.REMINDER}


@dataclass(frozen=True, slots=True)
class Recipient:
    worker_id: str
    language: str


@dataclass
class Plan:
    """Who a check reaches, and who in its scope it does not, and why."""

    recipients: list[Recipient] = field(default_factory=list)
    unreachable: list[str] = field(default_factory=list)
    stopped: int = 0
    quiet: int = 0
    settled: int = 0


def _texts(sender: str, label: str, languages: Counter[str]) -> list[CheckText]:
    out = []
    for step, kind in KINDS.items():
        for language, n in sorted(languages.items()):
            text = templates.render(kind, language, {"sender": sender, "crisis": label})
            counted = segments.count(text.body)
            out.append(
                CheckText(
                    kind=step.value,
                    language=text.language,
                    body=text.body,
                    encoding=counted.encoding.value,
                    segments=counted.segments,
                    needs_review=text.needs_review,
                    recipients=n,
                )
            )
    return out


async def _sender_name(session: AsyncSession, actor: Principal, data: WelfareCheckCreate) -> str:
    if data.sender:
        return data.sender
    if actor.organization_id:
        org = await session.get(Organization, actor.organization_id)
        if org is not None:
            return org.name[:40]
    return "Lifeline"


async def plan(
    session: AsyncSession,
    *,
    actor: Principal,
    crisis: Crisis,
    data: WelfareCheckCreate,
    index: RegisterIndex,
    budget: Budget,
    quiet_hours: float,
) -> Plan:
    """The check's recipients, from the crisis's latest zone (404 when it has none yet)."""
    zone = await latest_zone(session, crisis.id)
    if zone is None:
        raise NotFound("This crisis has no zone yet: there is nobody to check on")
    geometry = await budget.run(shape, zone.geometry)
    nationalities: list[str] | None = sorted(data.nationalities) or None
    within = scope_nationalities(actor)
    if within is not None:
        nationalities = sorted(
            within if nationalities is None else within.intersection(nationalities)
        )
    pks = await budget.run(
        index.index.select_pks,
        geometry,
        nationalities=nationalities,
        own_country="exclude",
        deadline=budget.deadline,
    )
    found = Plan()
    cutoff = utcnow() - timedelta(hours=quiet_hours)
    for start in range(0, len(pks), _CHUNK):
        chunk = [int(p) for p in pks[start : start + _CHUNK]]
        query = select(Worker.id, Worker.nationality, Worker.languages, Worker.phone_hash).where(
            col(Worker.pk).in_(chunk), visibility_clause(actor)
        )
        if data.admin1:
            query = query.where(col(Worker.admin1).in_(data.admin1))
        if data.sectors:
            query = query.where(col(Worker.sector).in_([s.value for s in data.sectors]))
        if data.vulnerable_only:
            query = query.where(col(Worker.vulnerable).is_(True))
        rows = (await session.exec(query.order_by(col(Worker.pk)))).all()
        if not rows:
            continue
        ids = [r[0] for r in rows]
        current = await welfare.statuses_of(session, crisis.id, ids)
        stops = await messaging.stopped(session, [r[3] for r in rows if r[3]])
        recent: set[str] = set()
        if quiet_hours > 0:
            recent = {
                w
                for w in (
                    await session.exec(
                        select(OutboundMessage.worker_id).where(
                            col(OutboundMessage.worker_id).in_(ids),
                            OutboundMessage.step == Step.CHECK.value,
                            OutboundMessage.created_at >= cutoff,
                            OutboundMessage.state != MessageState.CANCELLED.value,
                        )
                    )
                ).all()
                if w
            }
        for worker_id, nationality, languages, phone_hash in rows:
            if current.get(worker_id) in welfare.SETTLED:
                found.settled += 1
            elif not phone_hash:
                found.unreachable.append(worker_id)
            elif phone_hash in stops:
                found.stopped += 1
            elif worker_id in recent:
                found.quiet += 1
            else:
                language = templates.choose_language(list(languages or ()), nationality)
                found.recipients.append(Recipient(worker_id, language))
    return found


async def preview(
    session: AsyncSession,
    *,
    actor: Principal,
    crisis: Crisis,
    data: WelfareCheckCreate,
    index: RegisterIndex,
    budget: Budget,
    settings: Settings,
) -> dict[str, Any]:
    """What starting the check would send, to how many, in which languages, at what cost."""
    found = await plan(
        session,
        actor=actor,
        crisis=crisis,
        data=data,
        index=index,
        budget=budget,
        quiet_hours=settings.messages_quiet_hours,
    )
    languages = Counter(r.language for r in found.recipients)
    texts = _texts(
        await _sender_name(session, actor, data), data.label or crisis.title[:60], languages
    )
    return {
        "crisis_id": crisis.id,
        "exercise": crisis.exercise,
        "drill_notice": DRILL_NOTICE if crisis.exercise else None,
        "gateway": messaging.gateway_kind(settings, drill=crisis.exercise),
        "recipients": len(found.recipients),
        "unreachable": len(found.unreachable),
        "stopped": found.stopped,
        "quiet": found.quiet,
        "settled": found.settled,
        "segments": sum(t.segments * t.recipients for t in texts if t.kind == Step.CHECK.value),
        "texts": texts,
    }


async def start(
    session: AsyncSession,
    *,
    actor: Principal,
    crisis: Crisis,
    data: WelfareCheckCreate,
    index: RegisterIndex,
    budget: Budget,
    settings: Settings,
    protector: Protector,
) -> WelfareCheck:
    """Start a check: the check, its recipients' statuses and its first messages, queued in this
    transaction. One running check per organisation and crisis (409 for a second)."""
    if crisis.phase == Phase.CLOSED.value:
        raise Conflict("This crisis is closed: reopen it to check on people")
    # Two starts at once queue on the crisis's row (PostgreSQL; SQLite has one writer), so that
    # the second sees the first's check.
    await session.exec(select(Crisis.id).where(Crisis.id == crisis.id).with_for_update())
    running = (
        await session.exec(
            select(WelfareCheck.id).where(
                WelfareCheck.crisis_id == crisis.id,
                WelfareCheck.state == CheckState.RUNNING.value,
                WelfareCheck.organization_id == actor.organization_id,
                WelfareCheck.role == actor.role.value,
            )
        )
    ).first()
    if running is not None:
        raise Conflict(
            f"Your organisation's welfare check {running} is still running for this crisis: "
            "cancel it or wait for its deadline"
        )
    found = await plan(
        session,
        actor=actor,
        crisis=crisis,
        data=data,
        index=index,
        budget=budget,
        quiet_hours=settings.messages_quiet_hours,
    )
    now = utcnow()
    sender = await _sender_name(session, actor, data)
    label = data.label or crisis.title[:60]
    languages = Counter(r.language for r in found.recipients)
    check = WelfareCheck(
        crisis_id=crisis.id,
        exercise=crisis.exercise,
        started_by=who(actor),
        organization_id=actor.organization_id,
        role=actor.role.value,
        scope=data.model_dump(
            mode="json",
            include={"admin1", "sectors", "nationalities", "vulnerable_only"},
        ),
        sender=sender,
        label=label,
        gateway=messaging.gateway_kind(settings, drill=crisis.exercise),
        recipients=len(found.recipients),
        unreachable=len(found.unreachable),
        stopped=found.stopped,
        quiet=found.quiet,
        reminder_at=(
            now + timedelta(hours=data.reminder_after_hours)
            if 0 < data.reminder_after_hours < data.answer_within_hours
            else None
        ),
        deadline_at=now + timedelta(hours=data.answer_within_hours),
    )
    texts = _texts(sender, label, languages)
    check.texts = {
        f"{t.kind}:{t.language}": protector.sealer.seal(
            t.body, record_id=check.id, field=f"{t.kind}:{t.language}"
        )
        or ""
        for t in texts
    }
    cost = {(t.kind, t.language): t.segments for t in texts}
    session.add(check)
    await session.flush()
    # The recipients' statuses come with their messages: `contacted` when each is sent (a
    # hundred thousand `unknown` rows and their history now would double what the check
    # writes before it answers).
    await welfare.set_many(
        session,
        crisis=crisis,
        worker_ids=found.unreachable,
        to=WelfareOutcome.UNREACHABLE,
        only_from=frozenset({WelfareOutcome.UNKNOWN, WelfareOutcome.CONTACTED}),
        actor=actor,
        how=None,
    )
    await messaging.insert_messages(
        session,
        [_message(check, r.worker_id, Step.CHECK, r.language, cost, now) for r in found.recipients],
    )
    await crisis_event(
        session,
        crisis,
        "welfare_check_started",
        actor,
        check_id=check.id,
        recipients=check.recipients,
        unreachable=check.unreachable,
        stopped=check.stopped,
        quiet=check.quiet,
        gateway=check.gateway,
    )
    return check


def _message(
    check: WelfareCheck,
    worker_id: str,
    step: Step,
    language: str,
    cost: dict[tuple[str, str], int],
    now: datetime,
) -> dict[str, Any]:
    return {
        "id": new_id(),
        "check_id": check.id,
        "crisis_id": check.crisis_id,
        "worker_id": worker_id,
        "reply_to": None,
        "to_sealed": None,
        "text_sealed": None,
        "step": step.value,
        "kind": KINDS[step].value,
        "language": language,
        "segments": cost.get((step.value, language), 1),
        "gateway": check.gateway,
        "drill": check.exercise,
        "state": MessageState.PENDING.value,
        "attempts": 0,
        "next_attempt_at": now,
        "locked_until": None,
        "provider_id": None,
        "error": None,
        "created_at": now,
        "sent_at": None,
        "delivered_at": None,
    }


async def cancel(
    session: AsyncSession, *, actor: Principal, crisis: Crisis, check: WelfareCheck
) -> bool:
    """Stop a running check: what was not sent is not sent. False when it was not running."""
    if check.state != CheckState.RUNNING.value:
        return False
    recipients = await _recipients(session, check.id)
    await messaging.cancel_pending(
        session, recipients, reason="check cancelled", crisis_id=crisis.id
    )
    check.state = CheckState.CANCELLED.value
    check.closed_at = check.updated_at = utcnow()
    check.version += 1
    session.add(check)
    await crisis_event(session, crisis, "welfare_check_cancelled", actor, check_id=check.id)
    return True


async def _recipients(session: AsyncSession, check_id: str) -> list[str]:
    rows = await session.exec(
        select(OutboundMessage.worker_id).where(
            OutboundMessage.check_id == check_id, OutboundMessage.step == Step.CHECK.value
        )
    )
    return [w for w in rows.all() if w]


async def answers(session: AsyncSession, check: WelfareCheck) -> dict[str, int]:
    """The check's recipients' statuses in its crisis, counted."""
    from service.welfare.models import WelfareStatus

    rows = await session.exec(
        select(WelfareStatus.status, func.count())
        .join(
            OutboundMessage,
            (col(OutboundMessage.worker_id) == col(WelfareStatus.worker_id))
            & (col(OutboundMessage.check_id) == check.id)
            & (col(OutboundMessage.step) == Step.CHECK.value),
        )
        .where(WelfareStatus.crisis_id == check.crisis_id)
        .group_by(col(WelfareStatus.status))
    )
    return {status: int(n) for status, n in rows.all()}


def may_follow(actor: Principal, check: WelfareCheck) -> bool:
    """Who follows a check: its organisation, and the coordinators who run the response."""
    if actor.role in (Role.ADMIN, Role.COORDINATOR):
        return True
    return check.organization_id is not None and check.organization_id == actor.organization_id


def checks_of(actor: Principal, crisis_id: str) -> Any:
    """The query of the crisis's checks the caller follows."""
    query = select(WelfareCheck).where(WelfareCheck.crisis_id == crisis_id)
    if actor.role not in (Role.ADMIN, Role.COORDINATOR):
        query = query.where(WelfareCheck.organization_id == (actor.organization_id or ""))
    return query


async def followed_check(
    session: AsyncSession, actor: Principal, crisis_id: str, check_id: str
) -> WelfareCheck:
    """One check of the crisis that the caller follows; else the 404 of no such check."""
    check = await session.get(WelfareCheck, check_id)
    if check is None or check.crisis_id != crisis_id or not may_follow(actor, check):
        raise not_found("welfare check", check_id)
    return check


def tracing_key(worker_id: str) -> str:
    """The one tracing task a silent person gets in a crisis."""
    return f"welfare.tracing@{worker_id}"


async def advance(
    session: AsyncSession, *, actor: Principal, now: datetime | None = None
) -> dict[str, int]:
    """The checks whose time has come: reminders to the silent ones, and at the deadline
    ``no_answer`` with a tracing task for each. Each at most once (the check's ``reminded_at``
    and state, the messages' and tasks' unique keys)."""
    now = now or utcnow()
    done = {"reminded": 0, "no_answer": 0, "tracing_tasks": 0}
    due = (
        await session.exec(
            select(WelfareCheck).where(
                WelfareCheck.state == CheckState.RUNNING.value,
                (col(WelfareCheck.deadline_at) <= now)
                | (
                    col(WelfareCheck.reminded_at).is_(None)
                    & col(WelfareCheck.reminder_at).is_not(None)
                    & (col(WelfareCheck.reminder_at) <= now)
                ),
            )
        )
    ).all()
    for check in due:
        crisis = await session.get(Crisis, check.crisis_id)
        if crisis is None:
            continue
        recipients = await _recipients(session, check.id)
        current = await welfare.statuses_of(session, crisis.id, recipients)
        # Silent: still waiting, or not even reached yet (no status: its message is pending).
        silent = [
            w for w in recipients if current.get(w, WelfareOutcome.UNKNOWN) in welfare.WAITING
        ]
        if check.deadline_at <= now:
            await messaging.cancel_pending(
                session,
                silent,
                reason="deadline",
                crisis_id=crisis.id,
                steps=[Step.REMINDER.value],
                check_id=check.id,
            )
            changed = await welfare.set_many(
                session,
                crisis=crisis,
                worker_ids=silent,
                to=WelfareOutcome.NO_ANSWER,
                only_from=welfare.WAITING,
                actor=actor,
                how=None,
            )
            done["no_answer"] += len(changed)
            done["tracing_tasks"] += await _tracing_tasks(
                session, actor=actor, crisis=crisis, silent=changed
            )
            check.state = CheckState.CLOSED.value
            check.closed_at = now
        else:
            languages = dict(
                (
                    await session.exec(
                        select(OutboundMessage.worker_id, OutboundMessage.language).where(
                            OutboundMessage.check_id == check.id,
                            OutboundMessage.step == Step.CHECK.value,
                            col(OutboundMessage.state).in_(
                                [MessageState.SENT.value, MessageState.DELIVERED.value]
                            ),
                        )
                    )
                ).all()
            )
            cost = {
                (Step.REMINDER.value, lang): _segments(templates.Kind.REMINDER, lang, check)
                for lang in set(languages.values())
            }
            rows = [
                _message(check, w, Step.REMINDER, languages[w], cost, utcnow())
                for w in silent
                if w in languages
            ]
            await messaging.insert_messages(session, rows)
            done["reminded"] += len(rows)
            check.reminded_at = now
        check.version += 1
        check.updated_at = now
        session.add(check)
    return done


def _segments(kind: templates.Kind, language: str, check: WelfareCheck) -> int:
    text = templates.render(kind, language, {"sender": check.sender, "crisis": check.label})
    return segments.count(text.body).segments


async def _tracing_tasks(
    session: AsyncSession, *, actor: Principal, crisis: Crisis, silent: list[str]
) -> int:
    """A tracing task for each person silent at the deadline, for the organisation that serves
    them, once per person and crisis."""
    if not silent:
        return 0
    keys = await existing_keys(session, crisis.id)
    made = 0
    for start in range(0, len(silent), _CHUNK):
        chunk = silent[start : start + _CHUNK]
        workers = (await session.exec(select(Worker).where(col(Worker.id).in_(chunk)))).all()
        for worker in workers:
            key = tracing_key(worker.id)
            if key in keys:
                continue
            org = await serving_organization(session, worker)
            await create_task(
                session,
                crisis=crisis,
                actor=actor,
                values={
                    "key": key,
                    "title": "Welfare check: no answer, trace this person",
                    "description": f"Worker {worker.id} did not answer the welfare check. "
                    f"{where_and_language(worker)} Call, or visit through the employer or the "
                    "society's volunteers, and record what you find: "
                    f"POST /api/v1/crises/{crisis.id}/welfare/{worker.id}",
                    "assignee_org": org.id if org else None,
                    "actor_role": "national_society_host"
                    if org is not None and org.kind == "national_society"
                    else "embassy",
                    "coverage_gap": org is None,
                },
            )
            keys[key] = ""
            made += 1
    return made


#: A check's recipients, as its export writes them: ids, places, languages, states; no number,
#: no name, no text, no documentation status.
RECIPIENT_COLUMNS = (
    "worker_id", "nationality", "admin1", "language", "check_message", "reminder",
    "welfare_status", "sent_at", "delivered_at",
)  # fmt: skip


async def recipients(
    session: AsyncSession, *, actor: Principal, check: WelfareCheck, limit: int
) -> list[dict[str, Any]]:
    """The check's recipients whom the caller may read now (``service.registry.access``), each
    with the state of their first message and reminder and their welfare status."""
    from service.welfare.models import WelfareStatus

    first = (
        await session.exec(
            select(OutboundMessage, Worker.nationality, Worker.admin1)
            .join(Worker, col(Worker.id) == col(OutboundMessage.worker_id))
            .where(
                OutboundMessage.check_id == check.id,
                OutboundMessage.step == Step.CHECK.value,
                visibility_clause(actor),
            )
            .order_by(col(OutboundMessage.id))
            .limit(limit)
        )
    ).all()
    ids = [m.worker_id for m, _, _ in first if m.worker_id]
    reminders = dict(
        (
            await session.exec(
                select(OutboundMessage.worker_id, OutboundMessage.state).where(
                    OutboundMessage.check_id == check.id,
                    OutboundMessage.step == Step.REMINDER.value,
                    col(OutboundMessage.worker_id).in_(ids),
                )
            )
        ).all()
    )
    statuses = dict(
        (
            await session.exec(
                select(WelfareStatus.worker_id, WelfareStatus.status).where(
                    WelfareStatus.crisis_id == check.crisis_id,
                    col(WelfareStatus.worker_id).in_(ids),
                )
            )
        ).all()
    )
    return [
        {
            "worker_id": m.worker_id,
            "nationality": nationality,
            "admin1": admin1,
            "language": m.language,
            "check_message": m.state,
            "reminder": reminders.get(m.worker_id),
            "welfare_status": statuses.get(m.worker_id or ""),
            "sent_at": m.sent_at,
            "delivered_at": m.delivered_at,
        }
        for m, nationality, admin1 in first
    ]
