"""Nationals located in their own country are not migrant workers there: a zone over Johor Bahru
counts its 17 Malaysians apart, not as migrants in Malaysia; every count says what it counts,
every list of people how many match and are not shown and why; provinces come with their names.
On a register of its own, on both databases."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from service.app import create_app
from service.auth.permissions import Role
from service.directory.models import OrgKind
from tests.conftest import Databases, bearer, make_org_in, make_token_in, settings_for, unique

#: Johor Bahru, north of the strait: every point is in Malaysia, in Johor (MY-01).
JOHOR_BAHRU = (1.52, 103.70)
ZONE = {
    "type": "Polygon",
    "coordinates": [
        [[103.60, 1.49], [103.85, 1.49], [103.85, 1.60], [103.60, 1.60], [103.60, 1.49]]
    ],
}
#: Woodlands, Singapore, across the strait: outside the zone.
WOODLANDS = {"lat": 1.436, "lon": 103.786}


@pytest.fixture
async def johor(databases: Databases, backend: str) -> AsyncIterator[dict[str, Any]]:
    """17 Malaysians and 7 Indonesians in Johor Bahru (2 of them refused sharing with their
    embassy, 1 is under international protection), and an Indonesian in Singapore."""
    url = await databases.create(backend)
    app = create_app(settings_for(url), configure_logs=False)
    async with app.router.lifespan_context(app):
        await app.state.register_index.ready.wait()
        tokens = {
            "admin": await make_token_in(app, Role.ADMIN, await make_org_in(app)),
            "coordinator": await make_token_in(app, Role.COORDINATOR, await make_org_in(app)),
            "viewer": await make_token_in(app, Role.VIEWER, await make_org_in(app)),
            "idn": await make_token_in(
                app, Role.CONSULAR_OFFICER, await make_org_in(app, OrgKind.EMBASSY, "MYS", "IDN")
            ),
            "mys": await make_token_in(
                app,
                Role.CONSULAR_OFFICER,
                await make_org_in(app, OrgKind.LABOUR_MINISTRY, "MYS", "MYS"),
            ),
            "society": await make_token_in(
                app, Role.SOCIETY_RESPONDER, await make_org_in(app, OrgKind.NATIONAL_SOCIETY, "MYS")
            ),
        }
        people: list[tuple[str, dict[str, Any]]] = [("MYS", {})] * 17
        people += [("IDN", {})] * 4
        people += [("IDN", {"consent": {"share_with_embassy": False}})] * 2
        people += [("IDN", {"international_protection": True})]
        transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
            ids: dict[str, list[str]] = {"MYS": [], "IDN": []}
            for i, (nationality, extra) in enumerate(people):
                lat, lon = JOHOR_BAHRU
                body = {
                    "nationality": nationality,
                    "given_name": f"Given{i}",
                    "document_number": unique("D"),
                    "location": {"lat": lat + i * 0.001, "lon": lon + i * 0.002},
                    "source": "embassy_registration",
                    **extra,
                }
                made = await client.post(
                    "/api/v1/workers", json=body, headers=bearer(tokens["admin"])
                )
                assert made.status_code == 201, made.text
                assert (made.json()["country"], made.json()["admin1"]) == ("MYS", "MY-01")
                ids[nationality].append(made.json()["id"])
            abroad = await client.post(
                "/api/v1/workers",
                json={"nationality": "IDN", "location": WOODLANDS, "source": "self"},
                headers=bearer(tokens["admin"]),
            )
            assert abroad.json()["country"] == "SGP", abroad.text
            yield {"app": app, "client": client, "tokens": tokens, "ids": ids}


async def call(
    johor: dict[str, Any], who: str, method: str, path: str, **kwargs: Any
) -> httpx.Response:
    response = await johor["client"].request(
        method,
        path,
        headers={**bearer(johor["tokens"][who]), **kwargs.pop("headers", {})},
        **kwargs,
    )
    assert response.status_code == 200, response.text
    return response


async def exposure(johor: dict[str, Any], who: str) -> dict[str, Any]:
    answer = await call(johor, who, "POST", "/api/v1/exposure", json={"geometry": ZONE})
    return dict(answer.json())


async def people(johor: dict[str, Any], who: str, **body: Any) -> dict[str, Any]:
    answer = await call(
        johor, who, "POST", "/api/v1/exposure/workers", json={"geometry": ZONE, **body}
    )
    return dict(answer.json())


async def test_nationals_at_home_are_counted_apart_not_as_migrants(johor: dict[str, Any]) -> None:
    exact = await exposure(johor, "admin")
    assert (exact["workers"], exact["total"]) == (7, 7)
    assert exact["by_nationality"] == {"IDN": 7}
    assert exact["by_country"] == {"MYS": 7}
    assert exact["nationals_in_own_country"] == 17
    assert "nationals_in_own_country" in exact["basis"] and exact["basis"].startswith("exact")
    rounded = await exposure(johor, "viewer")
    assert (rounded["workers"], rounded["nationals_in_own_country"]) == (5, 15)
    assert rounded["basis"].startswith("rounded to 5")
    own = (await exposure(johor, "idn"))["own_nationals"]
    assert (own["workers"], own["nationals_in_own_country"]) == (7, 0)
    assert own["basis"].startswith("exact")
    ministry = (await exposure(johor, "mys"))["own_nationals"]
    assert (ministry["workers"], ministry["nationals_in_own_country"]) == (0, 17)


async def test_provinces_come_with_their_names(johor: dict[str, Any]) -> None:
    exact = await exposure(johor, "admin")
    assert exact["by_admin1"] == {"MY-01": 7}
    assert exact["admin1_names"] == {"MY-01": "Johor"}
    assert (await exposure(johor, "idn"))["own_nationals"]["admin1_names"] == {"MY-01": "Johor"}
    worker = await call(johor, "admin", "GET", f"/api/v1/workers/{johor['ids']['IDN'][0]}")
    assert (worker.json()["admin1"], worker.json()["admin1_name"]) == ("MY-01", "Johor")
    listed = await people(johor, "idn")
    assert {(w["admin1"], w["admin1_name"]) for w in listed["items"]} == {("MY-01", "Johor")}


async def test_a_list_says_how_many_match_and_why_the_others_are_not_shown(
    johor: dict[str, Any],
) -> None:
    listed = await people(johor, "idn")
    assert len(listed["items"]) == 4 and listed["next_cursor"] is None
    assert (listed["matching"], listed["listed"]) == (7, 4)
    assert listed["not_shown"] == {
        "no_consent_to_share_with_embassy": 2,
        "withheld_under_data_protection": 1,
    }
    # What explains the list never speaks of documentation status.
    assert "documentation" not in str({k: v for k, v in listed.items() if k != "items"})
    # The figures reconcile with the officer's exact count of their own nationals.
    own = (await exposure(johor, "idn"))["own_nationals"]
    assert own["workers"] == listed["matching"]
    everyone = await people(johor, "admin")
    assert (len(everyone["items"]), everyone["matching"], everyone["not_shown"]) == (7, 7, {})
    # A society reads only those who agreed to humanitarian sharing: nobody here.
    society = await people(johor, "society")
    assert (society["items"], society["matching"], society["listed"]) == ([], 5, 0)
    assert society["not_shown"] == {"no_consent_to_share_with_humanitarian": 5}


async def test_nationals_at_home_are_listed_only_when_asked(johor: dict[str, Any]) -> None:
    assert (await people(johor, "mys"))["items"] == []
    at_home = await people(johor, "mys", nationals_in_own_country="only")
    assert {w["id"] for w in at_home["items"]} == set(johor["ids"]["MYS"])
    assert at_home["matching"] == 17
    everyone = await people(johor, "admin", nationals_in_own_country="include")
    assert len(everyone["items"]) == 24
    refused = await johor["client"].post(
        "/api/v1/exposure/workers",
        json={"geometry": ZONE, "nationals_in_own_country": "maybe"},
        headers=bearer(johor["tokens"]["admin"]),
    )
    assert refused.status_code == 422
