"""Restoring Family Links across domains: a safe-and-well listing for a worker the caller may read
and whom a crisis counts as safe; a tracing request filed, matched against the register's name
keys (brought up to date first), and the task of each step for the right society on each side of
the border, in the request's crisis.
"""

from __future__ import annotations

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from integrations import pfif
from integrations.messaging import templates
from integrations.messaging.phones import normalise
from service.audit.service import record as audit
from service.auth.principal import Principal
from service.changes import who
from service.crises.models import Crisis
from service.directory.models import Organization, OrgKind
from service.errors import Conflict, Forbidden, InvalidInput
from service.family_links import exchange, service
from service.family_links.models import (
    TRACING_SEALED,
    Direction,
    RedCrossMessage,
    SafeWellListing,
    TracingRequest,
    TracingState,
)
from service.family_links.schemas import ListingCreate, TracingCreate
from service.messaging import service as messaging
from service.messaging.models import OutboundMessage, Step
from service.registry.models import Worker
from service.registry.protect import Protector
from service.registry.service import get_worker
from service.settings import Settings
from service.tasks.service import create_task, has_task
from service.welfare.models import WelfareOutcome, WelfareStatus

#: Register changes the name index catches up on before a match, at most (the background job
#: does the rest: a register of millions is indexed there, not in a request).
CATCH_UP = 20_000


async def list_safe(
    session: AsyncSession, *, actor: Principal, data: ListingCreate, protector: Protector
) -> tuple[SafeWellListing, bool]:
    """A listing for a worker the caller may read (404 otherwise) who is ``safe`` in the crisis
    named (or in one), with their agreement."""
    worker, _ = await get_worker(session, actor=actor, worker_id=data.worker_id)
    if worker.international_protection:
        # A public listing may be found by those the person fled; their protection officer
        # decides how their family hears from them.
        raise Conflict(
            "A person under international protection is not listed publicly: their family is "
            "told through their protection officer or a tracing request"
        )
    query = select(WelfareStatus.crisis_id).where(
        WelfareStatus.worker_id == worker.id, WelfareStatus.status == WelfareOutcome.SAFE.value
    )
    if data.crisis_id is not None:
        query = query.where(WelfareStatus.crisis_id == data.crisis_id)
    safe_in = (await session.exec(query)).first()
    if safe_in is None:
        raise Conflict(
            "Only a person recorded as safe may be listed as safe and well: record their "
            "welfare first (a reply, a call, a volunteer's visit)"
        )
    crisis = await session.get(Crisis, safe_in)
    return await service.list_safe(
        session,
        actor=actor,
        worker=worker,
        crisis_id=safe_in,
        exercise=bool(crisis and crisis.exercise),
        message=data.message,
        agreed_via=data.agreed_via.value,
        home_town=data.home_town,
        protector=protector,
    )


async def export_listings(
    session: AsyncSession,
    *,
    actor: Principal,
    crisis_id: str | None,
    protector: Protector,
    domain: str,
) -> bytes:
    """The listings the caller may hand on as a PFIF 1.4 document, audited with its count."""
    persons, notes = await exchange.export_listings(
        session, actor=actor, crisis_id=crisis_id, protector=protector, domain=domain
    )
    audit(
        session,
        actor=actor,
        action="safe_well.export",
        subject_type="crisis" if crisis_id else None,
        subject_id=crisis_id,
        detail={"persons": len(persons)},
        purpose="restoring family links",
    )
    return pfif.dump(persons, notes)


async def import_listings(
    session: AsyncSession,
    *,
    actor: Principal,
    document: bytes,
    crisis_id: str | None,
    protector: Protector,
    domain: str,
) -> exchange.Imported:
    """A PFIF import of safe-and-well records, in the crisis named (its exercise flag with it),
    audited with its counts (never a name). A bad document is a 422 that writes nothing."""
    crisis = await session.get(Crisis, crisis_id) if crisis_id else None
    if crisis_id and crisis is None:
        raise InvalidInput(
            f"No crisis {crisis_id}",
            errors=[{"loc": ["query", "crisis_id"], "msg": "no such crisis"}],
        )
    try:
        done = await exchange.import_listings(
            session,
            actor=actor,
            document=document,
            crisis_id=crisis_id,
            exercise=bool(crisis and crisis.exercise),
            protector=protector,
            domain=domain,
        )
    except pfif.PfifError as exc:
        raise InvalidInput(
            f"Not a usable PFIF 1.4 document: {exc}",
            errors=[{"loc": ["body"], "msg": str(exc)}],
        ) from exc
    audit(
        session,
        actor=actor,
        action="safe_well.import",
        detail={
            "imported": done.imported,
            "unchanged": done.unchanged,
            "skipped": len(done.skipped),
        },
        purpose="restoring family links",
    )
    return done


async def _society(session: AsyncSession, country: str) -> Organization | None:
    return (
        await session.exec(
            select(Organization)
            .where(
                Organization.kind == OrgKind.NATIONAL_SOCIETY.value,
                Organization.country == country,
            )
            .order_by(col(Organization.created_at), col(Organization.id))
        )
    ).first()


async def file_request(
    session: AsyncSession, *, actor: Principal, data: TracingCreate, protector: Protector
) -> TracingRequest:
    """A tracing request filed by a national society's tracing officer on an enquirer's
    behalf (with their consent), matched at once; the host society's task to search."""
    if not service.is_tracing_officer(actor) or (
        actor.country is None and actor.role.value != "admin"
    ):
        raise Forbidden("Tracing requests are filed by a national society's tracing officers")
    if not data.enquirer_consent:
        raise InvalidInput(
            "A search is made with the enquirer's consent: record it (`enquirer_consent`)",
            errors=[{"loc": ["body", "enquirer_consent"], "msg": "must be true"}],
        )
    crisis = await session.get(Crisis, data.crisis_id) if data.crisis_id else None
    if data.crisis_id and crisis is None:
        raise InvalidInput(
            f"No crisis {data.crisis_id}",
            errors=[{"loc": ["body", "crisis_id"], "msg": "no such crisis"}],
        )
    request = TracingRequest(
        filed_by_org=actor.organization_id or "",
        filed_by=who(actor),
        origin_country=actor.country or data.sought_nationality,
        host_country=data.host_country,
        crisis_id=data.crisis_id,
        sought_sex=data.sought_sex,
        sought_birth_year=data.sought_birth_year,
        sought_nationality=data.sought_nationality,
        last_contact=data.last_contact,
        separation=data.separation.value,
        enquirer_relationship=data.enquirer_relationship,
        enquirer_consent=True,
        language=data.language,
        exercise=bool(crisis and crisis.exercise),
    )
    request.shown_at = request.created_at
    values = data.model_dump()
    values["sought_other_names"] = ";".join(data.sought_other_names) or None
    for field in TRACING_SEALED:
        setattr(
            request,
            f"{field}_sealed",
            protector.sealer.seal(values[field], record_id=request.id, field=field),
        )
    session.add(request)
    await session.flush()
    service.record(session, request, actor, None)
    await rematch(session, actor=actor, request=request, protector=protector)
    if crisis is not None:
        await _task(
            session,
            actor=actor,
            crisis=crisis,
            request=request,
            step="search",
            title="Tracing: search for the person sought",
            country=request.host_country,
        )
    return request


async def rematch(
    session: AsyncSession, *, actor: Principal, request: TracingRequest, protector: Protector
) -> int:
    """Match again (the register changes): the name index caught up, new candidates proposed;
    an open request with candidates becomes ``candidate``. How many were proposed."""
    if service.ended(request):
        raise Conflict(f"A request {request.state} is not searched any more")
    done = 0
    while done < CATCH_UP:
        batch = await service.index_names(session, protector)
        if batch == 0:
            break
        done += batch
    made = await service.match(session, request=request, protector=protector)
    if made and request.state == TracingState.OPEN.value:
        service.set_state(session, request, TracingState.CANDIDATE, actor, candidates=len(made))
    return len(made)


async def after_move(session: AsyncSession, *, actor: Principal, request: TracingRequest) -> None:
    """The task the new state asks for, in the request's crisis: the host society asks the
    located person whether they want contact; the society that filed it tells the enquirer."""
    crisis = await session.get(Crisis, request.crisis_id) if request.crisis_id else None
    if crisis is None:
        return
    state = TracingState(request.state)
    if state is TracingState.LOCATED:
        await _task(
            session,
            actor=actor,
            crisis=crisis,
            request=request,
            step="consent",
            title="Tracing: ask the person found whether they want contact",
            country=request.host_country,
        )
    elif state in (
        TracingState.CONTACT_RESTORED,
        TracingState.NOT_WANTING_CONTACT,
        TracingState.CLOSED_NOT_FOUND,
        TracingState.DECEASED,
    ):
        said = service.FOR_THE_FAMILY[state]
        await _task(
            session,
            actor=actor,
            crisis=crisis,
            request=request,
            step="answer",
            title=f"Tracing: tell the enquirer ({said.replace('_', ' ')})",
            org_id=request.filed_by_org,
        )


async def _task(
    session: AsyncSession,
    *,
    actor: Principal,
    crisis: Crisis,
    request: TracingRequest,
    step: str,
    title: str,
    country: str | None = None,
    org_id: str | None = None,
) -> None:
    """One task a step, for the society of that side. Its words name the request only: what the
    request holds is read on the request, by its tracing officers."""
    key = f"tracing.{step}@{request.id}"
    if await has_task(session, crisis.id, key):
        return
    if org_id is None and country is not None:
        org = await _society(session, country)
        org_id = org.id if org else None
    await create_task(
        session,
        crisis=crisis,
        actor=actor,
        values={
            "key": key,
            "title": title,
            "description": f"Tracing request {request.id}: see it in the tracing queue.",
            "assignee_org": org_id,
            "actor_role": "national_society_host" if country else "national_society_origin",
            "coverage_gap": org_id is None,
        },
    )


async def send_message(
    session: AsyncSession,
    *,
    actor: Principal,
    request: TracingRequest,
    seen: str,
    text: str,
    protector: Protector,
    settings: Settings,
) -> RedCrossMessage:
    """A Red Cross Message, once contact was restored: the family's side writes to the person
    found, the host society to the family. Sent by SMS through the outbox (the person found at
    their registered phone, in their language; the enquirer at their contact if it is a phone,
    in the request's language; the drill gateway for an exercise), else delivered by hand: a
    task for the society of that side."""
    if request.state != TracingState.CONTACT_RESTORED.value:
        raise Conflict("Red Cross Messages are carried once contact is restored, not before")
    if seen not in ("family", "search"):
        raise Forbidden("Red Cross Messages are written by the societies on either side")
    direction = Direction.TO_FOUND if seen == "family" else Direction.TO_FAMILY
    message = RedCrossMessage(
        request_id=request.id,
        direction=direction.value,
        channel="sms",
        written_by=who(actor),
    )
    message.text_sealed = protector.sealer.seal(text, record_id=message.id, field="text")
    worker_id: str | None = None
    to: str | None = None
    language = request.language
    if direction is Direction.TO_FOUND:
        worker = (
            await session.exec(select(Worker).where(Worker.id == request.located_worker_id))
        ).first()
        if worker is not None and worker.erased_at is None and worker.phone_sealed:
            worker_id = worker.id
            languages = list(worker.languages or ())
            language = templates.choose_language(languages, worker.nationality)
    else:
        contact = service.open_request(request, protector)["enquirer_contact"] or ""
        to = normalise(contact, request.origin_country)
    out: OutboundMessage | None = None
    if worker_id is not None or to is not None:
        out = OutboundMessage(
            crisis_id=request.crisis_id,
            worker_id=worker_id,
            step=Step.RC_MESSAGE.value,
            kind=templates.Kind.RC_MESSAGE.value,
            language=language,
            gateway=messaging.gateway_kind(settings, drill=request.exercise),
            drill=request.exercise,
        )
        out.to_sealed = protector.sealer.seal(to, record_id=out.id, field="to")
    if out is None:
        message.channel = "by_hand"
    else:
        out.text_sealed = protector.sealer.seal(text, record_id=out.id, field="text")
        message.outbox_id = out.id
        session.add(out)
    session.add(message)
    service.record(session, request, actor, request.state, rc_message=message.id)
    crisis = await session.get(Crisis, request.crisis_id) if request.crisis_id else None
    if message.channel == "by_hand" and crisis is not None:
        await _task(
            session,
            actor=actor,
            crisis=crisis,
            request=request,
            step=f"rc_message.{message.id}",
            title="Tracing: deliver a Red Cross Message by hand",
            country=request.host_country if direction is Direction.TO_FOUND else None,
            org_id=None if direction is Direction.TO_FOUND else request.filed_by_org,
        )
    return message
