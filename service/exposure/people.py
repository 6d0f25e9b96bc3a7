"""Lists of the people in a zone (one drawn by hand, or a crisis's own): the same rules for both.

Need-to-know decides who is shown (``service.registry.access``); the list also says how many
people match within the caller's scope and are not shown, and why, without naming them, so that
its figures reconcile with the exposure counts. Every list is audited with the ids it returned.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from fastapi.responses import StreamingResponse
from numpy.typing import NDArray
from shapely.geometry.base import BaseGeometry
from sqlalchemy import ColumnElement, and_, false
from sqlalchemy import select as core_select
from sqlmodel import col, func, select
from sqlmodel.ext.asyncio.session import AsyncSession

from geo.suppress import suppress, suppress_total
from service.audit.service import record
from service.auth.permissions import Role
from service.auth.principal import Principal
from service.errors import InvalidInput
from service.exports import workers as workers_csv
from service.exposure.engine import RegisterIndex
from service.exposure.schemas import PeoplePage
from service.geowork import Budget
from service.pagination import decode_cursor, encode_cursor
from service.registry.access import is_outsider, visibility_clause, visible_fields
from service.registry.models import Worker
from service.registry.protect import Protector
from service.registry.schemas import WorkerPublic
from service.registry.service import present

#: Rows of a CSV list at most (every row at once).
CSV_LIMIT = 50_000
#: Workers read from the database per query.
_CHUNK = 5000

NO_EMBASSY_CONSENT = "no_consent_to_share_with_embassy"
NO_HUMANITARIAN_CONSENT = "no_consent_to_share_with_humanitarian"
#: Protection status is personal data too: the reason given never says which rule it is.
WITHHELD = "withheld_under_data_protection"


@dataclass
class People:
    """One answer of a list of people: the workers shown, as the caller may see them, and the
    counts that explain the list."""

    items: list[dict[str, Any]]
    next_cursor: str | None
    matching: int | None
    listed: int
    not_shown: dict[str, int]
    basis: str
    ids: list[str] = field(default_factory=list)

    def headers(self) -> dict[str, str]:
        """The counts as response headers, for a CSV download (which has no room for them)."""
        return {
            "Lifeline-Matching": "" if self.matching is None else str(self.matching),
            "Lifeline-Listed": str(self.listed),
            "Lifeline-Not-Shown": ",".join(f"{k}={v}" for k, v in self.not_shown.items()),
        }


def _scope(actor: Principal) -> ColumnElement[bool]:
    """The people the caller's role could read in a list if every worker agreed: those a list
    of theirs counts as matching."""
    alive = col(Worker.erased_at).is_(None)
    if is_outsider(actor):
        return false()
    if actor.role is Role.ADMIN:
        return alive
    if actor.role is Role.CONSULAR_OFFICER:
        if not actor.nationalities or not actor.covers:
            return false()
        return and_(
            alive,
            col(Worker.nationality).in_(sorted(actor.nationalities)),
            col(Worker.country).in_(sorted(actor.covers)),
        )
    if actor.role is Role.SOCIETY_RESPONDER:
        return and_(alive, col(Worker.country) == (actor.country or ""))
    return false()


def _hidden_because(
    actor: Principal, *, embassy: bool, humanitarian: bool, protected: bool, nationality: str
) -> str | None:
    """Why a worker in the caller's scope is not shown (None: shown): the rest of the rules of
    ``visibility_clause`` once the scope is met (checked against it by the tests)."""
    if actor.role is Role.CONSULAR_OFFICER:
        if not embassy:
            return NO_EMBASSY_CONSENT
        if protected and nationality == actor.represents:
            return WITHHELD
    if actor.role is Role.SOCIETY_RESPONDER and not humanitarian:
        return NO_HUMANITARIAN_CONSENT
    return None


def _basis(actor: Principal, threshold: int) -> str:
    if actor.role is Role.CONSULAR_OFFICER:
        return (
            "exact: your nationalities in the zone, in the countries your post covers, who "
            "match the filters (the exposure's own_nationals.workers); listed: those you may "
            "read; not_shown: the others, by reason"
        )
    if actor.role is Role.SOCIETY_RESPONDER:
        return (
            "people in the zone in your society's country who match the filters, rounded to 5 "
            f"with figures under {threshold} withheld; listed: those who agreed to humanitarian "
            "sharing (exact); not_shown: the others"
        )
    return "exact: everyone in the zone who matches the filters; all of them are listed"


async def _tally(
    session: AsyncSession, actor: Principal, pks: NDArray[np.int64]
) -> tuple[int, Counter[str]]:
    """(how many of ``pks`` are in the caller's scope, how many of those are hidden by why)."""
    scope = _scope(actor)
    matching = 0
    hidden: Counter[str] = Counter()
    columns = (
        col(Worker.consent_embassy),
        col(Worker.consent_humanitarian),
        col(Worker.international_protection),
        col(Worker.nationality),
    )
    connection = await session.connection()
    for start in range(0, len(pks), _CHUNK):
        chunk = [int(p) for p in pks[start : start + _CHUNK]]
        groups = (
            await connection.execute(
                core_select(*columns, func.count())
                .where(col(Worker.pk).in_(chunk))
                .where(scope)
                .group_by(*columns)
            )
        ).all()
        for embassy, humanitarian, protected, nationality, count in groups:
            matching += count
            why = _hidden_because(
                actor,
                embassy=embassy,
                humanitarian=humanitarian,
                protected=protected,
                nationality=nationality,
            )
            if why is not None:
                hidden[why] += count
    return matching, hidden


@dataclass(frozen=True, slots=True)
class PeopleAsked:
    """Who asks for a list of people, and what for: filters, page, or every row (a CSV)."""

    actor: Principal
    index: RegisterIndex
    budget: Budget
    protect: Protector
    #: Smallest figure shown to those outside the need-to-know (``suppress_below``).
    threshold: int
    nationalities: Sequence[str] | None
    own_country: str
    limit: int
    cursor: str | None
    every_row: bool


async def people_in(
    session: AsyncSession,
    asked: PeopleAsked,
    *,
    zone: BaseGeometry,
    audit_detail: dict[str, Any],
) -> People:
    """The workers strictly inside ``zone`` whose personal data the caller may read, oldest
    registration first: a page of ``limit`` after ``cursor``, or (``every_row``, a CSV) up to
    ``CSV_LIMIT`` at once; audited (``exposure.list``) with the ids returned."""
    actor, budget, threshold, limit = asked.actor, asked.budget, asked.threshold, asked.limit
    every_row = asked.every_row
    pks = await budget.run(
        asked.index.index.select_pks,
        zone,
        nationalities=asked.nationalities,
        own_country=asked.own_country,
        deadline=budget.deadline,
    )
    after = decode_cursor(asked.cursor)
    if after is not None and not isinstance(after, int):
        raise InvalidInput(
            "The cursor is not one this list gave out",
            errors=[{"loc": ["query", "cursor"], "msg": "invalid"}],
        )
    matching, hidden = await _tally(session, actor, pks)
    listed = matching - sum(hidden.values())
    if after is not None:
        pks = pks[pks > after]
    want = CSV_LIMIT if every_row else limit + 1
    rows: list[Worker] = []
    for start in range(0, len(pks), _CHUNK):
        chunk = [int(p) for p in pks[start : start + _CHUNK]]
        found = (
            await session.exec(
                select(Worker)
                .where(col(Worker.pk).in_(chunk))
                .where(visibility_clause(actor))
                .order_by(col(Worker.pk))
            )
        ).all()
        rows.extend(found)
        if len(rows) >= want:
            break
    rows = rows[:want]
    shown = rows if every_row else rows[:limit]
    items = []
    for worker in shown:
        fields = visible_fields(actor, worker)
        assert fields is not None
        items.append(present(worker, fields, asked.protect))
    ids = [w.id for w in shown]
    record(
        session,
        actor=actor,
        action="exposure.list",
        subject_type="worker",
        detail={**audit_detail, "format": "csv" if every_row else "json", "ids": ids},
    )
    exact = actor.role is not Role.SOCIETY_RESPONDER
    return People(
        items=items,
        next_cursor=(
            encode_cursor(shown[-1].pk) if not every_row and len(rows) > limit and shown else None
        ),
        matching=matching if exact else suppress_total(matching, threshold=threshold),
        listed=listed,
        not_shown=dict(sorted(hidden.items())) if exact else suppress(hidden, threshold=threshold),
        basis=_basis(actor, threshold),
        ids=ids,
    )


def people_page(found: People) -> PeoplePage:
    """A list's JSON answer."""
    return PeoplePage(
        items=[WorkerPublic.model_validate(i) for i in found.items],
        next_cursor=found.next_cursor,
        matching=found.matching,
        listed=found.listed,
        not_shown=found.not_shown,
        basis=found.basis,
    )


def people_csv(found: People, filename: str) -> StreamingResponse:
    """A list's CSV download (the workers CSV), its counts in the response headers."""
    download = workers_csv.response(found.items, filename)
    download.headers.update(found.headers())
    return download


def wants_csv(format: str | None, accept: str | None) -> bool:
    """``?format=csv``, or no ``format`` and an ``Accept`` that names ``text/csv``."""
    if format is not None:
        return format == "csv"
    return accept is not None and "text/csv" in accept.lower()
