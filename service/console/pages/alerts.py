"""Alerts and feeds: the latest alerts of every source (exercises marked), and each feed's
health."""

from __future__ import annotations

from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse

from service.alerts.dependencies import Reader, feeds_of
from service.alerts.models import FeedState
from service.alerts.schemas import AlertPublic
from service.alerts.service import list_alerts
from service.auth.permissions import Permission, allowed
from service.console.registry import NavEntry, Section
from service.console.render import render
from service.console.routing import console_router
from service.deps import SessionDep

router = console_router("/alerts")


@router.get("", response_class=HTMLResponse, name="console.alerts")
async def alerts(
    request: Request, session: SessionDep, actor: Reader, cursor: str | None = None
) -> HTMLResponse:
    page = await list_alerts(session, limit=50, cursor=cursor)
    feeds: list[tuple[Any, FeedState | None]] = []
    if allowed(actor.role, Permission.FEEDS_READ):
        feeds = [(c, await session.get(FeedState, c.name)) for c in feeds_of(request)]
    return render(
        request,
        actor,
        "alerts.html",
        alerts=[AlertPublic.of(a) for a in page.items],
        next_cursor=page.next_cursor,
        feeds=feeds,
        may_feeds=allowed(actor.role, Permission.FEEDS_READ),
    )


section = Section(
    router=router,
    nav=(NavEntry("/console/alerts", "Alerts and feeds", Permission.ALERTS_READ, 40),),
)
