"""What the Restoring Family Links routes and pages take from the request: the caller's
permission, the per-address limit of safe-and-well searches, and the search itself, shared by
the API and the public page."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request
from sqlmodel.ext.asyncio.session import AsyncSession

from service.audit.service import record as audit
from service.auth.dependencies import authorize
from service.auth.permissions import Permission
from service.auth.principal import Principal
from service.clients import client_network, keyed_hash
from service.errors import InvalidInput, RateLimited
from service.family_links import service
from service.family_links.schemas import SearchAnswer, SearchCreate
from service.registry.protect import Protector
from service.registry.ratelimit import TokenBuckets

Tracer = Annotated[Principal, Depends(authorize(Permission.TRACING))]
Lister = Annotated[Principal, Depends(authorize(Permission.SAFE_WELL_LIST))]
Searcher = Annotated[Principal, Depends(authorize(Permission.SAFE_WELL_SEARCH))]
WorkerReader = Annotated[Principal, Depends(authorize(Permission.WORKERS_READ))]
WorkerWriter = Annotated[Principal, Depends(authorize(Permission.WORKERS_WRITE))]


def address_of(request: Request) -> str:
    """The caller's address (its network, ``client_network``), kept only as a keyed hash (in
    the audit trail and the rate limit): the hash the failed authentications are audited under,
    which no one without the key can reverse by trying every IPv4 address."""
    return keyed_hash(client_network(request), request.app.state.settings.blind_index_key)


def limit_searches(request: Request, who: str) -> None:
    """Safe-and-well searches are limited per address (and per token for the API): a family
    searches a few names, an enumeration is stopped."""
    buckets: TokenBuckets = request.app.state.safe_well_searches
    wait = max(buckets.take(f"address:{address_of(request)}"), buckets.take(who) if who else 0.0)
    if wait:
        raise RateLimited(
            f"Too many searches from here; try again in {wait:.0f} s",
            headers={"Retry-After": str(max(1, round(wait)))},
        )


NOT_FOUND_SAID = "No listing found."


async def run_search(
    request: Request,
    session: AsyncSession,
    actor: Principal,
    data: SearchCreate,
    protect: Protector,
) -> SearchAnswer:
    """The search a relative makes, through the API or the public page: rate-limited per
    address, audited (the address and the query as keyed hashes, never the name)."""
    limit_searches(request, actor.token_id or actor.user_id or "")
    facts = [
        (kind, value)
        for kind, value in (
            ("birth_date", data.birth_date.isoformat() if data.birth_date else None),
            ("phone", data.phone),
            ("home_town", data.home_town),
        )
        if value
    ]
    if len(facts) != 1:
        raise InvalidInput(
            "Give the full name and one more fact only a relative would know: the birth date, "
            "the phone number or the home town",
            errors=[{"loc": ["body"], "msg": "exactly one of birth_date, phone, home_town"}],
        )
    kind, value = facts[0]
    found = await service.search(
        session,
        full_name=data.full_name,
        kind=kind,
        value=value,
        protector=protect,
        exercise=actor.channel != "public",
    )
    audit(
        session,
        actor=actor,
        action="safe_well.search",
        detail={"by": kind, "found": found is not None, "address": address_of(request)},
        purpose="restoring family links",
    )
    if found is None:
        return SearchAnswer(found=False, listed_on=None, message=None, said=NOT_FOUND_SAID)
    day = found.listed_at.date()
    return SearchAnswer(
        found=True,
        listed_on=day,
        message=found.message,
        said=f"Listed as safe and well on {day.isoformat()}.",
    )
