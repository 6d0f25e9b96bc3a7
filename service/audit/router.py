"""``/api/v1/audit``: the audit log, for admins."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query

from service.audit import service
from service.audit.dependencies import Auditor
from service.audit.schemas import AuditEventPublic
from service.deps import SessionDep
from service.exports import tables
from service.pagination import CursorParam, FilterText, LimitParam, Page
from service.text import Instant

router = APIRouter(prefix="/audit", tags=["audit"])


@router.get("", response_model=Page[AuditEventPublic], responses=tables.ANSWER)
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
    format: Annotated[
        str,
        Query(
            pattern=tables.PATTERN,
            description="csv, xlsx: every matching event at once (`limit` and `cursor` "
            f"ignored), up to {service.DOWNLOAD_LIMIT:,}",
        ),
    ] = "json",
) -> Any:
    """Newest first. format=csv or xlsx: every matching event, newest first, up to
    100,000 (`Lifeline-Written` says how many rows the file holds, `Lifeline-Truncated` that
    the cap cut it); columns `at` (ISO 8601), `user_id`, `organization_id`, `organization` (its
    name), `role`, `action`, `subject_type`, `subject_id`, `purpose`, `outcome` and `detail`
    (JSON text). Record ids and counts only, as the log holds. Each download is audited
    (`audit.exported`: its format, filters and row count)."""
    matching = service.AuditFilter(organization_id, action, subject_id, user_id, since)
    if format in tables.FORMATS:
        found = await service.download_rows(session, matching, limit=service.DOWNLOAD_LIMIT)
        asked = {
            "organization_id": organization_id,
            "action": action,
            "subject_id": subject_id,
            "user_id": user_id,
            "since": since.isoformat() if since is not None else None,
        }
        # After the rows are read: the download's own entry is in the next one.
        service.record(
            session,
            actor=actor,
            action="audit.exported",
            detail={
                "format": format,
                "filters": {k: v for k, v in asked.items() if v is not None},
                "rows": len(found.rows),
                "truncated": found.truncated,
            },
        )
        download = tables.response(format, service.DOWNLOAD_COLUMNS, found.rows, "audit.csv")
        cut = (
            f"{service.DOWNLOAD_LIMIT} rows at most in one download: narrow the filters "
            "(since, action, organization_id)"
        )
        download.headers.update(
            tables.size_headers(len(found.rows), cut if found.truncated else None)
        )
        return download
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
