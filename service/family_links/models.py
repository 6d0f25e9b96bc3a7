"""Restoring Family Links tables: safe-and-well listings and the keys a relative finds them by,
tracing requests with their candidates and history, the register's name keys, and the family
contacts at home of a worker.

Tracing data is a restricted category of its own (the RFL Code of Conduct on Data Protection):
what identifies the sought person and the enquirer is sealed, as the register's personal fields
are, and what is matched is keyed hashes of normalised name tokens, never clear names.
"""

from __future__ import annotations

import enum
from datetime import date, datetime
from typing import Any

from sqlalchemy import Column, ForeignKey, Index, String, Text, UniqueConstraint
from sqlmodel import Field, SQLModel

from service.db import JSONType, UTCDateTime, new_id, utcnow
from service.registry.models import BigId


class ListingState(enum.StrEnum):
    LISTED = "listed"
    #: The person withdrew their agreement.
    WITHDRAWN = "withdrawn"
    #: Taken down at the person's request (or by a society), for good.
    REMOVED = "removed"


class Agreement(enum.StrEnum):
    """How the person's agreement to be listed was recorded."""

    REPLY = "reply"
    CALL = "call"
    VOLUNTEER = "volunteer"


class SafeWellListing(SQLModel, table=True):
    """A worker's "I am safe and well", with a short message for their family, listed with
    their agreement. Found only by a search that gives the full name and a fact only a relative
    knows: ``safe_well_keys``.

    A listing imported from another repository's PFIF (a person not in the register) has no
    worker: it keeps the original record id and the names it came with, sealed."""

    __tablename__ = "safe_well_listings"

    id: str = Field(default_factory=new_id, primary_key=True, max_length=36)
    worker_id: str | None = Field(default=None, max_length=36, index=True)
    #: The PFIF person record id of an imported listing (the original repository's).
    record_id: str | None = Field(
        default=None, sa_column=Column(String(200), unique=True, nullable=True)
    )
    #: Sealed (record: this listing, field ``name``): an imported listing's names and what its
    #: note said of who wrote it, as JSON, to write the record again as it came.
    name_sealed: str | None = Field(default=None, sa_type=Text)
    #: Sealed (field ``home_town``): the home town the person gave, exported as PFIF
    #: ``home_city`` (the birth date and the phone never are).
    home_town_sealed: str | None = Field(default=None, sa_type=Text)
    crisis_id: str | None = Field(default=None, max_length=36, index=True)
    state: str = Field(default=ListingState.LISTED.value, max_length=10, index=True)
    #: Sealed (record: this listing, field ``message``).
    message_sealed: str | None = Field(default=None, sa_type=Text)
    agreed_via: str = Field(max_length=10)
    agreed_by: str = Field(max_length=120)
    listed_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    ended_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    ended_by: str | None = Field(default=None, max_length=120)
    exercise: bool = False
    version: int = 1


class ListingKey(SQLModel, table=True):
    """One way to find a listing: the keyed hash of (normalised full name, a fact's kind, the
    fact). Nothing else is searched."""

    __tablename__ = "safe_well_keys"

    key: str = Field(primary_key=True, max_length=64)
    listing_id: str = Field(
        sa_column=Column(
            String(36),
            ForeignKey("safe_well_listings.id", ondelete="CASCADE"),
            primary_key=True,
            index=True,
        )
    )


class TracingState(enum.StrEnum):
    OPEN = "open"
    #: Candidates found, waiting for the host society's tracing officer.
    CANDIDATE = "candidate"
    #: A candidate confirmed as the sought person.
    LOCATED = "located"
    #: The located person is asked whether they want contact.
    CONSENT_ASKED = "consent_asked"
    CONTACT_RESTORED = "contact_restored"
    #: The enquirer is told only that the search is closed.
    NOT_WANTING_CONTACT = "not_wanting_contact"
    #: Restricted: handled by a person, never said by a machine.
    DECEASED = "deceased"
    CLOSED_NOT_FOUND = "closed_not_found"


#: The states that end a request.
ENDED = frozenset(
    {
        TracingState.CONTACT_RESTORED,
        TracingState.NOT_WANTING_CONTACT,
        TracingState.DECEASED,
        TracingState.CLOSED_NOT_FOUND,
    }
)
#: The changes a tracing officer makes by hand (``candidate`` comes from matching, ``located``
#: from confirming a candidate).
MOVES: dict[TracingState, frozenset[TracingState]] = {
    TracingState.OPEN: frozenset({TracingState.CLOSED_NOT_FOUND}),
    TracingState.CANDIDATE: frozenset({TracingState.OPEN, TracingState.CLOSED_NOT_FOUND}),
    TracingState.LOCATED: frozenset({TracingState.CONSENT_ASKED, TracingState.DECEASED}),
    TracingState.CONSENT_ASKED: frozenset(
        {
            TracingState.CONTACT_RESTORED,
            TracingState.NOT_WANTING_CONTACT,
            TracingState.DECEASED,
        }
    ),
    TracingState.CONTACT_RESTORED: frozenset(),
    TracingState.NOT_WANTING_CONTACT: frozenset(),
    TracingState.DECEASED: frozenset(),
    TracingState.CLOSED_NOT_FOUND: frozenset({TracingState.OPEN}),
}


class Separation(enum.StrEnum):
    DISASTER = "disaster"
    CONFLICT = "conflict"
    MIGRATION = "migration"
    DETENTION = "detention"
    OTHER = "other"


#: The sealed fields of a tracing request (record: the request).
TRACING_SEALED = (
    "sought_given_name",
    "sought_family_name",
    "sought_other_names",
    "sought_last_address",
    "sought_last_employer",
    "enquirer_name",
    "enquirer_contact",
)


class TracingRequest(SQLModel, table=True):
    """A family's search for a person, filed by a national society on an enquirer's behalf."""

    __tablename__ = "tracing_requests"

    id: str = Field(default_factory=new_id, primary_key=True, max_length=36)
    #: The society that filed it (the family's side) and its country.
    filed_by_org: str = Field(max_length=36, index=True)
    filed_by: str = Field(max_length=120)
    origin_country: str = Field(max_length=3)
    #: Where the person is sought: its national society searches.
    host_country: str = Field(max_length=3, index=True)
    crisis_id: str | None = Field(default=None, max_length=36, index=True)
    state: str = Field(default=TracingState.OPEN.value, max_length=20, index=True)
    sought_given_name_sealed: str | None = Field(default=None, sa_type=Text)
    sought_family_name_sealed: str | None = Field(default=None, sa_type=Text)
    sought_other_names_sealed: str | None = Field(default=None, sa_type=Text)
    sought_last_address_sealed: str | None = Field(default=None, sa_type=Text)
    sought_last_employer_sealed: str | None = Field(default=None, sa_type=Text)
    sought_sex: str | None = Field(default=None, max_length=1)
    sought_birth_year: int | None = None
    sought_nationality: str = Field(max_length=3)
    last_contact: date | None = None
    separation: str = Field(max_length=12)
    enquirer_name_sealed: str | None = Field(default=None, sa_type=Text)
    enquirer_relationship: str = Field(max_length=40)
    enquirer_contact_sealed: str | None = Field(default=None, sa_type=Text)
    #: The enquirer agreed that their request and details be used to search.
    enquirer_consent: bool = False
    language: str = Field(max_length=8)
    #: The worker confirmed as the sought person (public id).
    located_worker_id: str | None = Field(default=None, max_length=36)
    #: The located person agreed that their own consular officers see this request.
    consular_agreed: bool = False
    #: Retention ended: the names, addresses, employer and enquirer are gone.
    anonymised: bool = False
    #: What the family's side may know of the request's history: a version and a time that
    #: change only when the state it is shown changes (``searching`` to ``closed``...), so that
    #: neither tells it that someone was found meanwhile.
    shown_version: int = 1
    shown_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    exercise: bool = False
    version: int = 1
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    updated_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class CandidateState(enum.StrEnum):
    PROPOSED = "proposed"
    CONFIRMED = "confirmed"
    REJECTED = "rejected"


class TracingCandidate(SQLModel, table=True):
    """A worker who may be the sought person, by the keyed name tokens, the birth year and the
    place: shown only to the host society's tracing officers, who confirm or reject."""

    __tablename__ = "tracing_candidates"
    __table_args__ = (
        UniqueConstraint("request_id", "worker_id", name="uq_tracing_candidates_request_id"),
    )

    id: str = Field(default_factory=new_id, primary_key=True, max_length=36)
    request_id: str = Field(
        sa_column=Column(
            String(36),
            ForeignKey("tracing_requests.id", ondelete="CASCADE"),
            nullable=False,
            index=True,
        )
    )
    worker_id: str = Field(max_length=36)
    score: float
    #: Why, in words: which keys matched (never the names).
    why: str = Field(max_length=300)
    state: str = Field(default=CandidateState.PROPOSED.value, max_length=10)
    decided_by: str | None = Field(default=None, max_length=120)
    decided_at: datetime | None = Field(default=None, sa_type=UTCDateTime)


class TracingEvent(SQLModel, table=True):
    __tablename__ = "tracing_events"

    id: str = Field(default_factory=new_id, primary_key=True, max_length=36)
    request_id: str = Field(
        sa_column=Column(
            String(36),
            ForeignKey("tracing_requests.id", ondelete="CASCADE"),
            nullable=False,
            index=True,
        )
    )
    at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    actor: str = Field(max_length=120)
    previous: str | None = Field(default=None, max_length=20)
    state: str = Field(max_length=20)
    detail: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSONType, nullable=False))


class Direction(enum.StrEnum):
    #: From the enquirer (the family) to the person found.
    TO_FOUND = "to_found"
    #: From the person found to the enquirer.
    TO_FAMILY = "to_family"


class RedCrossMessage(SQLModel, table=True):
    """Family news carried once contact was restored, in either direction: written down by the
    society of the writer's side, sent through the messaging gateways (or by hand)."""

    __tablename__ = "rc_messages"

    id: str = Field(default_factory=new_id, primary_key=True, max_length=36)
    request_id: str = Field(
        sa_column=Column(
            String(36),
            ForeignKey("tracing_requests.id", ondelete="CASCADE"),
            nullable=False,
            index=True,
        )
    )
    direction: str = Field(max_length=10)
    #: Sealed (record: this message, field ``text``).
    text_sealed: str | None = Field(default=None, sa_type=Text)
    #: ``sms`` through the outbox, or ``by_hand`` (a task for the society: no phone to send to).
    channel: str = Field(max_length=10)
    outbox_id: str | None = Field(default=None, max_length=36)
    written_by: str = Field(max_length=120)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class WorkerNameKey(SQLModel, table=True):
    """The register's keyed name tokens (and birth year), for tracing: one row a key and worker,
    kept by following the register's change feed."""

    __tablename__ = "worker_name_keys"
    __table_args__ = (Index("ix_worker_name_keys_worker_pk", "worker_pk"),)

    key: str = Field(primary_key=True, max_length=64)
    worker_pk: int = Field(sa_column=Column(BigId, primary_key=True))


class NameIndexCursor(SQLModel, table=True):
    """How far in the register's change feed the name keys are."""

    __tablename__ = "name_index_cursor"

    id: int = Field(default=1, primary_key=True)
    seq: int = Field(default=0, sa_column=Column(BigId, nullable=False))


class FamilyContact(SQLModel, table=True):
    """Someone of a worker's family at home (a family left behind): whom the origin society or
    ministry tells what happened, with the worker's agreement to be contacted."""

    __tablename__ = "family_contacts"

    id: str = Field(default_factory=new_id, primary_key=True, max_length=36)
    worker_id: str = Field(max_length=36, index=True)
    #: Sealed (record: this contact): ``name`` and ``phone``.
    name_sealed: str | None = Field(default=None, sa_type=Text)
    phone_sealed: str | None = Field(default=None, sa_type=Text)
    relationship: str = Field(max_length=40)
    #: ISO 3166-1 alpha-3: where the family lives.
    country: str = Field(max_length=3)
    #: The worker agreed that this person be contacted about them.
    may_contact: bool = False
    created_by: str = Field(max_length=120)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
