"""The directory: who represents whom, where, and the tasks nobody holds (coverage gaps)."""

from __future__ import annotations

from fastapi import Request
from fastapi.responses import HTMLResponse

from service.auth.permissions import Permission
from service.console.registry import NavEntry, Section
from service.console.render import render
from service.console.routing import console_router
from service.deps import SessionDep
from service.directory.dependencies import Reader
from service.directory.service import list_organizations
from service.tasks.service import list_tasks, sees_all

router = console_router("/directory")


@router.get("", response_class=HTMLResponse, name="console.directory")
async def directory(
    request: Request, session: SessionDep, actor: Reader, cursor: str | None = None
) -> HTMLResponse:
    page = await list_organizations(session, limit=200, cursor=cursor)
    gaps = []
    if sees_all(actor):
        found = await list_tasks(
            session,
            actor=actor,
            limit=200,
            cursor=None,
        )
        gaps = [t for t in found.items if t.coverage_gap and t.assignee_org is None]
    return render(
        request,
        actor,
        "directory.html",
        organizations=page.items,
        next_cursor=page.next_cursor,
        gaps=gaps,
        may_see_gaps=sees_all(actor),
    )


section = Section(
    router=router, nav=(NavEntry("/console/directory", "Directory", Permission.DIRECTORY_READ, 50),)
)
