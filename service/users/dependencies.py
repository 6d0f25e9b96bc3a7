"""Who may manage people's accounts, and the console's CSRF token of a request."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from service.auth.dependencies import authorize
from service.auth.permissions import Permission
from service.auth.principal import Principal
from service.users.service import SESSION_COOKIE, csrf_token, hash_session

Manager = Annotated[Principal, Depends(authorize(Permission.USERS_MANAGE))]


def csrf_token_of(request: Request) -> str | None:
    """The CSRF token of the request's console session, for a page's forms (``csrf_token``)
    and its htmx requests (``X-CSRF-Token``); None without a session cookie."""
    cookie = request.cookies.get(SESSION_COOKIE)
    if not cookie:
        return None
    return csrf_token(hash_session(cookie), request.app.state.settings.blind_index_key)
