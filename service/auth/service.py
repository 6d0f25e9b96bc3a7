"""Issuing, revoking and checking tokens."""

from __future__ import annotations

import hashlib
import secrets
import time
from dataclasses import dataclass
from typing import Literal

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from service.audit.service import record
from service.auth.models import ApiToken
from service.auth.permissions import PERSONAL_DATA_ROLES, Role
from service.auth.principal import Principal
from service.db import utcnow
from service.directory.models import Organization
from service.errors import Forbidden
from service.lookups import get_or_404
from service.pagination import Page, paginate

TOKEN_PREFIX = "ll_"  # noqa: S105 - a visible marker, not a secret


def hash_token(raw: str) -> str:
    return hashlib.sha256(raw.encode()).hexdigest()


@dataclass(frozen=True, slots=True)
class IssuedToken:
    """A token just made: ``secret`` is shown this once and never stored."""

    token: ApiToken
    secret: str


class IssueRefused(Forbidden):
    """A credential that reads personal data, asked for another organisation by an API caller."""

    code = "credential-for-another-organization"


def issue_kind(actor: Principal, organization: Organization, role: Role) -> str:
    """How ``actor`` issuing a ``role`` token for ``organization`` is audited: ``token.create``
    within one's own organisation; ``token.create_for_other_organization`` otherwise (the
    operator's command line, which belongs to no organisation, included)."""
    if actor.organization_id == organization.id:
        return "token.create"
    return "token.create_for_other_organization"


def may_issue(
    actor: Principal, organization: Organization, role: Role, *, allow_central: bool
) -> bool:
    """Whether ``actor`` may issue a ``role`` token for ``organization``.

    The operator (``channel`` cli: a shell on the server, holding the keys anyway) may: it is how
    a new organisation gets its first administrator. Through the API, a role that reads personal
    data is issued only by the organisation's own administrators, unless the deployment lets a
    central administrator do it (``allow_central``)."""
    if actor.channel == "cli" and actor.organization_id is None:
        return True
    if actor.organization_id == organization.id or role not in PERSONAL_DATA_ROLES:
        return True
    return allow_central


async def create_token(
    session: AsyncSession,
    *,
    actor: Principal,
    organization: Organization,
    role: Role,
    name: str = "",
    allow_central: bool = False,
) -> IssuedToken:
    """Issue a token (see ``may_issue``); an issue for another organisation is audited as such,
    and the token records its issuer for that organisation's administrators to see."""
    if not may_issue(actor, organization, role, allow_central=allow_central):
        raise IssueRefused(
            f"A {role.value} token reads personal data: only an administrator of "
            f"{organization.slug} may issue one for it (or the operator, with `lifeline token "
            "create` on the server)"
        )
    secret = TOKEN_PREFIX + secrets.token_urlsafe(32)
    token = ApiToken(
        organization_id=organization.id,
        role=role.value,
        name=name,
        token_hash=hash_token(secret),
        prefix=secret[: len(TOKEN_PREFIX) + 6],
        issued_by_organization_id=actor.organization_id,
        issued_by_token_id=actor.token_id,
        issued_by_channel=actor.channel,
    )
    session.add(token)
    await session.flush()
    record(
        session,
        actor=actor,
        action=issue_kind(actor, organization, role),
        subject_type="token",
        subject_id=token.id,
        detail={
            "organization_id": organization.id,
            "role": role.value,
            "issued_by_organization_id": actor.organization_id,
            "issued_by_token_id": actor.token_id,
            "channel": actor.channel,
        },
    )
    return IssuedToken(token=token, secret=secret)


async def revoke_token(session: AsyncSession, *, actor: Principal, token_id: str) -> ApiToken:
    token = await get_or_404(session, ApiToken, token_id, noun="token")
    _cache.pop(token.token_hash, None)
    _revoked.add(token.token_hash)
    if token.revoked_at is None:
        token.revoked_at = utcnow()
        session.add(token)
        record(
            session, actor=actor, action="token.revoke", subject_type="token", subject_id=token.id
        )
    await session.flush()
    return token


async def list_tokens(
    session: AsyncSession,
    *,
    limit: int,
    cursor: str | None = None,
    organization_id: str | None = None,
) -> Page[ApiToken]:
    query = select(ApiToken)
    if organization_id is not None:
        query = query.where(ApiToken.organization_id == organization_id)
    return await paginate(session, query, key=[col(ApiToken.id)], limit=limit, cursor=cursor)


#: Live tokens seen recently, so that a busy client does not cost a lookup per request. A
#: revocation clears the entry at once in its own process; the others trust their entry for at
#: most ``cache_s`` (``LIFELINE_TOKEN_CACHE_S``), the bound README and docs/security.md state.
CACHE_S = 1.0
_cache: dict[str, tuple[Principal, float]] = {}
#: Tokens this process revoked: refused at once, even by a request that looked the token up
#: while the revocation was being committed (and would otherwise cache it as live).
_revoked: set[str] = set()


@dataclass(frozen=True, slots=True)
class TokenCheck:
    """What a bearer token is: its principal when live, else why not. An unknown or malformed
    one may be a guess and counts as a failed authentication; a revoked one was issued, and
    counts not (a forgotten script behind a shared address must not lock the address out)."""

    principal: Principal | None
    failure: Literal["malformed", "unknown", "revoked"] | None = None


async def authenticate(
    session: AsyncSession, raw: str, *, cache_s: float = CACHE_S
) -> Principal | None:
    """The principal of a live token, or None for an unknown or revoked one."""
    return (await check_token(session, raw, cache_s=cache_s)).principal


async def check_token(session: AsyncSession, raw: str, *, cache_s: float = CACHE_S) -> TokenCheck:
    """The principal of a live token, or why there is none."""
    if not raw.startswith(TOKEN_PREFIX) or len(raw) > 200:
        return TokenCheck(None, "malformed")
    digest = hash_token(raw)
    if digest in _revoked:
        return TokenCheck(None, "revoked")
    cached = _cache.get(digest)
    now = time.monotonic()
    if cached is not None and now < cached[1]:
        return TokenCheck(cached[0])
    check = await _lookup(session, digest)
    if check.principal is not None and cache_s > 0:
        if len(_cache) > 10_000:
            _cache.clear()
        _cache[digest] = (check.principal, now + cache_s)
    else:
        _cache.pop(digest, None)
    return check


async def _lookup(session: AsyncSession, digest: str) -> TokenCheck:
    query = (
        select(ApiToken, Organization)
        .join(Organization, col(Organization.id) == col(ApiToken.organization_id))
        .where(ApiToken.token_hash == digest)
    )
    row = (await session.exec(query)).first()
    if row is None:
        return TokenCheck(None, "unknown")
    token, org = row
    if token.revoked_at is not None:
        return TokenCheck(None, "revoked")
    return TokenCheck(acting_for(org, role=Role(token.role), token_id=token.id))


def acting_for(
    org: Organization,
    *,
    role: Role,
    channel: str = "api",
    token_id: str | None = None,
    user_id: str | None = None,
    user_name: str | None = None,
) -> Principal:
    """The caller acting for ``org`` with ``role``: the bearer of one of its tokens, a person
    signed in to the console (``channel="console"``, ``user_id``), or the operator importing for
    it on the command line (``channel="cli"``)."""
    return Principal(
        organization_id=org.id,
        role=role,
        channel=channel,
        token_id=token_id,
        organization_slug=org.slug,
        organization_kind=org.kind,
        country=org.country,
        represents=org.represents,
        acts_for=tuple(org.acts_for),
        jurisdiction=tuple(org.jurisdiction),
        user_id=user_id,
        user_name=user_name,
    )
