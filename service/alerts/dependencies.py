"""What the alert and feed routes take from the request: permissions, the alert or feed named."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from service.alerts.models import AlertRecord
from service.alerts.service import get_alert
from service.auth.dependencies import authorize
from service.auth.permissions import Permission
from service.auth.principal import Principal
from service.deps import SessionDep
from service.errors import NotFound
from service.feeds.config import FeedConfig
from service.openapi import raises

Reader = Annotated[Principal, Depends(authorize(Permission.ALERTS_READ))]
Pusher = Annotated[Principal, Depends(authorize(Permission.ALERTS_PUSH))]
Declarer = Annotated[Principal, Depends(authorize(Permission.ALERTS_DECLARE))]
FeedReader = Annotated[Principal, Depends(authorize(Permission.FEEDS_READ))]
Poller = Annotated[Principal, Depends(authorize(Permission.FEEDS_POLL))]


@raises(404)
async def alert_in_path(id: str, session: SessionDep) -> AlertRecord:
    return await get_alert(session, alert_id=id)


def feeds_of(request: Request) -> tuple[FeedConfig, ...]:
    """The feeds this process was configured with."""
    feeds: tuple[FeedConfig, ...] = request.app.state.feeds
    return feeds


@raises(404)
async def feed_in_path(name: str, request: Request) -> FeedConfig:
    config = next((f for f in feeds_of(request) if f.name == name), None)
    if config is None:
        raise NotFound(f"No feed called {name!r}")
    return config


AlertDep = Annotated[AlertRecord, Depends(alert_in_path)]
FeedDep = Annotated[FeedConfig, Depends(feed_in_path)]
