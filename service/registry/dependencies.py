"""What the register's routes take from the request: permissions, the protector and locator,
the rate limit on lists of people."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from service.auth.dependencies import authorize
from service.auth.permissions import Permission
from service.auth.principal import Principal
from service.errors import RateLimited
from service.registry.locate import Locator
from service.registry.protect import Protector
from service.registry.ratelimit import TokenBuckets

Reader = Annotated[Principal, Depends(authorize(Permission.WORKERS_READ))]
Writer = Annotated[Principal, Depends(authorize(Permission.WORKERS_WRITE))]
PopulationReader = Annotated[Principal, Depends(authorize(Permission.POPULATIONS_READ))]
PopulationWriter = Annotated[Principal, Depends(authorize(Permission.POPULATIONS_WRITE))]


def protector(request: Request) -> Protector:
    value: Protector = request.app.state.protector
    return value


def locator(request: Request) -> Locator:
    value: Locator = request.app.state.locator
    return value


ProtectorDep = Annotated[Protector, Depends(protector)]
LocatorDep = Annotated[Locator, Depends(locator)]


def rate_limit(request: Request, principal: Principal) -> None:
    """Lists of people are rate-limited per token (or per person signed in to the console), so
    no one pages through the whole register."""
    buckets: TokenBuckets = request.app.state.people_lists
    person = f"user:{principal.user_id}" if principal.user_id else None
    wait = buckets.take(principal.token_id or person or "system")
    if wait:
        raise RateLimited(
            f"Too many lists of people from this token; try again in {wait:.0f} s",
            headers={"Retry-After": str(max(1, round(wait)))},
        )
