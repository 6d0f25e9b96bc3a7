"""What a coordinator meets first with crises: drills listed with the real crises and marked;
a zone given as a geometry, a Feature, a FeatureCollection or a list of geometries; the timeline
in pages like every other list."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from service.auth.permissions import Role
from tests.conftest import make_org_in, make_token_in, unique

LON, LAT = 101.69, 3.14
SQUARE = {
    "type": "Polygon",
    "coordinates": [
        [[LON - 0.1, LAT - 0.1], [LON + 0.1, LAT - 0.1], [LON + 0.1, LAT + 0.1],
         [LON - 0.1, LAT + 0.1], [LON - 0.1, LAT - 0.1]]
    ],
}  # fmt: skip
OTHER = {
    "type": "Polygon",
    "coordinates": [
        [[LON + 1, LAT], [LON + 1.2, LAT], [LON + 1.2, LAT + 0.2], [LON + 1, LAT + 0.2],
         [LON + 1, LAT]]
    ],
}  # fmt: skip


@pytest.fixture
async def coordinator(own_app: FastAPI) -> AsyncIterator[tuple[httpx.AsyncClient, dict[str, str]]]:
    """A client of an app whose database holds only what the test makes, and a coordinator."""
    token = await make_token_in(own_app, Role.COORDINATOR, await make_org_in(own_app))
    transport = httpx.ASGITransport(app=own_app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
        yield client, {"Authorization": f"Bearer {token}"}


async def declare(
    client: httpx.AsyncClient, headers: dict[str, str], zones: Any, **extra: Any
) -> httpx.Response:
    body = {"title": unique("Floods"), "hazard": "flood", "severity": "severe", "zones": zones}
    return await client.post("/api/v1/crises", json={**body, **extra}, headers=headers)


async def ids(client: httpx.AsyncClient, headers: dict[str, str], query: str = "") -> list[str]:
    listed = await client.get(f"/api/v1/crises?limit=500{query}", headers=headers)
    assert listed.status_code == 200, listed.text
    return [c["id"] for c in listed.json()["items"]]


async def test_drills_are_listed_marked_and_can_be_left_out_or_listed_alone(
    coordinator: tuple[httpx.AsyncClient, dict[str, str]],
) -> None:
    client, headers = coordinator
    drill = (await declare(client, headers, SQUARE, exercise=True)).json()
    real = (await declare(client, headers, OTHER)).json()
    listed = (await client.get("/api/v1/crises", headers=headers)).json()["items"]
    assert {c["id"]: c["exercise"] for c in listed} == {drill["id"]: True, real["id"]: False}
    assert await ids(client, headers, "&exercises=true") == [real["id"], drill["id"]]
    assert await ids(client, headers, "&exercises=false") == [real["id"]]
    assert await ids(client, headers, "&exercises=only") == [drill["id"]]
    refused = await client.get("/api/v1/crises?exercises=maybe", headers=headers)
    assert refused.status_code == 422
    assert refused.json()["errors"][0]["loc"] == ["query", "exercises"]


@pytest.mark.parametrize(
    "zones",
    [
        SQUARE,
        {"type": "Feature", "properties": {"name": "Klang"}, "geometry": SQUARE},
        {"type": "FeatureCollection", "features": [{"type": "Feature", "geometry": SQUARE}]},
        [SQUARE],
        [SQUARE, OTHER],
    ],
    ids=["geometry", "feature", "feature-collection", "list", "list-of-two"],
)
async def test_a_zone_in_any_of_the_shapes_the_design_names(
    coordinator: tuple[httpx.AsyncClient, dict[str, str]], zones: Any
) -> None:
    client, headers = coordinator
    made = await declare(client, headers, zones)
    assert made.status_code == 201, made.text
    zone = made.json()["zones"]
    assert zone["type"] == (
        "MultiPolygon" if isinstance(zones, list) and len(zones) > 1 else "Polygon"
    )
    changed = await client.patch(
        f"/api/v1/crises/{made.json()['id']}",
        json={"zones": [OTHER, SQUARE]},
        headers={**headers, "If-Match": str(made.json()["version"])},
    )
    assert changed.status_code == 200, changed.text
    assert changed.json()["zones"]["type"] == "MultiPolygon"


@pytest.mark.parametrize(
    ("zones", "loc"),
    [
        ([], ["body", "zones"]),
        ([SQUARE, {"type": "Point", "coordinates": [LON, LAT]}], None),
        ([{"type": "Point", "coordinates": [LON, LAT]}], ["body", "zones"]),
        ([SQUARE, {"type": "Polygon", "coordinates": [[[LON, 95], [LON, LAT], [LON, LAT]]]}],
         ["body", "zones", 1, "coordinates", 0]),
        ([{"type": "Feature", "geometry": SQUARE}], ["body", "zones", 0]),
        ({"type": "Point", "coordinates": [LON, LAT]}, ["body", "zones", "type"]),
        ("Klang Valley", ["body", "zones"]),
    ],
    ids=["empty", "point-left-out", "only-a-point", "bad-ring", "feature-in-list", "point",
         "text"],
)  # fmt: skip
async def test_a_bad_zone_is_a_422_that_points_into_it(
    coordinator: tuple[httpx.AsyncClient, dict[str, str]], zones: Any, loc: list[Any] | None
) -> None:
    client, headers = coordinator
    made = await declare(client, headers, zones)
    if loc is None:  # a point among polygons is left out, as in a GeometryCollection
        assert made.status_code == 201, made.text
        return
    assert made.status_code == 422, made.text
    problem = made.json()
    assert made.headers["content-type"] == "application/problem+json"
    assert problem["errors"][0]["loc"][: len(loc)] == loc, problem


async def test_the_timeline_comes_in_pages(
    coordinator: tuple[httpx.AsyncClient, dict[str, str]],
) -> None:
    client, headers = coordinator
    crisis = (await declare(client, headers, SQUARE)).json()
    url = f"/api/v1/crises/{crisis['id']}"
    for level in (2, 3):
        version = (await client.get(url, headers=headers)).json()["version"]
        changed = await client.patch(
            url, json={"alert_level": level}, headers={**headers, "If-Match": str(version)}
        )
        assert changed.status_code == 200, changed.text
    whole = (await client.get(f"{url}/timeline?limit=500", headers=headers)).json()
    assert whole["next_cursor"] is None and len(whole["items"]) >= 4
    walked: list[dict[str, Any]] = []
    cursor = ""
    while True:
        page = (await client.get(f"{url}/timeline?limit=1{cursor}", headers=headers)).json()
        walked += page["items"]
        if page["next_cursor"] is None:
            break
        cursor = f"&cursor={page['next_cursor']}"
    assert walked == whole["items"]
    refused = await client.get(f"{url}/timeline?cursor=WzFd", headers=headers)  # "[1]"
    assert refused.status_code == 422
    assert refused.json()["errors"] == [{"loc": ["query", "cursor"], "msg": "invalid cursor"}]
