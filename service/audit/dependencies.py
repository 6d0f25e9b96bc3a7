"""What the audit routes take from the request: the permission to read the log."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends

from service.auth.dependencies import authorize
from service.auth.permissions import Permission
from service.auth.principal import Principal

Auditor = Annotated[Principal, Depends(authorize(Permission.AUDIT_READ))]
