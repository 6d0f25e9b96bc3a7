"""`/api/v1/safe-and-well`, `/api/v1/tracing-requests`, `/api/v1/workers/{id}/family-contacts`:
Restoring Family Links."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Request, Response, status
from sqlmodel import col, select

from integrations import pfif
from service.audit.service import record as audit
from service.auth.principal import Principal
from service.changes import who
from service.deps import IfMatch, SessionDep, SettingsDep, send_etag
from service.errors import InvalidInput, NotFound, PayloadTooLarge
from service.exports import tables
from service.family_links import exchange, service
from service.family_links.dependencies import (
    Lister,
    Searcher,
    Tracer,
    WorkerReader,
    WorkerWriter,
    run_search,
)
from service.family_links.models import (
    FamilyContact,
    ListingState,
    RedCrossMessage,
    SafeWellListing,
    TracingCandidate,
    TracingRequest,
    TracingState,
)
from service.family_links.schemas import (
    CandidateDecision,
    CandidatePublic,
    ConsularAgreement,
    ContactCreate,
    ContactPublic,
    ImportAnswer,
    ListingCreate,
    ListingEnd,
    ListingPublic,
    RcMessageCreate,
    RcMessagePublic,
    SearchAnswer,
    SearchCreate,
    Skipped,
    TracingCreate,
    TracingMove,
    TracingPublic,
)
from service.flows import family_links as flows
from service.lookups import not_found
from service.openapi import problems
from service.pagination import CursorParam, LimitParam, Page, paginate
from service.registry.access import visible_fields
from service.registry.dependencies import ProtectorDep, rate_limit
from service.registry.models import Worker
from service.registry.protect import Protector
from service.registry.service import get_worker

router = APIRouter(tags=["family links"])


def present_listing(listing: SafeWellListing, protect: Protector) -> ListingPublic:
    return ListingPublic(
        **{n: getattr(listing, n) for n in ListingPublic.model_fields if n != "message"},
        message=protect.sealer.open(listing.message_sealed, record_id=listing.id, field="message"),
    )


@router.post(
    "/safe-and-well",
    response_model=ListingPublic,
    status_code=status.HTTP_201_CREATED,
    responses={200: {"description": "Listed already"}, **problems(404, 409, 422)},
)
async def create_listing(
    data: ListingCreate,
    session: SessionDep,
    actor: Lister,
    protect: ProtectorDep,
    response: Response,
) -> ListingPublic:
    """List a worker recorded as safe (in the crisis named, else in one) as "safe and well",
    with their agreement and how it was given, and a short message for their family. A relative
    finds it only with the full name and the birth date, the phone or the home town. The same
    again changes nothing; a new message replaces the old."""
    listing, made = await flows.list_safe(session, actor=actor, data=data, protector=protect)
    if not made:
        response.status_code = status.HTTP_200_OK
    send_etag(response, listing.version)
    return present_listing(listing, protect)


async def _listing(session: SessionDep, actor: Principal, listing_id: str) -> SafeWellListing:
    listing = await session.get(SafeWellListing, listing_id)
    if listing is None:
        raise not_found("safe-and-well listing", listing_id)
    if listing.worker_id is None:  # imported: its organisation's, and the administrators'
        if actor.role.value != "admin" and listing.agreed_by != who(actor):
            raise not_found("safe-and-well listing", listing_id)
        return listing
    try:
        await get_worker(session, actor=actor, worker_id=listing.worker_id)
    except NotFound as exc:  # the worker's 404 is the listing's
        raise not_found("safe-and-well listing", listing_id) from exc
    return listing


PFIF_TYPES = ("application/xml", "text/xml")
CrisisFilter = Annotated[
    str | None,
    Query(
        max_length=36,
        pattern=r"^[0-9a-f-]{1,36}$",
        description="Only the listings of this crisis",
    ),
]


@router.get(
    "/safe-and-well.pfif",
    responses={200: {"content": {"application/xml": {}}, "description": "A PFIF 1.4 document"}},
    response_class=Response,
)
async def export_listings_pfif(
    session: SessionDep,
    actor: Lister,
    protect: ProtectorDep,
    settings: SettingsDep,
    crisis_id: CrisisFilter = None,
) -> Response:
    """The listings still listed (the person agreed) as PFIF 1.4: a person record each
    (`{domain}/safe-well.{id}`, or an imported listing's original id), with the names the
    person agreed to be listed under and the home town they gave, and a note `believed_alive`
    with their message. Of the workers you may read, and the listings your organisation
    imported. Never the birth date, the phone, a documentation status."""
    document = await flows.export_listings(
        session,
        actor=actor,
        crisis_id=crisis_id,
        protector=protect,
        domain=settings.records_domain,
    )
    return Response(
        document,
        media_type="application/xml",
        headers={"Content-Disposition": 'attachment; filename="safe-and-well.pfif.xml"'},
    )


@router.post(
    "/safe-and-well.pfif",
    response_model=ImportAnswer,
    responses=problems(413, 422),
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {t: {"schema": {"type": "string"}} for t in PFIF_TYPES},
        }
    },
)
async def import_listings_pfif(
    request: Request,
    session: SessionDep,
    actor: Lister,
    protect: ProtectorDep,
    settings: SettingsDep,
    crisis_id: CrisisFilter = None,
) -> ImportAnswer:
    """Import a PFIF 1.4 document of people who are not in the register: each person with a
    note `believed_alive` or `is_note_author` and a fact to be found by (a whole
    `date_of_birth`, a `home_city`) becomes a listing, found by a relative's search as any
    other. A record known already (by its id) is left as it is: the same document twice
    changes nothing. A document with a bad record is refused whole (422)."""
    document = await request.body()
    if len(document) > pfif.MAX_BYTES:
        raise PayloadTooLarge(f"A PFIF document is limited to {pfif.MAX_BYTES} bytes")
    done = await flows.import_listings(
        session,
        actor=actor,
        document=document,
        crisis_id=crisis_id,
        protector=protect,
        domain=settings.records_domain,
    )
    return ImportAnswer(
        imported=done.imported,
        unchanged=done.unchanged,
        skipped=len(done.skipped),
        reasons=[Skipped(**s) for s in done.skipped],
    )


@router.get("/safe-and-well/{id}", response_model=ListingPublic, responses=problems(404))
async def get_listing(
    id: str, session: SessionDep, actor: Lister, protect: ProtectorDep, response: Response
) -> ListingPublic:
    """A listing of a worker you may read."""
    listing = await _listing(session, actor, id)
    send_etag(response, listing.version)
    return present_listing(listing, protect)


@router.post("/safe-and-well/{id}/end", response_model=ListingPublic, responses=problems(404, 422))
async def end_listing(
    id: str,
    data: ListingEnd,
    session: SessionDep,
    actor: Lister,
    protect: ProtectorDep,
    response: Response,
) -> ListingPublic:
    """The person withdrew their agreement (`withdrawn`) or asked that the listing be taken
    down (`removed`): it is never found again, and its message is gone."""
    if data.state is ListingState.LISTED:
        raise InvalidInput(
            "A listing ends `withdrawn` or `removed`",
            errors=[{"loc": ["body", "state"], "msg": "withdrawn or removed"}],
        )
    listing = await _listing(session, actor, id)
    await service.end_listing(session, actor=actor, listing=listing, to=data.state)
    send_etag(response, listing.version)
    return present_listing(listing, protect)


@router.post("/safe-and-well/search", response_model=SearchAnswer, responses=problems(422, 429))
async def search_listings(
    data: SearchCreate,
    request: Request,
    session: SessionDep,
    actor: Searcher,
    protect: ProtectorDep,
) -> SearchAnswer:
    """Search as a relative: the full name (in any order, case or accents) and exactly one fact
    only a relative would know. The answer is a listing ("listed as safe and well on DATE", and
    the person's message) or "no listing found", the same shape either way: never a list, never
    a hint that someone of that name is registered. Rate-limited per address."""
    return await run_search(request, session, actor, data, protect)


# Tracing ---------------------------------------------------------------------------------------


async def present_request(
    session: SessionDep,
    actor: Principal,
    request: TracingRequest,
    seen: str,
    protect: Protector,
) -> TracingPublic:
    opened = service.open_request(request, protect)
    state = service.shown_state(request, seen)
    candidates: list[CandidatePublic] = []
    if seen == "search":
        rows = (
            await session.exec(
                select(TracingCandidate, Worker)
                .join(Worker, col(Worker.id) == col(TracingCandidate.worker_id))
                .where(TracingCandidate.request_id == request.id)
                .order_by(col(TracingCandidate.score).desc(), col(TracingCandidate.id))
            )
        ).all()
        for candidate, worker in rows:
            fields = visible_fields(actor, worker) or frozenset()
            named = "given_name" in fields
            candidates.append(
                CandidatePublic(
                    id=candidate.id,
                    worker_id=candidate.worker_id,
                    score=candidate.score,
                    why=candidate.why,
                    state=candidate.state,
                    given_name=protect.open(worker, "given_name") if named else None,
                    family_name=protect.open(worker, "family_name") if named else None,
                )
            )
    # Every opening of a request's sealed fields is audited, with its side and the candidates
    # shown by name (ids and counts, never the names).
    audit(
        session,
        actor=actor,
        action="tracing.read",
        subject_type="tracing_request",
        subject_id=request.id,
        detail={
            "side": seen,
            "candidates_named": sum(1 for c in candidates if c.given_name is not None),
        },
        purpose="restoring family links",
    )
    return TracingPublic(
        id=request.id,
        side=seen,
        state=state,
        host_country=request.host_country,
        origin_country=request.origin_country,
        filed_by_org=request.filed_by_org,
        crisis_id=request.crisis_id,
        sought_sex=request.sought_sex,
        sought_birth_year=request.sought_birth_year,
        sought_nationality=request.sought_nationality,
        last_contact=request.last_contact,
        separation=request.separation,
        enquirer_relationship=request.enquirer_relationship,
        language=request.language,
        located_worker_id=request.located_worker_id if seen != "family" else None,
        candidates=candidates,
        consular_agreed=request.consular_agreed if seen != "family" else None,
        exercise=request.exercise,
        version=service.shown_version(request, seen),
        created_at=request.created_at,
        updated_at=request.updated_at if seen != "family" else request.shown_at,
        **opened,
    )


@router.post(
    "/tracing-requests",
    response_model=TracingPublic,
    status_code=status.HTTP_201_CREATED,
    responses=problems(403, 422),
)
async def file_request(
    data: TracingCreate,
    session: SessionDep,
    actor: Tracer,
    protect: ProtectorDep,
    response: Response,
) -> TracingPublic:
    """File a tracing request on an enquirer's behalf (a national society's tracing officer,
    with the enquirer's consent): the sought person, the enquirer, the language to answer in.
    It is matched at once against the register of the host country (keyed name tokens and birth
    year: `candidate` when any is found), and the host society gets the task to search."""
    request = await flows.file_request(session, actor=actor, data=data, protector=protect)
    seen = service.side(actor, request) or "family"
    send_etag(response, service.shown_version(request, seen))
    return await present_request(session, actor, request, seen, protect)


#: The most requests one download holds.
CSV_LIMIT = 10_000


@router.get(
    "/tracing-requests",
    response_model=Page[TracingPublic],
    responses={**tables.ANSWER, **problems(429)},
)
async def list_requests(
    request: Request,
    session: SessionDep,
    actor: Tracer,
    protect: ProtectorDep,
    limit: LimitParam = 50,
    cursor: CursorParam = None,
    state: Annotated[TracingState | None, Query(description="Only this state")] = None,
    format: Annotated[str, Query(pattern=tables.PATTERN)] = "json",
) -> Any:
    """The tracing officer's queue: the requests of your side of the border (sought in your
    country, or filed from it), the most recently changed first. format=csv or xlsx for the
    tracing officers, without the enquirer's contact: up to 10,000 from the cursor."""
    rate_limit(request, actor)
    query = select(TracingRequest)
    if actor.role.value != "admin":
        query = query.where(
            (col(TracingRequest.host_country) == (actor.country or ""))
            | (col(TracingRequest.origin_country) == (actor.country or ""))
            | (col(TracingRequest.filed_by_org) == (actor.organization_id or ""))
        )
    if state is not None:
        query = query.where(TracingRequest.state == state.value)
    page = await paginate(
        session,
        query,
        key=[col(TracingRequest.updated_at), col(TracingRequest.id)],
        limit=CSV_LIMIT if format in tables.FORMATS else limit,
        cursor=cursor,
        descending=True,
    )
    items = []
    for found in page.items:
        seen = await service.side_now(session, actor, found)
        if seen is not None:
            items.append(await present_request(session, actor, found, seen, protect))
    if format in tables.FORMATS:
        columns = ("id", "side", "state", "host_country", "origin_country", "sought_given_name",
                   "sought_family_name", "sought_birth_year", "sought_nationality", "separation",
                   "enquirer_relationship", "language", "created_at", "updated_at")  # fmt: skip
        return tables.download(
            session,
            actor,
            format,
            columns,
            [[getattr(i, c) for c in columns] for i in items],
            "tracing-requests.csv",
            what="tracing_requests",
            scope={"state": state.value if state else None},
            cap=CSV_LIMIT,
            more=page.next_cursor is not None,
        )
    return Page[TracingPublic](items=items, next_cursor=page.next_cursor)


@router.get("/tracing-requests/{id}", response_model=TracingPublic, responses=problems(404))
async def get_request(
    id: str, session: SessionDep, actor: Tracer, protect: ProtectorDep, response: Response
) -> TracingPublic:
    """A request of your side of the border. The family's side sees the state in the words it
    may pass on: a person found who does not want contact is, for it, a search that is closed."""
    found, seen = await service.get_request(session, actor, id)
    send_etag(response, service.shown_version(found, seen))
    return await present_request(session, actor, found, seen, protect)


def _search_side(seen: str) -> None:
    if seen != "search":
        raise not_found("tracing request", "")


@router.post(
    "/tracing-requests/{id}/match",
    response_model=TracingPublic,
    responses=problems(404, 409),
)
async def rematch(
    id: str, session: SessionDep, actor: Tracer, protect: ProtectorDep
) -> TracingPublic:
    """Match again against the register as it is now (the host society's tracing officers)."""
    found, seen = await service.get_request(session, actor, id)
    _search_side(seen)
    await flows.rematch(session, actor=actor, request=found, protector=protect)
    return await present_request(session, actor, found, seen, protect)


@router.post(
    "/tracing-requests/{id}/candidates/{candidate_id}/decision",
    response_model=TracingPublic,
    responses=problems(404, 409),
)
async def decide(
    id: str,
    candidate_id: str,
    data: CandidateDecision,
    session: SessionDep,
    actor: Tracer,
    protect: ProtectorDep,
) -> TracingPublic:
    """The host society's tracing officer confirms a candidate (the request is `located`, and
    the task to ask the person whether they want contact opens) or rejects it."""
    found, seen = await service.get_request(session, actor, id)
    _search_side(seen)
    candidate = await session.get(TracingCandidate, candidate_id)
    if candidate is None or candidate.request_id != found.id:
        raise not_found("candidate", candidate_id)
    if await service.decide_candidate(
        session, actor=actor, request=found, candidate=candidate, confirmed=data.confirmed
    ):
        await flows.after_move(session, actor=actor, request=found)
    return await present_request(session, actor, found, seen, protect)


@router.post(
    "/tracing-requests/{id}/consular-agreement",
    response_model=TracingPublic,
    responses=problems(404, 409),
)
async def consular_agreement(
    id: str,
    data: ConsularAgreement,
    session: SessionDep,
    actor: Tracer,
    protect: ProtectorDep,
) -> TracingPublic:
    """The located person agreed (or no longer agrees) that their own consular officers see the
    request, to help them (the host society's tracing officers record it). Refused for a person
    under international protection: never passed to their country of origin."""
    found, seen = await service.get_request(session, actor, id)
    _search_side(seen)
    await service.consular_agreement(session, actor=actor, request=found, agreed=data.agreed)
    return await present_request(session, actor, found, seen, protect)


@router.post(
    "/tracing-requests/{id}/state",
    response_model=TracingPublic,
    responses=problems(404, 409, 412, 428),
)
async def move_request(
    id: str,
    data: TracingMove,
    session: SessionDep,
    actor: Tracer,
    protect: ProtectorDep,
    response: Response,
    version: IfMatch,
) -> TracingPublic:
    """Move a request by hand (the host society's tracing officers, If-Match): `consent_asked`,
    then `contact_restored`, `not_wanting_contact` (the family's side sees `closed`) or
    `deceased` (handled by a person); `closed_not_found`, and `open` again. Each step opens the
    next side's task."""
    found, seen = await service.get_request(session, actor, id)
    _search_side(seen)
    service.check_version(found, version)
    if service.move(session, actor=actor, request=found, to=data.state, reason=data.reason):
        await flows.after_move(session, actor=actor, request=found)
    send_etag(response, found.version)
    return await present_request(session, actor, found, seen, protect)


def present_message(message: RedCrossMessage, protect: Protector) -> RcMessagePublic:
    return RcMessagePublic(
        id=message.id,
        direction=message.direction,
        text=protect.sealer.open(message.text_sealed, record_id=message.id, field="text"),
        channel=message.channel,
        written_by=message.written_by,
        created_at=message.created_at,
    )


@router.post(
    "/tracing-requests/{id}/messages",
    response_model=RcMessagePublic,
    status_code=status.HTTP_201_CREATED,
    responses=problems(403, 404, 409),
)
async def send_message(
    id: str,
    data: RcMessageCreate,
    session: SessionDep,
    actor: Tracer,
    protect: ProtectorDep,
    settings: SettingsDep,
) -> RcMessagePublic:
    """A Red Cross Message, once contact is restored (a 409 before): the family's side writes
    to the person found, the host society to the family. Sent by SMS (the drill gateway for an
    exercise), or delivered by hand where there is no phone to send to (a task)."""
    found, seen = await service.get_request(session, actor, id)
    message = await flows.send_message(
        session,
        actor=actor,
        request=found,
        seen=seen,
        text=data.text,
        protector=protect,
        settings=settings,
    )
    return present_message(message, protect)


@router.get(
    "/tracing-requests/{id}/messages",
    response_model=list[RcMessagePublic],
    responses=problems(404),
)
async def list_messages(
    id: str, session: SessionDep, actor: Tracer, protect: ProtectorDep
) -> list[RcMessagePublic]:
    """The Red Cross Messages of a request, in both directions, for the societies on either
    side (consular officers do not read them)."""
    found, seen = await service.get_request(session, actor, id)
    if seen == "consular":
        return []
    rows = await session.exec(
        select(RedCrossMessage)
        .where(RedCrossMessage.request_id == found.id)
        .order_by(col(RedCrossMessage.created_at), col(RedCrossMessage.id))
    )
    return [present_message(m, protect) for m in rows.all()]


@router.get(
    "/tracing-requests/{id}/pfif",
    responses={200: {"content": {"application/xml": {}}}, **problems(404)},
    response_class=Response,
)
async def export_pfif(
    id: str, session: SessionDep, actor: Tracer, protect: ProtectorDep, settings: SettingsDep
) -> Response:
    """The request as a PFIF 1.4 person record (the sought person, as the family knows them)
    with a note of the search's state in the words the family's side may pass on; never a
    candidate, never where the person was found."""
    found, seen = await service.get_request(session, actor, id)
    if seen == "consular":
        raise not_found("tracing request", id)
    audit(
        session,
        actor=actor,
        action="tracing.exported",
        subject_type="tracing_request",
        subject_id=found.id,
        detail={"side": seen, "format": "pfif"},
        purpose="restoring family links",
    )
    return Response(
        pfif.dump(*exchange.pfif_records(found, protect, settings.records_domain)),
        media_type="application/xml",
        headers={"Content-Disposition": f'attachment; filename="tracing-{found.id}.pfif.xml"'},
    )


# Family contacts -------------------------------------------------------------------------------


def present_contact(contact: FamilyContact, protect: Protector) -> ContactPublic:
    return ContactPublic(
        id=contact.id,
        worker_id=contact.worker_id,
        name=protect.sealer.open(contact.name_sealed, record_id=contact.id, field="name"),
        relationship=contact.relationship,
        phone=protect.sealer.open(contact.phone_sealed, record_id=contact.id, field="phone"),
        country=contact.country,
        may_contact=contact.may_contact,
        created_at=contact.created_at,
    )


@router.post(
    "/workers/{id}/family-contacts",
    response_model=ContactPublic,
    status_code=status.HTTP_201_CREATED,
    responses=problems(404),
)
async def add_contact(
    id: str, data: ContactCreate, session: SessionDep, actor: WorkerWriter, protect: ProtectorDep
) -> ContactPublic:
    """Someone of the worker's family at home (a family left behind), sealed like the worker's
    own fields, with the worker's agreement that they be contacted: whom the origin society or
    ministry tells what happened. For a worker you may read."""
    worker, _ = await get_worker(session, actor=actor, worker_id=id)
    contact = FamilyContact(
        worker_id=worker.id,
        relationship=data.relationship,
        country=data.country,
        may_contact=data.may_contact,
        created_by=who(actor),
    )
    contact.name_sealed = protect.sealer.seal(data.name, record_id=contact.id, field="name")
    contact.phone_sealed = protect.sealer.seal(data.phone, record_id=contact.id, field="phone")
    session.add(contact)
    return present_contact(contact, protect)


@router.get(
    "/workers/{id}/family-contacts", response_model=list[ContactPublic], responses=problems(404)
)
async def list_contacts(
    id: str, session: SessionDep, actor: WorkerReader, protect: ProtectorDep
) -> list[ContactPublic]:
    """The worker's family at home: all of them for those who may read the worker; for the
    national society and the labour ministry of the worker's own country (who tell a family
    what happened, and support the families left behind), only those the worker agreed may be
    contacted, and never for a person under international protection."""
    try:
        worker, _ = await get_worker(session, actor=actor, worker_id=id)
        contacts = await service.contacts_of(session, [worker.id])
    except NotFound:
        found = await service.origin_side_worker(session, actor=actor, worker_id=id)
        if found is None:
            raise
        worker = found
        contacts = [c for c in await service.contacts_of(session, [worker.id]) if c.may_contact]
    audit(
        session,
        actor=actor,
        action="family_contacts.read",
        subject_type="worker",
        subject_id=worker.id,
        detail={"contacts": len(contacts)},
    )
    return [present_contact(c, protect) for c in contacts]


@router.delete(
    "/workers/{id}/family-contacts/{contact_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    responses=problems(404),
)
async def delete_contact(
    id: str, contact_id: str, session: SessionDep, actor: WorkerWriter
) -> Response:
    """Forget a family contact (at the worker's request)."""
    worker, _ = await get_worker(session, actor=actor, worker_id=id)
    contact = await session.get(FamilyContact, contact_id)
    if contact is None or contact.worker_id != worker.id:
        raise not_found("family contact", contact_id)
    await session.delete(contact)
    return Response(status_code=status.HTTP_204_NO_CONTENT)
