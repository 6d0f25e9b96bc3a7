"""A crisis's map as GeoJSON, KML and a GeoPackage (``GET /crises/{id}/map``): read back by
geopandas and defusedxml, holding the zone versions and the provinces hit with exactly the
counts of the exposure JSON for the same caller (exact for an administrator, withheld and
rounded for an outsider), right-hand rings, split at the antimeridian, drills marked."""

from __future__ import annotations

import io
import random
from pathlib import Path
from typing import Any

import defusedxml.ElementTree as ET
import geopandas as gpd
import httpx
import pytest
from fastapi import FastAPI
from shapely.geometry import LinearRing, MultiPolygon, Polygon, shape
from sqlmodel import select

from service.audit.models import AuditEvent
from service.auth.permissions import Role
from service.crises import maps
from service.db import session_scope
from service.directory.models import OrgKind
from service.exports.geo import split_antimeridian
from tests.conftest import OrgFactory, TokenFactory, bearer, unique

KML = "{http://www.opengis.net/kml/2.2}"
#: Kuala Lumpur (MY-14) and Shah Alam in Selangor (MY-10): 7 workers and 2.
PLACES = {"MY-14": ((101.6869, 3.1390), 7), "MY-10": ((101.5183, 3.0733), 2)}
D = 0.0002


def _square(lon: float, lat: float) -> list[list[float]]:
    return [
        [lon - D, lat - D],
        [lon + D, lat - D],
        [lon + D, lat + D],
        [lon - D, lat + D],
        [lon - D, lat - D],
    ]


async def _crisis(
    client: httpx.AsyncClient, token: str, *, exercise: bool = False
) -> tuple[str, dict[str, int]]:
    """A crisis over workers of this test's own in two provinces: its id, the workers by
    province."""
    squares = []
    for (lon, lat), n in PLACES.values():
        # A spot of this test's own, so that no other test's workers are in the zone.
        here = (lon + random.uniform(-0.01, 0.01), lat + random.uniform(-0.01, 0.01))
        squares.append([_square(*here)])
        for i in range(n):
            registered = await client.post(
                "/api/v1/workers",
                json={
                    "nationality": "PHL",
                    "given_name": unique("Map"),
                    "family_name": "Worker",
                    "location": {"lon": here[0] + i * 0.00001, "lat": here[1]},
                    "source": "self",
                },
                headers=bearer(token),
            )
            assert registered.status_code == 201, registered.text
    declared = await client.post(
        "/api/v1/crises",
        json={
            "title": unique("Map & <flood>"),
            "hazard": "flood",
            "severity": "minor",
            "exercise": exercise,
            "zones": {"type": "MultiPolygon", "coordinates": squares},
        },
        headers=bearer(token),
    )
    assert declared.status_code == 201, declared.text
    return declared.json()["id"], {code: n for code, (_, n) in PLACES.items()}


async def _map(
    client: httpx.AsyncClient, crisis_id: str, token: str, format: str = "geojson"
) -> httpx.Response:
    answer = await client.get(
        f"/api/v1/crises/{crisis_id}/map", params={"format": format}, headers=bearer(token)
    )
    assert answer.status_code == 200, answer.text
    return answer


def _right_hand(geometry: dict[str, Any]) -> None:
    """Exterior rings counter-clockwise, holes clockwise (RFC 7946 section 3.1.6)."""
    polygons = (
        [geometry["coordinates"]] if geometry["type"] == "Polygon" else geometry["coordinates"]
    )
    for rings in polygons:
        assert LinearRing(rings[0]).is_ccw
        assert not any(LinearRing(hole).is_ccw for hole in rings[1:])
        for ring in rings:
            for lon, lat in ring:
                assert -180 <= lon <= 180 and -90 <= lat <= 90
                assert round(lon, 6) == lon and round(lat, 6) == lat


def _layer(content: bytes, layer: str, folder: Path) -> gpd.GeoDataFrame:
    """A layer of a GeoPackage, read from a file of its own name (GDAL wants the extension)."""
    path = folder / f"{unique('map')}.gpkg"
    path.write_bytes(content)
    return gpd.read_file(path, layer=layer)


def _areas(frame: gpd.GeoDataFrame) -> dict[str, int]:
    areas = frame[frame["layer"] == "areas"] if "layer" in frame else frame
    return {str(r.admin1): int(r.workers) for r in areas.itertuples()}


async def test_the_map_holds_the_exposure_counts_of_each_caller(
    app: FastAPI,
    client: httpx.AsyncClient,
    make_org: OrgFactory,
    make_token: TokenFactory,
    tmp_path: Path,
) -> None:
    admin = await make_token(Role.ADMIN)
    crisis_id, placed = await _crisis(client, admin)
    embassy = await make_org(OrgKind.EMBASSY, "MYS", represents="IDN")
    callers = {
        "admin": admin,
        "outsider": await make_token(Role.CONSULAR_OFFICER, embassy),
        "viewer": await make_token(Role.VIEWER),
    }
    seen: dict[str, dict[str, int]] = {}
    for who, token in callers.items():
        exposure = await client.get(f"/api/v1/crises/{crisis_id}/exposure", headers=bearer(token))
        assert exposure.status_code == 200, exposure.text
        json = exposure.json()
        answer = await _map(client, crisis_id, token)
        assert answer.headers["content-type"] == "application/geo+json"
        assert f"crisis-{crisis_id}-map.geojson" in answer.headers["content-disposition"]
        collection = answer.json()
        for feature in collection["features"]:
            _right_hand(feature["geometry"])
            assert feature["properties"]["exercise"] is False
        frame = gpd.read_file(io.BytesIO(answer.content))
        assert frame.crs is not None and frame.crs.to_epsg() == 4326
        assert _areas(frame) == json["by_admin1"], who
        names = {r.admin1: r.name for r in frame[frame["layer"] == "areas"].itertuples()}
        assert names == {c: json["admin1_names"][c] for c in json["by_admin1"]}, who
        assert set(frame[frame["layer"] == "areas"]["exact"]) == {json["exact"]}, who
        zones = frame[frame["layer"] == "zones"]
        assert list(zones["version"]) == [1] and list(zones["latest"]) == [True]
        assert list(zones["source"]) == ["declared"] and zones["created_at"].notna().all()
        # No point of a person: polygons only, and no property names anyone.
        assert set(frame.geom_type) <= {"Polygon", "MultiPolygon"}
        assert b"Map-" not in answer.content
        seen[who] = _areas(frame)

        packed = await _map(client, crisis_id, token, "gpkg")
        assert packed.headers["content-type"] == "application/geopackage+sqlite3"
        assert packed.content.startswith(b"SQLite format 3\x00")
        areas = _layer(packed.content, "areas", tmp_path)
        assert _areas(areas) == json["by_admin1"], who
        zones_gpkg = _layer(packed.content, "zones", tmp_path)
        assert list(zones_gpkg["version"]) == [1]
        assert zones_gpkg.geometry.iloc[0].equals(zones.geometry.iloc[0])
        for code, geometry in zip(areas["admin1"], areas.geometry, strict=True):
            (same,) = frame[frame["admin1"] == code].geometry
            assert geometry.equals(MultiPolygon([same]) if isinstance(same, Polygon) else same)

        written = await _map(client, crisis_id, token, "kml")
        assert written.headers["content-type"] == "application/vnd.google-earth.kml+xml"
        root = ET.fromstring(written.content)
        folders = {f.findtext(f"{KML}name"): f for f in root.iter(f"{KML}Folder")}
        assert set(folders) == {"zones", "areas"}
        placemarks = {
            p.findtext(f"{KML}name"): {
                d.get("name"): d.findtext(f"{KML}value") for d in p.iter(f"{KML}Data")
            }
            for p in folders["areas"].iter(f"{KML}Placemark")
        }
        assert {d["admin1"]: int(d["workers"] or 0) for d in placemarks.values()} == json[
            "by_admin1"
        ]
        assert set(placemarks) == set(names.values())
        assert len(list(folders["zones"].iter(f"{KML}Placemark"))) == 1
        assert "&lt;flood&gt;" in written.text  # the crisis's title, escaped

    # The administrator sees both provinces exactly, the outsider the larger one rounded only.
    assert seen["admin"] == placed and seen["viewer"] == seen["outsider"]
    assert seen["outsider"] == {"MY-14": 5}

    async with session_scope(app.state.sessionmaker) as session:
        audited = (
            await session.exec(
                select(AuditEvent).where(
                    AuditEvent.action == "crisis.map_exported",
                    AuditEvent.subject_id == crisis_id,
                )
            )
        ).all()
    assert sorted(str((e.detail or {})["format"]) for e in audited) == sorted(
        ["geojson", "gpkg", "kml"] * 3
    )
    assert {(e.detail or {}).get("zones") for e in audited} == {1}
    assert {(e.detail or {}).get("areas") for e in audited} == {1, 2}


async def test_a_drill_map_says_exercise(
    client: httpx.AsyncClient, make_token: TokenFactory, tmp_path: Path
) -> None:
    admin = await make_token(Role.ADMIN)
    crisis_id, _ = await _crisis(client, admin, exercise=True)
    answer = await _map(client, crisis_id, admin)
    assert f"crisis-{crisis_id}-exercise-map.geojson" in answer.headers["content-disposition"]
    features = answer.json()["features"]
    assert {f["properties"]["layer"] for f in features} == {"zones", "areas"}
    assert all(f["properties"]["exercise"] is True for f in features)
    written = await _map(client, crisis_id, admin, "kml")
    assert "exercise-map.kml" in written.headers["content-disposition"]
    root = ET.fromstring(written.content)
    marked = [
        d.findtext(f"{KML}value") for d in root.iter(f"{KML}Data") if d.get("name") == "exercise"
    ]
    assert marked and set(marked) == {"true"}
    assert (root.findtext(f"{KML}Document/{KML}name") or "").startswith("Exercise: ")
    packed = await _map(client, crisis_id, admin, "gpkg")
    assert "exercise-map.gpkg" in packed.headers["content-disposition"]
    for layer in ("zones", "areas"):
        assert _layer(packed.content, layer, tmp_path)["exercise"].all()


async def test_a_zone_across_the_antimeridian_is_two_polygons(
    client: httpx.AsyncClient, make_token: TokenFactory
) -> None:
    admin = await make_token(Role.ADMIN)
    # Off Taveuni, Fiji: a zone written across 180 (179.5 to -179.5).
    ring = [[179.5, -17.0], [-179.5, -17.0], [-179.5, -16.5], [179.5, -16.5], [179.5, -17.0]]
    declared = await client.post(
        "/api/v1/crises",
        json={
            "title": unique("Cyclone"),
            "hazard": "tropical_cyclone",
            "severity": "minor",
            "zones": {"type": "Polygon", "coordinates": [ring]},
        },
        headers=bearer(admin),
    )
    assert declared.status_code == 201, declared.text
    answer = await _map(client, declared.json()["id"], admin)
    (zone,) = answer.json()["features"]
    assert zone["geometry"]["type"] == "MultiPolygon"
    _right_hand(zone["geometry"])
    parts = list(shape(zone["geometry"]).geoms)
    assert len(parts) == 2
    assert sorted(round(p.bounds[0], 6) for p in parts) == [-180.0, 179.5]
    assert sorted(round(p.bounds[2], 6) for p in parts) == [-179.5, 180.0]


def test_split_antimeridian() -> None:
    # Drawn naively across 180: longitudes span 359 degrees, an edge jumps 359.
    crossing = Polygon([(179.5, -17.0), (179.5, -16.5), (-179.5, -16.5), (-179.5, -17.0)])
    split = split_antimeridian(crossing)
    assert isinstance(split, MultiPolygon) and len(split.geoms) == 2
    assert sorted(p.bounds for p in split.geoms) == [
        (-180.0, -17.0, -179.5, -16.5),
        (179.5, -17.0, 180.0, -16.5),
    ]
    assert abs(split.area - 0.5) < 1e-9
    # Wide, but every edge short: it does not cross, and stays one polygon.
    along = [-100.0, -50.0, 0.0, 50.0, 100.0]
    wide = Polygon([(x, 0.0) for x in along] + [(x, 1.0) for x in reversed(along)])
    assert split_antimeridian(wide) is wide
    # Within ±180 already.
    small = Polygon([(10.0, 0.0), (11.0, 0.0), (11.0, 1.0)])
    assert split_antimeridian(small) is small


#: Who is in the people test's zone: (nationality, share with embassy, share with humanitarian,
#: vulnerabilities, accompanying family), each registered with a documentation status.
PEOPLE = [
    ("PHL", True, False, ["pregnant"], 2),
    ("PHL", True, False, [], 0),
    ("PHL", True, True, [], 1),
    ("PHL", False, True, [], 0),
    ("IDN", True, True, ["disability"], 3),
    ("IDN", False, False, [], 0),
    # At home: left out of every list of people by default, as of this map.
    ("MYS", True, True, [], 0),
]
#: A point's properties in GeoJSON: the layer, its name (the worker's id) and these only.
POINT_PROPERTIES = {"layer", "name", "id", "nationality", "admin1", "accompanying_family",
                    "vulnerable", "exercise"}  # fmt: skip
SECRET_STATUS = "overstayed-visa"


async def _people_crisis(
    client: httpx.AsyncClient,
    make_org: OrgFactory,
    make_token: TokenFactory,
    *,
    exercise: bool = False,
) -> tuple[str, dict[str, dict[str, Any]], str]:
    """A crisis over ``PEOPLE`` in Kuala Lumpur, on a spot of this test's own: its id, each
    worker registered by id with what was registered, and the Philippine embassy in Malaysia.
    The foreigners are registered by their embassy, with a documentation status (only it may
    record one)."""
    admin = await make_token(Role.ADMIN)
    embassies = {
        code: await make_org(OrgKind.EMBASSY, "MYS", represents=code) for code in ("PHL", "IDN")
    }
    registrars = {code: await make_token(Role.CONSULAR_OFFICER, org) for code, org in
                  embassies.items()}  # fmt: skip
    (lon, lat), _ = PLACES["MY-14"]
    here = (lon + random.uniform(-0.01, 0.01), lat + random.uniform(-0.01, 0.01))
    made: dict[str, dict[str, Any]] = {}
    for i, (nationality, embassy, humanitarian, vulnerable, family) in enumerate(PEOPLE):
        body = {
            "nationality": nationality,
            "given_name": unique("Pointed"),
            "family_name": "Person",
            "phone": "+60 12 345 6789",
            "location": {"lon": here[0] + i * 0.00001, "lat": here[1]},
            "vulnerabilities": vulnerable,
            "accompanying_family": family,
            "consent": {"share_with_embassy": embassy, "share_with_humanitarian": humanitarian},
            "source": "self",
        }
        token = registrars.get(nationality)
        if token is not None:
            body["documentation_status"] = SECRET_STATUS
        registered = await client.post("/api/v1/workers", json=body, headers=bearer(token or admin))
        assert registered.status_code == 201, registered.text
        made[registered.json()["id"]] = body
    declared = await client.post(
        "/api/v1/crises",
        json={
            "title": unique("People map"),
            "hazard": "flood",
            "severity": "minor",
            "exercise": exercise,
            "zones": {"type": "Polygon", "coordinates": [_square(*here)]},
        },
        headers=bearer(admin),
    )
    assert declared.status_code == 201, declared.text
    return declared.json()["id"], made, embassies["PHL"]


async def _people_map(
    client: httpx.AsyncClient, crisis_id: str, token: str, format: str = "geojson"
) -> httpx.Response:
    return await client.get(
        f"/api/v1/crises/{crisis_id}/map",
        params={"format": format, "people": "true"},
        headers=bearer(token),
    )


def _no_secret(content: bytes, made: dict[str, dict[str, Any]]) -> None:
    """Nothing of a person but what the layer says: no name, phone or documentation status."""
    assert SECRET_STATUS.encode() not in content
    assert b"documentation_status" not in content and b"phone" not in content
    assert b"Pointed-" not in content and b"given_name" not in content
    assert not [b for b in made.values() if b["given_name"].encode() in content]


async def test_the_map_holds_the_points_of_the_people_one_may_list(
    app: FastAPI,
    client: httpx.AsyncClient,
    make_org: OrgFactory,
    make_token: TokenFactory,
    tmp_path: Path,
) -> None:
    admin = await make_token(Role.ADMIN)
    crisis_id, made, embassy = await _people_crisis(client, make_org, make_token)
    society = await make_org(OrgKind.NATIONAL_SOCIETY, "MYS")
    callers = {
        "admin": admin,
        "phl": await make_token(Role.CONSULAR_OFFICER, embassy),
        "society": await make_token(Role.SOCIETY_RESPONDER, society),
    }
    expected = {
        # Everyone but the Malaysian at home; the Philippine embassy its nationals who
        # consented; the society the people in its country who agreed to humanitarian sharing.
        "admin": {i for i, b in made.items() if b["nationality"] != "MYS"},
        "phl": {
            i
            for i, b in made.items()
            if b["nationality"] == "PHL" and b["consent"]["share_with_embassy"]
        },
        "society": {
            i
            for i, b in made.items()
            if b["nationality"] != "MYS" and b["consent"]["share_with_humanitarian"]
        },
    }
    for who, token in callers.items():
        listed = await client.get(
            f"/api/v1/crises/{crisis_id}/workers", params={"limit": 200}, headers=bearer(token)
        )
        assert listed.status_code == 200, listed.text
        ids = {w["id"] for w in listed.json()["items"]}
        assert ids == expected[who], who

        answer = await _people_map(client, crisis_id, token)
        assert answer.status_code == 200, answer.text
        assert f"crisis-{crisis_id}-map-people.geojson" in answer.headers["content-disposition"]
        assert answer.headers["lifeline-written"] == str(len(ids))
        assert answer.headers["cache-control"] == "no-store"
        assert "lifeline-truncated" not in answer.headers
        _no_secret(answer.content, made)
        points = [f for f in answer.json()["features"] if f["properties"]["layer"] == "people"]
        assert {f["properties"]["id"] for f in points} == ids, who
        for feature in points:
            properties = feature["properties"]
            assert set(properties) == POINT_PROPERTIES, who
            body = made[properties["id"]]
            assert feature["geometry"] == {
                "type": "Point",
                "coordinates": [
                    round(body["location"]["lon"], 6),
                    round(body["location"]["lat"], 6),
                ],
            }
            assert properties["name"] == properties["id"]
            assert properties["nationality"] == body["nationality"]
            assert properties["admin1"] == "MY-14"
            assert properties["accompanying_family"] == body["accompanying_family"]
            assert properties["vulnerable"] is bool(body["vulnerabilities"])
            assert properties["exercise"] is False
        frame = gpd.read_file(io.BytesIO(answer.content))
        people = frame[frame["layer"] == "people"]
        assert set(people["id"]) == ids and set(people.geom_type) == {"Point"}
        assert set(frame[frame["layer"] != "people"].geom_type) <= {"Polygon", "MultiPolygon"}

        packed = await _people_map(client, crisis_id, token, "gpkg")
        assert packed.status_code == 200, packed.text
        _no_secret(packed.content, made)
        layer = _layer(packed.content, "people", tmp_path)
        assert set(layer["id"]) == ids and set(layer.geom_type) == {"Point"}
        assert set(layer.columns) == POINT_PROPERTIES - {"layer"} | {"geometry"}
        assert sorted(layer["id"]) == sorted(people["id"])
        for row in layer.itertuples():
            (same,) = people[people["id"] == row.id].geometry
            assert row.geometry.equals(same)
            assert bool(row.vulnerable) is bool(made[str(row.id)]["vulnerabilities"])
        assert len(_layer(packed.content, "zones", tmp_path)) == 1

        written = await _people_map(client, crisis_id, token, "kml")
        assert written.status_code == 200, written.text
        _no_secret(written.content, made)
        root = ET.fromstring(written.content)
        folders = {f.findtext(f"{KML}name"): f for f in root.iter(f"{KML}Folder")}
        assert set(folders) == {"zones", "areas", "people"}
        placemarks = list(folders["people"].iter(f"{KML}Placemark"))
        assert {p.findtext(f"{KML}name") for p in placemarks} == ids
        for placemark in placemarks:
            data = {d.get("name") for d in placemark.iter(f"{KML}Data")}
            assert data == POINT_PROPERTIES - {"layer", "name"}
            assert placemark.find(f"{KML}Point/{KML}coordinates") is not None

    async with session_scope(app.state.sessionmaker) as session:
        lists = (
            await session.exec(
                select(AuditEvent).where(
                    AuditEvent.action == "exposure.list", AuditEvent.subject_type == "worker"
                )
            )
        ).all()
        exported = (
            await session.exec(
                select(AuditEvent).where(
                    AuditEvent.action == "crisis.map_exported",
                    AuditEvent.subject_id == crisis_id,
                )
            )
        ).all()
    by_map = [e.detail for e in lists if (e.detail or {}).get("crisis_id") == crisis_id]
    mapped = sorted((d["map"], len(d["ids"])) for d in by_map if "map" in d)
    assert mapped == sorted(
        (f, len(expected[who])) for who in callers for f in ("geojson", "gpkg", "kml")
    )
    assert all(set(d["ids"]) in expected.values() for d in by_map if "map" in d)
    assert sorted((e.detail or {})["people"] for e in exported) == sorted(
        len(expected[who]) for who in callers for _ in range(3)
    )


async def test_points_of_people_only_for_those_who_may_list_them(
    app: FastAPI,
    client: httpx.AsyncClient,
    make_org: OrgFactory,
    make_token: TokenFactory,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    admin = await make_token(Role.ADMIN)
    crisis_id, made, _ = await _people_crisis(client, make_org, make_token, exercise=True)
    for role in (Role.VIEWER, Role.COORDINATOR):
        token = await make_token(role)
        refused = await _people_map(client, crisis_id, token)
        assert refused.status_code == 403, refused.text
        assert refused.headers["content-type"].startswith("application/problem+json")
        assert "exposure:list" in refused.json()["detail"]
        # Without people, the map as ever: no point.
        plain = await _map(client, crisis_id, token)
        assert {f["properties"]["layer"] for f in plain.json()["features"]} <= {"zones", "areas"}
        _no_secret(plain.content, made)
    async with session_scope(app.state.sessionmaker) as session:
        denied = (
            await session.exec(
                select(AuditEvent).where(
                    AuditEvent.subject_id == crisis_id, AuditEvent.outcome == "denied"
                )
            )
        ).all()
    assert len(denied) == 2 and all((e.detail or {}).get("people") for e in denied)

    # A drill's points say so; a list longer than a file holds is cut, and says so.
    monkeypatch.setattr(maps, "PEOPLE_LIMIT", 2)
    answer = await _people_map(client, crisis_id, admin)
    assert answer.status_code == 200, answer.text
    assert "exercise-map-people.geojson" in answer.headers["content-disposition"]
    points = [f for f in answer.json()["features"] if f["properties"]["layer"] == "people"]
    assert len(points) == 2 and all(f["properties"]["exercise"] is True for f in points)
    assert answer.headers["lifeline-written"] == "2"
    assert answer.headers["lifeline-listed"] == str(len(PEOPLE) - 1)
    assert "points of people at most" in answer.headers["lifeline-truncated"]


async def test_points_of_people_are_rate_limited_as_lists_of_people(
    app: FastAPI,
    client: httpx.AsyncClient,
    make_org: OrgFactory,
    make_token: TokenFactory,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    crisis_id, _, _ = await _people_crisis(client, make_org, make_token)
    token = await make_token(Role.ADMIN)
    # A burst of two, refilled slower than the test runs.
    monkeypatch.setattr(app.state.people_lists, "burst", 2)
    monkeypatch.setattr(app.state.people_lists, "rate", 0.001)
    statuses = [(await _people_map(client, crisis_id, token)).status_code for _ in range(3)]
    assert statuses == [200, 200, 429]
    # The map without people is no list of people.
    assert (await _map(client, crisis_id, token)).status_code == 200
