"""``/api/v1/audit``: the audit log, for admins."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends
from pydantic import BaseModel, ConfigDict

from service.audit import service
from service.auth.dependencies import authorize
from service.auth.permissions import Permission
from service.auth.principal import Principal
from service.deps import SessionDep
from service.pagination import CursorParam, LimitParam, Page, decode_cursor, encode_cursor
from service.text import Instant

router = APIRouter(prefix="/audit", tags=["audit"])

Auditor = Annotated[Principal, Depends(authorize(Permission.AUDIT_READ))]


class AuditEventPublic(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    at: datetime
    channel: str
    request_id: str | None
    token_id: str | None
    organization_id: str | None
    role: str | None
    action: str
    outcome: str
    subject_type: str | None
    subject_id: str | None
    purpose: str | None
    detail: dict[str, Any]


@router.get("", response_model=Page[AuditEventPublic])
async def list_audit_events(
    session: SessionDep,
    actor: Auditor,
    limit: LimitParam = 50,
    cursor: CursorParam = None,
    organization_id: str | None = None,
    action: str | None = None,
    subject_id: str | None = None,
    since: Instant | None = None,
) -> Page[AuditEventPublic]:
    """Newest first."""
    after = decode_cursor(cursor)
    rows = await service.list_events(
        session,
        limit=limit + 1,
        after_id=int(after) if isinstance(after, int) else None,
        organization_id=organization_id,
        action=action,
        subject_id=subject_id,
        since=since,
    )
    items = [AuditEventPublic.model_validate(e) for e in rows[:limit]]
    return Page[AuditEventPublic](
        items=items, next_cursor=encode_cursor(items[-1].id) if len(rows) > limit else None
    )
