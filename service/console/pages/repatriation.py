"""A crisis's repatriation: the cases of the people the caller may read, its movements with their
legs and places; a movement's manifest with the boarding and arrival check of each person, made
to be used on a phone at the gate, and its reconciliation."""

from __future__ import annotations

from typing import Annotated

from fastapi import Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlmodel import col, select

from service.auth.permissions import Permission, allowed
from service.console.registry import Section
from service.console.render import render
from service.console.routing import console_router
from service.crises.service import get_crisis
from service.deps import SessionDep
from service.flows.repatriation import check_in
from service.registry.access import visibility_clause
from service.registry.dependencies import ProtectorDep, rate_limit
from service.registry.models import Worker
from service.repatriation import service
from service.repatriation.dependencies import Reader, Writer
from service.repatriation.models import Movement, RepatriationCase

router = console_router("")

#: Cases one page shows, highest priority first.
PAGE = 200


@router.get("/crises/{id}/repatriation", response_class=HTMLResponse, name="console.repatriation")
async def cases_page(id: str, request: Request, session: SessionDep, actor: Reader) -> HTMLResponse:
    crisis = await get_crisis(session, id)
    rate_limit(request, actor)
    cases = (
        await session.exec(
            select(RepatriationCase)
            .join(Worker, col(Worker.id) == col(RepatriationCase.worker_id))
            .where(RepatriationCase.crisis_id == crisis.id, visibility_clause(actor))
            .order_by(col(RepatriationCase.priority).desc(), col(RepatriationCase.id))
            .limit(PAGE)
        )
    ).all()
    movements = (
        await session.exec(
            select(Movement).where(Movement.crisis_id == crisis.id).order_by(col(Movement.id))
        )
    ).all()
    legs = {m.id: await service.legs_of(session, m.id) for m in movements}
    return render(
        request,
        actor,
        "repatriation.html",
        crisis=crisis,
        cases=cases,
        movements=movements,
        legs=legs,
    )


@router.get("/movements/{id}", response_class=HTMLResponse, name="console.movement")
async def movement_page(
    id: str, request: Request, session: SessionDep, actor: Reader, protect: ProtectorDep
) -> HTMLResponse:
    movement = await service.get_movement(session, id)
    rate_limit(request, actor)
    return render(
        request,
        actor,
        "movement.html",
        movement=movement,
        crisis=await get_crisis(session, movement.crisis_id),
        manifest=await service.manifest(session, actor=actor, movement=movement, protector=protect),
        reconciled=await service.reconcile(session, movement),
        may_check=allowed(actor.role, Permission.REPATRIATION_WRITE),
    )


@router.post("/movements/{id}/check", response_class=HTMLResponse, name="console.movement_check")
async def check(
    id: str,
    session: SessionDep,
    actor: Writer,
    case_id: Annotated[str, Form(min_length=1, max_length=36)],
    leg: Annotated[int, Form(ge=1, le=10)],
    step: Annotated[str, Form(pattern="^(boarding|arrival)$")],
    csrf_token: Annotated[str, Form()] = "",
) -> Response:
    """A person checked at the gate, as ``POST /movements/{id}/legs/{seq}/boarding`` does."""
    movement = await service.get_movement(session, id)
    case = await service.get_case(session, actor=actor, case_id=case_id)
    await check_in(
        session, actor=actor, movement=movement, seq=leg, case=case, arrived=step == "arrival"
    )
    return RedirectResponse(f"/console/movements/{movement.id}#leg-{leg}", status_code=303)


#: Reached from each crisis's page.
section = Section(router=router)
