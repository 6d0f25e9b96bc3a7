"""What a list of people does not show, and why: how many people match a list within the
caller's scope, how many it lists, and how many it does not by reason, never by name.

The scope is whom the caller's role could read if every worker agreed (consular staff: their
nationalities in the countries their post covers; a society: its country; an admin: everyone);
the reasons are the rest of the need-to-know rules (``service.registry.access``). Protection
status is personal data too: a worker kept from their country of origin is counted under
``withheld_under_data_protection``, which does not say which rule it is.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import ColumnElement, and_, false
from sqlalchemy import select as core_select
from sqlmodel import col, func
from sqlmodel.ext.asyncio.session import AsyncSession

from geo.suppress import suppress, suppress_total
from service.auth.permissions import Role
from service.auth.principal import Principal
from service.registry.access import is_outsider
from service.registry.models import Worker

NO_EMBASSY_CONSENT = "no_consent_to_share_with_embassy"
NO_HUMANITARIAN_CONSENT = "no_consent_to_share_with_humanitarian"
WITHHELD = "withheld_under_data_protection"
_COLUMNS = (
    col(Worker.consent_embassy),
    col(Worker.consent_humanitarian),
    col(Worker.international_protection),
    col(Worker.nationality),
)


def scope(actor: Principal) -> ColumnElement[bool]:
    """The people the caller's role could read in a list if every worker agreed."""
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
    if actor.role is Role.COORDINATOR:
        return and_(alive, col(Worker.registered_by) == (actor.organization_id or ""))
    return false()


def scope_nationalities(actor: Principal) -> frozenset[str] | None:
    """The nationalities outside which ``scope`` holds nobody (None: any nationality), so that a
    list asks the exposure index for those alone rather than for everyone in the zone."""
    if actor.role is Role.CONSULAR_OFFICER and not is_outsider(actor):
        return actor.nationalities
    return None


def hidden_because(
    actor: Principal, *, embassy: bool, humanitarian: bool, protected: bool, nationality: str
) -> str | None:
    """Why a worker in the caller's scope is not shown (None: shown): the rest of the rules of
    ``visibility_clause`` once the scope is met (the tests hold the two together)."""
    if actor.role is Role.CONSULAR_OFFICER:
        if not embassy:
            return NO_EMBASSY_CONSENT
        if protected and nationality == actor.represents:
            return WITHHELD
    if actor.role is Role.SOCIETY_RESPONDER and not humanitarian:
        return NO_HUMANITARIAN_CONSENT
    return None


@dataclass(frozen=True, slots=True)
class Explained:
    """The counts that explain a list of people, as the caller may see them."""

    matching: int | None
    listed: int
    not_shown: dict[str, int]
    basis: str

    def fields(self) -> dict[str, Any]:
        return {
            "matching": self.matching,
            "listed": self.listed,
            "not_shown": self.not_shown,
            "basis": self.basis,
        }

    def headers(self) -> dict[str, str]:
        """The counts as response headers, for a CSV download (which has no room for them)."""
        return {
            "Lifeline-Matching": "" if self.matching is None else str(self.matching),
            "Lifeline-Listed": str(self.listed),
            "Lifeline-Not-Shown": ",".join(f"{k}={v}" for k, v in self.not_shown.items()),
        }


def _basis(actor: Principal, threshold: int, where: str) -> str:
    if actor.role is Role.CONSULAR_OFFICER:
        return (
            f"exact: your nationalities {where}, in the countries your post covers, who match "
            "the filters; listed: those you may read; not_shown: the others, by reason"
        )
    if actor.role is Role.SOCIETY_RESPONDER:
        return (
            f"people {where} in your society's country who match the filters, rounded to 5 "
            f"with figures under {threshold} withheld; listed: those who agreed to humanitarian "
            "sharing (exact); not_shown: the others"
        )
    if actor.role is Role.COORDINATOR:
        return f"exact: the people {where} your organisation registered who match the filters"
    return f"exact: everyone {where} who matches the filters; all of them are listed"


@dataclass
class Unseen:
    """How many people match a list within the caller's scope, and how many of them it hides,
    by reason: ``add`` once per batch of conditions (a chunk of a zone's workers, filters)."""

    matching: int = 0
    hidden: Counter[str] = field(default_factory=Counter)

    async def add(
        self, session: AsyncSession, actor: Principal, where: Sequence[ColumnElement[bool]]
    ) -> None:
        connection = await session.connection()
        groups = await connection.execute(
            core_select(*_COLUMNS, func.count()).where(scope(actor), *where).group_by(*_COLUMNS)
        )
        for embassy, humanitarian, protected, nationality, count in groups.all():
            self.matching += count
            why = hidden_because(
                actor,
                embassy=embassy,
                humanitarian=humanitarian,
                protected=protected,
                nationality=nationality,
            )
            if why is not None:
                self.hidden[why] += count

    def explained(self, actor: Principal, *, threshold: int, where: str) -> Explained:
        """The counts, exact for those who read exact aggregates of these people (consular
        staff of their own nationals, admins, the registering coordinator), rounded and
        withheld under ``threshold`` for a society, like any aggregate outside need-to-know."""
        listed = self.matching - sum(self.hidden.values())
        if actor.role is Role.SOCIETY_RESPONDER:
            return Explained(
                suppress_total(self.matching, threshold=threshold),
                listed,
                suppress(self.hidden, threshold=threshold),
                _basis(actor, threshold, where),
            )
        return Explained(
            self.matching,
            listed,
            dict(sorted(self.hidden.items())),
            _basis(actor, threshold, where),
        )
