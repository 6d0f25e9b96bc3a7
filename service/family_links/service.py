"""Restoring Family Links use cases: safe-and-well listings and the search a relative makes, the
register's name keys, tracing requests and their matching, family contacts at home.

"Do no harm" (the RFL Code of Conduct on Data Protection) decides the shape of each answer:

- a search answers a listing or "no listing found", the same shape either way, and only for the
  full name with a fact only a relative knows; never a list, never a hint that someone of that
  name is registered. It computes one keyed hash and looks it up: nothing is decrypted;
- a tracing request's candidates are seen only by the host society's tracing officers; the
  society that filed it (the family's side) sees its progress in the words it may pass on, and
  a person who does not want contact is, for it, a search that is closed.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import and_, delete, func, or_, update
from sqlalchemy import select as sa_select
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from service.auth.permissions import Role
from service.auth.principal import Principal
from service.changes import who
from service.db import insert_rows, utcnow
from service.directory.models import OrgKind
from service.errors import Conflict, InvalidInput, PreconditionFailed
from service.family_links import names
from service.family_links.models import (
    ENDED,
    MOVES,
    TRACING_SEALED,
    CandidateState,
    FamilyContact,
    ListingKey,
    ListingState,
    NameIndexCursor,
    SafeWellListing,
    TracingCandidate,
    TracingEvent,
    TracingRequest,
    TracingState,
    WorkerNameKey,
)
from service.lookups import not_found
from service.registry.models import RegisterChange, Worker
from service.registry.protect import Protector

_KEYS = ListingKey.__table__  # type: ignore[attr-defined]
_NAME_KEYS = WorkerNameKey.__table__  # type: ignore[attr-defined]
_CHANGES = RegisterChange.__table__  # type: ignore[attr-defined]
_WORKERS = Worker.__table__  # type: ignore[attr-defined]

#: The register's changes one pass of the name index reads.
INDEX_BATCH = 2_000
#: Workers scored for one tracing request, the most key hits first; candidates kept.
POOL = 500
CANDIDATES = 10
#: The least score a candidate needs to be shown.
THRESHOLD = 0.6


def mac(protector: Protector) -> names.Mac:
    return protector._mac


# The register's name keys ---------------------------------------------------------------------


def _year_key(m: names.Mac, birth_date: str | None) -> str | None:
    if not birth_date or len(birth_date) < 4 or not birth_date[:4].isdigit():
        return None
    return m("fl", "y", birth_date[:4])


def worker_keys(protector: Protector, worker: Any) -> set[str]:
    """A worker's keyed name tokens and birth year (opened once, when their record changes)."""
    m = mac(protector)
    given = protector.sealer.open(worker.given_name_sealed, record_id=worker.id, field="given_name")
    family = protector.sealer.open(
        worker.family_name_sealed, record_id=worker.id, field="family_name"
    )
    birth = protector.sealer.open(worker.birth_date_sealed, record_id=worker.id, field="birth_date")
    keys = set(names.match_keys(m, *(n for n in (given, family) if n)))
    year = _year_key(m, birth)
    if year:
        keys.add(year)
    return keys


async def index_names(
    session: AsyncSession, protector: Protector, *, limit: int = INDEX_BATCH
) -> int:
    """Bring the register's name keys up to date with its change feed, one batch: how many
    workers were indexed (0 when it is current). Each changed record is opened once, as the
    identity hash is made at registration; an erased record loses its keys."""
    cursor = await session.get(NameIndexCursor, 1, with_for_update=True)
    if cursor is None:
        cursor = NameIndexCursor(id=1, seq=0)
        session.add(cursor)
        await session.flush()
    connection = await session.connection()
    changes = (
        await connection.execute(
            sa_select(_CHANGES.c.seq, _CHANGES.c.worker_pk)
            .where(_CHANGES.c.seq > cursor.seq)
            .order_by(_CHANGES.c.seq)
            .limit(limit)
        )
    ).all()
    if not changes:
        return 0
    pks = sorted({pk for _, pk in changes})
    await connection.execute(delete(_NAME_KEYS).where(_NAME_KEYS.c.worker_pk.in_(pks)))
    workers = (
        await connection.execute(
            sa_select(
                _WORKERS.c.pk,
                _WORKERS.c.id,
                _WORKERS.c.given_name_sealed,
                _WORKERS.c.family_name_sealed,
                _WORKERS.c.birth_date_sealed,
            ).where(_WORKERS.c.pk.in_(pks), _WORKERS.c.erased_at.is_(None))
        )
    ).all()
    rows = [{"key": k, "worker_pk": w.pk} for w in workers for k in worker_keys(protector, w)]
    await insert_rows(connection, _NAME_KEYS, rows)
    cursor.seq = max(seq for seq, _ in changes)
    session.add(cursor)
    return len(pks)


# Safe and well ---------------------------------------------------------------------------------


def listing_keys(protector: Protector, worker: Worker, *, home_town: str | None) -> set[str]:
    """The keys a relative finds the listing by: the full name with the birth date, the phone
    or the home town (what the register and the person gave)."""
    given = protector.open(worker, "given_name")
    family = protector.open(worker, "family_name")
    full = [n for n in (given, family) if n]
    if not full:
        return set()
    facts = {
        "birth_date": protector.open(worker, "birth_date"),
        "phone": protector.open(worker, "phone"),
        "home_town": home_town,
    }
    m = mac(protector)
    found = set()
    for kind, value in facts.items():
        if value:
            try:
                key = names.lookup_key(m, full, kind, value)
            except names.NoName:
                return set()
            if key:
                found.add(key)
    return found


async def current_listing(session: AsyncSession, worker_id: str) -> SafeWellListing | None:
    return (
        await session.exec(
            select(SafeWellListing).where(
                SafeWellListing.worker_id == worker_id,
                SafeWellListing.state == ListingState.LISTED.value,
            )
        )
    ).first()


async def list_safe(
    session: AsyncSession,
    *,
    actor: Principal,
    worker: Worker,
    crisis_id: str | None,
    exercise: bool,
    message: str | None,
    agreed_via: str,
    home_town: str | None,
    protector: Protector,
) -> tuple[SafeWellListing, bool]:
    """List the worker as safe and well with their agreement (the caller records how it was
    given); the same again changes nothing, a new message replaces the old one."""
    keys = listing_keys(protector, worker, home_town=home_town)
    if not keys:
        raise InvalidInput(
            "This record has no name to be found by: nobody could search for it",
            errors=[{"loc": ["body", "worker_id"], "msg": "no name in the register"}],
        )
    listing = await current_listing(session, worker.id)
    made = listing is None
    if listing is None:
        listing = SafeWellListing(
            worker_id=worker.id,
            crisis_id=crisis_id,
            agreed_via=agreed_via,
            agreed_by=who(actor),
            exercise=exercise,
        )
        session.add(listing)
        await session.flush()
    else:
        old = protector.sealer.open(listing.message_sealed, record_id=listing.id, field="message")
        known = set(
            (
                await session.exec(
                    select(ListingKey.key).where(ListingKey.listing_id == listing.id)
                )
            ).all()
        )
        if old == message and known == keys:
            return listing, False
        listing.version += 1
    listing.message_sealed = protector.sealer.seal(message, record_id=listing.id, field="message")
    listing.home_town_sealed = protector.sealer.seal(
        home_town, record_id=listing.id, field="home_town"
    )
    session.add(listing)
    connection = await session.connection()
    await connection.execute(delete(_KEYS).where(_KEYS.c.listing_id == listing.id))
    await insert_rows(
        connection, _KEYS, [{"key": k, "listing_id": listing.id} for k in sorted(keys)]
    )
    return listing, made


async def end_listing(
    session: AsyncSession,
    *,
    actor: Principal,
    listing: SafeWellListing,
    to: ListingState,
) -> bool:
    """Withdrawn (the agreement taken back) or removed (at the person's request): never found
    again; its keys and its message go at once. False when it already ended."""
    if listing.state != ListingState.LISTED.value:
        return False
    listing.state = to.value
    listing.ended_at = utcnow()
    listing.ended_by = who(actor)
    listing.message_sealed = None
    listing.name_sealed = None
    listing.home_town_sealed = None
    listing.version += 1
    session.add(listing)
    await (await session.connection()).execute(
        delete(_KEYS).where(_KEYS.c.listing_id == listing.id)
    )
    return True


@dataclass(frozen=True, slots=True)
class Found:
    listed_at: Any
    message: str | None


async def search(
    session: AsyncSession,
    *,
    full_name: str,
    kind: str,
    value: str,
    protector: Protector,
    exercise: bool = True,
) -> Found | None:
    """The listing a relative's full name and fact find, or None: one keyed hash looked up.
    Never the listing of a person erased or under international protection (who may be sought
    by those they fled); an exercise's listings only with ``exercise`` (never on the public
    page: a drill never reaches a real person)."""
    try:
        key = names.lookup_key(mac(protector), [full_name], kind, value)
    except names.NoName:
        return None
    if key is None:
        return None
    listing = (
        await session.exec(
            select(SafeWellListing)
            .join(ListingKey, col(ListingKey.listing_id) == col(SafeWellListing.id))
            .outerjoin(Worker, col(Worker.id) == col(SafeWellListing.worker_id))
            .where(
                ListingKey.key == key,
                SafeWellListing.state == ListingState.LISTED.value,
                or_(
                    col(SafeWellListing.worker_id).is_(None),
                    and_(
                        col(Worker.erased_at).is_(None),
                        col(Worker.international_protection).is_(False),
                    ),
                ),
            )
            .order_by(col(SafeWellListing.listed_at).desc())
        )
    ).first()
    if listing is None or (listing.exercise and not exercise):
        return None
    message = protector.sealer.open(listing.message_sealed, record_id=listing.id, field="message")
    return Found(listing.listed_at, message)


async def forget(session: AsyncSession, worker_ids: list[str]) -> None:
    """An erased worker's listings end (their keys and message with them) and their family
    contacts go."""
    if not worker_ids:
        return
    connection = await session.connection()
    listings = [
        row[0]
        for row in (
            await connection.execute(
                sa_select(SafeWellListing.__table__.c.id).where(  # type: ignore[attr-defined]
                    SafeWellListing.__table__.c.worker_id.in_(worker_ids)  # type: ignore[attr-defined]
                )
            )
        ).all()
    ]
    if listings:
        await connection.execute(delete(_KEYS).where(_KEYS.c.listing_id.in_(listings)))
        await connection.execute(
            update(SafeWellListing.__table__)  # type: ignore[attr-defined]
            .where(SafeWellListing.__table__.c.id.in_(listings))  # type: ignore[attr-defined]
            .values(
                state=ListingState.REMOVED.value,
                message_sealed=None,
                home_town_sealed=None,
                ended_at=utcnow(),
            )
        )
    await connection.execute(
        delete(FamilyContact.__table__).where(  # type: ignore[attr-defined]
            FamilyContact.__table__.c.worker_id.in_(worker_ids)  # type: ignore[attr-defined]
        )
    )


# Tracing ---------------------------------------------------------------------------------------


def is_tracing_officer(actor: Principal) -> bool:
    """A national society's responder (tracing is the societies' work), or an administrator."""
    if actor.role is Role.ADMIN:
        return True
    return (
        actor.role is Role.SOCIETY_RESPONDER
        and actor.organization_kind == OrgKind.NATIONAL_SOCIETY.value
    )


def side(actor: Principal, request: TracingRequest) -> str | None:
    """``search`` (the host society, and administrators), ``family`` (the society that filed
    it, or another of the origin country), ``consular`` (the located person's own consular
    officers, once that person agreed), or None: not theirs to see."""
    if actor.role is Role.ADMIN:
        return "search"
    if actor.role is Role.CONSULAR_OFFICER:
        agreed = request.consular_agreed and request.located_worker_id is not None
        ours = request.sought_nationality in actor.nationalities
        covered = request.host_country in actor.covers
        return "consular" if agreed and ours and covered else None
    if not is_tracing_officer(actor):
        return None
    if actor.country == request.host_country:
        return "search"
    if actor.organization_id == request.filed_by_org or actor.country == request.origin_country:
        return "family"
    return None


async def side_now(session: AsyncSession, actor: Principal, request: TracingRequest) -> str | None:
    """``side``, with the consular side's agreement held only while the located person may be
    passed to their own country: not once under international protection, nor erased."""
    seen = side(actor, request)
    if seen != "consular":
        return seen
    located = (
        await session.exec(
            select(Worker.international_protection, Worker.erased_at).where(
                Worker.id == request.located_worker_id
            )
        )
    ).first()
    if located is None or located[0] or located[1] is not None:
        return None
    return seen


async def get_request(
    session: AsyncSession, actor: Principal, request_id: str
) -> tuple[TracingRequest, str]:
    """The request and the caller's side of it; the 404 of no such request otherwise."""
    found = await session.get(TracingRequest, request_id)
    seen = await side_now(session, actor, found) if found is not None else None
    if found is None or seen is None:
        raise not_found("tracing request", request_id)
    return found, seen


def shown_state(request: TracingRequest, seen: str) -> str:
    """The state as this side sees it: the family's side in the words it may pass on."""
    if seen == "family":
        return FOR_THE_FAMILY[TracingState(request.state)]
    return request.state


def shown_version(request: TracingRequest, seen: str) -> int:
    """The version this side sees (and its ETag): the family's side, only the changes of what it
    is shown."""
    return request.shown_version if seen == "family" else request.version


#: What the family's side sees of each state: the words it may pass on to the enquirer.
FOR_THE_FAMILY = {
    TracingState.OPEN: "searching",
    TracingState.CANDIDATE: "searching",
    TracingState.LOCATED: "searching",
    TracingState.CONSENT_ASKED: "searching",
    TracingState.CONTACT_RESTORED: "contact_restored",
    # The person found does not want contact: for the family, the search is closed.
    TracingState.NOT_WANTING_CONTACT: "closed",
    # Handled by a person, never said by a machine.
    TracingState.DECEASED: "handled_in_person",
    TracingState.CLOSED_NOT_FOUND: "closed",
}


def open_request(request: TracingRequest, protector: Protector) -> dict[str, str | None]:
    return {
        field: protector.sealer.open(
            getattr(request, f"{field}_sealed"), record_id=request.id, field=field
        )
        for field in (
            "sought_given_name",
            "sought_family_name",
            "sought_other_names",
            "sought_last_address",
            "sought_last_employer",
            "enquirer_name",
            "enquirer_contact",
        )
    }


def record(
    session: AsyncSession,
    request: TracingRequest,
    actor: Principal,
    previous: str | None,
    **detail: Any,
) -> None:
    session.add(
        TracingEvent(
            request_id=request.id,
            actor=who(actor),
            previous=previous,
            state=request.state,
            detail=detail,
        )
    )


def set_state(
    session: AsyncSession,
    request: TracingRequest,
    to: TracingState,
    actor: Principal,
    **detail: Any,
) -> None:
    previous = request.state
    request.state = to.value
    request.version += 1
    request.updated_at = utcnow()
    if FOR_THE_FAMILY[TracingState(previous)] != FOR_THE_FAMILY[to]:
        request.shown_version += 1
        request.shown_at = request.updated_at
    session.add(request)
    record(session, request, actor, previous, **detail)


async def match(
    session: AsyncSession, *, request: TracingRequest, protector: Protector
) -> list[TracingCandidate]:
    """Candidates for the sought person among the register's workers of their nationality in
    the host country: the workers sharing the most keyed name tokens, scored on the name, the
    birth year and nothing in clear. Proposed again only those not decided before."""
    m = mac(protector)
    sought = open_request(request, protector)
    given = [n for n in (sought["sought_given_name"], sought["sought_family_name"]) if n]
    others = [n for n in (sought["sought_other_names"] or "").split(";") if n.strip()]
    try:
        query = names.query(m, *given)
    except names.NoName:
        return []
    wanted = sorted(query.any_key)
    connection = await session.connection()
    # The workers sharing the most keys, counted in the database: a common name's keys hit a
    # large part of the register, and only the pool comes back.
    hits = func.count().label("hits")
    pool = list(
        (
            await connection.execute(
                sa_select(_NAME_KEYS.c.worker_pk)
                .where(_NAME_KEYS.c.key.in_(wanted))
                .group_by(_NAME_KEYS.c.worker_pk)
                .order_by(hits.desc(), _NAME_KEYS.c.worker_pk)
                .limit(POOL * 4)
            )
        ).scalars()
    )
    if not pool:
        return []
    workers = {
        w.pk: w
        for w in (
            await connection.execute(
                sa_select(_WORKERS.c.pk, _WORKERS.c.id, _WORKERS.c.admin1).where(
                    _WORKERS.c.pk.in_(pool),
                    _WORKERS.c.erased_at.is_(None),
                    _WORKERS.c.nationality == request.sought_nationality,
                    _WORKERS.c.country == request.host_country,
                )
            )
        ).all()
    }
    pool = [pk for pk in pool if pk in workers][:POOL]
    keys_of: dict[int, set[str]] = defaultdict(set)
    for start in range(0, len(pool), 500):
        for pk, key in (
            await connection.execute(
                sa_select(_NAME_KEYS.c.worker_pk, _NAME_KEYS.c.key).where(
                    _NAME_KEYS.c.worker_pk.in_(pool[start : start + 500])
                )
            )
        ).all():
            keys_of[pk].add(key)
    other_queries = []
    for other in others:
        try:
            other_queries.append(names.query(m, other))
        except names.NoName:
            continue
    year = m("fl", "y", str(request.sought_birth_year)) if request.sought_birth_year else None
    near_years = (
        {m("fl", "y", str(request.sought_birth_year + d)) for d in (-2, -1, 1, 2)}
        if request.sought_birth_year
        else set()
    )
    scored: list[tuple[float, int, str]] = []
    for pk in pool:
        have = frozenset(keys_of[pk])
        name_score = max([names.score(query, have)] + [names.score(q, have) for q in other_queries])
        why = [f"name {name_score:.2f}"]
        total = name_score
        if year is not None:
            if year in have:
                total = 0.8 * name_score + 0.2
                why.append("birth year")
            elif near_years & have:
                total = 0.8 * name_score + 0.1
                why.append("birth year within 2")
            else:
                total = 0.8 * name_score
        if total >= THRESHOLD:
            scored.append((total, pk, ", ".join(why)))
    scored.sort(key=lambda s: (-s[0], s[1]))
    decided = set(
        (
            await session.exec(
                select(TracingCandidate.worker_id).where(TracingCandidate.request_id == request.id)
            )
        ).all()
    )
    made = []
    for total, pk, why_text in scored[:CANDIDATES]:
        worker_id = workers[pk].id
        if worker_id in decided:
            continue
        candidate = TracingCandidate(
            request_id=request.id, worker_id=worker_id, score=round(total, 3), why=why_text
        )
        session.add(candidate)
        made.append(candidate)
    return made


async def decide_candidate(
    session: AsyncSession,
    *,
    actor: Principal,
    request: TracingRequest,
    candidate: TracingCandidate,
    confirmed: bool,
) -> bool:
    """The host society's tracing officer confirms (the request is ``located``) or rejects a
    candidate; False when it was decided so already."""
    want = CandidateState.CONFIRMED if confirmed else CandidateState.REJECTED
    if candidate.state == want.value:
        return False
    if candidate.state != CandidateState.PROPOSED.value:
        raise Conflict(f"This candidate was {candidate.state} already")
    if confirmed and request.state not in (TracingState.OPEN.value, TracingState.CANDIDATE.value):
        raise Conflict(f"A request {request.state} has its person already")
    candidate.state = want.value
    candidate.decided_by = who(actor)
    candidate.decided_at = utcnow()
    session.add(candidate)
    if confirmed:
        request.located_worker_id = candidate.worker_id
        set_state(session, request, TracingState.LOCATED, actor, candidate_id=candidate.id)
    else:
        open_left = (
            await session.exec(
                select(TracingCandidate.id).where(
                    TracingCandidate.request_id == request.id,
                    TracingCandidate.state == CandidateState.PROPOSED.value,
                    TracingCandidate.id != candidate.id,
                )
            )
        ).first()
        if open_left is None and request.state == TracingState.CANDIDATE.value:
            set_state(session, request, TracingState.OPEN, actor, candidate_id=candidate.id)
        else:
            record(session, request, actor, request.state, rejected=candidate.id)
    return True


async def consular_agreement(
    session: AsyncSession, *, actor: Principal, request: TracingRequest, agreed: bool
) -> bool:
    """The located person's agreement that their own consular officers see the request (and
    help: a travel document, a return). Never for a person under international protection:
    they are never passed to their country of origin. False when it is so already."""
    if request.located_worker_id is None:
        raise Conflict("Only a person located can agree that their consular officers see this")
    if agreed:
        protected = (
            await session.exec(
                select(Worker.international_protection).where(
                    Worker.id == request.located_worker_id
                )
            )
        ).first()
        if protected:
            raise Conflict(
                "This person is under international protection: never passed to their country "
                "of origin, their own agreement notwithstanding; their protection officer helps"
            )
    if request.consular_agreed == agreed:
        return False
    request.consular_agreed = agreed
    request.version += 1
    request.updated_at = utcnow()
    session.add(request)
    record(session, request, actor, request.state, consular_agreed=agreed)
    return True


def check_version(request: TracingRequest, version: int | None) -> None:
    if version is not None and version != request.version:
        raise PreconditionFailed(
            f"The request changed since version {version}: it is at version {request.version}"
        )


def move(
    session: AsyncSession,
    *,
    actor: Principal,
    request: TracingRequest,
    to: TracingState,
    reason: str | None,
) -> bool:
    """A change by hand, one of ``MOVES``; False when it is there already."""
    current = TracingState(request.state)
    if to is current:
        return False
    if to not in MOVES[current]:
        allowed = ", ".join(sorted(s.value for s in MOVES[current])) or "none: it ended"
        raise Conflict(f"A request {current.value} cannot become {to.value} (next: {allowed})")
    if to is TracingState.OPEN:
        request.located_worker_id = None
    set_state(session, request, to, actor, reason=reason)
    return True


def ended(request: TracingRequest) -> bool:
    return TracingState(request.state) in ENDED


# Retention ---------------------------------------------------------------------------------------


async def anonymise_expired(
    session: AsyncSession, *, requests_before: datetime, listings_before: datetime
) -> dict[str, int]:
    """Retention per record type: a request ended before ``requests_before`` keeps its states,
    dates, countries and counts, not the names, addresses, employer or enquirer; a listing
    listed or ended before ``listings_before`` ends (``removed``) and loses its keys and its
    message. How many of each."""
    connection = await session.connection()
    requests = TracingRequest.__table__  # type: ignore[attr-defined]
    sealed = {f"{field}_sealed": None for field in TRACING_SEALED}
    done_requests = await connection.execute(
        update(requests)
        .where(
            requests.c.state.in_([s.value for s in ENDED]),
            requests.c.updated_at < requests_before,
            requests.c.sought_given_name_sealed.is_not(None),
        )
        .values(**sealed, anonymised=True)
    )
    listings = SafeWellListing.__table__  # type: ignore[attr-defined]
    expired = [
        row[0]
        for row in (
            await connection.execute(
                sa_select(listings.c.id).where(
                    or_(
                        and_(
                            listings.c.state == ListingState.LISTED.value,
                            listings.c.listed_at < listings_before,
                        ),
                        and_(
                            listings.c.state != ListingState.LISTED.value,
                            listings.c.ended_at < listings_before,
                            listings.c.message_sealed.is_not(None),
                        ),
                    )
                )
            )
        ).all()
    ]
    if expired:
        await connection.execute(delete(_KEYS).where(_KEYS.c.listing_id.in_(expired)))
        await connection.execute(
            update(listings)
            .where(listings.c.id.in_(expired), listings.c.state == ListingState.LISTED.value)
            .values(state=ListingState.REMOVED.value, ended_at=utcnow(), ended_by="retention")
        )
        await connection.execute(
            update(listings)
            .where(listings.c.id.in_(expired))
            .values(message_sealed=None, name_sealed=None, home_town_sealed=None)
        )
    return {"requests": done_requests.rowcount or 0, "listings": len(expired)}


# Family contacts -------------------------------------------------------------------------------


async def contacts_of(session: AsyncSession, worker_ids: Sequence[str]) -> list[FamilyContact]:
    rows = await session.exec(
        select(FamilyContact)
        .where(col(FamilyContact.worker_id).in_(list(worker_ids)))
        .order_by(col(FamilyContact.created_at), col(FamilyContact.id))
    )
    return list(rows.all())


#: The organisations of a worker's own country that reach their family at home.
ORIGIN_SIDE = frozenset({OrgKind.NATIONAL_SOCIETY.value, OrgKind.LABOUR_MINISTRY.value})


async def origin_side_worker(
    session: AsyncSession, *, actor: Principal, worker_id: str
) -> Worker | None:
    """The worker, for the national society or the labour ministry of their own country; None
    for anyone else, an erased record, or a person under international protection (never passed
    to their country of origin)."""
    if actor.organization_kind not in ORIGIN_SIDE or actor.country is None:
        return None
    worker = (await session.exec(select(Worker).where(Worker.id == worker_id))).first()
    if (
        worker is None
        or worker.erased_at is not None
        or worker.international_protection
        or worker.nationality != actor.country
        # A ministry is the origin State: only for a worker who did not refuse their embassy.
        or (actor.organization_kind == OrgKind.LABOUR_MINISTRY.value and not worker.consent_embassy)
    ):
        return None
    return worker
