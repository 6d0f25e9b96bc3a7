"""``/api/v1/alerts`` and ``/api/v1/feeds``: warnings in, kept, and the feeds' health."""

from __future__ import annotations

import logging
from typing import Annotated, Any

from fastapi import APIRouter, BackgroundTasks, Body, Query, Request, Response, status
from pydantic import ValidationError
from sqlmodel import col

from integrations.alert import Alert
from integrations.cap import parse_cap
from integrations.errors import PayloadError
from integrations.manual import ManualAlertRequest, manual_alert
from service.alerts import service
from service.alerts.dependencies import (
    AlertDep,
    Declarer,
    FeedDep,
    FeedReader,
    Poller,
    Pusher,
    Reader,
    feeds_of,
)
from service.alerts.models import AlertPush, FeedState
from service.alerts.schemas import (
    AlertDetail,
    AlertPublic,
    AlertPushPublic,
    AlertVersionPublic,
    CapPushed,
    FeedHealth,
    PassOutcome,
    PollResult,
)
from service.alerts.zones import locate
from service.deps import SessionDep
from service.errors import InvalidInput, LifelineError
from service.feeds.poller import poll_feed
from service.flows.alert_pass import run_pass
from service.geowork import Budget
from service.openapi import problems
from service.pagination import (
    FILTER_TEXT_PATTERN,
    CursorParam,
    FilterText,
    LimitParam,
    Page,
    paginate,
)

log = logging.getLogger("lifeline.alerts")
router = APIRouter(tags=["alerts"])

CAP_TYPES = ("application/cap+xml", "application/xml", "text/xml")
MAX_CAP_BYTES = 2_000_000


class UnsupportedMediaType(LifelineError):
    status, code, title = 415, "unsupported-media-type", "Unsupported media type"


@router.post(
    "/alerts/cap",
    response_model=CapPushed,
    status_code=status.HTTP_201_CREATED,
    responses={200: {"description": "Already known: nothing changed"}, **problems(415)},
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {t: {"schema": {"type": "string"}} for t in CAP_TYPES},
        }
    },
)
async def push_cap(
    request: Request,
    response: Response,
    session: SessionDep,
    actor: Pusher,
) -> CapPushed:
    """Push one CAP 1.1 or 1.2 message. ``201`` new or updated, ``200`` already known.

    The answer is the alert it is stored as, the version pushed, and what the crisis pass
    made of it (`outcome`: the crisis it opened or joined, the tasks the playbooks added), the
    pass having run before the answer; `GET /api/v1/alerts/{id}` and
    `GET /api/v1/alerts/pushes` say it again later."""
    media = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if media not in CAP_TYPES:
        raise UnsupportedMediaType(f"Send the CAP message as one of {', '.join(CAP_TYPES)}")
    content = await request.body()
    if len(content) > MAX_CAP_BYTES:
        raise InvalidInput(
            f"A CAP message is limited to {MAX_CAP_BYTES} bytes",
            errors=[{"loc": ["body"], "msg": "too large"}],
        )
    budget: Budget = request.app.state.geometry.budget()
    try:
        alert = await budget.run(parse_cap, content, source=None)
    except PayloadError as exc:
        raise InvalidInput(
            f"Not a usable CAP message: {exc.reason}", errors=[{"loc": ["body"], "msg": exc.reason}]
        ) from exc
    zone = await budget.run(locate, alert)
    stored, received = await service.store_alert(session, alert=alert, actor=actor, zone=zone)
    await service.record_push(
        session, alert_id=stored.id, version=alert.version, actor=actor, received=received
    )
    if received == service.UNCHANGED:
        response.status_code = status.HTTP_200_OK
    else:
        await _crisis_pass_now(request, session)
    response.headers["Location"] = f"/api/v1/alerts/{stored.id}"
    version = await service.version_of(session, alert_id=stored.id, version=alert.version)
    return CapPushed.of(
        stored,
        pushed_version=alert.version,
        received=received,
        outcome=PassOutcome.of(version),
    )


async def _crisis_pass_now(request: Request, session: SessionDep) -> None:
    """Commit the alert, then take it through the crisis pass before answering, so that the
    answer can say what followed. The pass works in transactions of its own (it claims each
    alert), which see the alert only once it is committed."""
    app = request.app
    if not app.state.settings.crisis_pass_inline:
        return
    await session.commit()
    try:
        await run_pass(
            app.state.engine, app.state.sessionmaker, app.state.register_index, app.state.geometry
        )
    except Exception:
        # The alert is kept; the worker's pass takes it. The pusher learns the outcome later.
        log.exception("the crisis pass after a push failed; the worker's pass will retry")


def _crisis_pass_after(request: Request, background: BackgroundTasks) -> None:
    """After the response (and so after the commit), take the alert through the crisis pass."""
    app = request.app
    if app.state.settings.crisis_pass_inline:
        background.add_task(
            run_pass,
            app.state.engine,
            app.state.sessionmaker,
            app.state.register_index,
            app.state.geometry,
        )


def _declared(data: ManualAlertRequest) -> Alert:
    """The alert declared, its zone checked (geometry work: in a geometry thread)."""
    return manual_alert(None, data.model_dump(mode="json", exclude_none=True))


@router.post(
    "/alerts",
    response_model=AlertPublic,
    status_code=status.HTTP_201_CREATED,
    responses={200: {"description": "Already known: nothing changed"}},
)
async def declare_alert(
    data: Annotated[ManualAlertRequest, Body()],
    request: Request,
    response: Response,
    background: BackgroundTasks,
    session: SessionDep,
    actor: Declarer,
) -> AlertPublic:
    """Declare an alert by hand: a zone (GeoJSON polygon, or a point with ``radius_km``, or
    countries) and the fields of a normalised alert."""
    budget: Budget = request.app.state.geometry.budget()
    try:
        # The fields were checked as the request was read; the zone is checked here, in a
        # geometry thread (a Point and radius_km become a circle there).
        alert = await budget.run(_declared, data)
    except ValidationError as exc:
        raise InvalidInput(
            "The alert is not valid",
            errors=[
                {"loc": ["body", *e["loc"]], "msg": e["msg"]} for e in exc.errors(include_url=False)
            ],
        ) from exc
    zone = await budget.run(locate, alert)
    stored, outcome = await service.store_alert(session, alert=alert, actor=actor, zone=zone)
    if outcome == service.UNCHANGED:
        response.status_code = status.HTTP_200_OK
    else:
        _crisis_pass_after(request, background)
    return AlertPublic.of(stored)


@router.get("/alerts", response_model=Page[AlertPublic])
async def list_alerts(
    session: SessionDep,
    actor: Reader,
    limit: LimitParam = 50,
    cursor: CursorParam = None,
    source: FilterText = None,
    hazard: FilterText = None,
    status_: Annotated[
        str | None, Query(alias="status", max_length=200, pattern=FILTER_TEXT_PATTERN)
    ] = None,
    active: bool = False,
) -> Page[AlertPublic]:
    """Every source's alerts, newest first; exercises included and marked."""
    page = await service.list_alerts(
        session,
        limit=limit,
        cursor=cursor,
        source=source,
        hazard=hazard,
        status=status_,
        active_only=active,
    )
    items = [AlertPublic.of(r) for r in page.items]
    return Page[AlertPublic](items=items, next_cursor=page.next_cursor)


@router.get("/alerts/pushes", response_model=Page[AlertPushPublic])
async def list_pushes(
    session: SessionDep, actor: Pusher, limit: LimitParam = 50, cursor: CursorParam = None
) -> Page[AlertPushPublic]:
    """Your organisation's CAP pushes (an admin: everyone's), newest first, each with what the
    crisis pass made of it: the crisis it opened or joined, the tasks the playbooks added."""
    page = await paginate(
        session,
        service.pushes_query(actor),
        key=[col(AlertPush.id)],
        limit=limit,
        cursor=cursor,
        descending=True,
    )
    items = [AlertPushPublic.of(push, version) for push, version in page.items]
    return Page[AlertPushPublic](items=items, next_cursor=page.next_cursor)


@router.get("/alerts/{id}", response_model=AlertDetail)
async def get_alert(session: SessionDep, actor: Reader, row: AlertDep) -> AlertDetail:
    """The alert, every version received, and your organisation's pushes of it with what the
    crisis pass made of each (an admin: everyone's)."""
    history = [
        AlertVersionPublic.model_validate(v)
        for v in await service.versions_of(session, alert_id=row.id)
    ]
    pushed = await service.pushes_of(session, actor=actor, alert_id=row.id)
    return AlertDetail.of(
        row,
        history=history,
        pushes=[AlertPushPublic.of(push, version) for push, version in pushed],
    )


@router.get("/feeds", response_model=list[FeedHealth])
async def list_feeds(request: Request, session: SessionDep, actor: FeedReader) -> list[FeedHealth]:
    """The configured feeds and their health: last success, last error, items seen."""
    out = []
    for config in feeds_of(request):
        state = await session.get(FeedState, config.name)
        health: dict[str, Any] = state.model_dump() if state else {}
        health.update(
            name=config.name,
            kind=config.kind,
            url=str(config.url),
            enabled=config.enabled,
            interval_s=config.interval_s,
        )
        out.append(FeedHealth.model_validate(health))
    return out


@router.post("/feeds/{name}/poll", response_model=PollResult)
async def poll_now(request: Request, actor: Poller, config: FeedDep) -> PollResult:
    """Poll this feed now (whatever its schedule), and say what came of it."""
    outcome = await poll_feed(
        request.app.state.engine, request.app.state.sessionmaker, request.app.state.http, config
    )
    return PollResult(**outcome.__dict__)
