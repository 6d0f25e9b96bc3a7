"""`/api/v1/messages`: what gateways deliver (replies, receipts), and the messages a person
must read.

``POST /messages/inbound/{gateway}`` is called by the gateway, not by a token holder: it is
guarded by the gateway's signature of the request (an unsigned or wrongly signed request is a
401 and changes nothing). The same provider message id twice changes nothing.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Query, Request, status
from sqlmodel import col, select

from integrations.messaging.base import Gateway, GatewayConfig, InboundError
from integrations.messaging.base import InboundMessage as InboundMessage_
from integrations.messaging.registry import GATEWAYS
from service.auth.dependencies import signed_by_provider
from service.deps import SessionDep
from service.errors import InvalidInput, NotFound, Unauthenticated
from service.flows.replies import (
    may_read,
    open_text,
    read_message,
    register_sender,
    take,
    visible_workers,
)
from service.messaging.dependencies import Pusher, Reader
from service.messaging.models import InboundMessage, InboundState
from service.messaging.schemas import InboundPublic, InboundPush, InboundTaken, ReadingCreate
from service.messaging.service import gateway_config, gateway_kind
from service.openapi import problems
from service.pagination import CursorParam, LimitParam, Page, paginate
from service.registry.dependencies import LocatorDep, ProtectorDep
from service.registry.schemas import WorkerCreate
from service.settings import PLACEHOLDER_PREFIX, Environment

router = APIRouter(tags=["messages"])


class Signed:
    """An inbound request whose signature checked out: the gateway, its settings, the body."""

    def __init__(
        self,
        kind: str,
        adapter: Gateway,
        config: GatewayConfig,
        headers: dict[str, str],
        body: bytes,
    ) -> None:
        self.kind, self.adapter, self.config = kind, adapter, config
        self.headers, self.body = headers, body


#: The gateways a callback may name: the adapters'.
GatewayKind = Annotated[
    str,
    Path(
        pattern="^(" + "|".join(sorted(GATEWAYS)) + ")$",
        description="The gateway calling: `drill`, or the one the deployment sends through",
    ),
]


@signed_by_provider
async def signed(gateway: GatewayKind, request: Request) -> Signed:
    """The request, if the gateway named in the path is the deployment's (or the drill
    gateway) and it signed the request; else 404 or 401."""
    settings = request.app.state.settings
    if gateway not in GATEWAYS or gateway not in {"drill", settings.messages_gateway}:
        raise NotFound(f"No gateway {gateway!r} is configured here")
    adapter = GATEWAYS[gateway]
    config = gateway_config(settings, gateway)
    headers = {k.lower(): v for k, v in request.headers.items()}
    body = await request.body()
    if settings.messages_public_url:
        url = settings.messages_public_url.rstrip("/") + request.url.path
        if request.url.query:
            url += "?" + request.url.query
    else:
        url = str(request.url)
    placeholder = (
        PLACEHOLDER_PREFIX in config.secret and settings.env is not Environment.DEVELOPMENT
    )
    if not config.secret or placeholder or not adapter.verify(config, url, headers, body):
        raise Unauthenticated("The request does not carry this gateway's valid signature")
    return Signed(gateway, adapter, config, headers, body)


@router.post(
    "/messages/inbound/{gateway}",
    response_model=InboundTaken,
    responses=problems(401, 404, 422),
)
async def inbound(
    session: SessionDep, protect: ProtectorDep, request_: Annotated[Signed, Depends(signed)]
) -> InboundTaken:
    """Replies and delivery receipts from a gateway (`drill`, or the one the deployment sends
    through), signed as that gateway signs its callbacks. A reply is matched to the people
    registered with its number and read; what cannot be read with certainty is queued for a
    person (`GET /messages/inbound?state=to_read`)."""
    try:
        items = request_.adapter.parse_inbound(request_.headers, request_.body)
    except InboundError as exc:
        raise InvalidInput(f"Not a {request_.kind} callback: {exc}") from exc
    taken = await take(
        session,
        gateway=request_.kind,
        local=request_.adapter.local,
        items=items,
        protector=protect,
    )
    return InboundTaken(**vars(taken))


@router.post("/messages/inbound", response_model=InboundTaken, responses=problems(422))
async def push_inbound(
    data: InboundPush, request: Request, session: SessionDep, actor: Pusher, protect: ProtectorDep
) -> InboundTaken:
    """Messages workers sent, pushed by an integration that received them (a messaging platform
    of the deployment's partners): matched, read and recorded as a gateway's replies are; the
    same id twice (from the same organisation) changes nothing. Answers go back through the
    deployment's gateway (the drill gateway for an exercise)."""
    settings = request.app.state.settings
    who = actor.organization_id or "operator"
    items = [
        InboundMessage_(provider_id=f"{who}:{m.id}", sender=m.sender, to="", body=m.text)
        for m in data.messages
    ]
    taken = await take(
        session,
        gateway="push",
        local=data.exercise,
        items=items,
        protector=protect,
        answer_through=gateway_kind(settings, drill=data.exercise),
    )
    return InboundTaken(**vars(taken))


@router.get("/messages/inbound", response_model=Page[InboundPublic], responses=problems(422))
async def list_inbound(
    session: SessionDep,
    actor: Reader,
    protect: ProtectorDep,
    limit: LimitParam = 50,
    cursor: CursorParam = None,
    state: Annotated[
        InboundState, Query(description="to_read: the queue of messages a person must read")
    ] = InboundState.TO_READ,
) -> Page[InboundPublic]:
    """Messages workers sent, newest first, for the workers you may read (messages from
    unknown numbers: coordinators and administrators). A page may hold fewer than `limit`
    items and still have a next one."""
    query = select(InboundMessage).where(InboundMessage.state == state.value)
    page = await paginate(
        session,
        query,
        key=[col(InboundMessage.received_at), col(InboundMessage.id)],
        limit=limit,
        cursor=cursor,
        descending=True,
    )
    rows: list[InboundMessage] = list(page.items)
    visible = await visible_workers(session, actor, [w for r in rows for w in r.worker_ids])
    items = [_present(r, protect, visible) for r in rows if may_read(actor, r, visible)]
    return Page[InboundPublic](items=items, next_cursor=page.next_cursor)


def _present(row: InboundMessage, protect: Any, visible: set[str]) -> InboundPublic:
    """A message as the caller may see it: only the people of that phone they may read."""
    return InboundPublic(
        id=row.id,
        gateway=row.gateway,
        received_at=row.received_at,
        state=row.state,
        outcome=row.outcome,
        text=open_text(row, protect),
        worker_ids=[w for w in row.worker_ids if w in visible],
        crisis_ids=row.crisis_ids,
        drill=row.drill,
        read_by=row.read_by,
        read_at=row.read_at,
    )


@router.post(
    "/messages/inbound/{id}/reading",
    response_model=InboundPublic,
    responses=problems(404, 409),
)
async def record_reading(
    id: str, data: ReadingCreate, session: SessionDep, actor: Reader, protect: ProtectorDep
) -> InboundPublic:
    """What a message says, as a person read it: `safe` or `needs_help` sets the status of
    each person it speaks for (that you may read) in every open crisis checking on them;
    `stop` honours a STOP; `nothing` marks it read. The same reading again changes nothing."""
    row = await read_message(
        session, actor=actor, message_id=id, outcome=data.outcome, note=data.note, protector=protect
    )
    return _present(row, protect, await visible_workers(session, actor, row.worker_ids))


@router.post(
    "/messages/inbound/{id}/registration",
    response_model=InboundPublic,
    status_code=status.HTTP_201_CREATED,
    responses=problems(403, 404, 409),
)
async def register_from_message(
    id: str,
    data: WorkerCreate,
    session: SessionDep,
    actor: Reader,
    protect: ProtectorDep,
    locator: LocatorDep,
) -> InboundPublic:
    """A crisis-time registration of a number that wrote in while a crisis takes them
    (`GET /messages/inbound?state=intake`): a person called back, and registers the worker as
    `POST /workers` does, with that number as their phone, `source` `crisis_intake`, unverified.
    A SAFE or HELP in the message then sets their status in those crises."""
    row, _ = await register_sender(
        session, actor=actor, message_id=id, data=data, protector=protect, locator=locator
    )
    return _present(row, protect, await visible_workers(session, actor, row.worker_ids))
