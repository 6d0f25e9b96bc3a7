"""Restoring Family Links in the console: the tracing officer's queue (the requests of their side
of the border), a request with its candidates (the host society's) or its progress in the words
the family's side may pass on, the forms that file a request, confirm or reject a candidate and
move a request; a link to the public safe-and-well search page."""

from __future__ import annotations

from typing import Annotated

from fastapi import Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import ValidationError
from sqlmodel import col, select

from service.auth.permissions import Permission
from service.console.registry import NavEntry, Section
from service.console.render import render
from service.console.routing import console_router
from service.deps import SessionDep
from service.errors import InvalidInput
from service.family_links import service
from service.family_links.dependencies import Tracer
from service.family_links.models import (
    MOVES,
    Separation,
    TracingCandidate,
    TracingRequest,
    TracingState,
)
from service.family_links.schemas import TracingCreate
from service.flows import family_links as flows
from service.registry.access import visible_fields
from service.registry.dependencies import ProtectorDep, rate_limit
from service.registry.models import Worker

router = console_router("/tracing")

#: Requests one page of the queue shows, the most recently changed first.
PAGE = 200


@router.get("", response_class=HTMLResponse, name="console.tracing")
async def queue(
    request: Request,
    session: SessionDep,
    actor: Tracer,
    protect: ProtectorDep,
    state: TracingState | None = None,
) -> HTMLResponse:
    rate_limit(request, actor)
    query = select(TracingRequest)
    if actor.role.value != "admin":
        query = query.where(
            (col(TracingRequest.host_country) == (actor.country or ""))
            | (col(TracingRequest.origin_country) == (actor.country or ""))
            | (col(TracingRequest.filed_by_org) == (actor.organization_id or ""))
        )
    if state is not None:
        query = query.where(TracingRequest.state == state.value)
    found = (
        await session.exec(
            query.order_by(col(TracingRequest.updated_at).desc(), col(TracingRequest.id)).limit(
                PAGE
            )
        )
    ).all()
    rows = []
    for r in found:
        seen = await service.side_now(session, actor, r)
        if seen is None:
            continue
        opened = service.open_request(r, protect)
        shown = service.shown_state(r, seen)
        rows.append({"request": r, "side": seen, "state": shown, **opened})
    return render(
        request,
        actor,
        "tracing.html",
        rows=rows,
        states=[s.value for s in TracingState],
        chosen=state.value if state else "",
        separations=[s.value for s in Separation],
    )


@router.post("", response_class=HTMLResponse, name="console.tracing_file")
async def file_request(
    session: SessionDep,
    actor: Tracer,
    protect: ProtectorDep,
    host_country: Annotated[str, Form(max_length=3)],
    sought_given_name: Annotated[str, Form(max_length=200)],
    sought_nationality: Annotated[str, Form(max_length=3)],
    separation: Annotated[str, Form(max_length=12)],
    enquirer_name: Annotated[str, Form(max_length=200)],
    enquirer_relationship: Annotated[str, Form(max_length=40)],
    enquirer_contact: Annotated[str, Form(max_length=200)],
    sought_family_name: Annotated[str, Form(max_length=200)] = "",
    sought_birth_year: Annotated[str, Form(max_length=4)] = "",
    language: Annotated[str, Form(max_length=3)] = "en",
    enquirer_consent: Annotated[str, Form(max_length=3)] = "",
    csrf_token: Annotated[str, Form()] = "",
) -> Response:
    """File a request, as ``POST /api/v1/tracing-requests`` does."""
    try:
        data = TracingCreate(
            host_country=host_country.strip().upper(),
            sought_given_name=sought_given_name.strip(),
            sought_family_name=sought_family_name.strip() or None,
            sought_birth_year=int(sought_birth_year) if sought_birth_year.strip() else None,
            sought_nationality=sought_nationality.strip().upper(),
            separation=Separation(separation),
            enquirer_name=enquirer_name.strip(),
            enquirer_relationship=enquirer_relationship.strip(),
            enquirer_contact=enquirer_contact.strip(),
            enquirer_consent=enquirer_consent == "yes",
            language=language.strip() or "en",
        )
    except (ValidationError, ValueError) as exc:
        raise InvalidInput(f"The request is not complete: {exc}".splitlines()[0]) from exc
    filed = await flows.file_request(session, actor=actor, data=data, protector=protect)
    return RedirectResponse(f"/console/tracing/{filed.id}", status_code=303)


@router.get("/{id}", response_class=HTMLResponse, name="console.tracing_request")
async def request_page(
    id: str, request: Request, session: SessionDep, actor: Tracer, protect: ProtectorDep
) -> HTMLResponse:
    found, seen = await service.get_request(session, actor, id)
    candidates = []
    if seen == "search":
        rows = (
            await session.exec(
                select(TracingCandidate, Worker)
                .join(Worker, col(Worker.id) == col(TracingCandidate.worker_id))
                .where(TracingCandidate.request_id == found.id)
                .order_by(col(TracingCandidate.score).desc(), col(TracingCandidate.id))
            )
        ).all()
        for candidate, worker in rows:
            named = "given_name" in (visible_fields(actor, worker) or frozenset())
            candidates.append(
                {
                    "row": candidate,
                    "name": " ".join(
                        n
                        for n in (
                            protect.open(worker, "given_name"),
                            protect.open(worker, "family_name"),
                        )
                        if n
                    )
                    if named
                    else None,
                }
            )
    shown = service.shown_state(found, seen)
    return render(
        request,
        actor,
        "tracing_request.html",
        r=found,
        side=seen,
        state=shown,
        opened=service.open_request(found, protect),
        candidates=candidates,
        moves=sorted(s.value for s in MOVES[TracingState(found.state)]),
    )


@router.post("/{id}/candidates/{candidate_id}", response_class=HTMLResponse)
async def decide(
    id: str,
    candidate_id: str,
    session: SessionDep,
    actor: Tracer,
    confirmed: Annotated[str, Form(pattern="^(yes|no)$")],
    csrf_token: Annotated[str, Form()] = "",
) -> Response:
    found, seen = await service.get_request(session, actor, id)
    if seen != "search":
        raise InvalidInput("Candidates are decided by the host society's tracing officers")
    candidate = await session.get(TracingCandidate, candidate_id)
    if candidate is None or candidate.request_id != found.id:
        raise InvalidInput("No such candidate of this request")
    if await service.decide_candidate(
        session, actor=actor, request=found, candidate=candidate, confirmed=confirmed == "yes"
    ):
        await flows.after_move(session, actor=actor, request=found)
    return RedirectResponse(f"/console/tracing/{found.id}", status_code=303)


@router.post("/{id}/state", response_class=HTMLResponse)
async def move(
    id: str,
    session: SessionDep,
    actor: Tracer,
    state: Annotated[TracingState, Form()],
    version: Annotated[int, Form(ge=1)],
    reason: Annotated[str, Form(max_length=300)] = "",
    csrf_token: Annotated[str, Form()] = "",
) -> Response:
    found, seen = await service.get_request(session, actor, id)
    if seen != "search":
        raise InvalidInput("A request is moved by the host society's tracing officers")
    service.check_version(found, version)
    if service.move(session, actor=actor, request=found, to=state, reason=reason or None):
        await flows.after_move(session, actor=actor, request=found)
    return RedirectResponse(f"/console/tracing/{found.id}", status_code=303)


@router.post("/{id}/match", response_class=HTMLResponse)
async def rematch(
    id: str,
    session: SessionDep,
    actor: Tracer,
    protect: ProtectorDep,
    csrf_token: Annotated[str, Form()] = "",
) -> Response:
    found, seen = await service.get_request(session, actor, id)
    if seen != "search":
        raise InvalidInput("A request is matched by the host society's tracing officers")
    await flows.rematch(session, actor=actor, request=found, protector=protect)
    return RedirectResponse(f"/console/tracing/{found.id}", status_code=303)


section = Section(
    router=router,
    nav=(NavEntry("/console/tracing", "Tracing", Permission.TRACING, 65),),
)
