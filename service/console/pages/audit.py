"""The audit log (administrators): who did what, when, newest first; ids and counts only."""

from __future__ import annotations

from typing import Annotated

from fastapi import Query, Request
from fastapi.responses import HTMLResponse

from service.audit.dependencies import Auditor
from service.audit.service import list_events
from service.auth.permissions import Permission
from service.console.registry import NavEntry, Section
from service.console.render import render
from service.console.routing import console_router
from service.deps import SessionDep

router = console_router("/audit")


@router.get("", response_class=HTMLResponse, name="console.audit")
async def audit(
    request: Request,
    session: SessionDep,
    actor: Auditor,
    cursor: Annotated[str | None, Query(max_length=200)] = None,
    action: Annotated[str | None, Query(max_length=80)] = None,
) -> HTMLResponse:
    page = await list_events(session, limit=100, cursor=cursor, action=action or None)
    return render(
        request,
        actor,
        "audit.html",
        events=page.items,
        next_cursor=page.next_cursor,
        action=action or "",
    )


section = Section(
    router=router, nav=(NavEntry("/console/audit", "Audit", Permission.AUDIT_READ, 90),)
)
