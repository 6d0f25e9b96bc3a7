"""Every export, in every format, as every role: a role without the route's permission is
refused; what the others receive holds no documentation status, whoever asks (an admin
included), and no worker's name for those outside need-to-know (viewers, integrations, and
any role of an employer, a recruitment agency or a host authority).

The exports are those of ``test_security_csv.CASES`` (each table download, asked again as each
role and in each format it offers) and the crisis's other files (map, sitrep, HXL, JSON
counts), on the data those cases write: workers with a documentation status and a family name
that must never leak."""

from __future__ import annotations

import io

import httpx
import openpyxl
import pypdf
from fastapi import FastAPI

from service.app import api_routes
from service.auth.dependencies import route_permission
from service.auth.permissions import Permission, Role, allowed
from service.directory.models import OrgKind
from service.exports import xlsx
from tests.conftest import OrgFactory, TokenFactory, bearer
from tests.service.exports.test_security_csv import (
    CASES,
    DOCUMENTATION_STATUS,
    FAMILY_NAME,
    LAST_CRISIS,
    NO_XLSX,
    csv_routes,
)

#: The crisis's files beside its tables, in each of their formats (and asked how).
CRISIS_FILES: dict[str, tuple[list[str], dict[str, str]]] = {
    "/api/v1/crises/{id}/map": (["geojson", "kml", "gpkg"], {}),
    "/api/v1/crises/{id}/map?people": (["geojson", "kml", "gpkg"], {"people": "true"}),
    "/api/v1/crises/{id}/sitrep": (["pdf", "html"], {}),
    "/api/v1/crises/{id}/sitrep?language": (["pdf"], {"language": "tl"}),
    "/api/v1/crises/{id}/exposure": (["json", "hxl"], {}),
    "/api/v1/crises/{id}/welfare-counts": (["json", "hxl"], {}),
}


def text_of(answer: httpx.Response) -> str:
    """Everything a reader of the file sees, as text."""
    kind = answer.headers.get("content-type", "")
    if kind.startswith(xlsx.MEDIA_TYPE):
        book = openpyxl.load_workbook(io.BytesIO(answer.content))
        return "\n".join(
            str(c.value) for sheet in book.worksheets for row in sheet.iter_rows() for c in row
        )
    if kind.startswith("application/pdf"):
        pages = pypdf.PdfReader(io.BytesIO(answer.content)).pages
        return "\n".join(page.extract_text() for page in pages)
    # GeoPackage is SQLite: its text is stored as UTF-8.
    return answer.content.decode("utf-8", errors="ignore")


async def who(make_org: OrgFactory, make_token: TokenFactory) -> dict[str, tuple[Role, str, bool]]:
    """Each caller: role, token, and whether they may read the cases' workers' names (they are
    Filipino workers in Portugal, who agreed to no sharing)."""
    embassy = await make_org(OrgKind.EMBASSY, "PRT", "PHL")
    society = await make_org(OrgKind.NATIONAL_SOCIETY, "PRT")
    employer = await make_org(OrgKind.EMPLOYER, "PRT")
    agency = await make_org(OrgKind.RECRUITMENT_AGENCY, "PRT")
    host = await make_org(OrgKind.HOST_AUTHORITY, "PRT")
    callers = {
        "admin": (Role.ADMIN, await make_token(Role.ADMIN), True),
        "coordinator": (Role.COORDINATOR, await make_token(Role.COORDINATOR), False),
        "consular officer": (
            Role.CONSULAR_OFFICER,
            await make_token(Role.CONSULAR_OFFICER, embassy),
            True,
        ),
        "society responder": (
            Role.SOCIETY_RESPONDER,
            await make_token(Role.SOCIETY_RESPONDER, society),
            False,
        ),
        "viewer": (Role.VIEWER, await make_token(Role.VIEWER), False),
        "integration": (Role.INTEGRATION, await make_token(Role.INTEGRATION), False),
        "employer's coordinator": (
            Role.COORDINATOR,
            await make_token(Role.COORDINATOR, employer),
            False,
        ),
        "agency's admin": (Role.ADMIN, await make_token(Role.ADMIN, agency), False),
        "host authority's viewer": (Role.VIEWER, await make_token(Role.VIEWER, host), False),
    }
    return callers


def permissions(app: FastAPI) -> dict[tuple[str, str], Permission]:
    found = {}
    for path, route in api_routes():
        permission = route_permission(route)
        if permission is not None:
            for method in route.methods or ():
                found[(method, path)] = permission
    return found


async def test_every_export_in_every_format_as_every_role(
    app: FastAPI, client: httpx.AsyncClient, make_org: OrgFactory, make_token: TokenFactory
) -> None:
    asked: list[httpx.Request] = []

    async def keep(response: httpx.Response) -> None:
        if response.headers.get("content-type", "").startswith("text/csv"):
            asked.append(response.request)

    routes = sorted(csv_routes(app))
    client.event_hooks["response"].append(keep)
    try:
        requests: dict[tuple[str, str], httpx.Request] = {}
        for route in routes:
            await CASES[route](client, make_org, make_token)
            requests[route] = asked[-1]
    finally:
        client.event_hooks["response"].remove(keep)
    crisis = LAST_CRISIS[-1]
    needs = permissions(app)
    # Each export as (route, method, url, body, content type): every table in each of its formats.
    exports: list[tuple[tuple[str, str], str, httpx.URL, bytes, str | None]] = []
    for route, request in requests.items():
        formats = ["csv"] if route in NO_XLSX else ["csv", "xlsx"]
        for format in formats:
            url, accept = request.url, None
            if "format" in url.params:
                url = url.copy_set_param("format", "hxl" if route in NO_XLSX else format)
            else:
                accept = "text/csv" if format == "csv" else xlsx.MEDIA_TYPE
            exports.append((route, request.method, url, request.content, accept))
    for asked_as, (formats, params) in CRISIS_FILES.items():
        path = asked_as.split("?")[0]
        url = httpx.URL(path.replace("{id}", crisis), params=params)
        for format in formats:
            exports.append((("GET", path), "GET", url.copy_set_param("format", format), b"", None))
    callers = await who(make_org, make_token)
    seen, names_read = 0, 0
    for route, method, url, body, accept in exports:
        permission = needs[route]
        for name, (role, token, reads_names) in callers.items():
            headers = bearer(token)
            if body:
                headers["content-type"] = "application/json"
            if accept:
                headers["accept"] = accept
            answer = await client.request(method, url, content=body, headers=headers)
            where = (name, method, str(url), accept)
            if not allowed(role, permission):
                assert answer.status_code == 403, (*where, answer.status_code)
                continue
            if name == "admin":
                assert answer.status_code == 200, (*where, answer.text[:300])
            if answer.status_code != 200:
                # A domain rule on top of the permission (a society's own country, a post's
                # nationals): a problem, never a file.
                assert answer.status_code in {403, 404}, (*where, answer.status_code)
                assert answer.headers["content-type"] == "application/problem+json", where
                continue
            seen += 1
            text = text_of(answer)
            assert DOCUMENTATION_STATUS not in text, where
            assert "documentation_status" not in text, where
            if not reads_names:
                assert FAMILY_NAME not in text, where
            names_read += FAMILY_NAME in text
    # Every export answered somebody; the names are there for those who may read them (the
    # lists of people, asked by an admin), so their absence elsewhere means something.
    assert seen >= len(exports) > 30
    assert names_read >= 4
