"""``/api/v1/organizations``: the directory."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query, Response, status

from service.auth.dependencies import authorize
from service.auth.permissions import Permission
from service.auth.principal import Principal
from service.countries import CountryCode
from service.deps import SessionDep, send_etag
from service.directory import service
from service.directory.models import OrgKind
from service.directory.schemas import OrganizationCreate, OrganizationPublic
from service.pagination import CursorParam, LimitParam, Page, decode_cursor, encode_cursor

router = APIRouter(prefix="/organizations", tags=["directory"])

Reader = Annotated[Principal, Depends(authorize(Permission.DIRECTORY_READ))]
Writer = Annotated[Principal, Depends(authorize(Permission.DIRECTORY_WRITE))]


@router.post(
    "",
    response_model=OrganizationPublic,
    status_code=status.HTTP_201_CREATED,
    responses={200: {"description": "The same organisation was already registered"}},
)
async def create_organization(
    data: OrganizationCreate, session: SessionDep, actor: Writer, response: Response
) -> OrganizationPublic:
    org, created = await service.create_organization(session, actor=actor, data=data)
    if not created:
        response.status_code = status.HTTP_200_OK
    return OrganizationPublic.model_validate(org)


@router.get("", response_model=Page[OrganizationPublic])
async def list_organizations(
    session: SessionDep,
    actor: Reader,
    limit: LimitParam = 50,
    cursor: CursorParam = None,
    kind: OrgKind | None = None,
    country: Annotated[CountryCode | None, Query()] = None,
    represents: Annotated[CountryCode | None, Query()] = None,
) -> Page[OrganizationPublic]:
    after = decode_cursor(cursor)
    rows = await service.list_organizations(
        session,
        limit=limit + 1,
        after_id=str(after) if after is not None else None,
        kind=kind.value if kind else None,
        country=country,
        represents=represents,
    )
    items = [OrganizationPublic.model_validate(o) for o in rows[:limit]]
    next_cursor = encode_cursor(items[-1].id) if len(rows) > limit else None
    return Page[OrganizationPublic](items=items, next_cursor=next_cursor)


@router.get("/{id}", response_model=OrganizationPublic)
async def get_organization(
    id: str, session: SessionDep, actor: Reader, response: Response
) -> OrganizationPublic:
    org = await service.get_organization(session, ref=id)
    send_etag(response, org.version)
    return OrganizationPublic.model_validate(org)
