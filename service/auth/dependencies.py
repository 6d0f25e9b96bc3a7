"""The authorisation layer: every API route declares one permission through ``authorize``.

The caller is the bearer of an API token or a person signed in to the console (the session
cookie of ``service.users``): the same ``Principal``, the same table of permissions, the same
scoping in the domain services. A cookie's unsafe request carries the session's CSRF token.
Every request counts against its address's and its token's limits, and a failed
authentication against its address's (``service.auth.limits``).

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
from service.auth.limits import (
    count_failure,
    limit_address,
    limit_principal,
    limits_of,
    refuse_if_throttled,
)
from service.auth.permissions import Permission, allowed
from service.auth.principal import Principal
from service.auth.service import check_token, hash_token
from service.db import session_scope
from service.deps import SessionDep
from service.errors import Forbidden, Unauthenticated
from service.openapi import raises
from service.users.service import (
    CSRF_FIELD,
    CSRF_HEADER,
    SESSION_COOKIE,
    csrf_matches,
    csrf_token,
    session_principal,
)

log = logging.getLogger("lifeline.auth")

_bearer = HTTPBearer(auto_error=False, description="A Lifeline API token: `ll_...`")
PERMISSION_ATTR = "__lifeline_permission__"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


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
        settings = request.app.state.settings
        cookie = request.cookies.get(SESSION_COOKIE)
        limit_address(request)
        limits = limits_of(request)
        bearer = credentials is not None and credentials.scheme.lower() == "bearer"
        token = credentials.credentials if credentials is not None and bearer else None
        digest = hash_token(token) if token is not None else None
        # An address past its failed authentications waits, before any token is looked up,
        # unless the token was found live lately: a token proven good is no guess.
        if digest is None or not limits.proven(digest):
            refuse_if_throttled(request)
        if token is not None and digest is not None:
            check = await check_token(session, token, cache_s=settings.token_cache_s)
            if check.principal is None:
                if check.failure != "revoked":
                    await count_failure(request, "token")
                raise Unauthenticated("The token is unknown or revoked")
            principal = check.principal
            limits.proved(digest)
        elif cookie and credentials is None:
            principal = await _session_principal(request, session, cookie)
        else:
            if request.headers.get("authorization"):
                # A scheme other than Bearer, or no credentials after it: a failure all the same.
                await count_failure(request, "scheme")
            raise Unauthenticated()
        limit_principal(request, principal)
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
    return raises(401, 403, 429)(dependency)


async def _session_principal(request: Request, session: SessionDep, cookie: str) -> Principal:
    """The person of a console session; an unsafe method needs the session's CSRF token, in
    the ``X-CSRF-Token`` header (htmx, fetch) or the ``csrf_token`` field of a form."""
    settings = request.app.state.settings
    live = await session_principal(session, cookie, idle_s=settings.session_idle_s)
    if live is None:
        raise Unauthenticated("The session has ended: sign in again")
    secret = settings.blind_index_key
    if request.method not in SAFE_METHODS:
        given = request.headers.get(CSRF_HEADER)
        if given is None and request.headers.get("content-type", "").startswith(
            ("application/x-www-form-urlencoded", "multipart/form-data")
        ):
            field = (await request.form()).get(CSRF_FIELD)
            given = field if isinstance(field, str) else None
        if not csrf_matches(live.row.token_hash, secret, given):
            raise Forbidden("The request lacks the CSRF token of this session (X-CSRF-Token)")
    # For the console's pages: the token their forms and htmx requests carry.
    request.state.csrf_token = csrf_token(live.row.token_hash, secret)
    return live.principal


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


#: Marks the dependency of a route that a provider calls (an SMS gateway's callbacks): no token,
#: the provider's signature of the request instead, checked by that dependency.
SIGNED_ATTR = "__lifeline_signed_by_provider__"


def signed_by_provider(dependency: Callable[..., Any]) -> Callable[..., Any]:
    """Declare that ``dependency`` guards its route by checking the provider's signature."""
    setattr(dependency, SIGNED_ATTR, True)
    return dependency


def route_signed(route: APIRoute) -> bool:
    """Whether a route is guarded by a provider's signature rather than by a permission."""
    stack: list[Any] = [route.dependant]
    while stack:
        dependant = stack.pop()
        if getattr(dependant.call, SIGNED_ATTR, False):
            return True
        stack.extend(dependant.dependencies)
    return False


def check_every_route_is_guarded(routes: Sequence[tuple[str, APIRoute]]) -> None:
    """Refuse to build an app in which an API route declares no permission (or, for a route a
    provider calls, no check of its signature)."""
    unguarded = [
        f"{sorted(route.methods or ())} {path}"
        for path, route in routes
        if route_permission(route) is None and not route_signed(route)
    ]
    if unguarded:
        raise RuntimeError(f"API routes without a permission: {', '.join(unguarded)}")
