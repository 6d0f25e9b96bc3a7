"""What the exposure routes take from the request: the caller's permission, the register index."""

from __future__ import annotations

import asyncio
from typing import Annotated

from fastapi import Depends, Request

from service.auth.dependencies import authorize
from service.auth.permissions import Permission
from service.auth.principal import Principal
from service.errors import LifelineError
from service.exposure.index import RegisterIndex
from service.openapi import raises

Reader = Annotated[Principal, Depends(authorize(Permission.EXPOSURE_READ))]
Lister = Annotated[Principal, Depends(authorize(Permission.EXPOSURE_LIST))]


class IndexNotReady(LifelineError):
    status, code, title = 503, "index-not-ready", "The exposure index is still loading"


@raises(503)
async def current_index(request: Request) -> RegisterIndex:
    """The process's index, brought up to date with the register before it answers."""
    index: RegisterIndex = request.app.state.register_index
    try:
        await asyncio.wait_for(index.ready.wait(), timeout=30)
    except TimeoutError as exc:
        raise IndexNotReady("The register is still being loaded; try again in a minute") from exc
    await index.refresh()
    return index


IndexDep = Annotated[RegisterIndex, Depends(current_index)]
