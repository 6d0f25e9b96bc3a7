"""Issuing, revoking and checking tokens."""

from __future__ import annotations

import hashlib
import secrets
import time
from collections.abc import Sequence
from dataclasses import dataclass

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from service.audit.service import record
from service.auth.models import ApiToken
from service.auth.permissions import Role
from service.auth.principal import Principal
from service.db import utcnow
from service.directory.models import Organization
from service.errors import NotFound

TOKEN_PREFIX = "ll_"  # noqa: S105 - a visible marker, not a secret


def hash_token(raw: str) -> str:
    return hashlib.sha256(raw.encode()).hexdigest()


@dataclass(frozen=True, slots=True)
class IssuedToken:
    """A token just made: ``secret`` is shown this once and never stored."""

    token: ApiToken
    secret: str


async def create_token(
    session: AsyncSession,
    *,
    actor: Principal,
    organization: Organization,
    role: Role,
    name: str = "",
) -> IssuedToken:
    secret = TOKEN_PREFIX + secrets.token_urlsafe(32)
    token = ApiToken(
        organization_id=organization.id,
        role=role.value,
        name=name,
        token_hash=hash_token(secret),
        prefix=secret[: len(TOKEN_PREFIX) + 6],
    )
    session.add(token)
    await session.flush()
    record(
        session,
        actor=actor,
        action="token.create",
        subject_type="token",
        subject_id=token.id,
        detail={"organization_id": organization.id, "role": role.value},
    )
    return IssuedToken(token=token, secret=secret)


async def revoke_token(session: AsyncSession, *, actor: Principal, token_id: str) -> ApiToken:
    token = await session.get(ApiToken, token_id)
    if token is None:
        raise NotFound(f"No token with id {token_id}")
    _cache.pop(token.token_hash, None)
    if token.revoked_at is None:
        token.revoked_at = utcnow()
        session.add(token)
        record(
            session, actor=actor, action="token.revoke", subject_type="token", subject_id=token.id
        )
    await session.flush()
    return token


async def list_tokens(
    session: AsyncSession, *, limit: int, after_id: str | None, organization_id: str | None = None
) -> Sequence[ApiToken]:
    query = select(ApiToken).order_by(col(ApiToken.id)).limit(limit)
    if after_id is not None:
        query = query.where(col(ApiToken.id) > after_id)
    if organization_id is not None:
        query = query.where(ApiToken.organization_id == organization_id)
    return (await session.exec(query)).all()


#: Live tokens seen recently, so that a busy client does not cost a lookup per request. A
#: revocation clears the entry at once in its own process, and within ``CACHE_S`` in the others.
CACHE_S = 5.0
_cache: dict[str, tuple[Principal, float]] = {}


async def authenticate(session: AsyncSession, raw: str) -> Principal | None:
    """The principal of a live token, or None for an unknown or revoked one."""
    if not raw.startswith(TOKEN_PREFIX) or len(raw) > 200:
        return None
    digest = hash_token(raw)
    cached = _cache.get(digest)
    if cached is not None and cached[1] > time.monotonic():
        return cached[0]
    principal = await _lookup(session, digest)
    if principal is not None:
        if len(_cache) > 10_000:
            _cache.clear()
        _cache[digest] = (principal, time.monotonic() + CACHE_S)
    return principal


async def _lookup(session: AsyncSession, digest: str) -> Principal | None:
    query = (
        select(ApiToken, Organization)
        .join(Organization, col(Organization.id) == col(ApiToken.organization_id))
        .where(ApiToken.token_hash == digest)
    )
    row = (await session.exec(query)).first()
    if row is None:
        return None
    token, org = row
    if token.revoked_at is not None:
        return None
    return Principal(
        organization_id=org.id,
        role=Role(token.role),
        channel="api",
        token_id=token.id,
        organization_slug=org.slug,
        organization_kind=org.kind,
        country=org.country,
        represents=org.represents,
        acts_for=tuple(org.acts_for),
        jurisdiction=tuple(org.jurisdiction),
    )
