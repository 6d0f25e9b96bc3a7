"""Who may issue a credential, what a registrant is told, and how fast a revocation holds.

- A credential that reads personal data is issued for an organisation by its own administrators
  (or by the operator's command line); a central administrator's issue is refused unless the
  deployment allows it, audited either way, and listed with its issuer to the organisation.
- The receipt of a registration says whether the registrant will be able to read the record.
- A token revoked through the API is refused at once; one revoked by ``lifeline token revoke``, in
  another process, within ``LIFELINE_TOKEN_CACHE_S``.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import subprocess
import sys
import time
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from service.app import create_app
from service.auth.permissions import PERSONAL_DATA_ROLES, Role
from service.db import session_scope
from service.directory.models import OrgKind
from service.registry.models import Worker
from tests.conftest import OrgFactory, TokenFactory, bearer, settings_for, unique

KL = {"lat": 3.1390, "lon": 101.6869}


async def audit(
    client: httpx.AsyncClient, admin: str, *, action: str, subject_id: str
) -> list[dict[str, Any]]:
    response = await client.get(
        "/api/v1/audit", params={"action": action, "subject_id": subject_id}, headers=bearer(admin)
    )
    assert response.status_code == 200, response.text
    return list(response.json()["items"])


async def issue(
    client: httpx.AsyncClient, token: str, organization: str, role: Role
) -> httpx.Response:
    return await client.post(
        "/api/v1/tokens",
        json={"organization": organization, "role": role.value, "name": unique("for")},
        headers=bearer(token),
    )


@pytest.fixture
async def embassy(make_org: OrgFactory, make_token: TokenFactory) -> dict[str, str]:
    """An embassy with its own administrator (its first token, from the operator), and a central
    administrator elsewhere."""
    org = await make_org(OrgKind.EMBASSY, "MYS", represents="PHL")
    central_org = await make_org()
    return {
        "org": org,
        "own_admin": await make_token(Role.ADMIN, org),
        "central_org": central_org,
        "central_admin": await make_token(Role.ADMIN, central_org),
    }


def test_the_roles_that_read_personal_data() -> None:
    assert {
        Role.ADMIN,
        Role.COORDINATOR,
        Role.CONSULAR_OFFICER,
        Role.SOCIETY_RESPONDER,
    } == PERSONAL_DATA_ROLES


@pytest.mark.parametrize("role", sorted(PERSONAL_DATA_ROLES))
async def test_a_central_admin_may_not_issue_a_personal_data_credential_elsewhere(
    client: httpx.AsyncClient, embassy: dict[str, str], role: Role
) -> None:
    refused = await issue(client, embassy["central_admin"], embassy["org"], role)
    assert refused.status_code == 403, refused.text
    assert refused.json()["type"].endswith("credential-for-another-organization")
    denied = await audit(
        client,
        embassy["central_admin"],
        action="token.create_for_other_organization",
        subject_id=embassy["org"],
    )
    assert [(e["outcome"], e["organization_id"]) for e in denied][:1] == [
        ("denied", embassy["central_org"])
    ]
    listed = await client.get(
        "/api/v1/tokens",
        params={"organization": embassy["org"]},
        headers=bearer(embassy["own_admin"]),
    )
    assert all(
        t["issued_by_organization_id"] != embassy["central_org"] for t in listed.json()["items"]
    )


async def test_the_organisations_own_admin_issues_its_credentials(
    client: httpx.AsyncClient, embassy: dict[str, str]
) -> None:
    made = await issue(client, embassy["own_admin"], embassy["org"], Role.CONSULAR_OFFICER)
    assert made.status_code == 201, made.text
    assert made.json()["issued_by_organization_id"] == embassy["org"]
    assert made.json()["issued_by_channel"] == "api"
    events = await audit(
        client, embassy["own_admin"], action="token.create", subject_id=made.json()["id"]
    )
    assert len(events) == 1 and events[0]["organization_id"] == embassy["org"]


async def test_an_issue_for_another_organisation_is_audited_and_shown_to_it(
    client: httpx.AsyncClient, embassy: dict[str, str]
) -> None:
    """Roles that read no personal data may be issued centrally: audited as such, and listed
    to the organisation's own administrators with the issuer."""
    made = await issue(client, embassy["central_admin"], embassy["org"], Role.VIEWER)
    assert made.status_code == 201, made.text
    token_id = made.json()["id"]
    events = await audit(
        client,
        embassy["own_admin"],
        action="token.create_for_other_organization",
        subject_id=token_id,
    )
    assert len(events) == 1
    assert events[0]["organization_id"] == embassy["central_org"]
    assert events[0]["detail"]["organization_id"] == embassy["org"]
    listed = await client.get(
        "/api/v1/tokens",
        params={"organization": embassy["org"], "limit": "500"},
        headers=bearer(embassy["own_admin"]),
    )
    mine = {t["id"]: t for t in listed.json()["items"]}
    assert mine[token_id]["issued_by_organization_id"] == embassy["central_org"]
    assert mine[token_id]["issued_by_token_id"] is not None
    # The embassy's first admin token came from the operator's command line.
    assert {t["issued_by_channel"] for t in mine.values() if t["role"] == "admin"} == {"cli"}


async def test_a_new_embassy_made_through_the_api_is_no_bypass(
    client: httpx.AsyncClient, embassy: dict[str, str]
) -> None:
    made = await client.post(
        "/api/v1/organizations",
        json={"slug": unique("phl-embassy"), "name": "A new embassy", "kind": "embassy",
              "country": "MYS", "represents": "PHL"},
        headers=bearer(embassy["central_admin"]),
    )  # fmt: skip
    assert made.status_code == 201, made.text
    for role in (Role.CONSULAR_OFFICER, Role.ADMIN):
        refused = await issue(client, embassy["central_admin"], made.json()["id"], role)
        assert refused.status_code == 403, (role, refused.text)


@pytest.fixture
async def central_issuing_client(database_url: str) -> AsyncIterator[httpx.AsyncClient]:
    """An app whose deployment lets a central administrator issue any credential."""
    settings = settings_for(database_url).model_copy(
        update={"central_issue_personal_data_credentials": True}
    )
    application = create_app(settings, configure_logs=False)
    async with application.router.lifespan_context(application):
        transport = httpx.ASGITransport(app=application)
        async with httpx.AsyncClient(transport=transport, base_url="http://lifeline.test") as c:
            yield c


async def test_the_deployment_may_let_a_central_admin_issue_them(
    central_issuing_client: httpx.AsyncClient, embassy: dict[str, str]
) -> None:
    client = central_issuing_client
    made = await issue(client, embassy["central_admin"], embassy["org"], Role.CONSULAR_OFFICER)
    assert made.status_code == 201, made.text
    events = await audit(
        client,
        embassy["own_admin"],
        action="token.create_for_other_organization",
        subject_id=made.json()["id"],
    )
    assert [(e["outcome"], e["detail"]["role"]) for e in events] == [
        ("allowed", "consular_officer")
    ]


async def test_the_operator_path_is_audited_as_an_issue_for_another_organisation(
    client: httpx.AsyncClient, embassy: dict[str, str]
) -> None:
    listed = await client.get(
        "/api/v1/tokens",
        params={"organization": embassy["org"]},
        headers=bearer(embassy["own_admin"]),
    )
    first = listed.json()["items"][0]
    events = await audit(
        client,
        embassy["own_admin"],
        action="token.create_for_other_organization",
        subject_id=first["id"],
    )
    assert [(e["channel"], e["organization_id"]) for e in events] == [("cli", None)]


# --- The receipt of a registration ------------------------------------------------------------


def registration(**extra: Any) -> dict[str, Any]:
    return {
        "nationality": "PHL",
        "given_name": "Maria",
        "family_name": "Santos",
        "document_number": unique("P"),
        "location": KL,
        "source": "embassy_registration",
        **extra,
    }


async def test_the_registrant_is_told_what_they_will_see(
    client: httpx.AsyncClient, app: FastAPI, embassy: dict[str, str], make_token: TokenFactory
) -> None:
    officer = await make_token(Role.CONSULAR_OFFICER, embassy["org"])
    shared = await client.post("/api/v1/workers", json=registration(), headers=bearer(officer))
    assert shared.status_code == 201
    assert shared.json()["visible_to_you"] is True
    refused = await client.post(
        "/api/v1/workers",
        json=registration(consent={"share_with_embassy": False}),
        headers=bearer(officer),
    )
    assert refused.status_code == 201, refused.text
    receipt = refused.json()
    assert receipt["visible_to_you"] is False and receipt["erasable_by_you"] is True
    assert "share_with_embassy" in receipt["visibility"]
    assert "Maria" not in str(receipt)
    worker_url = f"/api/v1/workers/{receipt['id']}"
    assert (await client.get(worker_url, headers=bearer(officer))).status_code == 404
    # The worker asks the officer who registered them to erase it: they can.
    assert (await client.delete(worker_url, headers=bearer(officer))).status_code == 204
    async with session_scope(app.state.sessionmaker) as session:
        from sqlmodel import select

        erased = (await session.exec(select(Worker).where(Worker.id == receipt["id"]))).one()
        assert erased.erased_at is not None and erased.given_name_sealed is None
    events = await audit(
        client, embassy["own_admin"], action="worker.erase", subject_id=receipt["id"]
    )
    assert events[0]["detail"] == {"as": "registrant"}


async def test_once_someone_else_changed_it_the_registrant_cannot_erase_it(
    client: httpx.AsyncClient, embassy: dict[str, str], make_token: TokenFactory
) -> None:
    officer = await make_token(Role.CONSULAR_OFFICER, embassy["org"])
    receipt = (
        await client.post(
            "/api/v1/workers",
            json=registration(consent={"share_with_embassy": False}),
            headers=bearer(officer),
        )
    ).json()
    worker_url = f"/api/v1/workers/{receipt['id']}"
    corrected = await client.patch(
        worker_url,
        json={"phone": "+60 12 000 0000"},
        headers={**bearer(embassy["central_admin"]), "If-Match": '"1"'},
    )
    assert corrected.status_code == 200, corrected.text
    assert (await client.delete(worker_url, headers=bearer(officer))).status_code == 404


async def test_a_refugee_and_a_society_registration_say_so(
    client: httpx.AsyncClient,
    embassy: dict[str, str],
    make_org: OrgFactory,
    make_token: TokenFactory,
) -> None:
    officer = await make_token(Role.CONSULAR_OFFICER, embassy["org"])
    refugee = await client.post(
        "/api/v1/workers", json=registration(international_protection=True), headers=bearer(officer)
    )
    assert refugee.json()["visible_to_you"] is False
    assert "refugees" in refugee.json()["visibility"]
    society = await make_token(Role.SOCIETY_RESPONDER, await make_org(OrgKind.NATIONAL_SOCIETY))
    unshared = await client.post(
        "/api/v1/workers", json=registration(source="society_outreach"), headers=bearer(society)
    )
    assert unshared.status_code == 201, unshared.text
    assert unshared.json()["visible_to_you"] is False
    assert unshared.json()["erasable_by_you"] is False


def test_the_receipt_is_declared(app: FastAPI) -> None:
    schema = app.openapi()["components"]["schemas"]["WorkerCreated"]
    assert {"visible_to_you", "erasable_by_you", "visibility"} <= set(schema["required"])


# --- Revocation -------------------------------------------------------------------------------


async def test_a_token_revoked_through_the_api_is_refused_at_once(
    client: httpx.AsyncClient, embassy: dict[str, str]
) -> None:
    victim = (await issue(client, embassy["own_admin"], embassy["org"], Role.VIEWER)).json()
    assert (
        await client.get("/api/v1/organizations", headers=bearer(victim["token"]))
    ).status_code == 200
    revoked = await client.delete(
        f"/api/v1/tokens/{victim['id']}", headers=bearer(embassy["own_admin"])
    )
    assert revoked.status_code == 200
    assert (
        await client.get("/api/v1/organizations", headers=bearer(victim["token"]))
    ).status_code == 401


async def test_a_token_revoked_by_the_cli_is_refused_within_the_cache_time(
    app: FastAPI, client: httpx.AsyncClient, embassy: dict[str, str], database_url: str
) -> None:
    """``lifeline token revoke`` in a process of its own, while the API keeps the token hot."""
    victim = (await issue(client, embassy["own_admin"], embassy["org"], Role.VIEWER)).json()
    settings = app.state.settings
    env = {
        **os.environ,
        "LIFELINE_DATABASE_URL": database_url,
        "LIFELINE_ENCRYPTION_KEYS": settings.encryption_keys,
        "LIFELINE_BLIND_INDEX_KEY": settings.blind_index_key,
    }
    revoking = await asyncio.create_subprocess_exec(
        sys.executable, "-c", "from service.cli import app; app()", "token", "revoke", victim["id"],
        env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
    )  # fmt: skip

    async def works() -> bool:
        response = await client.get("/api/v1/organizations", headers=bearer(victim["token"]))
        assert response.status_code in {200, 401}
        return response.status_code == 200

    refused = False
    while revoking.returncode is None and not refused:
        refused = not await works()  # keeps the token in the API process's cache meanwhile
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(revoking.wait(), timeout=0.05)
    _, err = await revoking.communicate()
    assert revoking.returncode == 0, err.decode()
    revoked_at = time.monotonic()
    while not refused:
        refused = not await works()
        assert time.monotonic() - revoked_at <= settings.token_cache_s + 0.5
        await asyncio.sleep(0.05)
    await asyncio.sleep(settings.token_cache_s)
    assert not await works()
