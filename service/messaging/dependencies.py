"""What the messaging routes take from the request: the reader's permission."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends

from service.auth.dependencies import authorize
from service.auth.permissions import Permission
from service.auth.principal import Principal

Reader = Annotated[Principal, Depends(authorize(Permission.MESSAGES_READ))]
Pusher = Annotated[Principal, Depends(authorize(Permission.MESSAGES_PUSH))]
