"""What the webhook routes take from the request: the permission, the subscription named."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends

from service.auth.dependencies import authorize
from service.auth.permissions import Permission, Role
from service.auth.principal import Principal
from service.deps import SessionDep
from service.lookups import get_or_404
from service.openapi import raises
from service.webhooks.models import WebhookSubscription

Manager = Annotated[Principal, Depends(authorize(Permission.WEBHOOKS_MANAGE))]


@raises(404)
async def own_subscription(id: str, session: SessionDep, actor: Manager) -> WebhookSubscription:
    """The subscription ``{id}`` names if it is the caller's organisation's (admins: any)."""
    return await get_or_404(
        session,
        WebhookSubscription,
        id,
        noun="subscription",
        visible=lambda s: actor.role is Role.ADMIN or s.organization_id == actor.organization_id,
    )


SubscriptionDep = Annotated[WebhookSubscription, Depends(own_subscription)]
