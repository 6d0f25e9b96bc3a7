"""``/api/v1/crises/{id}/advisories``, ``/cap`` and ``/advisories.atom``: a crisis's public
advisories for the workers, as JSON and as CAP 1.2."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request, Response, status

from service.advisories import cap, service
from service.advisories.dependencies import Reader, Writer
from service.advisories.models import Advisory
from service.advisories.schemas import AdvisoryCreate, AdvisoryPublic
from service.crises.dependencies import CrisisDep
from service.crises.models import Crisis
from service.crises.service import get_crisis, latest_zone
from service.deps import SessionDep, SettingsDep
from service.openapi import problems

router = APIRouter(tags=["advisories"])


def _public(crisis: Crisis, advisory: Advisory) -> AdvisoryPublic:
    return AdvisoryPublic.model_validate(advisory).model_copy(update={"exercise": crisis.exercise})


@router.post(
    "/crises/{id}/advisories",
    response_model=AdvisoryPublic,
    status_code=status.HTTP_201_CREATED,
    responses=problems(409),
)
async def send_advisory(
    id: str, data: AdvisoryCreate, session: SessionDep, actor: Writer, settings: SettingsDep
) -> AdvisoryPublic:
    """A new version of the crisis's public advisory (the first is a CAP Alert, the next ones
    Updates): where to get help, the hotline, in the workers' languages, English at least. No
    text may name a documentation or immigration status, a visa or the police, nor ask a
    person to identify themselves (422). After a Cancel, a 409."""
    crisis = await get_crisis(session, id)
    advisory = await service.issue(
        session, crisis, actor=actor, data=data, domain=settings.records_domain
    )
    return _public(crisis, advisory)


@router.post(
    "/crises/{id}/advisories/cancel",
    response_model=AdvisoryPublic,
    status_code=status.HTTP_201_CREATED,
    responses=problems(409),
)
async def cancel_advisory(
    session: SessionDep, actor: Writer, crisis: CrisisDep, settings: SettingsDep
) -> AdvisoryPublic:
    """Withdraw the advisory: a CAP Cancel referencing every earlier version (409 when there
    is none, or it was cancelled already)."""
    advisory = await service.issue(
        session, crisis, actor=actor, data=None, domain=settings.records_domain
    )
    return _public(crisis, advisory)


@router.get("/crises/{id}/advisories", response_model=list[AdvisoryPublic])
async def list_advisories(
    session: SessionDep, actor: Reader, crisis: CrisisDep
) -> list[AdvisoryPublic]:
    """Every version of the crisis's advisory, oldest first."""
    return [_public(crisis, a) for a in await service.versions(session, crisis.id)]


@router.get(
    "/crises/{id}/cap",
    response_class=Response,
    responses={
        200: {"content": {cap.CAP_MEDIA_TYPE: {}}, "description": "A CAP 1.2 alert"},
        **problems(404),
    },
)
async def advisory_cap(
    id: str,
    session: SessionDep,
    actor: Reader,
    version: Annotated[
        int | None, Query(ge=1, le=1_000_000, description="An earlier version; the latest if not")
    ] = None,
) -> Response:
    """The crisis's advisory as a CAP 1.2 alert: one `info` per language, the area the
    crisis's latest zone; a drill's advisory has status `Exercise`. 404 when there is none."""
    crisis = await get_crisis(session, id)
    advisory = await service.get_version(session, crisis.id, version)
    zone = await latest_zone(session, crisis.id)
    return Response(cap.alert(crisis, advisory, zone), media_type=cap.CAP_MEDIA_TYPE)


@router.get(
    "/advisories.atom",
    response_class=Response,
    responses={200: {"content": {cap.ATOM_MEDIA_TYPE: {}}, "description": "An Atom feed"}},
)
async def advisories_feed(
    request: Request, session: SessionDep, actor: Reader, settings: SettingsDep
) -> Response:
    """An Atom index of the latest advisory of every crisis not closed, newest first, each
    entry linking its CAP alert (the form national alert hubs pull). It takes a token like
    every route: a public mirror of it is a deployment's choice."""
    base = str(request.base_url).rstrip("/")
    body = cap.feed(
        await service.latest_of_open_crises(session),
        base_url=base,
        self_url=str(request.url),
        domain=settings.records_domain,
    )
    return Response(body, media_type=cap.ATOM_MEDIA_TYPE)
