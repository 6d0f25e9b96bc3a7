"""Repatriation tables: a case per worker and crisis (with its history), movements and their legs,
and the seats that put a case on a leg.

A case holds no name: it names its worker, whose personal data stay in the register under its
rules. The family travelling with them is a count and their needs, not a list of people.
"""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, Column, ForeignKey, String, Text, UniqueConstraint
from sqlmodel import Field, SQLModel

from service.db import JSONType, UTCDateTime, new_id, utcnow


class CaseKind(enum.StrEnum):
    REPATRIATION = "repatriation"
    #: Moved somewhere safer inside the host country.
    RELOCATION = "relocation"


class CaseState(enum.StrEnum):
    REQUESTED = "requested"
    ELIGIBLE = "eligible"
    NOT_ELIGIBLE = "not_eligible"
    DOCUMENTS_READY = "documents_ready"
    ASSIGNED = "assigned"
    CONFIRMED = "confirmed"
    BOARDED = "boarded"
    ARRIVED = "arrived"
    RECEIVED = "received"
    CLOSED = "closed"
    WITHDRAWN = "withdrawn"


#: The changes a person may make by hand (``assigned`` and ``boarded`` come from a seat and a
#: boarding check, ``arrived`` from the arrival check). Withdrawal from any state before boarding.
MOVES: dict[CaseState, frozenset[CaseState]] = {
    CaseState.REQUESTED: frozenset({CaseState.ELIGIBLE, CaseState.NOT_ELIGIBLE}),
    CaseState.NOT_ELIGIBLE: frozenset({CaseState.ELIGIBLE, CaseState.CLOSED}),
    CaseState.ELIGIBLE: frozenset({CaseState.DOCUMENTS_READY, CaseState.NOT_ELIGIBLE}),
    CaseState.DOCUMENTS_READY: frozenset({CaseState.ELIGIBLE}),
    CaseState.ASSIGNED: frozenset({CaseState.CONFIRMED}),
    CaseState.CONFIRMED: frozenset(),
    CaseState.BOARDED: frozenset(),
    CaseState.ARRIVED: frozenset({CaseState.RECEIVED}),
    CaseState.RECEIVED: frozenset({CaseState.CLOSED}),
    CaseState.CLOSED: frozenset(),
    CaseState.WITHDRAWN: frozenset({CaseState.REQUESTED}),
}
BEFORE_BOARDING = frozenset(
    {
        CaseState.REQUESTED,
        CaseState.ELIGIBLE,
        CaseState.NOT_ELIGIBLE,
        CaseState.DOCUMENTS_READY,
        CaseState.ASSIGNED,
        CaseState.CONFIRMED,
    }
)


class Consent(enum.StrEnum):
    NOT_ASKED = "not_asked"
    GIVEN = "given"
    #: Recorded, never overridden, at alert level 4 too.
    REFUSED = "refused"


class Passport(enum.StrEnum):
    HELD = "held"
    #: Common for domestic workers (MICIC guideline 10): the embassy issues a travel document.
    HELD_BY_EMPLOYER = "held_by_employer"
    LOST = "lost"
    UNKNOWN = "unknown"


class Source(enum.StrEnum):
    """How a case was opened."""

    #: By a consular officer (or a coordinator), for one person.
    OFFICER = "officer"
    #: From a worker's reply to a welfare check, by the person who read it.
    WELFARE_REPLY = "welfare_reply"
    #: For everyone in a province at alert level 4 (mandatory repatriation): consent still asked.
    BULK = "bulk"


class RepatriationRules(SQLModel, table=True):
    """A crisis's eligibility rules, set by a coordinator (else the deployment's settings)."""

    __tablename__ = "repatriation_rules"

    crisis_id: str = Field(
        sa_column=Column(String(36), ForeignKey("crises.id", ondelete="CASCADE"), primary_key=True)
    )
    #: The alert level from which each kind of case is open.
    repatriation_level: int = 3
    relocation_level: int = 2
    #: ISO 3166-1 alpha-3 nationalities and provinces (``admin1``) that may leave; empty: all.
    nationalities: list[str] = Field(
        default_factory=list, sa_column=Column(JSONType, nullable=False)
    )
    admin1: list[str] = Field(default_factory=list, sa_column=Column(JSONType, nullable=False))
    #: The vulnerabilities that put a person first, one point each.
    priority: list[str] = Field(default_factory=list, sa_column=Column(JSONType, nullable=False))
    set_by: str = Field(max_length=120)
    version: int = 1
    updated_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class RepatriationCase(SQLModel, table=True):
    __tablename__ = "repatriation_cases"
    __table_args__ = (
        UniqueConstraint("crisis_id", "worker_id", "kind", name="uq_repatriation_cases_crisis_id"),
    )

    id: str = Field(default_factory=new_id, primary_key=True, max_length=36)
    crisis_id: str = Field(
        sa_column=Column(
            String(36), ForeignKey("crises.id", ondelete="CASCADE"), nullable=False, index=True
        )
    )
    worker_id: str = Field(max_length=36, index=True)
    nationality: str = Field(max_length=3, index=True)
    kind: str = Field(default=CaseKind.REPATRIATION.value, max_length=16)
    state: str = Field(default=CaseState.REQUESTED.value, max_length=16, index=True)
    #: The rule that decided eligibility, in words.
    rule: str | None = Field(default=None, max_length=200)
    #: Higher first: vulnerabilities (pregnant, disability, minors, elderly, trafficking).
    priority: int = 0
    consent: str = Field(default=Consent.NOT_ASKED.value, max_length=10)
    consent_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    consent_by: str | None = Field(default=None, max_length=120)
    passport: str = Field(default=Passport.UNKNOWN.value, max_length=20)
    #: Family members travelling with them (any nationality), and what the journey needs:
    #: ``["medical_escort", "unaccompanied_minor", "wheelchair"...]``.
    family: int = 0
    needs: list[str] = Field(default_factory=list, sa_column=Column(JSONType, nullable=False))
    #: Sealed (record: this case, field ``note``): what the person said.
    note_sealed: str | None = Field(default=None, sa_type=Text)
    movement_id: str | None = Field(default=None, max_length=36, index=True)
    source: str = Field(default=Source.OFFICER.value, max_length=16)
    #: The worker's reply to a welfare check that asked for it (``messages_in``).
    reply_id: str | None = Field(default=None, max_length=36)
    #: The worker agreed that their family at home be told of their movement and arrival, at
    #: this number (sealed, field ``family_phone``).
    tell_family: bool = False
    family_phone_sealed: str | None = Field(default=None, sa_type=Text)
    exercise: bool = False
    opened_by: str = Field(max_length=120)
    version: int = 1
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    updated_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class CaseEvent(SQLModel, table=True):
    __tablename__ = "repatriation_events"

    id: str = Field(default_factory=new_id, primary_key=True, max_length=36)
    case_id: str = Field(
        sa_column=Column(
            String(36),
            ForeignKey("repatriation_cases.id", ondelete="CASCADE"),
            nullable=False,
            index=True,
        )
    )
    at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    actor: str = Field(max_length=120)
    previous: str | None = Field(default=None, max_length=16)
    state: str = Field(max_length=16)
    detail: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSONType, nullable=False))


class Movement(SQLModel, table=True):
    """A journey of one or more legs (Khartoum → Port Sudan by bus, → Jeddah by ship...)."""

    __tablename__ = "movements"

    id: str = Field(default_factory=new_id, primary_key=True, max_length=36)
    crisis_id: str = Field(
        sa_column=Column(
            String(36), ForeignKey("crises.id", ondelete="CASCADE"), nullable=False, index=True
        )
    )
    title: str = Field(max_length=200)
    organised_by: str | None = Field(default=None, max_length=36)
    exercise: bool = False
    version: int = 1
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class Leg(SQLModel, table=True):
    __tablename__ = "movement_legs"
    __table_args__ = (UniqueConstraint("movement_id", "seq", name="uq_movement_legs_movement_id"),)

    id: str = Field(default_factory=new_id, primary_key=True, max_length=36)
    movement_id: str = Field(
        sa_column=Column(
            String(36), ForeignKey("movements.id", ondelete="CASCADE"), nullable=False, index=True
        )
    )
    seq: int
    mode: str = Field(max_length=10)
    origin: str = Field(max_length=120)
    destination: str = Field(max_length=120)
    departs_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    capacity: int
    #: Places taken (a person and their family): never above ``capacity``, by one statement.
    booked: int = 0
    #: What one place on this leg costs, in the minor unit of the fund that pays (None: unpriced).
    cost_per_place: int | None = Field(default=None, sa_column=Column(BigInteger, nullable=True))


class SeatState(enum.StrEnum):
    BOOKED = "booked"
    BOARDED = "boarded"
    ARRIVED = "arrived"


class Seat(SQLModel, table=True):
    """A case on a leg: ``places`` (the person and their family), boarded and arrived checks."""

    __tablename__ = "movement_seats"
    __table_args__ = (UniqueConstraint("leg_id", "case_id", name="uq_movement_seats_leg_id"),)

    id: str = Field(default_factory=new_id, primary_key=True, max_length=36)
    leg_id: str = Field(
        sa_column=Column(
            String(36),
            ForeignKey("movement_legs.id", ondelete="CASCADE"),
            nullable=False,
            index=True,
        )
    )
    case_id: str = Field(max_length=36, index=True)
    places: int = 1
    state: str = Field(default=SeatState.BOOKED.value, max_length=10)
    boarded_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    arrived_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    checked_by: str | None = Field(default=None, max_length=120)


class EntryKind(enum.StrEnum):
    """What a ledger entry does to the fund's available money."""

    #: Money put in the fund (+).
    BUDGET = "budget"
    #: Money set aside for a movement (−).
    COMMITMENT = "commitment"
    #: A commitment given back, the movement cancelled or cheaper (+).
    RELEASE = "release"
    #: Money paid: against a commitment (no change: it was set aside) or not (−).
    EXPENDITURE = "expenditure"
    #: Money paid back to the fund by a carrier or a supplier (+).
    REFUND = "refund"
    #: What an employer or an agency owes for a worker's return, by the law of the origin
    #: country (no change until received).
    RECOVERY_CLAIM = "recovery_claim"
    #: What they paid of it (+).
    RECOVERY_RECEIVED = "recovery_received"


class Fund(SQLModel, table=True):
    """A contingency fund (an origin State's emergency repatriation fund, a society's appeal)."""

    __tablename__ = "funds"

    id: str = Field(default_factory=new_id, primary_key=True, max_length=36)
    name: str = Field(max_length=200)
    #: ISO 4217; every amount is an integer in its minor unit (centavos, sen), never a float.
    currency: str = Field(max_length=3)
    #: The country whose fund it is (its recovery rule applies), ISO 3166-1 alpha-3.
    country: str = Field(max_length=3)
    organization_id: str | None = Field(default=None, max_length=36)
    #: Raised by each entry, in the entry's transaction: two entries at once queue on it.
    version: int = 1
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class FundEntry(SQLModel, table=True):
    """One immutable entry of a fund's ledger."""

    __tablename__ = "fund_entries"

    id: str = Field(default_factory=new_id, primary_key=True, max_length=36)
    fund_id: str = Field(
        sa_column=Column(
            String(36), ForeignKey("funds.id", ondelete="CASCADE"), nullable=False, index=True
        )
    )
    kind: str = Field(max_length=20)
    #: Positive, in the fund's minor unit.
    amount: int = Field(sa_column=Column(BigInteger, nullable=False))
    crisis_id: str | None = Field(default=None, max_length=36, index=True)
    movement_id: str | None = Field(default=None, max_length=36, index=True)
    #: The commitment an expenditure or a release draws on.
    against: str | None = Field(default=None, max_length=36)
    worker_id: str | None = Field(default=None, max_length=36)
    #: Who owes (a recovery): the employer's or the agency's directory entry.
    debtor_org_id: str | None = Field(default=None, max_length=36, index=True)
    note: str | None = Field(default=None, max_length=300)
    #: A coordinator's recorded decision to let the balance go below zero.
    override: str | None = Field(default=None, max_length=300)
    at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    by: str = Field(max_length=120)
