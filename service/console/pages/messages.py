"""Messages workers sent that nobody could read with certainty: a person reads each and records
what it says (safe, needs help, STOP, or nothing to record), as
``POST /messages/inbound/{id}/reading`` does."""

from __future__ import annotations

from typing import Annotated

from fastapi import Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlmodel import col, select

from service.auth.permissions import Permission
from service.console.registry import NavEntry, Section
from service.console.render import render
from service.console.routing import console_router
from service.deps import SessionDep
from service.flows.replies import may_read, open_text, read_message, visible_workers
from service.messaging.dependencies import Reader
from service.messaging.models import InboundMessage, InboundState
from service.registry.dependencies import ProtectorDep

router = console_router("/messages")

#: Messages one page shows, newest first.
PAGE = 100


@router.get("", response_class=HTMLResponse, name="console.messages")
async def messages_page(
    request: Request, session: SessionDep, actor: Reader, protect: ProtectorDep
) -> HTMLResponse:
    rows = (
        await session.exec(
            select(InboundMessage)
            .where(InboundMessage.state == InboundState.TO_READ.value)
            .order_by(col(InboundMessage.received_at).desc(), col(InboundMessage.id).desc())
            .limit(PAGE)
        )
    ).all()
    visible = await visible_workers(session, actor, [w for r in rows for w in r.worker_ids])
    shown = [{"row": r, "text": open_text(r, protect)} for r in rows if may_read(actor, r, visible)]
    return render(request, actor, "messages.html", messages=shown)


@router.post("/{id}/reading", response_class=HTMLResponse, name="console.message_reading")
async def reading(
    id: str,
    session: SessionDep,
    actor: Reader,
    protect: ProtectorDep,
    outcome: Annotated[str, Form(pattern="^(safe|needs_help|stop|nothing)$")],
    note: Annotated[str, Form(max_length=2000)] = "",
    csrf_token: Annotated[str, Form()] = "",
) -> Response:
    await read_message(
        session, actor=actor, message_id=id, outcome=outcome, note=note or None, protector=protect
    )
    return RedirectResponse("/console/messages", status_code=303)


section = Section(
    router=router,
    nav=(NavEntry("/console/messages", "Messages to read", Permission.MESSAGES_READ, 55),),
)
