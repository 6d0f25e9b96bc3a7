"""What the crisis and playbook routes take from the request: the caller's permission, the
crisis or playbook of the path."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends

from playbooks.loader import load_library
from playbooks.schema import Playbook
from service.auth.dependencies import authorize
from service.auth.permissions import Permission
from service.auth.principal import Principal
from service.crises.models import Crisis
from service.crises.service import get_crisis
from service.deps import SessionDep
from service.errors import NotFound
from service.openapi import raises

Reader = Annotated[Principal, Depends(authorize(Permission.CRISES_READ))]
Writer = Annotated[Principal, Depends(authorize(Permission.CRISES_WRITE))]


@raises(404)
async def crisis_in_path(id: str, session: SessionDep) -> Crisis:
    """The crisis ``{id}`` names, or the 404."""
    return await get_crisis(session, id)


@raises(404)
async def playbook_in_path(key: str) -> Playbook:
    """The playbook of the library that ``{key}`` names."""
    found = next((p for p in load_library() if p.key == key), None)
    if found is None:
        raise NotFound(f"No playbook {key!r}")
    return found


#: The crisis of the path. A dependency runs before the body is read: a route with a body (or
#: query parameters) looks the crisis up itself, so that bad input stays a 422 before a 404.
CrisisDep = Annotated[Crisis, Depends(crisis_in_path)]
PlaybookDep = Annotated[Playbook, Depends(playbook_in_path)]
