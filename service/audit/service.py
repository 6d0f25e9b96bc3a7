"""Writing to and reading the audit log."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from service.audit.models import AuditEvent
from service.auth.principal import Principal
from service.db import utcnow
from service.observability import current_purpose, current_request_id
from service.pagination import Page, paginate


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
    query = select(AuditEvent)
    if organization_id is not None:
        query = query.where(AuditEvent.organization_id == organization_id)
    if action is not None:
        query = query.where(AuditEvent.action == action)
    if subject_id is not None:
        query = query.where(AuditEvent.subject_id == subject_id)
    if user_id is not None:
        query = query.where(AuditEvent.user_id == user_id)
    if since is not None:
        query = query.where(col(AuditEvent.at) >= since)
    return await paginate(
        session, query, key=[col(AuditEvent.id)], limit=limit, cursor=cursor, descending=True
    )
