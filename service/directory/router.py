"""``/api/v1/organizations``: the directory."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Response, status

from service.countries import CountryCode
from service.deps import SessionDep, send_etag
from service.directory import service
from service.directory.dependencies import OrganizationDep, Reader, Writer
from service.directory.models import OrgKind
from service.directory.schemas import OrganizationCreate, OrganizationPublic
from service.pagination import CursorParam, LimitParam, Page

router = APIRouter(prefix="/organizations", tags=["directory"])


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
    page = await service.list_organizations(
        session,
        limit=limit,
        cursor=cursor,
        kind=kind.value if kind else None,
        country=country,
        represents=represents,
    )
    items = [OrganizationPublic.model_validate(o) for o in page.items]
    return Page[OrganizationPublic](items=items, next_cursor=page.next_cursor)


@router.get("/{id}", response_model=OrganizationPublic)
async def get_organization(
    actor: Reader, org: OrganizationDep, response: Response
) -> OrganizationPublic:
    send_etag(response, org.version)
    return OrganizationPublic.model_validate(org)
