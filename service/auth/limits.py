"""What one client may ask of the service: requests per token and per address, and failed
authentications per address.

Three token buckets per API process (``app.state.limits``), each of a number a minute that
refills over the minute (``LIFELINE_TOKEN_REQUESTS_PER_MINUTE``,
``LIFELINE_ADDRESS_REQUESTS_PER_MINUTE``, ``LIFELINE_AUTH_FAILURES_PER_MINUTE``; 0: none).
``authorize`` applies all three to every route that needs a caller; the console's sign-in pages
count and check the failures. Past the failures' bucket, every authentication from the address
is refused before its token is looked up until the bucket has refilled one, but for the tokens
this process found live within the hour: guessing goes no faster than the limit, and those who
share the address with the guesser and were already at work keep working. Unknown and malformed
tokens count as failures, revoked ones not (they were issued: a forgotten script that still
sends one is no guesser, and must not lock its address out).

An address that crosses the limit is audited once (``auth.throttled``: a keyed hash of the
address and its network cut short, the failures counted), and logged; the attempts refused
while it is throttled are counted and logged at most once a minute, never one row each: a
flood must not flood the audit log.
"""

from __future__ import annotations

import itertools
import logging
import math
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field

from fastapi import Request
from sqlmodel.ext.asyncio.session import AsyncSession

from service.audit.service import record
from service.auth.permissions import Role
from service.auth.principal import Principal
from service.clients import client_network, keyed_hash, truncated
from service.db import session_scope
from service.errors import RateLimited
from service.registry.ratelimit import TokenBuckets, forget_at_least
from service.settings import Settings

log = logging.getLogger("lifeline.auth")

THROTTLED = "auth.throttled"
#: How often, at most, an address still throttled is logged again (with its counts).
LOG_EVERY_S = 60.0
#: Addresses whose failures are tallied before the tallies of refilled buckets are dropped.
MAX_TALLIES = 100_000
#: How long a token proven live passes its address's throttle (seconds since its last proof).
PROVEN_S = 3600.0


def _per_minute(count: int, clock: Callable[[], float]) -> TokenBuckets | None:
    if count <= 0:
        return None
    return TokenBuckets(rate=count / 60.0, burst=count, clock=clock)


def retry_after(wait_s: float) -> dict[str, str]:
    """``Retry-After`` for a wait of ``wait_s``: whole seconds, rounded up (a client that waits
    what it is told is not refused again)."""
    return {"Retry-After": str(max(1, math.ceil(wait_s)))}


@dataclass
class Tally:
    """The failures of one address since its bucket was last full, and what followed."""

    failures: int = 0
    kinds: Counter[str] = field(default_factory=Counter)
    #: When it crossed the limit (the clock's seconds); None while under it.
    throttled_at: float | None = None
    #: Attempts refused while throttled, and when it was last logged.
    refused: int = 0
    logged_at: float = 0.0


@dataclass
class Crossing:
    """An address that just crossed the failures' limit: what its audit entry says."""

    network: str
    tally: Tally
    wait_s: float


@dataclass
class Limits:
    """The limits of one API process. ``None``: that limit is off."""

    tokens: TokenBuckets | None
    addresses: TokenBuckets | None
    failures: TokenBuckets | None
    #: What keys the hash of an address in the audit log and the logs (never shown).
    secret: str = field(repr=False)
    clock: Callable[[], float] = time.monotonic
    max_tallies: int = MAX_TALLIES
    _tallies: dict[str, Tally] = field(default_factory=dict)
    #: Digests of the tokens proven live lately, each with when its proof runs out.
    _proven: dict[str, float] = field(default_factory=dict, repr=False)

    @classmethod
    def build(
        cls,
        *,
        token_per_minute: int,
        address_per_minute: int,
        failures_per_minute: int,
        secret: str,
        clock: Callable[[], float] = time.monotonic,
    ) -> Limits:
        return cls(
            tokens=_per_minute(token_per_minute, clock),
            addresses=_per_minute(address_per_minute, clock),
            failures=_per_minute(failures_per_minute, clock),
            secret=secret,
            clock=clock,
        )

    @classmethod
    def from_settings(cls, settings: Settings) -> Limits:
        return cls.build(
            token_per_minute=settings.token_requests_per_minute,
            address_per_minute=settings.address_requests_per_minute,
            failures_per_minute=settings.auth_failures_per_minute,
            secret=settings.blind_index_key,
        )

    # Requests.

    def request_wait(self, key: str, *, per: str) -> float:
        """Take one request of ``key`` from the bucket ``per`` ("token" or "address"); 0 if it
        may go, else the seconds to wait."""
        buckets = self.tokens if per == "token" else self.addresses
        return buckets.take(key) if buckets is not None else 0.0

    # Failed authentications.

    def proved(self, digest: str) -> None:
        """Remember that the token of ``digest`` was just found live. A token proven good is no
        guess: it passes its address's throttle for ``PROVEN_S`` (the people behind an address
        someone guesses from keep working; the guesses still wait)."""
        self._proven.pop(digest, None)
        if len(self._proven) >= self.max_tallies:
            oldest = list(itertools.islice(self._proven, forget_at_least(self.max_tallies)))
            for key in oldest:
                del self._proven[key]
        self._proven[digest] = self.clock() + PROVEN_S

    def proven(self, digest: str) -> bool:
        """Whether the token of ``digest`` was found live within ``PROVEN_S``."""
        until = self._proven.get(digest)
        return until is not None and until > self.clock()

    def described(self, network: str) -> dict[str, str]:
        """How the audit log and the logs name an address: a keyed hash and its network cut
        short, never the address."""
        return {"address": keyed_hash(network, self.secret), "network": truncated(network)}

    def throttled(self, network: str) -> float:
        """The seconds until ``network`` may try to authenticate again (0: now). A refusal is
        counted, and logged at most once every ``LOG_EVERY_S``."""
        if self.failures is None:
            return 0.0
        wait = self.failures.wait(network)
        if not wait:
            return 0.0
        tally = self._tallies.setdefault(network, Tally())
        tally.refused += 1
        now = self.clock()
        if now - tally.logged_at >= LOG_EVERY_S:
            tally.logged_at = now
            log.warning(
                "authentication refused: too many failures from this address",
                extra={
                    **self.described(network),
                    "failures": tally.failures,
                    "refused": tally.refused,
                    "retry_after_s": math.ceil(wait),
                },
            )
        return wait

    def failed(self, network: str, kind: str) -> Crossing | None:
        """Count one failed authentication of ``network`` (``kind``: what failed); the crossing
        when this one takes the address over the limit, once until its bucket refills whole."""
        if self.failures is None:
            return None
        tally = self._tallies.get(network)
        if tally is None or self.failures.full(network):
            if tally is not None and tally.throttled_at is not None:
                self._log_over(network, tally)
            if len(self._tallies) >= self.max_tallies:
                self._forget_refilled()
            tally = self._tallies[network] = Tally()
        tally.failures += 1
        tally.kinds[kind] += 1
        self.failures.take(network)
        wait = self.failures.wait(network)
        if not wait or tally.throttled_at is not None:
            return None
        tally.throttled_at = tally.logged_at = self.clock()
        log.warning(
            "authentication throttled: too many failures from this address",
            extra={
                **self.described(network),
                "failures": tally.failures,
                "kinds": dict(tally.kinds),
                "retry_after_s": math.ceil(wait),
            },
        )
        return Crossing(network=network, tally=tally, wait_s=wait)

    def _log_over(self, network: str, tally: Tally) -> None:
        log.info(
            "authentication throttle over for this address",
            extra={**self.described(network), "failures": tally.failures, "refused": tally.refused},
        )

    def _forget_refilled(self) -> None:
        """Drop the tallies of addresses whose bucket has refilled: a flood from many addresses
        must not grow the table without end. At least a tenth of it goes each time (the oldest
        tallies next), so that a flood of addresses none of which has refilled yet costs one
        scan per tenth of new addresses, not one per attempt."""
        assert self.failures is not None
        refilled = [n for n in self._tallies if self.failures.full(n)]
        for network in refilled:
            del self._tallies[network]
        shortfall = forget_at_least(self.max_tallies) - len(refilled)
        for network in list(itertools.islice(self._tallies, max(0, shortfall))):
            del self._tallies[network]

    def use_clock(self, clock: Callable[[], float]) -> None:
        """Count time by ``clock`` from now on (a test's, moved on instead of sleeping)."""
        self.clock = clock
        for buckets in (self.tokens, self.addresses, self.failures):
            if buckets is not None:
                buckets.clock = clock


def limits_of(request: Request) -> Limits:
    limits: Limits = request.app.state.limits
    return limits


def limit_address(request: Request) -> None:
    """Refuse (429) a request past its address's limit."""
    wait = limits_of(request).request_wait(client_network(request), per="address")
    if wait:
        raise RateLimited(
            f"Too many requests from this address; try again in {math.ceil(wait)} s",
            headers=retry_after(wait),
        )


def limit_principal(request: Request, principal: Principal) -> None:
    """Refuse (429) a request past its token's limit (or its person's, signed in)."""
    key = principal.token_id or (f"user:{principal.user_id}" if principal.user_id else None)
    if key is None:
        return
    wait = limits_of(request).request_wait(key, per="token")
    if wait:
        raise RateLimited(
            f"Too many requests from this token; try again in {math.ceil(wait)} s",
            headers=retry_after(wait),
        )


def throttle_wait(request: Request) -> float:
    """The seconds the request's address must wait before it may authenticate (0: now)."""
    return limits_of(request).throttled(client_network(request))


def refuse_if_throttled(request: Request) -> None:
    """Refuse (429) an authentication from an address past its failures' limit, before its
    token is looked up."""
    wait = throttle_wait(request)
    if wait:
        raise RateLimited(
            "Too many failed authentications from this address; every authentication from it "
            f"waits: try again in {math.ceil(wait)} s",
            headers=retry_after(wait),
        )


async def count_failure(
    request: Request, kind: str, *, session: AsyncSession | None = None
) -> None:
    """Count a failed authentication of the request's address; audit the one that takes it
    over the limit, in ``session`` (one that commits: the console's pages) or else in a
    transaction of its own (the request's is rolled back with its 401)."""
    limits = limits_of(request)
    crossing = limits.failed(client_network(request), kind)
    if crossing is None:
        return
    detail: dict[str, object] = {
        **limits.described(crossing.network),
        "failures": crossing.tally.failures,
        "kinds": dict(crossing.tally.kinds),
        "per_minute": limits.failures.burst if limits.failures else 0,
        "retry_after_s": math.ceil(crossing.wait_s),
    }
    channel = "console" if request.url.path.startswith("/console") else "api"
    if session is not None:
        _audit_throttled(session, channel, detail)
        return
    async with session_scope(request.app.state.sessionmaker) as own:
        _audit_throttled(own, channel, detail)


def _audit_throttled(session: AsyncSession, channel: str, detail: dict[str, object]) -> None:
    """One ``auth.throttled`` entry, of nobody: no token or person is known."""
    event = record(
        session,
        actor=Principal(organization_id=None, role=Role.VIEWER, channel=channel),
        action=THROTTLED,
        outcome="denied",
        subject_type="address",
        subject_id=str(detail["address"]),
        detail=detail,
    )
    event.role = None
