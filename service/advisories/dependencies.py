"""Who reads and writes advisories: the crisis permissions."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends

from service.auth.dependencies import authorize
from service.auth.permissions import Permission
from service.auth.principal import Principal

Reader = Annotated[Principal, Depends(authorize(Permission.CRISES_READ))]
Writer = Annotated[Principal, Depends(authorize(Permission.CRISES_WRITE))]
