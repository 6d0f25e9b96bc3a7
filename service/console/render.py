"""Rendering console pages: the Jinja2 environment, the layout's context, the security headers."""

from __future__ import annotations

import re
from datetime import datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from fastapi import Request
from fastapi.responses import HTMLResponse
from jinja2 import Environment, FileSystemLoader, select_autoescape
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from geo.admin import AdminAreas
from service.auth.principal import Principal
from service.console.registry import navigation

HERE = Path(__file__).parent
STATIC = HERE / "static"


def security_headers(tiles_url: str | None = None) -> dict[str, str]:
    """Every console answer's headers, pages and static files alike: nothing from another host
    (but the deployment's map tiles, when it has some), no inline script or style, never in a
    frame."""
    images = "'self' data:"
    if tiles_url:
        # Leaflet's ``{s}`` subdomains become a wildcard.
        parts = urlsplit(tiles_url.replace("{s}", "*"))
        images += f" {parts.scheme}://{parts.netloc}"
    return {
        "Content-Security-Policy": (
            f"default-src 'self'; img-src {images}; object-src 'none'; base-uri 'self'; "
            "form-action 'self'; frame-ancestors 'none'"
        ),
        "X-Content-Type-Options": "nosniff",
        "Referrer-Policy": "same-origin",
        "X-Frame-Options": "DENY",
    }


def country_name(code: str | None) -> str:
    """A country by its name (``IDN`` → ``Indonesia``); the code only when the data has none."""
    if not code:
        return "unknown"
    return AdminAreas.load().country_name(code) or code


def admin1_name(code: str | None, names: dict[str, str] | None = None) -> str:
    """A province by its name (``MY-01`` → ``Johor``)."""
    if not code or code == "unknown":
        return "unknown province"
    return (names or {}).get(code) or AdminAreas.load().admin1_name(code) or "unnamed province"


def when(value: datetime | str | None) -> str:
    """An instant as people read it: ``2 Dec 2026, 16:07 UTC``."""
    if value is None:
        return "—"
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    return f"{value.day} {value:%b %Y, %H:%M} UTC"


def words(value: Any) -> str:
    """An enumeration's value in words: ``in_progress`` → ``in progress``."""
    return str(getattr(value, "value", value)).replace("_", " ")


def without_addresses(text: str) -> str:
    """A message with the addresses in it cut to their host (``https://x.org/a`` → ``x.org``):
    the page links nowhere outside."""
    return re.sub(r"https?://([^/\s]+)\S*", r"\1", text)


env = Environment(
    loader=FileSystemLoader(HERE / "templates"),
    autoescape=select_autoescape(default=True, default_for_string=True),
    trim_blocks=True,
    lstrip_blocks=True,
)
env.filters.update(
    country=country_name,
    admin1=admin1_name,
    when=when,
    words=words,
    without_addresses=without_addresses,
)


def layout_context(request: Request, actor: Principal | None) -> dict[str, Any]:
    """What the layout shows: who is signed in, the navigation they may follow, the CSRF token."""
    sections = getattr(request.app.state, "console_sections", ())
    return {
        "request": request,
        "actor": actor,
        "nav": navigation(sections, actor.role) if actor else [],
        "csrf_token": getattr(request.state, "csrf_token", None),
        "person": getattr(request.state, "person_name", None),
        "path": request.url.path,
    }


def render(
    request: Request,
    actor: Principal | None,
    template: str,
    *,
    status_code: int = 200,
    **context: Any,
) -> HTMLResponse:
    page = env.get_template(template).render(**layout_context(request, actor), **context)
    return HTMLResponse(page, status_code=status_code)


def error_page(request: Request, status: int, title: str, detail: str) -> HTMLResponse:
    """A refusal in words, with its status (the layout without navigation: the caller may not be
    known)."""
    return render(
        request, None, "error.html", status_code=status, status=status, title=title, detail=detail
    )


class SecurityHeaders:
    """Adds ``security_headers`` to every answer under ``/console``, and to the public
    safe-and-well page (``/safe-and-well``), drawn with the console's stylesheet."""

    def __init__(self, app: ASGIApp, tiles_url: str | None = None) -> None:
        self.app = app
        self.headers = [
            (k.lower().encode(), v.encode()) for k, v in security_headers(tiles_url).items()
        ]

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not str(scope.get("path", "")).startswith(
            ("/console", "/safe-and-well")
        ):
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                present = {k.lower() for k, _ in headers}
                headers.extend(h for h in self.headers if h[0] not in present)
                message["headers"] = headers
            await send(message)

        await self.app(scope, receive, send_with_headers)
