"""``/api/v1/audit``: the audit log, for admins."""

from __future__ import annotations

from fastapi import APIRouter

from service.audit import service
from service.audit.dependencies import Auditor
from service.audit.schemas import AuditEventPublic
from service.deps import SessionDep
from service.pagination import CursorParam, FilterText, LimitParam, Page
from service.text import Instant

router = APIRouter(prefix="/audit", tags=["audit"])


@router.get("", response_model=Page[AuditEventPublic])
async def list_audit_events(
    session: SessionDep,
    actor: Auditor,
    limit: LimitParam = 50,
    cursor: CursorParam = None,
    organization_id: FilterText = None,
    action: FilterText = None,
    subject_id: FilterText = None,
    user_id: FilterText = None,
    since: Instant | None = None,
) -> Page[AuditEventPublic]:
    """Newest first."""
    page = await service.list_events(
        session,
        limit=limit,
        cursor=cursor,
        organization_id=organization_id,
        action=action,
        subject_id=subject_id,
        user_id=user_id,
        since=since,
    )
    items = [AuditEventPublic.model_validate(e) for e in page.items]
    return Page[AuditEventPublic](items=items, next_cursor=page.next_cursor)
