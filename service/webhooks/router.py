"""``/api/v1/webhooks``: outbound subscriptions."""

from __future__ import annotations

import asyncio
import secrets
from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Depends, Request, Response, status
from pydantic import BaseModel, ConfigDict, Field, HttpUrl, UrlConstraints
from sqlmodel import select

from integrations.safe_url import Unresolvable, UnsafeUrl, check_url
from service.audit.service import record
from service.auth.dependencies import authorize
from service.auth.permissions import Permission, Role
from service.auth.principal import Principal
from service.db import new_id
from service.deps import SessionDep
from service.errors import InvalidInput, NotFound, UnsafeUrlRefused
from service.webhooks.models import WebhookSubscription
from service.webhooks.service import EVENT_TYPES, types_ok, url_policy

router = APIRouter(prefix="/webhooks", tags=["webhooks"])

Manager = Annotated[Principal, Depends(authorize(Permission.WEBHOOKS_MANAGE))]
#: How long a subscription waits for its URL's host to resolve.
RESOLVE_TIMEOUT_S = 5.0


class SubscriptionCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    # The column holds 1000 characters; the normalised URL (a slash added, the host in
    # punycode) may be longer than the one sent.
    url: Annotated[HttpUrl, UrlConstraints(max_length=900)]
    events: list[str] = Field(
        min_length=1,
        description=f"Any of {', '.join(EVENT_TYPES)}",
        json_schema_extra={"items": {"type": "string", "enum": list(EVENT_TYPES)}},
    )
    secret: Annotated[str, Field(min_length=16, max_length=200)] | None = Field(
        default=None, description="Signs deliveries (HMAC-SHA256); made for you when absent"
    )


class SubscriptionPublic(BaseModel):
    id: str
    url: str
    events: list[str]
    created_at: datetime
    secret: str | None = Field(default=None, description="Shown once, at creation")


@router.post("", response_model=SubscriptionPublic, status_code=status.HTTP_201_CREATED)
async def subscribe(
    data: SubscriptionCreate, request: Request, session: SessionDep, actor: Manager
) -> SubscriptionPublic:
    unknown = types_ok(data.events)
    if unknown:
        raise InvalidInput(
            f"Unknown event types {unknown}",
            errors=[{"loc": ["body", "events"], "msg": f"use {list(EVENT_TYPES)}"}],
        )
    await _check_url(request, str(data.url))
    secret = data.secret or secrets.token_urlsafe(32)
    subscription_id = new_id()
    sealed = request.app.state.protector.sealer.seal(
        secret, record_id=subscription_id, field="webhook_secret"
    )
    subscription = WebhookSubscription(
        id=subscription_id,
        organization_id=actor.organization_id or "",
        url=str(data.url),
        events=sorted(set(data.events)),
        secret_sealed=sealed,
        sees_all=actor.role in {Role.ADMIN, Role.COORDINATOR},
    )
    session.add(subscription)
    await session.flush()
    record(
        session,
        actor=actor,
        action="webhook.subscribe",
        subject_type="webhook",
        subject_id=subscription.id,
        detail={"events": subscription.events},
    )
    return SubscriptionPublic(
        id=subscription.id,
        url=subscription.url,
        events=subscription.events,
        created_at=subscription.created_at,
        secret=secret,
    )


async def _check_url(request: Request, url: str) -> None:
    """Refuse a URL that leads inside the deployment, now; the deliverer checks again at each
    connection, since what a name resolves to can change."""
    try:
        await asyncio.wait_for(
            check_url(url, url_policy(request.app.state.settings), request.app.state.resolver),
            RESOLVE_TIMEOUT_S,
        )
    except (UnsafeUrl, Unresolvable, TimeoutError) as exc:
        reason = (
            exc.reason
            if isinstance(exc, UnsafeUrl)
            else str(exc) or "the host did not resolve in time"
        )
        raise UnsafeUrlRefused(
            f"Webhooks cannot be sent to this URL: {reason}",
            errors=[{"loc": ["body", "url"], "msg": reason}],
        ) from exc


@router.get("", response_model=list[SubscriptionPublic])
async def list_subscriptions(session: SessionDep, actor: Manager) -> list[SubscriptionPublic]:
    query = select(WebhookSubscription).where(WebhookSubscription.active == True)  # noqa: E712
    if actor.role is not Role.ADMIN:
        query = query.where(WebhookSubscription.organization_id == (actor.organization_id or ""))
    return [
        SubscriptionPublic(id=s.id, url=s.url, events=s.events, created_at=s.created_at)
        for s in (await session.exec(query)).all()
    ]


@router.delete("/{id}", status_code=status.HTTP_204_NO_CONTENT)
async def unsubscribe(id: str, session: SessionDep, actor: Manager) -> Response:
    found = await session.get(WebhookSubscription, id)
    if found is None or (
        actor.role is not Role.ADMIN and found.organization_id != actor.organization_id
    ):
        raise NotFound(f"No subscription {id}")
    found.active = False
    session.add(found)
    record(
        session, actor=actor, action="webhook.unsubscribe", subject_type="webhook", subject_id=id
    )
    return Response(status_code=status.HTTP_204_NO_CONTENT)
