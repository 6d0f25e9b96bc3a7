"""PFIF 1.4 exchange of Restoring Family Links records (``integrations.pfif``): a tracing
request as the family's side may pass it on, and the safe-and-well listings whose persons agreed,
exported and imported (people not in the register become listings of their own).
"""

from __future__ import annotations

import json
from collections import defaultdict
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from integrations import pfif
from service.auth.permissions import Role
from service.auth.principal import Principal
from service.changes import who
from service.db import insert_rows, utcnow
from service.family_links import names
from service.family_links.models import (
    ListingKey,
    ListingState,
    SafeWellListing,
    TracingRequest,
    TracingState,
)
from service.family_links.service import (
    FOR_THE_FAMILY,
    mac,
    open_request,
)
from service.registry.access import visibility_clause
from service.registry.models import Worker
from service.registry.protect import Protector

_KEYS = ListingKey.__table__  # type: ignore[attr-defined]

# PFIF -------------------------------------------------------------------------------------------

_SEX = {"F": "female", "M": "male", "X": "other"}


def pfif_records(
    request: TracingRequest, protector: Protector, domain: str
) -> tuple[list[pfif.PfifPerson], list[pfif.PfifNote]]:
    """A tracing request as PFIF 1.4: the sought person as the family knows them, and a note
    of the search in the words the family's side may pass on (never a candidate, never where
    the person was found)."""
    opened = open_request(request, protector)
    given, family = opened["sought_given_name"], opened["sought_family_name"]
    record_id = f"{domain}/tracing.{request.id}"
    # What the family's side may know: the time and the count of the changes it is shown.
    when = pfif.format_time(request.shown_at)
    person = pfif.PfifPerson(
        person_record_id=record_id,
        entry_date=pfif.format_time(request.created_at),
        source_name="Lifeline",
        source_date=pfif.format_time(request.created_at),
        full_name=" ".join(n for n in (given, family) if n),
        given_name=given,
        family_name=family,
        alternate_names=(opened["sought_other_names"] or "").replace(";", "\n") or None,
        sex=_SEX.get(request.sought_sex or ""),  # type: ignore[arg-type]
        date_of_birth=str(request.sought_birth_year) if request.sought_birth_year else None,
    )
    note = pfif.PfifNote(
        note_record_id=f"{domain}/tracing.{request.id}.{request.shown_version}",
        person_record_id=record_id,
        entry_date=when,
        author_name="Restoring Family Links",
        source_date=when,
        status="information_sought",
        text=f"Search {FOR_THE_FAMILY[TracingState(request.state)].replace('_', ' ')}.",
    )
    return [person], [note]


# PFIF of safe-and-well listings ----------------------------------------------------------------

#: The note statuses that say a person is alive: what an imported record needs to be listed.
ALIVE = frozenset({"believed_alive", "is_note_author"})
#: Persons one export writes at most (each with its note: within what ``pfif.load`` reads).
EXPORT_LIMIT = pfif.MAX_RECORDS // 2
#: How long a record id may be (the column's length).
RECORD_ID_LENGTH = 200
AUTHOR = "Restoring Family Links"


def listing_record_id(listing: SafeWellListing, domain: str) -> str:
    """The PFIF person record id: the original one of an imported listing, else ours."""
    return listing.record_id or f"{domain}/safe-well.{listing.id}"


def _kept(listing: SafeWellListing, protector: Protector) -> dict[str, Any]:
    opened = protector.sealer.open(listing.name_sealed, record_id=listing.id, field="name")
    kept: dict[str, Any] = json.loads(opened) if opened else {}
    return kept


def listing_pfif(
    listing: SafeWellListing, worker: Worker | None, protector: Protector, domain: str
) -> tuple[pfif.PfifPerson, pfif.PfifNote] | None:
    """A listing as a PFIF 1.4 person with its note ``believed_alive``: the names (from the
    register, which the person agreed to be listed from, or as imported), the home town they
    gave, the message. Never the birth date, the phone, a documentation status: the facts a
    relative searches by are not handed on. None when no name is left to write."""
    record_id = listing_record_id(listing, domain)
    when = pfif.format_time(listing.listed_at)
    if worker is not None:
        given = protector.open(worker, "given_name")
        family = protector.open(worker, "family_name")
        kept: dict[str, Any] = {
            "full_name": " ".join(n for n in (given, family) if n),
            "given_name": given,
            "family_name": family,
        }
    else:
        kept = _kept(listing, protector)
    if not kept.get("full_name"):
        return None
    person = pfif.PfifPerson(
        person_record_id=record_id,
        source_name=kept.get("source_name", "Lifeline"),
        source_date=kept.get("source_date", when),
        full_name=kept["full_name"],
        given_name=kept.get("given_name"),
        family_name=kept.get("family_name"),
        home_city=protector.sealer.open(
            listing.home_town_sealed, record_id=listing.id, field="home_town"
        ),
    )
    note = pfif.PfifNote(
        note_record_id=kept.get("note_record_id")
        or f"{domain}/safe-well.{listing.id}.{listing.version}",
        person_record_id=record_id,
        author_name=kept.get("note_author_name", AUTHOR),
        source_date=kept.get("note_source_date", when),
        author_made_contact=kept.get("author_made_contact", True),
        status=kept.get("status", "believed_alive"),
        text=protector.sealer.open(listing.message_sealed, record_id=listing.id, field="message"),
    )
    return person, note


async def export_listings(
    session: AsyncSession,
    *,
    actor: Principal,
    crisis_id: str | None,
    protector: Protector,
    domain: str,
) -> tuple[list[pfif.PfifPerson], list[pfif.PfifNote]]:
    """The listings still ``listed`` (the person agreed) as PFIF: of the workers the caller may
    read, and the listings their organisation imported (an administrator: every one), the
    oldest first, at most ``EXPORT_LIMIT``."""
    listed = col(SafeWellListing.state) == ListingState.LISTED.value
    registered = (
        select(SafeWellListing, Worker)
        .join(Worker, col(Worker.id) == col(SafeWellListing.worker_id))
        .where(
            listed,
            visibility_clause(actor),
            # Never passed on to other repositories: they may be shared with the country of origin.
            col(Worker.international_protection).is_(False),
        )
    )
    imported = select(SafeWellListing).where(listed, col(SafeWellListing.worker_id).is_(None))
    if actor.role is not Role.ADMIN:
        imported = imported.where(SafeWellListing.agreed_by == who(actor))
    if crisis_id is not None:
        registered = registered.where(SafeWellListing.crisis_id == crisis_id)
        imported = imported.where(SafeWellListing.crisis_id == crisis_id)
    order = (col(SafeWellListing.listed_at), col(SafeWellListing.id))
    rows: list[tuple[SafeWellListing, Worker | None]] = list(
        (await session.exec(registered.order_by(*order).limit(EXPORT_LIMIT))).all()
    )
    rows += [
        (listing, None)
        for listing in (await session.exec(imported.order_by(*order).limit(EXPORT_LIMIT))).all()
    ]
    rows.sort(key=lambda row: (row[0].listed_at, row[0].id))
    persons: list[pfif.PfifPerson] = []
    notes: list[pfif.PfifNote] = []
    for listing, worker in rows[:EXPORT_LIMIT]:
        records = listing_pfif(listing, worker, protector, domain)
        if records is not None:
            persons.append(records[0])
            notes.append(records[1])
    return persons, notes


@dataclass(frozen=True, slots=True)
class Imported:
    """What an import did: listings made, records there already, and those left out, each
    with its reason."""

    imported: int
    unchanged: int
    skipped: list[dict[str, str]]


def _sort_time(note: pfif.PfifNote) -> datetime:
    if note.source_date is None:
        return datetime.min.replace(tzinfo=UTC)
    return pfif.parse_time(note.source_date)


@dataclass(frozen=True, slots=True)
class _Planned:
    person: pfif.PfifPerson
    note: pfif.PfifNote
    full_name: str
    keys: frozenset[str]


def _plan(person: pfif.PfifPerson, alive: list[pfif.PfifNote], m: names.Mac) -> _Planned | str:
    """The listing a person record makes, or why it makes none."""
    if len(person.person_record_id) > RECORD_ID_LENGTH:
        return f"a record id over {RECORD_ID_LENGTH} characters"
    if not alive:
        return "no note that the person is alive (believed_alive or is_note_author)"
    note = max(enumerate(alive), key=lambda pair: (_sort_time(pair[1]), pair[0]))[1]
    full_name = (person.full_name or "").strip() or " ".join(
        n.strip() for n in (person.given_name, person.family_name) if n and n.strip()
    )
    facts = {
        # Only a whole date: a year or a month is not a fact a relative is asked for.
        "birth_date": person.date_of_birth
        if person.date_of_birth and len(person.date_of_birth) == 10
        else None,
        "home_town": person.home_city,
    }
    keys: set[str] = set()
    try:
        for kind, value in facts.items():
            key = names.lookup_key(m, [full_name], kind, value) if value else None
            if key is not None:
                keys.add(key)
    except names.NoName:
        return "no name to be found by"
    if not keys:
        return "no fact to be found by (a whole date of birth or a home city)"
    return _Planned(person, note, full_name, frozenset(keys))


async def import_listings(
    session: AsyncSession,
    *,
    actor: Principal,
    document: bytes,
    crisis_id: str | None,
    exercise: bool,
    protector: Protector,
    domain: str,
) -> Imported:
    """Listings for the persons of a PFIF 1.4 document with a note that they are alive and a
    fact to be found by: people who are not in the register. A record known already (by its
    id; ours by the listing it names) is left as it is, even ended: an import never lists
    again someone who withdrew. Raises ``pfif.PfifError`` for a document with a bad record,
    before anything is written."""
    persons, notes = pfif.load(document)
    alive: dict[str, list[pfif.PfifNote]] = defaultdict(list)
    for note in notes:
        if note.status in ALIVE:
            alive[note.person_record_id].append(note)
    seen: set[str] = set()
    for number, person in enumerate(persons, 1):
        if person.person_record_id in seen:
            raise pfif.PfifError("a second person with this id", record=f"person {number}")
        seen.add(person.person_record_id)

    m = mac(protector)
    skipped: list[dict[str, str]] = []
    planned: list[_Planned] = []
    for person in persons:
        plan = _plan(person, alive.get(person.person_record_id, []), m)
        if isinstance(plan, str):
            skipped.append({"record_id": person.person_record_id, "reason": plan})
        else:
            planned.append(plan)

    ids = [p.person.person_record_id for p in planned]
    ours = f"{domain}/safe-well."
    known: set[str] = set()
    for start in range(0, len(ids), 500):
        batch = ids[start : start + 500]
        known.update(
            r
            for r in (
                await session.exec(
                    select(SafeWellListing.record_id).where(
                        col(SafeWellListing.record_id).in_(batch)
                    )
                )
            ).all()
            if r is not None
        )
        local = {i[len(ours) :]: i for i in batch if i.startswith(ours)}
        if local:
            known.update(
                local[listing_id]
                for listing_id in (
                    await session.exec(
                        select(SafeWellListing.id).where(col(SafeWellListing.id).in_(list(local)))
                    )
                ).all()
            )

    made = 0
    rows: list[dict[str, str]] = []
    for plan in planned:
        person, note = plan.person, plan.note
        if person.person_record_id in known:
            continue
        said_at = person.source_date or note.source_date
        listing = SafeWellListing(
            worker_id=None,
            record_id=person.person_record_id,
            crisis_id=crisis_id,
            agreed_via="pfif",
            agreed_by=who(actor),
            listed_at=pfif.parse_time(said_at) if said_at else utcnow(),
            exercise=exercise,
        )
        kept = {
            "full_name": plan.full_name,
            "given_name": person.given_name,
            "family_name": person.family_name,
            "source_name": person.source_name,
            "source_date": person.source_date,
            "note_record_id": note.note_record_id,
            "note_author_name": note.author_name,
            "note_source_date": note.source_date,
            "author_made_contact": note.author_made_contact,
            "status": note.status,
        }
        seal = protector.sealer.seal
        listing.name_sealed = seal(
            json.dumps({k: v for k, v in kept.items() if v is not None}, ensure_ascii=False),
            record_id=listing.id,
            field="name",
        )
        listing.message_sealed = seal(note.text, record_id=listing.id, field="message")
        listing.home_town_sealed = seal(person.home_city, record_id=listing.id, field="home_town")
        session.add(listing)
        rows.extend({"key": k, "listing_id": listing.id} for k in sorted(plan.keys))
        known.add(person.person_record_id)
        made += 1
    if made:
        await session.flush()
        await insert_rows(await session.connection(), _KEYS, rows)
    return Imported(imported=made, unchanged=len(planned) - made, skipped=skipped)
