"""``/``, ``/docs`` and ``/redoc``: what this service is, and its documentation, served offline.

Swagger UI and ReDoc come from the ``fastapi-offline`` package (its ``static/`` folder: Swagger
UI 5, Apache-2.0; ReDoc 2, MIT), served under ``/docs/assets``: a deployment without internet
access shows its documentation, and no page asks a CDN or a font host for anything. ReDoc's
bundle is served with one change: the Redocly logo of its menu, which it loads from Redocly's CDN,
is an empty image (ReDoc hides a logo that does not load).
"""

from __future__ import annotations

import html
from functools import cache
from importlib.resources import files
from importlib.resources.abc import Traversable
from typing import Any

from fastapi import APIRouter, FastAPI, Request
from fastapi.openapi.docs import get_redoc_html, get_swagger_ui_html
from fastapi.responses import HTMLResponse, JSONResponse, Response
from fastapi.staticfiles import StaticFiles

from service import __version__

router = APIRouter(tags=["service"])

ASSETS = "/docs/assets"
SUMMARY = "Crisis response coordination for migrant workers"
#: Where a newcomer goes from ``/``: (path, what it is).
LINKS: tuple[tuple[str, str], ...] = (
    ("/safe-and-well", "Is my relative safe and well? The families' search, no account needed"),
    ("/docs", "API documentation (Swagger UI): try each operation with your token"),
    ("/redoc", "API documentation (ReDoc), for reading"),
    ("/openapi.json", "The OpenAPI document"),
    ("/healthz", "Liveness: the process answers"),
    ("/readyz", "Readiness: the database, the migrations and the exposure index"),
)
#: ``/`` loads nothing and runs nothing: the strictest policy fits it.
INDEX_POLICY = "default-src 'none'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
REDOC_JS = "redoc.standalone.js"
#: The one file ReDoc's bundle asks another host for, and what it gets instead.
REDOC_LOGO = (b"https://cdn.redoc.ly/redoc/logo-mini.svg", b"data:,")

_INDEX_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["name", "summary", "version", "api", "links"],
    "properties": {
        "name": {"type": "string"},
        "summary": {"type": "string"},
        "version": {"type": "string"},
        "api": {"type": "string", "description": "Where the API's paths start"},
        "links": {
            "type": "array",
            "items": {
                "type": "object",
                "required": ["href", "title"],
                "properties": {"href": {"type": "string"}, "title": {"type": "string"}},
            },
        },
    },
}


def _wants_json(request: Request) -> bool:
    accept = request.headers.get("accept", "").lower()
    return "application/json" in accept and "text/html" not in accept


def _index_html(root: str) -> str:
    items = "\n".join(
        f'      <li><a href="{html.escape(root + path)}">{html.escape(path)}</a>: '
        f"{html.escape(title)}</li>"
        for path, title in LINKS
    )
    return f"""<!DOCTYPE html>
<html lang="en">
  <head>
    <meta charset="utf-8">
    <meta name="viewport" content="width=device-width, initial-scale=1">
    <title>Lifeline</title>
  </head>
  <body>
    <h1>Lifeline</h1>
    <p>{html.escape(SUMMARY)}: which registered migrant workers are in a hazard zone, of which
      nationalities, and what each embassy, national society and ministry must do about it.</p>
    <p>The API is under <code>{html.escape(root)}/api/v1</code>; every call takes a token
      (<code>Authorization: Bearer ll_...</code>) issued by an administrator. Version
      {html.escape(__version__)}.</p>
    <ul>
{items}
    </ul>
  </body>
</html>
"""


@router.get(
    "/",
    response_class=HTMLResponse,
    summary="What this service is, and where to go",
    responses={
        200: {
            "description": "A page (HTML), or with `Accept: application/json` the same as JSON",
            "content": {
                "text/html": {"schema": {"type": "string"}},
                "application/json": {"schema": _INDEX_SCHEMA},
            },
        }
    },
)
async def index(request: Request) -> Response:
    root: str = request.scope.get("root_path", "")
    headers = {"Vary": "Accept"}
    if _wants_json(request):
        return JSONResponse(
            {
                "name": "Lifeline",
                "summary": SUMMARY,
                "version": __version__,
                "api": root + "/api/v1",
                "links": [{"href": root + path, "title": title} for path, title in LINKS],
            },
            headers=headers,
        )
    return HTMLResponse(
        _index_html(root), headers={**headers, "Content-Security-Policy": INDEX_POLICY}
    )


def _static() -> Traversable:
    return files("fastapi_offline") / "static"


def _in_english(page: HTMLResponse) -> HTMLResponse:
    """FastAPI's documentation pages name no language: a screen reader would guess one."""
    body = bytes(page.body).replace(b"<html>", b'<html lang="en">', 1)
    return HTMLResponse(body, status_code=page.status_code)


@router.get("/docs", include_in_schema=False)
async def swagger_ui(request: Request) -> HTMLResponse:
    root: str = request.scope.get("root_path", "")
    return _in_english(
        get_swagger_ui_html(
            openapi_url=root + request.app.openapi_url,
            title="Lifeline API",
            swagger_js_url=f"{root}{ASSETS}/swagger-ui-bundle.js",
            swagger_css_url=f"{root}{ASSETS}/swagger-ui.css",
            swagger_favicon_url=f"{root}{ASSETS}/favicon.png",
            # No OAuth2 here (bearer tokens), and no badge fetched from the public validator.
            oauth2_redirect_url=None,
            swagger_ui_parameters={"validatorUrl": None, "persistAuthorization": False},
        )
    )


@router.get("/redoc", include_in_schema=False)
async def redoc(request: Request) -> HTMLResponse:
    root: str = request.scope.get("root_path", "")
    return _in_english(
        get_redoc_html(
            openapi_url=root + request.app.openapi_url,
            title="Lifeline API",
            redoc_js_url=f"{root}{ASSETS}/{REDOC_JS}",
            redoc_favicon_url=f"{root}{ASSETS}/favicon.png",
            with_google_fonts=False,
        )
    )


@cache
def _redoc_bundle() -> bytes:
    bundle = (_static() / REDOC_JS).read_bytes()
    cdn, instead = REDOC_LOGO
    if cdn not in bundle:
        raise RuntimeError(f"{REDOC_JS} changed: look again at what it loads from elsewhere")
    return bundle.replace(cdn, instead)


# Before the folder is mounted, so this route answers for the file rather than the folder.
@router.get(f"{ASSETS}/{REDOC_JS}", include_in_schema=False)
async def redoc_bundle() -> Response:
    return Response(
        _redoc_bundle(),
        media_type="text/javascript; charset=utf-8",
        headers={"Cache-Control": "public, max-age=3600"},
    )


def install_docs(app: FastAPI) -> None:
    """The pages and the files they load. Build the app with ``docs_url=None, redoc_url=None``:
    FastAPI's own pages load their files from a CDN."""
    app.include_router(router)
    app.mount(ASSETS, StaticFiles(directory=str(_static())), name="docs-assets")
