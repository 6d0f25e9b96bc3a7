"""People: accounts, console sessions, the second factor and the back-off of failed sign-ins."""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from service.audit.service import record
from service.auth.permissions import Role
from service.auth.principal import Principal
from service.auth.service import acting_for
from service.crypto import Sealer
from service.db import utcnow
from service.directory.models import Organization
from service.errors import Conflict, InvalidInput
from service.lookups import get_or_404
from service.pagination import Page, paginate
from service.users import passwords, totp
from service.users.models import SignInFailure, User, UserSession
from service.users.schemas import EMAIL_PATTERN

SESSION_COOKIE = "lifeline_session"
CSRF_HEADER = "X-CSRF-Token"
CSRF_FIELD = "csrf_token"

#: Session stages: only ``SIGNED_IN`` authorises anything. ``NEW_PASSWORD``: both factors
#: given, a one-time password to replace.
SECOND_FACTOR, ENROL, NEW_PASSWORD, SIGNED_IN = (
    "second_factor",
    "enrol",
    "new_password",
    "signed_in",
)
#: A session half-way through signing in (password given, code not yet) lasts this long.
PENDING_S = 10 * 60
#: ``last_seen_at`` is written at most this often: a busy page does not write on each request.
TOUCH_EVERY_S = 60

#: Failures of one e-mail or one address before sign-in pauses, the first pause, and the longest.
BACKOFF_AFTER = 5
BACKOFF_FIRST_S = 30
BACKOFF_MAX_S = 3600

#: A person's role: every role of the API but ``integration``, which is for scripts (tokens).
PERSON_ROLES = tuple(r for r in Role if r is not Role.INTEGRATION)


def email_key(email: str) -> str:
    """What makes two e-mail addresses the same account (case and outer spaces do not): a hash
    of the case-folded address, of one length however long the folding makes it."""
    return hashlib.sha256(email.strip().casefold().encode()).hexdigest()


def principal_of(user: User, org: Organization) -> Principal:
    """The person acting in the console: their organisation and role, and who they are."""
    return acting_for(
        org,
        role=Role(user.role),
        channel="console",
        user_id=user.id,
        user_name=user.display_name,
    )


# Accounts -------------------------------------------------------------------------------------


async def create_user(
    session: AsyncSession,
    *,
    actor: Principal,
    organization: Organization,
    role: Role,
    email: str,
    display_name: str,
    password: str,
    one_time: bool = True,
) -> tuple[User, bool]:
    """A new account (and True), or the one that has this e-mail already with the same
    organisation and role (and False: the same input twice changes nothing). A ``one_time``
    password is replaced by the person at their first sign-in."""
    if role not in PERSON_ROLES:
        raise InvalidInput(
            "integration is a role for scripts: issue an API token instead",
            errors=[{"loc": ["body", "role"], "msg": "not a role for a person"}],
        )
    check_new_password(password)
    if not re.fullmatch(EMAIL_PATTERN, email.strip()) or len(email.strip()) > 320:
        raise InvalidInput(
            "Not an e-mail address",
            errors=[{"loc": ["body", "email"], "msg": "not an e-mail address"}],
        )
    key = email_key(email)
    existing = (await session.exec(select(User).where(User.email_key == key))).first()
    if existing is not None:
        if existing.organization_id == organization.id and existing.role == role.value:
            return existing, False
        raise Conflict("An account with this e-mail exists, of another organisation or role")
    user = User(
        organization_id=organization.id,
        role=role.value,
        email=email.strip(),
        email_key=key,
        display_name=display_name,
        password_hash=await passwords.hash_password(password),
        password_change_required=one_time,
    )
    session.add(user)
    await session.flush()
    record(
        session,
        actor=actor,
        action="user.create",
        subject_type="user",
        subject_id=user.id,
        detail={"organization_id": organization.id, "role": role.value},
    )
    return user, True


def check_new_password(password: str) -> None:
    if len(password) < passwords.MIN_LENGTH:
        raise InvalidInput(
            f"A password has at least {passwords.MIN_LENGTH} characters",
            errors=[{"loc": ["body", "password"], "msg": "too short"}],
        )


async def replace_password(
    session: AsyncSession, *, actor: Principal, user: User, password: str
) -> None:
    """The person's own password in place of the one made for them (not the same one again)."""
    check_new_password(password)
    if await passwords.verify_password(user.password_hash, password):
        raise InvalidInput(
            "Choose a password other than the one you were given",
            errors=[{"loc": ["body", "password"], "msg": "the same as before"}],
        )
    user.password_hash = await passwords.hash_password(password)
    user.password_change_required = False
    session.add(user)
    record(
        session,
        actor=actor,
        action="user.password_change",
        subject_type="user",
        subject_id=user.id,
    )


async def get_user(session: AsyncSession, user_id: str) -> User:
    return await get_or_404(session, User, user_id, noun="user")


async def list_users(
    session: AsyncSession, *, limit: int, cursor: str | None = None, organization_id: str | None
) -> Page[User]:
    query = select(User)
    if organization_id is not None:
        query = query.where(User.organization_id == organization_id)
    return await paginate(session, query, key=[col(User.id)], limit=limit, cursor=cursor)


async def disable_user(session: AsyncSession, *, actor: Principal, user_id: str) -> User:
    """Disable an account and end its sessions; a disabled one stays as it is."""
    user = await get_user(session, user_id)
    if user.disabled_at is None:
        user.disabled_at = utcnow()
        session.add(user)
        ended = await end_sessions(session, user_id=user.id)
        record(
            session,
            actor=actor,
            action="user.disable",
            subject_type="user",
            subject_id=user.id,
            detail={"sessions_ended": ended},
        )
    await session.flush()
    return user


async def check_assignee(
    session: AsyncSession, *, user_id: str, organization_id: str | None
) -> None:
    """A task's ``assignee_user``: an enabled account of the organisation the task is assigned
    to, or a 422 (the same whether the id names nobody or someone elsewhere)."""
    user = await session.get(User, user_id)
    if user is None or user.disabled_at is not None or user.organization_id != organization_id:
        raise InvalidInput(
            "assignee_user must be the id of an enabled user of the assignee organisation",
            errors=[{"loc": ["body", "assignee_user"], "msg": "no such user there"}],
        )


# Sessions -------------------------------------------------------------------------------------


def hash_session(raw: str) -> str:
    return hashlib.sha256(raw.encode()).hexdigest()


def csrf_token(token_hash: str, secret: str) -> str:
    """The CSRF token of a session: a keyed hash of it, so it is tied to the session, needs no
    storage, and cannot be made without the deployment's key."""
    key = hashlib.sha256(b"lifeline-csrf/" + secret.encode()).digest()
    return hmac.digest(key, token_hash.encode(), hashlib.sha256).hex()


def csrf_matches(token_hash: str, secret: str, given: str | None) -> bool:
    return given is not None and hmac.compare_digest(csrf_token(token_hash, secret), given)


@dataclass(frozen=True, slots=True)
class OpenedSession:
    """A session just opened: ``token`` goes in the cookie and is never stored."""

    row: UserSession
    token: str


async def open_session(
    session: AsyncSession,
    *,
    user: User,
    stage: str,
    idle_s: int,
    absolute_s: int,
    now: datetime | None = None,
) -> OpenedSession:
    now = now or utcnow()
    token = secrets.token_urlsafe(32)
    absolute = now + timedelta(seconds=absolute_s if stage == SIGNED_IN else PENDING_S)
    row = UserSession(
        token_hash=hash_session(token),
        user_id=user.id,
        stage=stage,
        created_at=now,
        last_seen_at=now,
        idle_expires_at=min(now + timedelta(seconds=idle_s), absolute),
        absolute_expires_at=absolute,
    )
    session.add(row)
    await session.flush()
    return OpenedSession(row=row, token=token)


@dataclass(frozen=True, slots=True)
class LiveSession:
    row: UserSession
    user: User
    organization: Organization

    @property
    def principal(self) -> Principal:
        return principal_of(self.user, self.organization)


async def find_session(
    session: AsyncSession, raw: str, *, now: datetime | None = None
) -> LiveSession | None:
    """The live session of cookie value ``raw``, at any stage: not revoked, not expired, of an
    enabled account."""
    if not raw or len(raw) > 100:
        return None
    now = now or utcnow()
    query = (
        select(UserSession, User, Organization)
        .join(User, col(User.id) == col(UserSession.user_id))
        .join(Organization, col(Organization.id) == col(User.organization_id))
        .where(UserSession.token_hash == hash_session(raw))
    )
    found = (await session.exec(query)).first()
    if found is None:
        return None
    row, user, org = found
    if (
        row.revoked_at is not None
        or user.disabled_at is not None
        or now >= row.idle_expires_at
        or now >= row.absolute_expires_at
    ):
        return None
    return LiveSession(row=row, user=user, organization=org)


async def session_principal(
    session: AsyncSession, raw: str, *, idle_s: int, now: datetime | None = None
) -> LiveSession | None:
    """The signed-in session of cookie value ``raw``, its idle expiry moved on; None for one
    that ended, or that is still half-way through signing in."""
    now = now or utcnow()
    live = await find_session(session, raw, now=now)
    if live is None or live.row.stage != SIGNED_IN:
        return None
    if (now - live.row.last_seen_at).total_seconds() >= TOUCH_EVERY_S:
        live.row.last_seen_at = now
        live.row.idle_expires_at = min(
            now + timedelta(seconds=idle_s), live.row.absolute_expires_at
        )
        session.add(live.row)
    return live


async def end_session(session: AsyncSession, row: UserSession) -> None:
    if row.revoked_at is None:
        row.revoked_at = utcnow()
        session.add(row)
        await session.flush()


async def end_sessions(session: AsyncSession, *, user_id: str) -> int:
    """End every session of an account (sign-out everywhere, disabling); how many were live."""
    now = utcnow()
    live = (
        await session.exec(
            select(UserSession).where(
                col(UserSession.user_id) == user_id, col(UserSession.revoked_at).is_(None)
            )
        )
    ).all()
    for row in live:
        row.revoked_at = now
        session.add(row)
    await session.flush()
    return len(live)


# Signing in -----------------------------------------------------------------------------------


def failure_keys(*, email: str, address: str | None, secret: str) -> list[str]:
    """The back-off's keys of an attempt: its e-mail and its client address, keyed hashes."""
    key = hashlib.sha256(b"lifeline-sign-in/" + secret.encode()).digest()

    def one(kind: str, value: str) -> str:
        return f"{kind}:" + hmac.digest(key, value.encode(), hashlib.sha256).hex()[:64]

    keys = [one("email", email.strip().casefold())]
    if address:
        keys.append(one("addr", address))
    return keys


async def paused_until(
    session: AsyncSession, keys: list[str], *, now: datetime | None = None
) -> datetime | None:
    """When sign-in may be tried again for these keys, if it is paused now."""
    now = now or utcnow()
    rows = (await session.exec(select(SignInFailure).where(col(SignInFailure.key).in_(keys)))).all()
    until = [r.locked_until for r in rows if r.locked_until is not None and r.locked_until > now]
    return max(until) if until else None


async def count_failure(
    session: AsyncSession, keys: list[str], *, now: datetime | None = None
) -> int:
    """Count one failure against each key; from the ``BACKOFF_AFTER``-th on, pause for a time
    that doubles with each further failure (at most ``BACKOFF_MAX_S``). The most failures."""
    now = now or utcnow()
    most = 0
    for key in keys:
        row = await session.get(SignInFailure, key)
        if row is None:
            row = SignInFailure(key=key, failures=0)
        row.failures += 1
        row.last_failed_at = now
        if row.failures >= BACKOFF_AFTER:
            pause = min(BACKOFF_FIRST_S * 2 ** (row.failures - BACKOFF_AFTER), BACKOFF_MAX_S)
            row.locked_until = now + timedelta(seconds=pause)
        session.add(row)
        most = max(most, row.failures)
    await session.flush()
    return most


async def clear_failures(session: AsyncSession, key: str) -> None:
    """A sign-in that succeeded forgets its account's failures (not its address's: one good
    account would otherwise let an address guess at the others)."""
    row = await session.get(SignInFailure, key)
    if row is not None:
        await session.delete(row)
        await session.flush()


def audit_attempt(
    session: AsyncSession,
    *,
    user: User | None,
    org: Organization | None,
    action: str,
    outcome: str,
    detail: dict[str, object],
) -> None:
    """An attempt in the audit log: the person when the e-mail named one, else nobody (the
    e-mail itself is never written there)."""
    if user is not None and org is not None:
        record(
            session,
            actor=principal_of(user, org),
            action=action,
            outcome=outcome,
            subject_type="user",
            subject_id=user.id,
            detail=detail,
        )
        return
    event = record(
        session,
        actor=Principal(organization_id=None, role=Role.VIEWER, channel="console"),
        action=action,
        outcome=outcome,
        detail=detail,
    )
    event.role = None


async def user_by_email(session: AsyncSession, email: str) -> User | None:
    return (await session.exec(select(User).where(User.email_key == email_key(email)))).first()


async def check_password(
    session: AsyncSession, *, email: str, password: str
) -> tuple[User, Organization] | None:
    """The enabled account of ``email`` if ``password`` is its own. An unknown e-mail costs the
    same time as a known one."""
    found = (
        await session.exec(
            select(User, Organization)
            .join(Organization, col(Organization.id) == col(User.organization_id))
            .where(User.email_key == email_key(email))
        )
    ).first()
    user, org = found if found is not None else (None, None)
    good = await passwords.verify_password(user.password_hash if user else None, password)
    if user is None or org is None or not good or user.disabled_at is not None:
        return None
    return user, org


def totp_secret(user: User, sealer: Sealer) -> str | None:
    return sealer.open(user.totp_secret, record_id=user.id, field="totp_secret")


def start_enrolment(user: User, sealer: Sealer) -> str:
    """The TOTP secret to set up at a first sign-in: made once, kept sealed until confirmed."""
    secret = totp_secret(user, sealer)
    if secret is None:
        secret = totp.new_secret()
        user.totp_secret = sealer.seal(secret, record_id=user.id, field="totp_secret")
    return secret


def check_code(
    user: User, code: str, *, sealer: Sealer, code_key: bytes, unix_s: float
) -> str | None:
    """``totp`` or ``recovery`` when ``code`` is a TOTP code of now (not used before) or an
    unused recovery code (hashed under ``code_key``, ``passwords.code_key``); None otherwise.
    Either is used up."""
    secret = totp_secret(user, sealer)
    if secret is not None:
        step = totp.matching_step(secret, code, unix_s=unix_s, after=user.totp_last_step)
        if step is not None:
            user.totp_last_step = step
            return "totp"
    if user.totp_enrolled_at is not None:
        entry = passwords.matching_code(user.recovery_codes, code, code_key)
        if entry is not None:
            user.recovery_codes = [c for c in user.recovery_codes if c != entry]
            return "recovery"
    return None


def enrol_with_secret(
    session: AsyncSession,
    *,
    actor: Principal,
    user: User,
    secret: str,
    sealer: Sealer,
    now: datetime | None = None,
) -> None:
    """The second factor set up by the operator with a secret of theirs (the demo's people, who
    sign in with a secret it printed): enrolled at once, without recovery codes."""
    user.totp_secret = sealer.seal(secret, record_id=user.id, field="totp_secret")
    user.totp_enrolled_at = now or utcnow()
    user.totp_last_step = None
    session.add(user)
    record(
        session,
        actor=actor,
        action="user.second_factor_set",
        subject_type="user",
        subject_id=user.id,
    )


def finish_enrolment(user: User, *, code_key: bytes, now: datetime | None = None) -> list[str]:
    """The second factor confirmed: new recovery codes, to be shown this once (any made before,
    legacy ones included, are replaced)."""
    codes = passwords.new_recovery_codes()
    user.recovery_codes = [passwords.hash_code(c, code_key) for c in codes]
    user.totp_enrolled_at = now or utcnow()
    return codes
