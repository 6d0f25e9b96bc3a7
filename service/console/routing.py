"""How console pages answer: a refusal in words, or the way to sign in; their router."""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from typing import Any
from urllib.parse import quote

from fastapi import APIRouter, Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.responses import RedirectResponse
from fastapi.routing import APIRoute

from service.console.render import error_page
from service.errors import LifelineError, Unauthenticated

SIGN_IN = "/console/sign-in"


def sign_in_url(request: Request) -> str:
    """The sign-in page, told where to come back to."""
    target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    return f"{SIGN_IN}?next={quote(target, safe='')}"


class ConsoleRoute(APIRoute):
    """A console page: an unauthenticated caller is sent to sign in (303), and every other refusal
    (403, 404, 412, 422...) is a page that says it in words, with its status, not a problem
    document. The request's transaction has been rolled back when it gets here."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def console_handler(request: Request) -> Response:
            try:
                return await handler(request)
            except Unauthenticated:
                if request.headers.get("HX-Request"):
                    return Response(status_code=401, headers={"HX-Redirect": sign_in_url(request)})
                return RedirectResponse(sign_in_url(request), status_code=303)
            except LifelineError as exc:
                page = error_page(request, exc.status, exc.title, exc.detail)
                # What the refusal says beside its words (a 429's Retry-After).
                page.headers.update(exc.headers)
                return page
            except RequestValidationError as exc:
                said = "; ".join(
                    f"{'.'.join(str(p) for p in e.get('loc', ())[1:])}: {e.get('msg')}"
                    for e in exc.errors()
                )
                return error_page(request, 422, "The input is not valid", said)

        return console_handler


def console_router(prefix: str = "") -> APIRouter:
    """A router of console pages, out of the OpenAPI document (it is no part of the API)."""
    return APIRouter(prefix="/console" + prefix, route_class=ConsoleRoute, include_in_schema=False)
