"""POST /api/v1/exposure and the list of one's nationals in a zone, on a register of its own."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from service.app import create_app
from service.auth.permissions import Role
from service.directory.models import OrgKind
from tests.conftest import Databases, bearer, settings_for, unique

KOTA_KINABALU = {"lat": 5.9804, "lon": 116.0735}
SANDAKAN = {"lat": 5.8402, "lon": 118.1179}
KK_CIRCLE = {"circle": {"lat": 5.98, "lon": 116.07, "radius_m": 30_000}}


@pytest.fixture
async def sabah(databases: Databases, backend: str) -> AsyncIterator[dict[str, Any]]:
    """A fresh register in Sabah: 7 Filipinos and 2 Indonesians in Kota Kinabalu, 3 Filipinos in
    Sandakan, a point group of 40 and an area group half inside the zone."""
    url = await databases.create(backend)
    app = create_app(settings_for(url), configure_logs=False)
    async with app.router.lifespan_context(app):
        await app.state.register_index.ready.wait()
        from tests.conftest import make_org_in, make_token_in

        tokens = {
            "admin": await make_token_in(app, Role.ADMIN, await make_org_in(app)),
            "phl": await make_token_in(
                app, Role.CONSULAR_OFFICER, await make_org_in(app, OrgKind.EMBASSY, "MYS", "PHL")
            ),
            "idn": await make_token_in(
                app, Role.CONSULAR_OFFICER, await make_org_in(app, OrgKind.EMBASSY, "MYS", "IDN")
            ),
            "viewer": await make_token_in(app, Role.VIEWER, await make_org_in(app)),
            "society": await make_token_in(
                app, Role.SOCIETY_RESPONDER, await make_org_in(app, OrgKind.NATIONAL_SOCIETY, "MYS")
            ),
        }
        transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
            ids: dict[str, list[str]] = {"kk_phl": [], "kk_idn": [], "sandakan": []}
            people = (
                [("kk_phl", "PHL", KOTA_KINABALU)] * 7
                + [("kk_idn", "IDN", KOTA_KINABALU)] * 2
                + [("sandakan", "PHL", SANDAKAN)] * 3
            )
            for i, (group, nationality, place) in enumerate(people):
                body = {
                    "nationality": nationality,
                    "given_name": f"Given{i}",
                    "family_name": "Family",
                    "document_number": unique("D"),
                    "sex": "F" if i % 2 else "M",
                    "sector": "fishing",
                    "location": {"lat": place["lat"] + i * 0.001, "lon": place["lon"] + i * 0.001},
                    "vulnerabilities": ["disability"] if i == 0 else [],
                    "accompanying_family": 1,
                    "consent": {"share_with_humanitarian": i % 2 == 0},
                    "source": "embassy_registration",
                }
                made = await client.post(
                    "/api/v1/workers", json=body, headers=bearer(tokens["admin"])
                )
                assert made.status_code == 201, made.text
                ids[group].append(made.json()["id"])
            point = {
                "nationality": "IDN",
                "count": 40,
                "female": 10,
                "sector": "agriculture",
                "location": {"lat": 5.95, "lon": 116.10},
                "source": "estate census 2025",
            }
            area = {
                "nationality": "NPL",
                "count": 100,
                "source": "survey",
                "area": {
                    "type": "Polygon",
                    "coordinates": [
                        [[116.07, 5.9], [116.67, 5.9], [116.67, 6.1], [116.07, 6.1], [116.07, 5.9]]
                    ],
                },
            }
            for group in (point, area):
                made = await client.post(
                    "/api/v1/populations", json=group, headers=bearer(tokens["admin"])
                )
                assert made.status_code == 201, made.text
            yield {"app": app, "client": client, "tokens": tokens, "ids": ids}


async def post(
    sabah: dict[str, Any], who: str, body: dict[str, Any], path: str = "/api/v1/exposure"
) -> httpx.Response:
    return await sabah["client"].post(path, json=body, headers=bearer(sabah["tokens"][who]))


async def test_coordinators_and_admins_get_exact_counts(sabah: dict[str, Any]) -> None:
    result = (await post(sabah, "admin", KK_CIRCLE)).json()
    assert result["exact"] is True
    assert result["workers"] == 9
    assert result["by_nationality"]["PHL"] == 7
    assert result["by_nationality"]["IDN"] == 2 + 40
    assert result["by_country"] == {"MYS": 9 + 40 + result["by_nationality"]["NPL"]}
    assert result["accompanying_family"] == 9
    assert result["vulnerable"] == 1
    assert result["by_sector"]["fishing"] == 9
    share = result["area_groups"][0]["share"]
    # The circle covers the box's first ~28 km of 66 along its 22 km height: about 630 of 1,452 km².
    assert 0.40 < share < 0.48
    assert result["by_nationality"]["NPL"] == round(100 * share)
    assert result["countries"] == ["MYS"]


async def test_consular_staff_see_their_nationals_exactly_and_others_rounded(
    sabah: dict[str, Any],
) -> None:
    result = (await post(sabah, "phl", KK_CIRCLE)).json()
    assert result["exact"] is False
    assert result["suppressed_below"] == 5
    assert result["own_nationals"]["workers"] == 7
    assert result["own_nationals"]["by_nationality"] == {"PHL": 7}
    assert result["by_nationality"]["PHL"] == 5  # rounded to the nearest 5
    assert result["by_nationality"]["IDN"] == 40  # 42 rounded
    assert result["by_sex"]["unknown"] == 45  # the NPL area group (44) has no sex split
    idn = (await post(sabah, "idn", KK_CIRCLE)).json()
    assert idn["own_nationals"]["workers"] == 2


async def test_viewers_get_withheld_small_cells_never_zeros(sabah: dict[str, Any]) -> None:
    result = (await post(sabah, "viewer", KK_CIRCLE)).json()
    assert result["own_nationals"] is None
    assert all(v >= 5 for v in result["by_nationality"].values())
    assert result["vulnerable"] is None  # 1 person: withheld, not 0
    assert result["area_groups"] == []


async def test_a_geojson_zone_and_its_problems(sabah: dict[str, Any]) -> None:
    sandakan = {
        "type": "Feature",
        "geometry": {
            "type": "Polygon",
            "coordinates": [[[118.0, 5.7], [118.3, 5.7], [118.3, 6.0], [118.0, 6.0], [118.0, 5.7]]],
        },
    }
    result = (await post(sabah, "admin", {"geometry": sandakan})).json()
    assert result["workers"] == 3
    bad = await post(
        sabah,
        "admin",
        {
            "geometry": {
                "type": "Polygon",
                "coordinates": [[[118, 5.7], [118.3, 95], [118, 6], [118, 5.7]]],
            }
        },
    )
    assert bad.status_code == 422
    assert bad.json()["errors"][0]["loc"] == ["body", "geometry", "coordinates", 0, 1, 1]
    both = await post(sabah, "admin", {**KK_CIRCLE, "geometry": sandakan["geometry"]})
    assert both.status_code == 422


async def test_consular_staff_list_only_their_nationals_in_the_zone(sabah: dict[str, Any]) -> None:
    listed = (await post(sabah, "phl", KK_CIRCLE, "/api/v1/exposure/workers")).json()
    assert sorted(w["id"] for w in listed["items"]) == sorted(sabah["ids"]["kk_phl"])
    assert {w["nationality"] for w in listed["items"]} == {"PHL"}
    page = (
        await sabah["client"].post(
            "/api/v1/exposure/workers?limit=3",
            json=KK_CIRCLE,
            headers=bearer(sabah["tokens"]["phl"]),
        )
    ).json()
    assert len(page["items"]) == 3 and page["next_cursor"]
    rest = (
        await sabah["client"].post(
            f"/api/v1/exposure/workers?limit=10&cursor={page['next_cursor']}",
            json=KK_CIRCLE,
            headers=bearer(sabah["tokens"]["phl"]),
        )
    ).json()
    assert len(rest["items"]) == 4 and rest["next_cursor"] is None
    exported = await sabah["client"].post(
        "/api/v1/exposure/workers?format=csv",
        json=KK_CIRCLE,
        headers=bearer(sabah["tokens"]["phl"]),
    )
    assert exported.headers["content-type"].startswith("text/csv")
    assert exported.text.count("\n") == 8
    assert "documentation_status" not in exported.text.splitlines()[0]
    society = (await post(sabah, "society", KK_CIRCLE, "/api/v1/exposure/workers")).json()
    assert {w["id"] for w in society["items"]} <= set(
        sabah["ids"]["kk_phl"] + sabah["ids"]["kk_idn"]
    )
    assert all("document_number" not in w for w in society["items"])
    assert (await post(sabah, "viewer", KK_CIRCLE, "/api/v1/exposure/workers")).status_code == 403
    audit = (
        await sabah["client"].get(
            "/api/v1/audit",
            params={"action": "exposure.list"},
            headers=bearer(sabah["tokens"]["admin"]),
        )
    ).json()
    assert any(set(e["detail"]["ids"]) == set(sabah["ids"]["kk_phl"]) for e in audit["items"])


async def test_changes_reach_every_process(sabah: dict[str, Any]) -> None:
    """A second API process on the same database sees an erasure made through the first."""
    app: FastAPI = sabah["app"]
    other = create_app(app.state.settings, configure_logs=False)
    async with other.router.lifespan_context(other):
        await other.state.register_index.ready.wait()
        transport = httpx.ASGITransport(app=other)
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as client2:
            admin = bearer(sabah["tokens"]["admin"])
            before = (await client2.post("/api/v1/exposure", json=KK_CIRCLE, headers=admin)).json()[
                "workers"
            ]
            victim = sabah["ids"]["kk_phl"][-1]
            assert (
                await sabah["client"].delete(f"/api/v1/workers/{victim}", headers=admin)
            ).status_code == 204
            await other.state.register_index.refresh()  # what its follower does every few seconds
            after = (await client2.post("/api/v1/exposure", json=KK_CIRCLE, headers=admin)).json()[
                "workers"
            ]
    assert after == before - 1
