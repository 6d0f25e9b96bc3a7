"""A crisis's public advisories as CAP 1.2, on both databases: an advisory in three languages
validates against the OASIS schema and reads back equal through ``integrations.cap``; an Update
references the first, a Cancel every earlier one; a drill's advisory is an Exercise; a text that
names a status, a visa or the police is refused; a viewer reads, a consular officer cannot
write; the Atom index lists the latest and ``parse_cap_index`` reads it."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import shapely
import xmlschema
from shapely.geometry import Polygon, shape

from integrations.alert import Hazard, MsgType, Severity, Status
from integrations.cap import parse_cap, parse_cap_index
from integrations.xml import children, parse_xml, text
from service.app import create_app
from service.auth.permissions import Role
from service.directory.models import OrgKind
from tests.conftest import Databases, bearer, make_org_in, make_token_in, settings_for, unique

SCHEMA = xmlschema.XMLSchema(
    Path(__file__).parents[2] / "fixtures" / "feeds" / "cap" / "CAP-v1.2.xsd"
)
DOMAIN = "advisories.lifeline.test"

#: Two areas around Kuala Lumpur and Klang, the first with a hole (a river: no one lives there).
ZONE = {
    "type": "MultiPolygon",
    "coordinates": [
        [
            [[101.6, 3.1], [101.75, 3.1], [101.75, 3.2], [101.6, 3.2], [101.6, 3.1]],
            [[101.66, 3.14], [101.68, 3.14], [101.68, 3.16], [101.66, 3.16], [101.66, 3.14]],
        ],
        [[[101.4, 3.0], [101.5, 3.0], [101.5, 3.08], [101.4, 3.08], [101.4, 3.0]]],
    ],
}
TEXTS = {
    "en": {
        "headline": "Flood help in Kuala Lumpur and Klang",
        "description": "Relief centres are open at the community halls of Kampung Baru and Klang.",
        "instruction": "Go to a relief centre. Food, water and a place to sleep are free for all.",
    },
    "tl": {
        "headline": "Tulong sa baha sa Kuala Lumpur at Klang",
        "description": "Bukas ang mga relief centre sa mga bulwagan ng Kampung Baru at Klang.",
        "instruction": "Pumunta sa relief centre. Libre ang pagkain, tubig at matutulugan.",
    },
    "th": {
        "headline": "ความช่วยเหลือน้ำท่วมในกัวลาลัมเปอร์และกลัง",
        "description": "ศูนย์ช่วยเหลือเปิดที่ศาลาชุมชนกัมปงบารูและกลัง",
        "instruction": "ไปที่ศูนย์ช่วยเหลือ อาหาร น้ำ และที่พักฟรีสำหรับทุกคน",
    },
}
HOTLINE = "+60 3 1234 5678"


@pytest.fixture
async def desk(databases: Databases, backend: str) -> AsyncIterator[dict[str, Any]]:
    settings = settings_for(await databases.create(backend)).model_copy(
        update={"records_domain": DOMAIN}
    )
    app = create_app(settings, configure_logs=False)
    async with app.router.lifespan_context(app):
        await app.state.register_index.ready.wait()
        tokens = {
            "coordinator": await make_token_in(app, Role.COORDINATOR, await make_org_in(app)),
            "viewer": await make_token_in(app, Role.VIEWER, await make_org_in(app)),
            "consul": await make_token_in(
                app, Role.CONSULAR_OFFICER, await make_org_in(app, OrgKind.EMBASSY, "MYS", "PHL")
            ),
        }
        transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:

            async def crisis(exercise: bool = False) -> dict[str, Any]:
                made = await client.post(
                    "/api/v1/crises",
                    json={
                        "title": unique("Floods in the Klang valley"),
                        "hazard": "flood",
                        "severity": "severe",
                        "zones": ZONE,
                        "exercise": exercise,
                    },
                    headers=bearer(tokens["coordinator"]),
                )
                assert made.status_code == 201, made.text
                return dict(made.json())

            yield {"client": client, "tokens": tokens, "crisis": crisis}


def as_(desk: dict[str, Any], who: str) -> dict[str, str]:
    return bearer(desk["tokens"][who])


async def send(
    desk: dict[str, Any], crisis_id: str, texts: dict[str, Any] | None = None
) -> httpx.Response:
    return await desk["client"].post(
        f"/api/v1/crises/{crisis_id}/advisories",
        json={"texts": texts or TEXTS, "contact": HOTLINE, "web": "https://help.example.org/kl"},
        headers=as_(desk, "coordinator"),
    )


async def cap_of(desk: dict[str, Any], crisis_id: str, **params: Any) -> bytes:
    got = await desk["client"].get(
        f"/api/v1/crises/{crisis_id}/cap", params=params, headers=as_(desk, "viewer")
    )
    assert got.status_code == 200, got.text
    assert got.headers["content-type"].startswith("application/cap+xml")
    SCHEMA.validate(got.content)  # raises with the first error
    return got.content


def without_holes(geometry: dict[str, Any]) -> Any:
    return shapely.union_all([Polygon(p.exterior) for p in shape(geometry).geoms])


async def test_an_advisory_in_three_languages_is_valid_cap_and_reads_back(
    desk: dict[str, Any],
) -> None:
    crisis = await desk["crisis"]()
    made = await send(desk, crisis["id"])
    assert made.status_code == 201, made.text
    sent = made.json()
    identifier = f"{DOMAIN}/advisory.{crisis['id']}.1"
    assert sent["identifier"] == identifier
    assert (sent["version"], sent["msg_type"], sent["status"]) == (1, "Alert", "Actual")
    assert sent["references"] == []

    content = await cap_of(desk, crisis["id"])
    alert = parse_cap(content)
    assert alert.extra["identifier"] == identifier
    assert alert.extra["sender"] == DOMAIN
    assert alert.extra["scope"] == "Public"
    assert alert.msg_type is MsgType.ALERT
    assert alert.status is Status.ACTUAL
    assert alert.references == ()
    assert alert.sent.isoformat() == sent["sent"].replace("Z", "+00:00")
    assert alert.hazard is Hazard.FLOOD
    assert alert.severity is Severity.SEVERE
    assert alert.languages == ("en", "th", "tl")
    assert alert.headline == TEXTS["en"]["headline"]
    assert alert.instruction == TEXTS["en"]["instruction"]
    assert alert.url == "https://help.example.org/kl"
    assert alert.extra["area_descriptions"] == [crisis["title"]]
    # The area: both polygons of the zone, the hole dropped (CAP has none).
    assert alert.geometry is not None
    expected = without_holes(crisis["zones"])
    assert shape(alert.geometry).symmetric_difference(expected).area < 1e-9

    root = parse_xml(content)
    infos = {text(i, "language"): i for i in children(root, "info")}
    assert set(infos) == set(TEXTS)
    for language, info in infos.items():
        assert text(info, "headline") == TEXTS[language]["headline"]
        assert text(info, "description") == TEXTS[language]["description"]
        assert text(info, "instruction") == TEXTS[language]["instruction"]
        assert text(info, "contact") == HOTLINE
        assert text(info, "category") == "Met"
        assert (text(info, "urgency"), text(info, "certainty")) == ("Immediate", "Observed")
        polygons = [text(p) for a in children(info, "area") for p in children(a, "polygon")]
        assert len(polygons) == 2
        for polygon in polygons:
            pairs = polygon.split(" ")
            assert pairs[0] == pairs[-1]
            lat, lon = map(float, pairs[0].split(","))
            assert 2.9 < lat < 3.3 and 101.3 < lon < 101.8  # "lat,lon", not GeoJSON's order

    listed = await desk["client"].get(
        f"/api/v1/crises/{crisis['id']}/advisories", headers=as_(desk, "viewer")
    )
    assert listed.status_code == 200
    assert [a["identifier"] for a in listed.json()] == [identifier]
    assert listed.json()[0]["texts"] == TEXTS


async def test_an_update_references_the_first_and_a_cancel_every_earlier_one(
    desk: dict[str, Any],
) -> None:
    crisis = await desk["crisis"]()
    first = (await send(desk, crisis["id"])).json()
    changed = {**TEXTS, "en": {**TEXTS["en"], "headline": "Flood help: Klang hall now full"}}
    update = await send(desk, crisis["id"], changed)
    assert update.status_code == 201, update.text
    second = update.json()
    assert (second["version"], second["msg_type"]) == (2, "Update")
    first_ref = f"{DOMAIN},{first['identifier']},{first['sent'].replace('Z', '+00:00')}"
    assert second["references"] == [first_ref]

    alert = parse_cap(await cap_of(desk, crisis["id"]))
    assert alert.msg_type is MsgType.UPDATE
    assert alert.extra["identifier"] == second["identifier"]
    assert alert.references == (f"{DOMAIN}/{first['identifier']}",)
    # The chain lands on the first message, as any CAP reader follows it.
    assert alert.external_id == f"{DOMAIN}/{first['identifier']}"
    assert alert.headline == "Flood help: Klang hall now full"
    # An earlier version, as it was.
    earlier = parse_cap(await cap_of(desk, crisis["id"], version=1))
    assert (earlier.msg_type, earlier.headline) == (MsgType.ALERT, TEXTS["en"]["headline"])

    cancel = await desk["client"].post(
        f"/api/v1/crises/{crisis['id']}/advisories/cancel", headers=as_(desk, "coordinator")
    )
    assert cancel.status_code == 201, cancel.text
    assert cancel.json()["msg_type"] == "Cancel"
    assert len(cancel.json()["references"]) == 2
    cancelled = parse_cap(await cap_of(desk, crisis["id"]))
    assert cancelled.msg_type is MsgType.CANCEL
    assert cancelled.references == (
        f"{DOMAIN}/{first['identifier']}",
        f"{DOMAIN}/{second['identifier']}",
    )
    # Nothing follows a Cancel; an unknown version is a 404.
    assert (await send(desk, crisis["id"])).status_code == 409
    again = await desk["client"].post(
        f"/api/v1/crises/{crisis['id']}/advisories/cancel", headers=as_(desk, "coordinator")
    )
    assert again.status_code == 409
    missing = await desk["client"].get(
        f"/api/v1/crises/{crisis['id']}/cap", params={"version": 9}, headers=as_(desk, "viewer")
    )
    assert missing.status_code == 404


async def test_a_drill_gives_an_exercise(desk: dict[str, Any]) -> None:
    crisis = await desk["crisis"](exercise=True)
    made = await send(desk, crisis["id"])
    assert (made.json()["status"], made.json()["exercise"]) == ("Exercise", True)
    content = await cap_of(desk, crisis["id"])
    assert parse_cap(content).status is Status.EXERCISE
    assert text(parse_xml(content), "note").startswith("EXERCISE")


@pytest.mark.parametrize(
    ("language", "field", "words"),
    [
        ("en", "instruction", "Bring your passport and visa to the hall."),
        ("en", "description", "Undocumented workers are welcome."),
        ("tl", "instruction", "Walang pulis sa relief centre."),
        ("th", "description", "ไม่ต้องใช้เอกสาร"),
        ("en", "headline", "Please identify yourself at the door"),
    ],
)
async def test_a_forbidden_word_is_refused(
    desk: dict[str, Any], language: str, field: str, words: str
) -> None:
    crisis = await desk["crisis"]()
    texts = {**TEXTS, language: {**TEXTS[language], field: words}}
    refused = await send(desk, crisis["id"], texts)
    assert refused.status_code == 422, refused.text
    assert refused.json()["errors"][0]["loc"] == ["body", "texts", language, field]
    listed = await desk["client"].get(
        f"/api/v1/crises/{crisis['id']}/advisories", headers=as_(desk, "viewer")
    )
    assert listed.json() == []


async def test_english_is_always_given(desk: dict[str, Any]) -> None:
    crisis = await desk["crisis"]()
    refused = await send(desk, crisis["id"], {"tl": TEXTS["tl"]})
    assert refused.status_code == 422
    assert refused.json()["errors"][0]["loc"] == ["body", "texts", "en"]
    unknown = await send(desk, crisis["id"], {**TEXTS, "xx": TEXTS["en"]})
    assert unknown.status_code == 422


async def test_a_viewer_reads_and_a_consular_officer_cannot_write(desk: dict[str, Any]) -> None:
    crisis = await desk["crisis"]()
    client = desk["client"]
    for who in ("consul", "viewer"):
        refused = await client.post(
            f"/api/v1/crises/{crisis['id']}/advisories",
            json={"texts": TEXTS, "contact": HOTLINE},
            headers=as_(desk, who),
        )
        assert refused.status_code == 403, who
        cancel = await client.post(
            f"/api/v1/crises/{crisis['id']}/advisories/cancel", headers=as_(desk, who)
        )
        assert cancel.status_code == 403, who
    assert (await send(desk, crisis["id"])).status_code == 201
    for who in ("viewer", "consul"):
        for path in ("advisories", "cap"):
            got = await client.get(f"/api/v1/crises/{crisis['id']}/{path}", headers=as_(desk, who))
            assert got.status_code == 200, (who, path)
    # Every route takes a token.
    assert (await client.get(f"/api/v1/crises/{crisis['id']}/cap")).status_code == 401
    assert (await client.get("/api/v1/advisories.atom")).status_code == 401


async def test_the_atom_index_lists_the_latest_advisories(desk: dict[str, Any]) -> None:
    client = desk["client"]
    real = await desk["crisis"]()
    drill = await desk["crisis"](exercise=True)
    silent = await desk["crisis"]()  # no advisory: not listed
    await send(desk, real["id"])
    await send(desk, drill["id"])
    await send(desk, real["id"])  # an Update: the index lists it, not the Alert
    got = await client.get("/api/v1/advisories.atom", headers=as_(desk, "viewer"))
    assert got.status_code == 200
    assert got.headers["content-type"].startswith("application/atom+xml")
    entries = parse_cap_index(got.content)
    urls = [e.url for e in entries]
    assert f"http://t/api/v1/crises/{real['id']}/cap?version=2" in urls
    assert f"http://t/api/v1/crises/{drill['id']}/cap?version=1" in urls
    assert not any(silent["id"] in url for url in urls)
    assert all(e.updated is not None for e in entries)
    assert len({e.id for e in entries}) == len(entries)
    # Each entry's link is its alert, as a hub pulling the index fetches it.
    entry = next(e for e in entries if real["id"] in e.url)
    fetched = await client.get(entry.url, headers=as_(desk, "viewer"))
    SCHEMA.validate(fetched.content)
    alert = parse_cap(fetched.content)
    assert alert.msg_type is MsgType.UPDATE
    assert alert.extra["identifier"] == f"{DOMAIN}/advisory.{real['id']}.2"
    # A closed crisis leaves the index.
    closed = await client.patch(
        f"/api/v1/crises/{real['id']}",
        json={"phase": "closed"},
        headers={**as_(desk, "coordinator"), "If-Match": await _etag(desk, real["id"])},
    )
    assert closed.status_code == 200, closed.text
    again = parse_cap_index(
        (await client.get("/api/v1/advisories.atom", headers=as_(desk, "viewer"))).content
    )
    assert not any(real["id"] in e.url for e in again)


async def _etag(desk: dict[str, Any], crisis_id: str) -> str:
    got = await desk["client"].get(f"/api/v1/crises/{crisis_id}", headers=as_(desk, "viewer"))
    return str(got.headers["etag"])
