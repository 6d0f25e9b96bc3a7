"""A crisis's repatriation: its counts and the situation report's line, its eligibility rules (set
here by coordinators), the cases of the people the caller may read (opened in bulk for a
province at alert level 4), its movements with their legs and places; a movement's manifest with
the boarding and arrival check of each person, made to be used on a phone at the gate, and its
reconciliation."""

from __future__ import annotations

import re
from typing import Annotated

from fastapi import Depends, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlmodel import col, select

from service.auth.dependencies import authorize
from service.auth.permissions import Permission, allowed
from service.auth.principal import Principal
from service.console.registry import Section
from service.console.render import render
from service.console.routing import console_router
from service.crises.service import get_crisis
from service.deps import SessionDep, SettingsDep
from service.errors import InvalidInput
from service.flows.repatriation import check_in, open_bulk
from service.registry.access import visibility_clause
from service.registry.dependencies import ProtectorDep, rate_limit
from service.registry.models import Vulnerability, Worker
from service.repatriation import reports, service
from service.repatriation.dependencies import Reader, Writer
from service.repatriation.models import CaseKind, Movement, RepatriationCase
from service.repatriation.schemas import BulkCreate, RulesSet

router = console_router("")

#: Cases one page shows, highest priority first.
PAGE = 200


@router.get("/crises/{id}/repatriation", response_class=HTMLResponse, name="console.repatriation")
async def cases_page(
    id: str, request: Request, session: SessionDep, actor: Reader, settings: SettingsDep
) -> HTMLResponse:
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
    provinces = (
        await session.exec(
            select(Worker.admin1)
            .where(
                col(Worker.admin1).is_not(None),
                col(Worker.country).in_(crisis.countries or [""]),
                visibility_clause(actor),
            )
            .distinct()
            .order_by(col(Worker.admin1))
            .limit(500)
        )
    ).all()
    return render(
        request,
        actor,
        "repatriation.html",
        crisis=crisis,
        cases=cases,
        movements=movements,
        legs=legs,
        report=await reports.crisis_report(session, actor=actor, crisis=crisis),
        rules=await service.rules_of(session, crisis, settings.repatriation_rules),
        vulnerabilities=[v.value for v in Vulnerability],
        provinces=provinces,
        may_write=allowed(actor.role, Permission.REPATRIATION_WRITE),
        may_set_rules=allowed(actor.role, Permission.CRISES_WRITE),
    )


def _listed(text: str, pattern: str, name: str) -> list[str]:
    """A comma-separated form field as a list (``PHL, IDN``)."""
    items = [t.strip() for t in text.split(",") if t.strip()]
    bad = [t for t in items if not re.fullmatch(pattern, t)]
    if bad:
        raise InvalidInput(f"{name}: {', '.join(bad[:5])} is not one", errors=[])
    return items


Coordinator = Annotated[Principal, Depends(authorize(Permission.CRISES_WRITE))]


@router.post(
    "/crises/{id}/repatriation/rules",
    response_class=HTMLResponse,
    name="console.repatriation_rules",
)
async def set_rules(
    id: str,
    session: SessionDep,
    actor: Coordinator,
    version: Annotated[int, Form(ge=0)],
    repatriation_level: Annotated[int, Form(ge=1, le=4)],
    relocation_level: Annotated[int, Form(ge=1, le=4)],
    nationalities: Annotated[str, Form(max_length=2000)] = "",
    admin1: Annotated[str, Form(max_length=8000)] = "",
    priority: Annotated[list[Vulnerability] | None, Form()] = None,
    csrf_token: Annotated[str, Form()] = "",
) -> Response:
    """The crisis's eligibility rules, as ``PUT /crises/{id}/repatriation-rules`` sets them."""
    crisis = await get_crisis(session, id)
    values = RulesSet(
        repatriation_level=repatriation_level,
        relocation_level=relocation_level,
        nationalities=[n.upper() for n in _listed(nationalities, r"[A-Za-z]{3}", "nationality")],
        admin1=_listed(admin1, r"[^,]{1,40}", "province"),
        priority=priority or [],
    ).model_dump(mode="json")
    await service.set_rules(session, actor=actor, crisis=crisis, values=values, version=version)
    return RedirectResponse(f"/console/crises/{crisis.id}/repatriation#rules", status_code=303)


@router.post(
    "/crises/{id}/repatriation/bulk",
    response_class=HTMLResponse,
    name="console.repatriation_bulk",
)
async def bulk(
    id: str,
    session: SessionDep,
    actor: Writer,
    settings: SettingsDep,
    admin1: Annotated[str, Form(min_length=1, max_length=40)],
    kind: Annotated[CaseKind, Form()] = CaseKind.REPATRIATION,
    csrf_token: Annotated[str, Form()] = "",
) -> Response:
    """Cases for a province at alert level 4, as ``POST .../repatriation-cases/bulk`` opens them."""
    crisis = await get_crisis(session, id)
    await open_bulk(
        session,
        actor=actor,
        crisis=crisis,
        data=BulkCreate(admin1=admin1, kind=kind),
        settings=settings,
    )
    return RedirectResponse(f"/console/crises/{crisis.id}/repatriation#cases", status_code=303)


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
    protect: ProtectorDep,
    settings: SettingsDep,
    case_id: Annotated[str, Form(min_length=1, max_length=36)],
    leg: Annotated[int, Form(ge=1, le=10)],
    step: Annotated[str, Form(pattern="^(boarding|arrival)$")],
    csrf_token: Annotated[str, Form()] = "",
) -> Response:
    """A person checked at the gate, as ``POST /movements/{id}/legs/{seq}/boarding`` does."""
    movement = await service.get_movement(session, id)
    case = await service.get_case(session, actor=actor, case_id=case_id)
    await check_in(
        session,
        actor=actor,
        movement=movement,
        seq=leg,
        case=case,
        arrived=step == "arrival",
        protector=protect,
        settings=settings,
    )
    return RedirectResponse(f"/console/movements/{movement.id}#leg-{leg}", status_code=303)


#: Reached from each crisis's page.
section = Section(router=router)
