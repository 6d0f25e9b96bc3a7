"""A registration or an import without a ``source``: the default of the registering
organisation's kind, or the import's, instead of a 422 the design does not ask for."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlmodel import col, select

from service.auth.permissions import Role
from service.directory.models import OrgKind
from service.registry.models import (
    DEFAULT_SOURCES,
    IMPORT_SOURCE,
    Source,
    Worker,
    default_source,
)
from tests.conftest import OrgFactory, TokenFactory, bearer, unique

KL = {"lat": 3.1390, "lon": 101.6869}


def registration(**extra: Any) -> dict[str, Any]:
    return {"nationality": "PHL", "document_number": unique("P"), "location": KL, **extra}


async def registered(client: httpx.AsyncClient, token: str, body: dict[str, Any]) -> Any:
    made = await client.post("/api/v1/workers", json=body, headers=bearer(token))
    assert made.status_code == 201, made.text
    return made.json()


async def sources_of(app: FastAPI, org_id: str) -> list[str]:
    """What the register holds for the workers an organisation registered, oldest first."""
    async with app.state.sessionmaker() as session:
        query = select(Worker.source).where(Worker.registered_by == org_id).order_by(col(Worker.pk))
        return list((await session.exec(query)).all())


@pytest.mark.parametrize(
    ("kind", "role", "expected"),
    [
        (OrgKind.EMBASSY, Role.CONSULAR_OFFICER, Source.EMBASSY_REGISTRATION),
        (OrgKind.CONSULATE, Role.CONSULAR_OFFICER, Source.EMBASSY_REGISTRATION),
        (OrgKind.NATIONAL_SOCIETY, Role.SOCIETY_RESPONDER, Source.SOCIETY_OUTREACH),
        (OrgKind.INTERNATIONAL_ORG, Role.COORDINATOR, Source.CRISIS_INTAKE),
    ],
)
async def test_a_registration_without_source_takes_its_organisation_s_default(
    client: httpx.AsyncClient,
    make_org: OrgFactory,
    make_token: TokenFactory,
    app: FastAPI,
    kind: OrgKind,
    role: Role,
    expected: Source,
) -> None:
    org = await make_org(kind, "MYS")
    token = await make_token(role, org)
    body = registration(consent={"share_with_embassy": True, "share_with_humanitarian": True})
    await registered(client, token, body)
    assert await sources_of(app, org) == [expected.value]


async def test_a_source_given_is_kept(
    client: httpx.AsyncClient, make_org: OrgFactory, make_token: TokenFactory, app: FastAPI
) -> None:
    org = await make_org(OrgKind.EMBASSY, "MYS")
    token = await make_token(Role.CONSULAR_OFFICER, org)
    await registered(client, token, registration(source="self"))
    assert await sources_of(app, org) == ["self"]
    refused = await client.post(
        "/api/v1/workers", json=registration(source="rumour"), headers=bearer(token)
    )
    assert refused.status_code == 422
    assert refused.json()["errors"][0]["loc"] == ["body", "source"]


def test_every_organisation_kind_has_a_default() -> None:
    assert set(DEFAULT_SOURCES) == {k.value for k in OrgKind}
    assert default_source(None) is Source.CRISIS_INTAKE
    assert default_source("labour_ministry") is Source.MINISTRY_IMPORT


async def test_an_import_without_source_registers_ministry_import_unless_the_file_says(
    client: httpx.AsyncClient, make_org: OrgFactory, make_token: TokenFactory, app: FastAPI
) -> None:
    embassy = await make_org(OrgKind.EMBASSY, "MYS")
    token = await make_token(Role.CONSULAR_OFFICER, embassy)
    first, second, third = unique("P"), unique("P"), unique("P")
    without = f"nationality,document_number,lat,lon\nPHL,{first},3.139,101.6869\n".encode()
    sent = await client.post(
        "/api/v1/workers/import",
        files={"file": ("workers.csv", without, "text/csv")},
        headers=bearer(token),
    )
    assert sent.status_code == 200, sent.text
    assert sent.json()["created"] == 1 and sent.json()["rejected"] == 0
    said = (
        "nationality,document_number,lat,lon,source\n"
        f"PHL,{second},3.139,101.6869,self\nPHL,{third},3.139,101.6869,\n"
    ).encode()
    sent = await client.post(
        "/api/v1/workers/import",
        files={"file": ("workers.csv", said, "text/csv")},
        headers=bearer(token),
    )
    assert sent.status_code == 200, sent.text
    assert sent.json()["created"] == 2, sent.text
    assert await sources_of(app, embassy) == [IMPORT_SOURCE.value, "self", IMPORT_SOURCE.value]
