"""The page the console opens on: open crises (drills apart), new alerts, the organisation's
tasks due or overdue, and the feeds whose health is bad, each only for those who may read it."""

from __future__ import annotations

from datetime import timedelta

from fastapi import Request
from fastapi.responses import HTMLResponse

from service.alerts.dependencies import feeds_of
from service.alerts.models import FeedState
from service.alerts.schemas import AlertPublic
from service.alerts.service import list_alerts
from service.auth.permissions import Permission, allowed
from service.console.registry import NavEntry, Section
from service.console.render import render
from service.console.routing import console_router
from service.crises.dependencies import Reader
from service.crises.service import list_crises
from service.db import utcnow
from service.deps import SessionDep
from service.tasks.models import TaskStatus
from service.tasks.service import list_tasks

router = console_router()

#: Tasks due within this long are on the page, with the overdue ones.
DUE_SOON = timedelta(hours=24)
#: What is still to do.
OPEN = {TaskStatus.OPEN, TaskStatus.ACKNOWLEDGED, TaskStatus.IN_PROGRESS, TaskStatus.BLOCKED}


@router.get("/", response_class=HTMLResponse, name="console.now")
async def now(request: Request, session: SessionDep, actor: Reader) -> HTMLResponse:
    crises = await list_crises(session, limit=50, cursor=None, phase=None, hazard=None)
    open_crises = [c for c in crises.items if not c.stood_down and c.phase != "closed"]
    alerts = []
    if allowed(actor.role, Permission.ALERTS_READ):
        found = await list_alerts(session, limit=10, active_only=True)
        alerts = [AlertPublic.of(a) for a in found.items]
    tasks = []
    if allowed(actor.role, Permission.TASKS_READ):
        due = await list_tasks(
            session,
            actor=actor,
            limit=200,
            cursor=None,
            org=actor.organization_id,
            due_before=utcnow() + DUE_SOON,
        )
        tasks = [t for t in due.items if TaskStatus(t.status) in OPEN]
    bad_feeds = []
    if allowed(actor.role, Permission.FEEDS_READ):
        for config in feeds_of(request):
            state = await session.get(FeedState, config.name)
            if config.enabled and (
                state is None or state.consecutive_failures or state.last_success is None
            ):
                bad_feeds.append((config, state))
    return render(
        request,
        actor,
        "now.html",
        real=[c for c in open_crises if not c.exercise],
        drills=[c for c in open_crises if c.exercise],
        alerts=alerts,
        tasks=tasks,
        now=utcnow(),
        bad_feeds=bad_feeds,
        may_tasks=allowed(actor.role, Permission.TASKS_READ),
        may_feeds=allowed(actor.role, Permission.FEEDS_READ),
    )


section = Section(router=router, nav=(NavEntry("/console/", "Now", Permission.CRISES_READ, 10),))
