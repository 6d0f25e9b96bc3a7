"""What the directory routes take from the request: permissions, the organisation named."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends

from service.auth.dependencies import authorize
from service.auth.permissions import Permission
from service.auth.principal import Principal
from service.deps import SessionDep
from service.directory.models import Organization
from service.directory.service import get_organization
from service.openapi import raises

Reader = Annotated[Principal, Depends(authorize(Permission.DIRECTORY_READ))]
Writer = Annotated[Principal, Depends(authorize(Permission.DIRECTORY_WRITE))]


@raises(404)
async def organization_in_path(id: str, session: SessionDep) -> Organization:
    """The organisation ``{id}`` names, by id or by slug."""
    return await get_organization(session, ref=id)


OrganizationDep = Annotated[Organization, Depends(organization_in_path)]
