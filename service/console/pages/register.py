"""Register pages: search the people the caller may read, one person's record, and the import of
a CSV or XLSX file (the API's import, ``service.registry.bulk``) with its rejected rows in words
and as CSV."""

from __future__ import annotations

import json
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import File, Form, Query, Request, UploadFile
from fastapi.responses import HTMLResponse, Response

from service.audit.service import record
from service.auth.permissions import Permission, allowed
from service.console.registry import NavEntry, Section
from service.console.render import render
from service.console.routing import console_router
from service.deps import SessionDep
from service.errors import InvalidInput
from service.exports import csv as csv_export
from service.registry import access, bulk, service
from service.registry.bulk import REQUIRED_COLUMNS
from service.registry.dependencies import (
    LocatorDep,
    ProtectorDep,
    Reader,
    Writer,
    rate_limit,
)
from service.registry.protect import fold
from service.registry.rows import CELL_FIELDS

router = console_router("/register")

#: Records a search page scans: names are sealed, so a name is looked for among the decrypted
#: names of at most this many permitted records per page (docs/console.md, "Name search").
SCAN = 200
#: Columns of the template file, the required ones first.
TEMPLATE_COLUMNS = (*REQUIRED_COLUMNS, *(c for c in CELL_FIELDS if c not in REQUIRED_COLUMNS))
#: How to fix a rejected row, by the column its reason names.
HOW_TO_FIX = {
    "nationality": "give the ISO 3166-1 alpha-3 code of the worker's nationality (IDN, PHL...)",
    "lat": "give the latitude in decimal degrees (-90 to 90)",
    "lon": "give the longitude in decimal degrees (-180 to 180)",
    "lat/lon": "give both lat and lon in decimal degrees",
    "country": "give the ISO alpha-3 code of the country the worker is in, or leave it empty",
    "birth_date": "write the birth date as YYYY-MM-DD",
    "sex": "write female, male, other or leave it empty",
    "documentation_status": "leave documentation_status empty: only the worker's own consular "
    "officers may record it",
    "phone": "write the phone number in international form (+60...)",
}


def _name_holds(person: dict[str, Any], wanted: str) -> bool:
    name = f"{person.get('given_name') or ''} {person.get('family_name') or ''}"
    folded = fold(name)
    return all(token in folded for token in fold(wanted).split())


@router.get("", response_class=HTMLResponse, name="console.register")
async def search(
    request: Request,
    session: SessionDep,
    actor: Reader,
    protect: ProtectorDep,
    cursor: Annotated[str | None, Query(max_length=200)] = None,
    nationality: Annotated[str | None, Query(max_length=3)] = None,
    country: Annotated[str | None, Query(max_length=3)] = None,
    admin1: Annotated[str | None, Query(max_length=20)] = None,
    name: Annotated[str | None, Query(max_length=100)] = None,
) -> HTMLResponse:
    """The people the caller may read, filtered; each page audited as the API's list is."""
    rate_limit(request, actor)
    codes = {}
    for key, value in (("nationality", nationality), ("country", country)):
        if value:
            if len(value) != 3 or not value.isalpha():
                raise InvalidInput(f"{key}: give a three-letter country code (IDN, MYS...)")
            codes[key] = value.upper()
    page = await service.list_workers(
        session,
        actor=actor,
        limit=SCAN if name else 50,
        cursor=cursor,
        nationality=codes.get("nationality"),
        country=codes.get("country"),
        admin1=admin1 or None,
    )
    people = []
    for worker in page.items:
        fields = access.visible_fields(actor, worker)
        assert fields is not None  # the query applied the same rule
        people.append(service.present(worker, fields, protect))
    if name:
        people = [p for p in people if _name_holds(p, name)]
    record(
        session,
        actor=actor,
        action="worker.list",
        subject_type="worker",
        detail={"ids": [p["id"] for p in people], "name_search": bool(name)},
    )
    asked = {
        "nationality": nationality or "",
        "country": country or "",
        "admin1": admin1 or "",
        "name": name or "",
    }
    return render(
        request,
        actor,
        "register.html",
        people=people,
        asked=asked,
        query=urlencode({k: v for k, v in asked.items() if v}),
        next_cursor=page.next_cursor,
        cursor=cursor,
        scanned=len(page.items),
        scan=SCAN,
        may_import=allowed(actor.role, Permission.WORKERS_WRITE),
    )


@router.get("/import", response_class=HTMLResponse, name="console.register_import")
async def import_form(request: Request, actor: Writer) -> HTMLResponse:
    return render(request, actor, "register_import.html", result=None, problem=None)


@router.get("/import/template.csv", name="console.register_template")
async def import_template(actor: Writer) -> Response:
    """An empty file with the import's columns, the required ones first."""
    return csv_export.response(TEMPLATE_COLUMNS, [], "workers-import-template.csv")


def explain(errors: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Each rejected row: its number, the column at fault, what is wrong, how to fix it."""
    out = []
    for e in errors:
        for part in str(e["msg"]).split("; "):
            column, sep, what = part.partition(": ")
            if not sep or " " in column:
                column, what = "", part
            fix = HOW_TO_FIX.get(column) or (
                f"correct the {column} cell and import the file again"
                if column
                else "correct the row and import the file again"
            )
            out.append({"row": e["row"], "column": column, "what": what, "fix": fix})
    return out


@router.post("/import", response_class=HTMLResponse, name="console.register_import_run")
async def run_import(
    request: Request,
    session: SessionDep,
    actor: Writer,
    protect: ProtectorDep,
    locate: LocatorDep,
    file: Annotated[UploadFile, File()],
    csrf_token: Annotated[str, Form()] = "",
) -> HTMLResponse:
    """The import of ``POST /api/v1/workers/import``, in the request: the page answers when the
    whole file is done, with its counts and the rejected rows."""
    template = "_register_result.html" if request.headers.get("HX-Request") else None
    content = bulk.within_limit(await file.read(bulk.MAX_IMPORT_BYTES + 1))
    try:
        report = await bulk.import_workers(
            session,
            actor=actor,
            protector=protect,
            locator=locate,
            content=content,
            filename=file.filename or "",
        )
    except InvalidInput as exc:
        return render(
            request,
            actor,
            template or "register_import.html",
            status_code=422,
            result=None,
            problem=exc.detail,
        )
    rejected = explain(report.errors)
    return render(
        request,
        actor,
        template or "register_import.html",
        result=report,
        rejected=rejected,
        rejected_json=json.dumps(rejected),
        problem=None,
    )


@router.post("/import/rejected.csv", name="console.register_rejected")
async def rejected_csv(
    actor: Writer,
    rows: Annotated[str, Form(max_length=5_000_000)],
    csrf_token: Annotated[str, Form()] = "",
) -> Response:
    """The rejected rows the result page showed, as CSV (the shared writer: no cell a
    spreadsheet runs as a formula)."""
    try:
        found = json.loads(rows)
        lines = [(int(r["row"]), str(r["column"]), str(r["what"]), str(r["fix"])) for r in found]
    except (ValueError, TypeError, KeyError) as exc:
        raise InvalidInput("The rejected rows are not in the form the result page gives") from exc
    return csv_export.response(
        ("row", "column", "what is wrong", "how to fix it"), lines, "rejected-rows.csv"
    )


@router.get("/{id}", response_class=HTMLResponse, name="console.register_record")
async def record_page(
    id: str, request: Request, session: SessionDep, actor: Reader, protect: ProtectorDep
) -> HTMLResponse:
    """One person's record, as ``GET /api/v1/workers/{id}`` shows it, audited as it is."""
    worker, fields = await service.get_worker(session, actor=actor, worker_id=id)
    service.record_read(session, actor=actor, worker=worker, fields=fields)
    person = service.present(worker, fields, protect)
    return render(request, actor, "register_record.html", worker=person)


section = Section(
    router=router,
    nav=(
        NavEntry("/console/register", "Register", Permission.WORKERS_READ, 35),
        NavEntry("/console/register/import", "Import", Permission.WORKERS_WRITE, 36),
    ),
)
