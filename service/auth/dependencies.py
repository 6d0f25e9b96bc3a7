"""The authorisation layer: every API route declares one permission through ``authorize``.

``create_app`` refuses to start if a route under ``/api`` lacks it, so a new route cannot
slip through unguarded; a test calls every route with every role.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Sequence
from typing import Annotated, Any

from fastapi import Depends, Request
from fastapi.routing import APIRoute
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from service.audit.service import record
from service.auth.permissions import Permission, allowed
from service.auth.principal import Principal
from service.auth.service import authenticate
from service.db import session_scope
from service.deps import SessionDep
from service.errors import Forbidden, Unauthenticated
from service.openapi import raises

log = logging.getLogger("lifeline.auth")

_bearer = HTTPBearer(auto_error=False, description="A Lifeline API token: `ll_...`")
PERMISSION_ATTR = "__lifeline_permission__"


def authorize(permission: Permission) -> Callable[..., Awaitable[Principal]]:
    """A dependency that authenticates the caller and checks ``permission``.

    Every allowed call is written to the audit log in the request's own transaction; a denied
    one in a transaction of its own (the request's is rolled back).
    """

    async def dependency(
        request: Request,
        session: SessionDep,
        credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
    ) -> Principal:
        if credentials is None or credentials.scheme.lower() != "bearer":
            raise Unauthenticated()
        principal = await authenticate(
            session, credentials.credentials, cache_s=request.app.state.settings.token_cache_s
        )
        if principal is None:
            raise Unauthenticated("The token is unknown or revoked")
        action = _action_name(request)
        subject_id = _subject_id(request)
        if not allowed(principal.role, permission):
            async with session_scope(request.app.state.sessionmaker) as own:
                record(
                    own,
                    actor=principal,
                    action=action,
                    outcome="denied",
                    subject_id=subject_id,
                    detail={"permission": permission.value},
                )
            raise Forbidden(f"The role {principal.role.value} may not do this ({permission.value})")
        record(
            session,
            actor=principal,
            action=action,
            subject_id=subject_id,
            detail={"method": request.method, "path": request.url.path},
        )
        return principal

    setattr(dependency, PERMISSION_ATTR, permission)
    return raises(401, 403)(dependency)


def _action_name(request: Request) -> str:
    route = request.scope.get("route")
    name = getattr(route, "name", None)
    return f"api.{name}" if name else f"api.{request.method.lower()}"


def _subject_id(request: Request) -> str | None:
    value = request.path_params.get("id")
    return str(value)[:64] if value is not None else None


def route_permission(route: APIRoute) -> Permission | None:
    """The permission a route declares, found anywhere in its dependency tree."""
    stack: list[Any] = [route.dependant]
    while stack:
        dependant = stack.pop()
        permission = getattr(dependant.call, PERMISSION_ATTR, None)
        if permission is not None:
            return permission  # type: ignore[no-any-return]
        stack.extend(dependant.dependencies)
    return None


def check_every_route_is_guarded(routes: Sequence[tuple[str, APIRoute]]) -> None:
    """Refuse to build an app in which an API route declares no permission."""
    unguarded = [
        f"{sorted(route.methods or ())} {path}"
        for path, route in routes
        if route_permission(route) is None
    ]
    if unguarded:
        raise RuntimeError(f"API routes without a permission: {', '.join(unguarded)}")
