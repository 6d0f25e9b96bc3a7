"""``/api/v1/crises``: declared or opened from alerts; zones, phase, alert level, timeline."""

from __future__ import annotations

import enum
from typing import Annotated, Any

from fastapi import APIRouter, Header, Query, Request, Response, status
from fastapi.responses import StreamingResponse
from sqlmodel import col, select

from geo.errors import GeometryError
from geo.geojson import parse_geojson
from integrations.alert import Hazard
from service.audit.service import record
from service.auth.permissions import Permission, allowed
from service.auth.principal import Principal
from service.countries import CountryCode
from service.crises import maps, service
from service.crises.dependencies import CrisisDep, Reader, Writer
from service.crises.exposure import exposure_seen_by
from service.crises.models import Crisis, CrisisAlert, CrisisEvent, CrisisZone, Phase
from service.crises.people import people_of_crisis
from service.crises.schemas import (
    CrisisCreate,
    CrisisExposure,
    CrisisPublic,
    CrisisUpdate,
    TimelineEntry,
)
from service.db import session_scope
from service.deps import IfMatch, SessionDep, send_etag
from service.errors import Forbidden
from service.exports import geo, hxl, tables
from service.exposure.dependencies import IndexDep, Lister, current_index
from service.exposure.people import PeopleAsked, people_csv, people_page
from service.flows.alert_pass import exposure_counts, planned, run_playbooks
from service.geowork import Budget, zone_problem
from service.openapi import problems
from service.pagination import CursorParam, LimitParam, Page, paginate
from service.registry.dependencies import ProtectorDep, rate_limit
from service.registry.schemas import OWN_COUNTRY_DESCRIPTION, OwnCountry, PeoplePage
from service.welfare.service import counts as welfare_counts

router = APIRouter(prefix="/crises", tags=["crises"])


def _parsed(zones: dict[str, Any] | list[dict[str, Any]]) -> dict[str, Any]:
    """The zone as one GeoJSON geometry; a list of geometries is read as their collection."""
    if isinstance(zones, list):
        try:
            return parse_geojson({"type": "GeometryCollection", "geometries": zones}).to_geojson()
        except GeometryError as exc:
            # Where in the list, not in the collection made of it.
            if exc.loc[:1] == ("geometries",):
                exc.loc = exc.loc[1:]
            raise
    return parse_geojson(zones).to_geojson()


async def _zone(
    zones: dict[str, Any] | list[dict[str, Any]], loc: str, budget: Budget
) -> dict[str, Any]:
    try:
        return await budget.run(_parsed, zones)
    except GeometryError as exc:
        raise zone_problem(exc, ["body", loc]) from exc


async def _add_zone(
    session: SessionDep,
    crisis: Crisis,
    zone: dict[str, Any],
    source: str,
    actor: Principal,
    budget: Budget,
) -> CrisisZone | None:
    try:
        return await service.add_zone(
            session, crisis, zone, source=source, actor=actor, budget=budget
        )
    except GeometryError as exc:  # too complex together with the crisis's current zone
        raise zone_problem(exc, ["body", "zones"]) from exc


async def _public(session: SessionDep, crisis: Crisis) -> CrisisPublic:
    zone = await service.latest_zone(session, crisis.id)
    alerts = (
        await session.exec(select(CrisisAlert.alert_id).where(CrisisAlert.crisis_id == crisis.id))
    ).all()
    return CrisisPublic.model_validate(crisis).model_copy(
        update={
            "zones": zone.geometry if zone else None,
            "zone_version": zone.version if zone else None,
            "alerts": list(alerts),
        }
    )


@router.post("", response_model=CrisisPublic, status_code=status.HTTP_201_CREATED)
async def declare_crisis(
    data: CrisisCreate, request: Request, session: SessionDep, actor: Writer, index: IndexDep
) -> CrisisPublic:
    """Declare a crisis by hand (civil unrest, conflict, an epidemic), or a drill."""
    budget: Budget = request.app.state.geometry.budget()
    zone = await _zone(data.zones, "zones", budget)
    counts = await budget.run(exposure_counts, index, zone, budget.deadline)
    crisis = await service.open_crisis(
        session,
        actor=actor,
        title=data.title,
        hazard=data.hazard.value,
        severity=data.severity.value,
        exercise=data.exercise,
        countries=list(data.countries) or sorted(counts.by_country),
        opened_by=f"declared:{actor.organization_slug or actor.channel}",
        phase=data.phase.value,
        alert_level=data.alert_level,
        why="declared by a coordinator",
    )
    version = await _add_zone(session, crisis, zone, "declared", actor, budget)
    if version is not None:
        import dataclasses

        await service.snapshot(session, crisis, version, dataclasses.asdict(counts))
    await run_playbooks(session, crisis, actor=actor)
    return await _public(session, crisis)


class ExerciseFilter(enum.StrEnum):
    """Which crises a list holds: drills and real ones, real ones only, or drills only."""

    TRUE = "true"
    FALSE = "false"
    ONLY = "only"


EXERCISES = {ExerciseFilter.TRUE: None, ExerciseFilter.FALSE: False, ExerciseFilter.ONLY: True}


@router.get("", response_model=Page[CrisisPublic])
async def list_crises(
    session: SessionDep,
    actor: Reader,
    limit: LimitParam = 50,
    cursor: CursorParam = None,
    phase: Phase | None = None,
    hazard: Hazard | None = None,
    exercises: Annotated[
        ExerciseFilter,
        Query(
            description="Drills (`exercise: true`) are listed with the real crises by default "
            "(`true`); `false` leaves them out, `only` lists nothing else"
        ),
    ] = ExerciseFilter.TRUE,
) -> Page[CrisisPublic]:
    """The crises, newest first: real ones and drills alike, each drill marked
    `exercise: true` (a drill's tasks never reach a real person). `?exercises=false` lists
    the real ones only, `?exercises=only` the drills only."""
    page = await service.list_crises(
        session,
        limit=limit,
        cursor=cursor,
        phase=phase.value if phase else None,
        hazard=hazard.value if hazard else None,
        exercise=EXERCISES[exercises],
    )
    items = [await _public(session, c) for c in page.items]
    return Page[CrisisPublic](items=items, next_cursor=page.next_cursor)


@router.get("/{id}", response_model=CrisisPublic)
async def get_crisis(
    session: SessionDep, actor: Reader, crisis: CrisisDep, response: Response
) -> CrisisPublic:
    send_etag(response, crisis.version)
    return await _public(session, crisis)


@router.patch("/{id}", response_model=CrisisPublic)
async def change_crisis(
    id: str,
    data: CrisisUpdate,
    request: Request,
    session: SessionDep,
    actor: Writer,
    index: IndexDep,
    response: Response,
    version: IfMatch,
) -> CrisisPublic:
    """Change phase, alert level, title, severity or zone; every change is on the timeline and the
    old zone is kept."""
    crisis = await service.get_crisis(session, id)
    changes = data.model_dump(exclude_none=True, exclude={"zones"}, mode="json")
    budget: Budget = request.app.state.geometry.budget()
    # The zone is checked before anything changes: a zone refused leaves the crisis as it was.
    zone = await _zone(data.zones, "zones", budget) if data.zones is not None else None
    await service.change(session, crisis, actor=actor, if_match=version, changes=changes)
    if zone is not None:
        added = await _add_zone(session, crisis, zone, "coordinator", actor, budget)
        if added is not None:
            import dataclasses

            counts = await budget.run(exposure_counts, index, zone, budget.deadline)
            await service.snapshot(session, crisis, added, dataclasses.asdict(counts))
            if not changes:
                crisis.version += 1
                session.add(crisis)
    # A new phase, level or zone may call for more work: the playbooks add only what is missing.
    await run_playbooks(session, crisis, actor=actor)
    send_etag(response, crisis.version)
    return await _public(session, crisis)


@router.post("/{id}/simulate")
async def simulate(session: SessionDep, actor: Reader, crisis: CrisisDep) -> dict[str, Any]:
    """What the playbooks would add now, changing nothing."""
    tasks = await planned(session, crisis)
    return {
        "crisis_id": crisis.id,
        "tasks": [
            {
                "key": t.key,
                "playbook": t.playbook,
                "title": t.title,
                "actor": t.actor,
                "assignee_org": t.assignee,
                "coverage_gap": t.coverage_gap,
                "due_at": t.due_at.isoformat(),
                "after": list(t.after),
                "basis": list(t.basis),
            }
            for t in tasks
        ],
    }


@router.get(
    "/{id}/exposure",
    response_model=CrisisExposure,
    responses={200: {"content": tables.CONTENT}},
)
async def crisis_exposure(
    request: Request,
    session: SessionDep,
    actor: Reader,
    crisis: CrisisDep,
    format: Annotated[
        str,
        Query(
            pattern="^(json|hxl|csv|xlsx)$",
            description="hxl: the counts as CSV with a row of HXL hashtags (no welfare); csv, "
            "xlsx: the same rows without the hashtag row",
        ),
    ] = "json",
) -> Any:
    """The latest exposure snapshot of the crisis's zone: exact for coordinators; for others,
    rounded with small cells withheld (and, for consular staff, their own nationals exactly);
    with the welfare statuses of the crisis counted under the same rules (`welfare`).
    format=hxl: the workers by country, province, nationality and sector, and by sex in the
    total's row, as the JSON answer counts them for you (`own_nationals` left out).
    format=csv, format=xlsx: the same rows and columns as HXL, without the hashtag row."""
    threshold = request.app.state.settings.suppress_below
    seen = await exposure_seen_by(session, actor=actor, crisis_id=crisis.id, threshold=threshold)
    filename = f"crisis-{crisis.id}-exposure.csv"
    if format == "hxl":
        lines = list(hxl.exposure_lines(seen))
        record(
            session,
            actor=actor,
            action="exposure_counts.exported",
            subject_type="crisis",
            subject_id=crisis.id,
            detail={"format": format, "rows": len(lines), "exact": seen.get("exact", False)},
        )
        return hxl.response(hxl.EXPOSURE_COLUMNS, lines, filename)
    if format in tables.FORMATS:
        names = [name for name, _ in hxl.EXPOSURE_COLUMNS]
        rows = [[line.get(n) for n in names] for line in hxl.exposure_lines(seen)]
        return tables.download(
            session,
            actor,
            format,
            names,
            rows,
            filename,
            what="exposure_counts",
            subject=("crisis", crisis.id),
        )
    seen["welfare"] = await welfare_counts(session, actor=actor, crisis=crisis, threshold=threshold)
    return seen


@router.get(
    "/{id}/map",
    response_class=Response,
    responses={
        200: {"description": "The map file", "content": geo.CONTENT},
        **problems(403, 404, 429, 503),
    },
)
async def crisis_map_file(
    request: Request,
    session: SessionDep,
    actor: Reader,
    crisis: CrisisDep,
    format: Annotated[
        str,
        Query(
            pattern=geo.PATTERN,
            description="geojson (RFC 7946), kml (KML 2.2) or gpkg (a GeoPackage: layers "
            "`zones` and `areas`, and `people` with `people=true`)",
        ),
    ] = "geojson",
    people: Annotated[
        bool,
        Query(
            description="Add a layer `people`: a point for each worker `GET "
            "/crises/{id}/workers` lists for you (your `exposure:list` permission; a 403 "
            "without it)"
        ),
    ] = False,
) -> Response:
    """The crisis's map as one file: every zone version (`version`, `source`, `created_at`,
    `latest`) and the provinces hit, each with its workers counted as `GET
    /crises/{id}/exposure` counts them for you (rounded, small cells withheld, outside
    need-to-know). No point of a person, unless you may list people and ask for them
    (`people=true`): then a layer `people` holds a point for each worker in the crisis's
    latest zone whose personal data you may read (your own nationals who consented, for
    consular staff), exactly those `GET /crises/{id}/workers` lists for you, each with its
    `id`, `nationality`, `admin1`, `accompanying_family` and `vulnerable` only (never a name,
    a phone or a documentation status); rate-limited and audited with the ids as every list of
    people, up to 50,000 points (`Lifeline-Written` says how many, `Lifeline-Truncated` that
    the cap cut them). WGS 84 lon/lat, 6 decimals, exterior rings counter-clockwise, split
    along the antimeridian. A drill's features say `exercise: true` and its file is named so.
    Every export is audited."""
    listed: maps.MapPeople | None = None
    budget: Budget = request.app.state.geometry.budget()
    if people:
        if not allowed(actor.role, Permission.EXPOSURE_LIST):
            # The request's own transaction is rolled back with the 403 (now, so that it holds
            # no lock): the refusal is written in one of its own, as a permission refused is.
            crisis_id = crisis.id  # read before the rollback expires the row
            await session.rollback()
            async with session_scope(request.app.state.sessionmaker) as own:
                record(
                    own,
                    actor=actor,
                    action="api.crisis_map_file",
                    outcome="denied",
                    subject_type="crisis",
                    subject_id=crisis_id,
                    detail={"permission": Permission.EXPOSURE_LIST.value, "people": True},
                )
            raise Forbidden(
                f"The role {actor.role.value} may not list people "
                f"({Permission.EXPOSURE_LIST.value}): ask for the map without people=true"
            )
        rate_limit(request, actor)
        asked = PeopleAsked(
            actor=actor,
            index=await current_index(request),
            budget=budget,
            protect=request.app.state.protector,
            threshold=request.app.state.settings.suppress_below,
            nationalities=None,
            own_country="exclude",
            limit=maps.PEOPLE_LIMIT,
            cursor=None,
            download=format,
            sessions=request.app.state.sessionmaker,
            cap=maps.PEOPLE_LIMIT,
        )
        listed = await maps.map_people(session, asked, crisis=crisis, format=format)
    found = await maps.crisis_map(
        session,
        actor=actor,
        crisis=crisis,
        threshold=request.app.state.settings.suppress_below,
    )
    features = await budget.run(maps.map_features, found, listed)
    maps.audit_export(
        session, actor=actor, crisis=crisis, format=format, features=features, people=listed
    )
    media_type, extension = geo.FORMATS[format]
    drill = "exercise-" if crisis.exercise else ""
    with_people = "-people" if listed is not None else ""
    headers = {
        "Content-Disposition": (
            f'attachment; filename="crisis-{crisis.id}-{drill}map{with_people}.{extension}"'
        ),
        **(listed.headers() if listed is not None else {}),
    }
    layers = geo.WITH_PEOPLE if listed is not None else geo.KINDS
    if format == "gpkg":
        return StreamingResponse(
            geo.gpkg_chunks(features, layers=layers), media_type=media_type, headers=headers
        )
    if format == "kml":
        title = f"{'Exercise: ' if crisis.exercise else ''}{crisis.title}"
        body = await budget.run(geo.kml, features, title=title, layers=layers)
    else:
        body = await budget.run(geo.geojson, features)
    return Response(body, media_type=media_type, headers=headers)


@router.get(
    "/{id}/workers",
    response_model=PeoplePage,
    responses={**tables.ANSWER, **problems(429)},
)
async def crisis_workers(
    id: str,
    request: Request,
    session: SessionDep,
    actor: Lister,
    index: IndexDep,
    protect: ProtectorDep,
    limit: LimitParam = 50,
    cursor: CursorParam = None,
    nationality: Annotated[
        CountryCode | None, Query(description="Only workers of this nationality")
    ] = None,
    nationals_in_own_country: Annotated[
        OwnCountry, Query(description=OWN_COUNTRY_DESCRIPTION)
    ] = "exclude",
    format: Annotated[
        str | None,
        Query(
            pattern=tables.PATTERN,
            description="csv, xlsx: every row at once (or `Accept: text/csv`, or the XLSX type)",
        ),
    ] = None,
    accept: Annotated[str | None, Header(include_in_schema=False)] = None,
) -> Any:
    """The workers in the crisis's current zone whose personal data you may read (your own
    nationals, for consular staff), oldest registration first, as `POST /exposure/workers`
    answers them for that zone: with how many more match and are not shown, and why. Every
    list is audited with the ids it returned, the crisis and its zone version."""
    rate_limit(request, actor)
    download = tables.asked(format, accept)
    asked = PeopleAsked(
        actor=actor,
        index=index,
        budget=request.app.state.geometry.budget(),
        protect=protect,
        threshold=request.app.state.settings.suppress_below,
        nationalities=[nationality] if nationality else None,
        own_country=nationals_in_own_country,
        limit=limit,
        cursor=cursor,
        download=download,
        sessions=request.app.state.sessionmaker,
    )
    found = await people_of_crisis(session, asked, crisis_id=id)
    if download is not None:
        return people_csv(found, f"crisis-{id}-workers.csv", download)
    return people_page(found)


@router.get("/{id}/timeline", response_model=Page[TimelineEntry])
async def crisis_timeline(
    id: str,
    session: SessionDep,
    actor: Reader,
    limit: LimitParam = 50,
    cursor: CursorParam = None,
) -> Page[TimelineEntry]:
    """The crisis's event log, oldest first, a page at a time."""
    await service.get_crisis(session, id)
    page = await paginate(
        session,
        select(CrisisEvent).where(CrisisEvent.crisis_id == id),
        key=[col(CrisisEvent.at), col(CrisisEvent.id)],
        limit=limit,
        cursor=cursor,
    )
    return Page[TimelineEntry](
        items=[TimelineEntry.model_validate(r) for r in page.items], next_cursor=page.next_cursor
    )
