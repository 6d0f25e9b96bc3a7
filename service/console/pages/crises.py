"""Crisis pages: the list, one crisis (map, exposure, timeline, tasks, phase and alert level),
its map's GeoJSON, its situation report of a day, and "my nationals in the zone" (a page of
people and its CSV)."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any, Literal

import orjson
import shapely
from fastapi import Form, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from shapely.geometry import box, mapping, shape
from sqlmodel import col, select

from geo.admin import AdminAreas
from service.alerts.service import get_alert
from service.audit.service import record
from service.auth.permissions import Permission, allowed
from service.auth.principal import Principal
from service.console.registry import NavEntry, Section
from service.console.render import render
from service.console.routing import console_router
from service.crises import service
from service.crises.dependencies import CrisisDep, Reader, Writer
from service.crises.exposure import exposure_seen_by
from service.crises.models import Crisis, CrisisAlert, CrisisEvent, CrisisZone, Phase
from service.crises.people import people_of_crisis
from service.db import utcnow
from service.deps import SessionDep
from service.errors import NotFound, PreconditionFailed
from service.exposure.dependencies import IndexDep, Lister
from service.exposure.people import PeopleAsked, people_csv
from service.flows import kept_sitreps, sitrep
from service.flows.alert_pass import run_playbooks
from service.flows.sitrep_texts import LANGUAGES
from service.geowork import Budget
from service.pagination import paginate
from service.registry.dependencies import ProtectorDep, rate_limit
from service.tasks.service import as_public, list_tasks

router = console_router("/crises")

#: Rows a page of people holds.
PEOPLE_PAGE = 50
#: Kept situation reports listed on the report's page (a day's languages each a row).
KEPT_SHOWN = 60
#: Degrees the base map extends around the zone, and how finely boundaries are drawn.
MARGIN_DEG, SIMPLIFY_DEG = 3.0, 0.01


@router.get("", response_class=HTMLResponse, name="console.crises")
async def crises(
    request: Request, session: SessionDep, actor: Reader, cursor: str | None = None
) -> HTMLResponse:
    page = await service.list_crises(
        session, limit=50, cursor=cursor, phase=None, hazard=None, exercise=None
    )
    real = [c for c in page.items if not c.exercise]
    drills = [c for c in page.items if c.exercise]
    return render(
        request, actor, "crises.html", real=real, drills=drills, next_cursor=page.next_cursor
    )


async def _exposure(request: Request, session: SessionDep, actor: Principal, crisis: Crisis) -> Any:
    try:
        return await exposure_seen_by(
            session,
            actor=actor,
            crisis_id=crisis.id,
            threshold=request.app.state.settings.suppress_below,
        )
    except NotFound:
        return None


async def _crisis_page(
    request: Request,
    session: SessionDep,
    actor: Principal,
    crisis: Crisis,
    *,
    status_code: int = 200,
    problem: str | None = None,
) -> HTMLResponse:
    timeline = await paginate(
        session,
        select(CrisisEvent).where(CrisisEvent.crisis_id == crisis.id),
        key=[col(CrisisEvent.at), col(CrisisEvent.id)],
        limit=100,
        cursor=None,
    )
    tasks: dict[str, dict[str, list[Any]]] = {}
    if allowed(actor.role, Permission.TASKS_READ):
        found = await list_tasks(session, actor=actor, limit=200, cursor=None, crisis=crisis.id)
        for task in await as_public(session, found.items):
            holder = task.assignee_org_name or "nobody (a coverage gap)"
            tasks.setdefault(holder, {}).setdefault(task.status, []).append(task)
    zone = await service.latest_zone(session, crisis.id)
    return render(
        request,
        actor,
        "crisis.html",
        status_code=status_code,
        crisis=crisis,
        zone=zone,
        exposure=await _exposure(request, session, actor, crisis),
        timeline=timeline.items,
        tasks=tasks,
        may_change=allowed(actor.role, Permission.CRISES_WRITE),
        may_list=allowed(actor.role, Permission.EXPOSURE_LIST),
        may_welfare=allowed(actor.role, Permission.WELFARE_READ),
        may_repatriation=allowed(actor.role, Permission.REPATRIATION_READ),
        phases=[p.value for p in Phase],
        problem=problem,
        tiles_url=request.app.state.settings.console_tiles_url,
    )


@router.get("/{id}", response_class=HTMLResponse, name="console.crisis")
async def crisis_page(
    request: Request, session: SessionDep, actor: Reader, crisis: CrisisDep
) -> HTMLResponse:
    return await _crisis_page(request, session, actor, crisis)


@router.post("/{id}/change", response_class=HTMLResponse, name="console.change_crisis")
async def change_crisis(
    id: str,
    request: Request,
    session: SessionDep,
    actor: Writer,
    version: Annotated[int, Form()],
    phase: Annotated[Phase | None, Form()] = None,
    alert_level: Annotated[int | None, Form(ge=1, le=4)] = None,
    csrf_token: Annotated[str, Form()] = "",
) -> Response:
    """Phase and alert level, at the version the page showed (the API's ``If-Match``)."""
    crisis = await service.get_crisis(session, id)
    changes = {"phase": phase.value if phase else None, "alert_level": alert_level}
    try:
        await service.change(session, crisis, actor=actor, if_match=version, changes=changes)
    except PreconditionFailed:
        return await _crisis_page(
            request,
            session,
            actor,
            crisis,
            status_code=412,
            problem=(
                f"Someone else changed this crisis after you opened the page (you saw version "
                f"{version}, it is now at version {crisis.version}). Nothing was changed: here is "
                "the crisis as it is now; choose again if your change still applies."
            ),
        )
    await run_playbooks(session, crisis, actor=actor)
    return RedirectResponse(f"/console/crises/{id}", status_code=303)


@router.get("/{id}/sitrep", response_class=HTMLResponse, name="console.crisis_sitrep")
async def crisis_sitrep(
    request: Request,
    session: SessionDep,
    actor: Reader,
    crisis: CrisisDep,
    day: Annotated[date | None, Query(alias="date")] = None,
    language: Annotated[str, Query(max_length=16)] = "en",
) -> HTMLResponse:
    """The situation report of a day as a page (``GET /api/v1/crises/{id}/sitrep`` draws the
    same), the map as inline SVG, with a link to the PDF; audited as the API's export is. Above
    it, the latest report kept with the crisis and the earlier ones (their files)."""
    now = utcnow()
    day = day or now.date()
    report = await sitrep.gather(
        session,
        actor=actor,
        crisis=crisis,
        day=day,
        threshold=request.app.state.settings.suppress_below,
        now=now,
        language=language,
    )
    record(
        session,
        actor=actor,
        action="crisis.sitrep_exported",
        subject_type="crisis",
        subject_id=crisis.id,
        detail={"date": day.isoformat(), "format": "console", "language": language},
    )
    kept = await kept_sitreps.list_kept(session, crisis, limit=KEPT_SHOWN, cursor=None)
    days = [
        (
            kept_day.isoformat(),
            [
                {
                    "language": row.language,
                    "created_at": row.created_at.strftime("%Y-%m-%d %H:%M UTC"),
                    "made_by": row.made_by,
                    "pdf": kept_sitreps.kept_link(crisis.id, kept_day, row.language, "pdf"),
                    "html": kept_sitreps.kept_link(crisis.id, kept_day, row.language, "html"),
                }
                for row in rows
            ],
        )
        for kept_day, rows in kept_sitreps.days_of(kept.items)
    ]
    return render(
        request,
        actor,
        "sitrep.html",
        crisis=crisis,
        day=day.isoformat(),
        today=now.date().isoformat(),
        opened=crisis.created_at.date().isoformat(),
        report=sitrep.html_fragment(report),
        pdf_link=(
            f"/api/v1/crises/{crisis.id}/sitrep?date={day.isoformat()}&format=pdf"
            f"&language={language}"
        ),
        language=language,
        languages=LANGUAGES,
        latest=days[0] if days else None,
        earlier=days[1:],
        more_kept=kept.next_cursor is not None,
        can_keep=allowed(actor.role, Permission.CRISES_WRITE),
    )


@router.post("/{id}/sitreps", response_class=HTMLResponse, name="console.keep_sitrep")
async def keep_sitrep(
    id: str,
    request: Request,
    session: SessionDep,
    actor: Writer,
    csrf_token: Annotated[str, Form()] = "",
) -> Response:
    """Keep today's shared report now (``POST /api/v1/crises/{id}/sitreps``), then back to the
    report's page."""
    crisis = await service.get_crisis(session, id)
    await kept_sitreps.keep(
        session,
        crisis=crisis,
        actor=actor,
        threshold=request.app.state.settings.suppress_below,
        replace=True,
    )
    return RedirectResponse(f"/console/crises/{id}/sitrep", status_code=303)


def _feature(geometry: Any, **properties: Any) -> dict[str, Any]:
    return {"type": "Feature", "geometry": geometry, "properties": properties}


@router.get("/{id}/map.json", name="console.crisis_map")
async def crisis_map(
    request: Request, session: SessionDep, actor: Reader, crisis: CrisisDep
) -> Response:
    """The crisis map's layers as one GeoJSON collection: the shipped country boundaries around
    the zone (the offline base map), the provinces hit with the exposed workers the caller may
    see, every zone version (the latest marked) and the hazard's own geometry."""
    zones = (
        await session.exec(
            select(CrisisZone)
            .where(CrisisZone.crisis_id == crisis.id)
            .order_by(col(CrisisZone.version))
        )
    ).all()
    exposure = await _exposure(request, session, actor, crisis)
    links = (
        await session.exec(select(CrisisAlert.alert_id).where(CrisisAlert.crisis_id == crisis.id))
    ).all()
    hazards = []
    for alert_id in links:
        alert = await get_alert(session, alert_id=alert_id)
        if alert.geometry:
            hazards.append((alert.geometry, alert.headline or alert.hazard))
    # Zones of 100,000 vertices: their bounds, the outlines clipped around them and the answer's
    # encoding are geometry work, off the event loop like every other.
    budget: Budget = request.app.state.geometry.budget()
    body = await budget.run(
        _map_layers,
        [(z.geometry, z.version) for z in zones],
        exposure or {},
        hazards,
    )
    return Response(body, media_type="application/json")


def _map_layers(
    zones: list[tuple[dict[str, Any], int]],
    exposure: dict[str, Any],
    hazards: list[tuple[dict[str, Any], str]],
) -> bytes:
    features: list[dict[str, Any]] = []
    areas = AdminAreas.load()
    if zones:
        west, south, east, north = shapely.bounds(shape(zones[-1][0])).tolist()
        around = box(west - MARGIN_DEG, south - MARGIN_DEG, east + MARGIN_DEG, north + MARGIN_DEG)
        for code in areas.countries_intersecting(around):
            outline = areas.country_geometry(code)
            if outline is not None:
                clipped = shapely.simplify(shapely.intersection(outline, around), SIMPLIFY_DEG)
                features.append(
                    _feature(
                        mapping(clipped), layer="country", name=areas.country_name(code) or code
                    )
                )
    names = exposure.get("admin1_names", {})
    for code, workers in exposure.get("by_admin1", {}).items():
        outline = areas.admin1_geometry(code)
        if outline is not None:
            features.append(
                _feature(
                    mapping(shapely.simplify(outline, SIMPLIFY_DEG)),
                    layer="province",
                    name=names.get(code) or "unnamed province",
                    workers=workers,
                )
            )
    for i, (geometry, version) in enumerate(zones):
        features.append(
            _feature(geometry, layer="zone", version=version, latest=i == len(zones) - 1)
        )
    for geometry, name in hazards:
        features.append(_feature(geometry, layer="hazard", name=name))
    return orjson.dumps({"type": "FeatureCollection", "features": features})


async def _people(
    request: Request,
    session: SessionDep,
    actor: Principal,
    index: IndexDep,
    protect: ProtectorDep,
    crisis_id: str,
    *,
    cursor: str | None,
    download: str | None,
) -> Any:
    rate_limit(request, actor)
    asked = PeopleAsked(
        actor=actor,
        index=index,
        budget=request.app.state.geometry.budget(),
        protect=protect,
        threshold=request.app.state.settings.suppress_below,
        nationalities=None,
        own_country="exclude",
        limit=PEOPLE_PAGE,
        cursor=cursor,
        download=download,
        sessions=request.app.state.sessionmaker,
    )
    return await people_of_crisis(session, asked, crisis_id=crisis_id)


@router.get("/{id}/people", response_class=HTMLResponse, name="console.crisis_people")
async def crisis_people(
    id: str,
    request: Request,
    session: SessionDep,
    actor: Lister,
    index: IndexDep,
    protect: ProtectorDep,
    cursor: Annotated[str | None, Query(max_length=200)] = None,
    q: Annotated[str | None, Query(max_length=100)] = None,
) -> HTMLResponse:
    """My nationals in the zone: the people of the crisis the caller may read, a page at a time
    (each page audited as the API's list is). ``q`` narrows the page shown to names that hold
    it."""
    crisis = await service.get_crisis(session, id)
    found = await _people(request, session, actor, index, protect, id, cursor=cursor, download=None)
    items = found.items
    if q:
        wanted = q.casefold()
        items = [
            p
            for p in items
            if wanted in f"{p.get('given_name') or ''} {p.get('family_name') or ''}".casefold()
        ]
    return render(
        request,
        actor,
        "people.html",
        crisis=crisis,
        people=items,
        counts=found.counts.fields(),
        next_cursor=found.next_cursor,
        cursor=cursor,
        q=q or "",
    )


@router.get("/{id}/people.{extension}", name="console.crisis_people_csv")
async def crisis_people_csv(
    id: str,
    extension: Literal["csv", "xlsx"],
    request: Request,
    session: SessionDep,
    actor: Lister,
    index: IndexDep,
    protect: ProtectorDep,
) -> Response:
    """Every row of the list at once, as ``GET /crises/{id}/workers?format=csv`` (or xlsx)
    answers it."""
    found = await _people(
        request, session, actor, index, protect, id, cursor=None, download=extension
    )
    return people_csv(found, f"crisis-{id}-workers.csv", extension)


section = Section(
    router=router,
    nav=(NavEntry("/console/crises", "Crises", Permission.CRISES_READ, 20),),
)
