"""Writing to and reading the audit log."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, TypeVar

import orjson
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession
from sqlmodel.sql.expression import SelectOfScalar

from service.audit.models import AuditEvent
from service.auth.principal import Principal
from service.db import utcnow
from service.directory.models import Organization
from service.observability import current_purpose, current_request_id
from service.pagination import Page, paginate

T = TypeVar("T")


def record(
    session: AsyncSession,
    *,
    actor: Principal,
    action: str,
    subject_type: str | None = None,
    subject_id: str | None = None,
    detail: dict[str, Any] | None = None,
    purpose: str | None = None,
    outcome: str = "allowed",
) -> AuditEvent:
    """Add one audit event to the unit of work; it commits with the change it records."""
    event = AuditEvent(
        **audit_row(
            actor=actor,
            action=action,
            subject_type=subject_type,
            subject_id=subject_id,
            detail=detail,
            purpose=purpose,
            outcome=outcome,
        )
    )
    session.add(event)
    return event


def audit_row(
    *,
    actor: Principal,
    action: str,
    subject_type: str | None = None,
    subject_id: str | None = None,
    detail: dict[str, Any] | None = None,
    purpose: str | None = None,
    outcome: str = "allowed",
) -> dict[str, Any]:
    """The columns of one audit event, for ``service.changes``, which writes it in the statement
    of the change it records (still in the caller's transaction)."""
    return {
        "at": utcnow(),  # given, not defaulted: pydantic inspects a default factory at each call
        "channel": actor.channel,
        "request_id": current_request_id(),
        "token_id": actor.token_id,
        "user_id": actor.user_id,
        "organization_id": actor.organization_id,
        "role": actor.role.value,
        "action": action,
        "outcome": outcome,
        "subject_type": subject_type,
        "subject_id": subject_id,
        "purpose": purpose or current_purpose(),
        "detail": detail or {},
    }


@dataclass(frozen=True, slots=True)
class AuditFilter:
    """Which events a listing or a download holds: each filter given must match."""

    organization_id: str | None = None
    action: str | None = None
    subject_id: str | None = None
    user_id: str | None = None
    since: datetime | None = None

    def apply(self, query: SelectOfScalar[T]) -> SelectOfScalar[T]:
        if self.organization_id is not None:
            query = query.where(AuditEvent.organization_id == self.organization_id)
        if self.action is not None:
            query = query.where(AuditEvent.action == self.action)
        if self.subject_id is not None:
            query = query.where(AuditEvent.subject_id == self.subject_id)
        if self.user_id is not None:
            query = query.where(AuditEvent.user_id == self.user_id)
        if self.since is not None:
            query = query.where(col(AuditEvent.at) >= self.since)
        return query


async def list_events(
    session: AsyncSession,
    *,
    limit: int,
    cursor: str | None = None,
    organization_id: str | None = None,
    action: str | None = None,
    subject_id: str | None = None,
    user_id: str | None = None,
    since: datetime | None = None,
) -> Page[AuditEvent]:
    """Newest first."""
    matching = AuditFilter(organization_id, action, subject_id, user_id, since)
    return await paginate(
        session,
        matching.apply(select(AuditEvent)),
        key=[col(AuditEvent.id)],
        limit=limit,
        cursor=cursor,
        descending=True,
    )


#: The columns of the audit log's download (``GET /audit?format=csv``).
DOWNLOAD_COLUMNS = (
    "at", "user_id", "organization_id", "organization", "role", "action", "subject_type",
    "subject_id", "purpose", "outcome", "detail",
)  # fmt: skip
#: Events in one download at most.
DOWNLOAD_LIMIT = 100_000
#: Events read from the database per query.
_CHUNK = 5000


@dataclass
class AuditDownload:
    """The rows of a download, newest first, and whether the cap cut them."""

    rows: list[list[object]]
    truncated: bool


async def download_rows(
    session: AsyncSession, matching: AuditFilter, *, limit: int = DOWNLOAD_LIMIT
) -> AuditDownload:
    """Every event ``matching`` selects, newest first, up to ``limit``: a row each, its
    organisation named (the log keeps ids only; the directory has the names), its time in
    ISO 8601 and its detail as JSON text. Read in chunks by id, so that a long log is never one
    query's result set."""
    names: dict[str, str] = {}
    rows: list[list[object]] = []
    before: int | None = None
    truncated = False
    while len(rows) < limit:
        query = matching.apply(select(AuditEvent))
        if before is not None:
            query = query.where(col(AuditEvent.id) < before)
        want = min(_CHUNK, limit - len(rows))
        chunk = (
            await session.exec(query.order_by(col(AuditEvent.id).desc()).limit(want + 1))
        ).all()
        more = len(chunk) > want
        chunk = chunk[:want]
        unknown = {e.organization_id for e in chunk if e.organization_id} - names.keys()
        if unknown:
            found = await session.exec(
                select(Organization.id, Organization.name).where(
                    col(Organization.id).in_(sorted(unknown))
                )
            )
            names.update({org_id: name for org_id, name in found.all()})
        rows.extend(
            [
                event.at.isoformat(),
                event.user_id,
                event.organization_id,
                names.get(event.organization_id or ""),
                event.role,
                event.action,
                event.subject_type,
                event.subject_id,
                event.purpose,
                event.outcome,
                orjson.dumps(event.detail or {}, option=orjson.OPT_SORT_KEYS).decode(),
            ]
            for event in chunk
        )
        if not more:
            break
        if len(rows) >= limit:
            truncated = True
            break
        before = chunk[-1].id
    return AuditDownload(rows, truncated)
