"""The public safe-and-well search page (``/safe-and-well``): what a family at home opens, with
no account. The same search as ``POST /api/v1/safe-and-well/search``, rate-limited per address,
answering "listed" or "no listing found" and nothing else. Server-rendered, no script."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse
from jinja2 import Environment, PackageLoader, select_autoescape
from pydantic import ValidationError

from service.auth.permissions import Role
from service.auth.principal import Principal
from service.deps import SessionDep
from service.errors import InvalidInput, RateLimited
from service.family_links.dependencies import run_search
from service.family_links.schemas import SearchCreate
from service.registry.dependencies import ProtectorDep

router = APIRouter(include_in_schema=False)

_templates = Environment(
    loader=PackageLoader("service.family_links", "templates"),
    autoescape=select_autoescape(["html"]),
)
#: Who searches from the public page: nobody signed in.
PUBLIC = Principal(organization_id=None, role=Role.VIEWER, channel="public")


def _page(*, status: int = 200, **context: Any) -> HTMLResponse:
    response = HTMLResponse(
        _templates.get_template("safe_and_well.html").render(**context), status_code=status
    )
    # A family's search is nobody else's: never kept by a cache.
    response.headers["Cache-Control"] = "no-store"
    return response


@router.get("/safe-and-well", response_class=HTMLResponse)
async def search_page() -> HTMLResponse:
    return _page()


Field = Annotated[str, Form(max_length=200)]


@router.post("/safe-and-well", response_class=HTMLResponse)
async def search(
    request: Request,
    session: SessionDep,
    protect: ProtectorDep,
    full_name: Field = "",
    birth_date: Field = "",
    phone: Field = "",
    home_town: Field = "",
) -> HTMLResponse:
    try:
        data = SearchCreate(
            full_name=full_name.strip(),
            birth_date=date.fromisoformat(birth_date) if birth_date.strip() else None,
            phone=phone.strip() or None,
            home_town=home_town.strip() or None,
        )
    except (ValidationError, ValueError):
        return _page(
            status=422,
            error="Write the full name (three letters at least) and one fact: a birth date, a "
            "phone number beginning with + and its country code, or a home town.",
        )
    try:
        answer = await run_search(request, session, PUBLIC, data, protect)
    except InvalidInput as exc:
        return _page(status=422, error=exc.detail)
    except RateLimited as exc:
        return _page(status=429, error=exc.detail)
    return _page(answer=answer)
