"""From alert to crisis, on a register of its own, on both databases: a CAP alert over
registered workers opens one crisis; the same alert again changes nothing; an update with a
larger zone adds a zone version; a cancel stands it down; an exercise makes a drill."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from service.app import create_app
from service.auth.permissions import Role
from service.directory.models import OrgKind
from service.flows.alert_pass import process_pending
from tests.conftest import Databases, bearer, make_org_in, make_token_in, settings_for, unique

CAP_XML = {"Content-Type": "application/cap+xml"}
DAVAO = (7.07, 125.61)


def cap(
    identifier: str,
    *,
    msg_type: str = "Alert",
    refs: str = "",
    status: str = "Actual",
    sent: str = "2026-11-20T10:00:00+08:00",
    half: float = 0.15,
    severity: str = "Severe",
) -> bytes:
    lat, lon = DAVAO
    ring = f"{lat - half},{lon - half} {lat - half},{lon + half} {lat + half},{lon + half} {lat + half},{lon - half} {lat - half},{lon - half}"
    references = f"<references>{refs}</references>" if refs else ""
    return f"""<alert xmlns="urn:oasis:names:tc:emergency:cap:1.2"><identifier>{identifier}</identifier>
<sender>phivolcs.test</sender><sent>{sent}</sent><status>{status}</status><msgType>{msg_type}</msgType>
<scope>Public</scope>{references}<info><category>Geo</category><event>Earthquake</event><urgency>Immediate</urgency>
<severity>{severity}</severity><certainty>Observed</certainty><headline>M6.8 earthquake near Davao</headline>
<area><areaDesc>Davao</areaDesc><polygon>{ring}</polygon></area></info></alert>""".encode()


@pytest.fixture
async def davao(databases: Databases, backend: str) -> AsyncIterator[dict[str, Any]]:
    url = await databases.create(backend)
    app = create_app(settings_for(url), configure_logs=False)
    async with app.router.lifespan_context(app):
        await app.state.register_index.ready.wait()
        tokens = {
            "admin": await make_token_in(app, Role.ADMIN, await make_org_in(app)),
            "coordinator": await make_token_in(app, Role.COORDINATOR, await make_org_in(app)),
            "integration": await make_token_in(app, Role.INTEGRATION, await make_org_in(app)),
            "idn": await make_token_in(
                app, Role.CONSULAR_OFFICER, await make_org_in(app, OrgKind.EMBASSY, "PHL", "IDN")
            ),
            "viewer": await make_token_in(app, Role.VIEWER, await make_org_in(app)),
            # the host society and the Indonesian ministry: the other side of the border
            "prc": await make_token_in(
                app, Role.SOCIETY_RESPONDER, await make_org_in(app, OrgKind.NATIONAL_SOCIETY, "PHL")
            ),
            "bp2mi": await make_token_in(
                app,
                Role.CONSULAR_OFFICER,
                await make_org_in(app, OrgKind.LABOUR_MINISTRY, "IDN", "IDN"),
            ),
        }
        employer = await make_org_in(app, OrgKind.EMPLOYER, "PHL", slug=unique("davao-builders"))
        transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
            employer_slug = (
                await client.get(
                    f"/api/v1/organizations/{employer}", headers=bearer(tokens["admin"])
                )
            ).json()["slug"]
            # 6 Indonesians and 2 Chinese workers in Davao, 3 Indonesians 25 km out of town.
            people = [("IDN", 0.0)] * 6 + [("CHN", 0.0)] * 2 + [("IDN", 0.23)] * 3
            for i, (nationality, offset) in enumerate(people):
                body = {
                    "nationality": nationality,
                    "document_number": unique("D"),
                    "source": "embassy_registration",
                    "location": {"lat": DAVAO[0] + offset + i * 0.001, "lon": DAVAO[1] + i * 0.001},
                    "sector": "construction",
                    "vulnerabilities": ["disability"] if i == 0 else [],
                    "employer": employer_slug if i < 3 else None,
                }
                made = await client.post(
                    "/api/v1/workers", json=body, headers=bearer(tokens["admin"])
                )
                assert made.status_code == 201, made.text
            yield {"app": app, "client": client, "tokens": tokens, "employer": employer}


async def push(davao: dict[str, Any], message: bytes) -> dict[str, Any]:
    response = await davao["client"].post(
        "/api/v1/alerts/cap",
        content=message,
        headers={**bearer(davao["tokens"]["integration"]), **CAP_XML},
    )
    assert response.status_code in {200, 201}, response.text
    return dict(response.json())


async def run_pass(davao: dict[str, Any]) -> list[Any]:
    app: FastAPI = davao["app"]
    index = app.state.register_index
    await index.refresh()
    return await process_pending(app.state.sessionmaker, index=index, geometry=app.state.geometry)


async def get(davao: dict[str, Any], path: str, who: str = "coordinator") -> Any:
    response = await davao["client"].get(path, headers=bearer(davao["tokens"][who]))
    assert response.status_code == 200, response.text
    return response.json()


async def test_an_alert_opens_one_crisis_and_updates_and_cancels_follow_it(
    davao: dict[str, Any],
) -> None:
    first = unique("EQ")
    alert = await push(davao, cap(first))
    [outcome] = await run_pass(davao)
    assert outcome.result == "opened"
    crisis_id = outcome.crisis_id
    crisis = await get(davao, f"/api/v1/crises/{crisis_id}")
    assert (crisis["hazard"], crisis["severity"], crisis["exercise"], crisis["zone_version"]) == (
        "earthquake",
        "severe",
        False,
        1,
    )
    assert crisis["alerts"] == [alert["id"]]
    exposure = await get(davao, f"/api/v1/crises/{crisis_id}/exposure")
    assert exposure["workers"] == 8 and exposure["by_nationality"] == {"IDN": 6, "CHN": 2}

    # The same alert again: nothing to do.
    await push(davao, cap(first))
    assert await run_pass(davao) == []

    # An update with a larger zone reaches the three out of town: a new zone version, the old kept.
    refs = f"phivolcs.test,{first},2026-11-20T10:00:00+08:00"
    await push(
        davao,
        cap(unique("EQ"), msg_type="Update", refs=refs, sent="2026-11-20T12:00:00+08:00", half=0.4),
    )
    [updated] = await run_pass(davao)
    assert (updated.result, updated.crisis_id) == ("updated", crisis_id)
    exposure = await get(davao, f"/api/v1/crises/{crisis_id}/exposure")
    assert exposure["zone_version"] == 2 and exposure["by_nationality"] == {"IDN": 9, "CHN": 2}

    # A cancel stands the crisis down.
    await push(
        davao, cap(unique("EQ"), msg_type="Cancel", refs=refs, sent="2026-11-20T18:00:00+08:00")
    )
    [cancelled] = await run_pass(davao)
    assert cancelled.result == "stood_down"
    assert (await get(davao, f"/api/v1/crises/{crisis_id}"))["stood_down"] is True
    kinds = [
        e["kind"]
        for e in (await get(davao, f"/api/v1/crises/{crisis_id}/timeline?limit=500"))["items"]
    ]
    assert (
        kinds[0] == "opened"
        and "zone_changed" in kinds
        and kinds[-2:] == ["stood_down", "tasks_stood_down"]
    )


async def test_exercises_make_drills_and_alerts_over_nobody_make_nothing(
    davao: dict[str, Any],
) -> None:
    await push(davao, cap(unique("DRILL"), status="Exercise"))
    [drill] = await run_pass(davao)
    assert drill.result == "opened"
    assert (await get(davao, f"/api/v1/crises/{drill.crisis_id}"))["exercise"] is True
    listed = await get(davao, "/api/v1/crises")
    assert drill.crisis_id in [c["id"] for c in listed["items"]]  # listed, and marked
    assert drill.crisis_id not in [
        c["id"] for c in (await get(davao, "/api/v1/crises?exercises=false"))["items"]
    ]
    far = (
        cap(unique("EQ")).replace(b"Davao", b"Sea").replace(b"7.", b"2.")
    )  # at sea, nobody registered
    await push(davao, far)
    [nothing] = await run_pass(davao)
    assert nothing.result == "not_a_crisis" and "0 registered workers" in nothing.why
    weak = await push(davao, cap(unique("EQ"), severity="Minor"))
    [minor] = await run_pass(davao)
    assert minor.result == "not_a_crisis" and weak["severity"] == "minor"


async def test_coordinators_declare_and_change_crises_with_if_match(davao: dict[str, Any]) -> None:
    client, tokens = davao["client"], davao["tokens"]
    lat, lon = DAVAO
    zone = {
        "type": "Polygon",
        "coordinates": [
            [
                [lon - 0.1, lat - 0.1],
                [lon + 0.1, lat - 0.1],
                [lon + 0.1, lat + 0.1],
                [lon - 0.1, lat + 0.1],
                [lon - 0.1, lat - 0.1],
            ]
        ],
    }
    body = {
        "title": "Civil unrest in Davao",
        "hazard": "civil_unrest",
        "severity": "severe",
        "zones": zone,
        "alert_level": 2,
    }
    made = await client.post("/api/v1/crises", json=body, headers=bearer(tokens["coordinator"]))
    assert made.status_code == 201, made.text
    crisis = made.json()
    assert crisis["countries"] == ["PHL"] and crisis["version"] == 1
    url = f"/api/v1/crises/{crisis['id']}"
    raised = await client.patch(
        url, json={"alert_level": 3}, headers={**bearer(tokens["coordinator"]), "If-Match": "1"}
    )
    assert raised.status_code == 200 and raised.json()["alert_level"] == 3
    stale = await client.patch(
        url, json={"alert_level": 4}, headers={**bearer(tokens["coordinator"]), "If-Match": "1"}
    )
    assert stale.status_code == 412
    assert (
        await client.patch(url, json={"alert_level": 4}, headers=bearer(tokens["viewer"]))
    ).status_code == 403
    bad = await client.post(
        "/api/v1/crises",
        json={**body, "zones": {"type": "Point", "coordinates": [1, 2]}},
        headers=bearer(tokens["coordinator"]),
    )
    assert bad.status_code == 422
    kinds = [
        e["kind"]
        for e in (await get(davao, f"{url}/timeline?limit=500"))["items"]
        if not e["kind"].startswith("task")
    ]
    assert kinds == ["opened", "zone_changed", "alert_level_changed"]


async def test_crisis_exposure_outside_need_to_know_is_rounded(davao: dict[str, Any]) -> None:
    lat, lon = DAVAO
    zone = {
        "type": "Polygon",
        "coordinates": [
            [
                [lon - 0.1, lat - 0.1],
                [lon + 0.1, lat - 0.1],
                [lon + 0.1, lat + 0.1],
                [lon - 0.1, lat + 0.1],
                [lon - 0.1, lat - 0.1],
            ]
        ],
    }
    made = (
        await davao["client"].post(
            "/api/v1/crises",
            json={
                "title": "Flood in Davao",
                "hazard": "flood",
                "severity": "moderate",
                "zones": zone,
            },
            headers=bearer(davao["tokens"]["coordinator"]),
        )
    ).json()
    viewer = await get(davao, f"/api/v1/crises/{made['id']}/exposure", "viewer")
    assert viewer["exact"] is False and viewer["by_nationality"] == {
        "IDN": 5
    }  # 6 rounded; 2 CHN withheld
    consul = await get(davao, f"/api/v1/crises/{made['id']}/exposure", "idn")
    assert consul["own_nationals"] == {"IDN": 6}


async def test_playbooks_turn_a_crisis_into_tasks_for_the_right_organisations(
    davao: dict[str, Any],
) -> None:
    """IDN has an embassy in the Philippines (the fixture's consul); CHN has none: a coverage gap."""
    await push(davao, cap(unique("EQ"), sent="2026-11-21T10:00:00+08:00"))
    [opened] = await run_pass(davao)
    assert opened.result in {"opened", "joined"} and opened.tasks > 0
    tasks = (await get(davao, f"/api/v1/crises/{opened.crisis_id}/tasks?limit=500"))["items"]
    by_key = {t["key"]: t for t in tasks}
    idn_contact = by_key["response-core.contact_nationals@IDN@PHL"]
    assert idn_contact["assignee_org"] is not None and not idn_contact["coverage_gap"]
    assert idn_contact["status"] == "blocked"  # waits for the hotline
    assert idn_contact["after"] == [by_key["response-core.hotline@IDN@PHL"]["id"]]
    society = await get(davao, "/api/v1/tasks?limit=500", "prc")
    assert any(
        t["key"] == "response-core.first_aid" and t["crisis_id"] == opened.crisis_id
        for t in society["items"]
    )
    ministry = await get(davao, "/api/v1/tasks?limit=500", "bp2mi")
    assert any(t["key"] == "response-core.families_ministry@IDN@PHL" for t in ministry["items"])
    chn = by_key["response-core.contact_nationals@CHN@PHL"]
    assert chn["coverage_gap"] and chn["assignee_org"] is None and "Coverage gap" in chn["title"]
    assert all(t["basis"] for t in tasks)
    # Nothing planned twice; simulate says so too, and changes nothing.
    assert await run_pass(davao) == []
    simulated = (
        await davao["client"].post(
            f"/api/v1/crises/{opened.crisis_id}/simulate",
            headers=bearer(davao["tokens"]["coordinator"]),
        )
    ).json()
    assert simulated["tasks"] == []
    # Raising the alert level to 3 adds the repatriation chain, and only that.
    crisis = await get(davao, f"/api/v1/crises/{opened.crisis_id}")
    before = len(tasks)
    raised = await davao["client"].patch(
        f"/api/v1/crises/{opened.crisis_id}",
        json={"alert_level": 3},
        headers={**bearer(davao["tokens"]["coordinator"]), "If-Match": str(crisis["version"])},
    )
    assert raised.status_code == 200, raised.text
    after = (await get(davao, f"/api/v1/crises/{opened.crisis_id}/tasks?limit=500"))["items"]
    added = {t["key"] for t in after} - {t["key"] for t in tasks}
    assert added and all(k.startswith("evacuation.") for k in added) and len(after) > before


async def test_the_api_runs_the_crisis_pass_right_after_a_push(davao: dict[str, Any]) -> None:
    app: FastAPI = davao["app"]
    original = app.state.settings
    app.state.settings = original.model_copy(update={"crisis_pass_inline": True})
    try:
        alert = await push(
            davao, cap(unique("EQ"), sent="2026-11-22T10:00:00+08:00", severity="Extreme")
        )
    finally:
        app.state.settings = original
    # The response has gone; the pass ran after it, in the same process: nothing is left pending.
    assert await run_pass(davao) == []
    crises = (await get(davao, "/api/v1/crises?limit=500"))["items"]
    assert any(alert["id"] in c["alerts"] for c in crises)


async def test_playbooks_can_be_listed_and_validated(davao: dict[str, Any]) -> None:
    client, tokens = davao["client"], davao["tokens"]
    listed = await get(davao, "/api/v1/playbooks")
    assert {p["key"] for p in listed} >= {"response-core", "evacuation", "recovery"}
    assert (await get(davao, "/api/v1/playbooks/evacuation"))["trigger"]["alert_levels"] == [
        2,
        3,
        4,
    ]
    good = "key: drill\\ntitle: A drill\\nversion: 1\\ntrigger: {hazards: [any]}\\ntasks:\\n  - {key: call, title: Call, description: Call everyone, actor: embassy, due: 2h, basis: [MICIC G9]}\\n"
    ok = await client.post(
        "/api/v1/playbooks/validate",
        content=good.replace("\\n", "\n"),
        headers={**bearer(tokens["coordinator"]), "Content-Type": "application/yaml"},
    )
    assert ok.status_code == 200, ok.text
    bad = await client.post(
        "/api/v1/playbooks/validate",
        content=good.replace("\\n", "\n").replace("2h", "soon"),
        headers={**bearer(tokens["coordinator"]), "Content-Type": "application/yaml"},
    )
    assert bad.status_code == 422 and "line 6" in bad.text


async def test_employers_of_the_exposed_workers_get_their_tasks(davao: dict[str, Any]) -> None:
    lat, lon = DAVAO
    zone = {
        "type": "Polygon",
        "coordinates": [
            [
                [lon - 0.1, lat - 0.1],
                [lon + 0.1, lat - 0.1],
                [lon + 0.1, lat + 0.1],
                [lon - 0.1, lat + 0.1],
                [lon - 0.1, lat - 0.1],
            ]
        ],
    }
    made = await davao["client"].post(
        "/api/v1/crises",
        json={
            "title": "Dengue outbreak in Davao",
            "hazard": "epidemic",
            "severity": "severe",
            "zones": zone,
        },
        headers=bearer(davao["tokens"]["coordinator"]),
    )
    assert made.status_code == 201, made.text
    exposure = await get(davao, f"/api/v1/crises/{made.json()['id']}/exposure")
    assert exposure["by_employer"] == {davao["employer"]: 3}
    tasks = (await get(davao, f"/api/v1/crises/{made.json()['id']}/tasks?limit=500"))["items"]
    wages = [t for t in tasks if t["key"].startswith("epidemic.wages_and_leave@")]
    assert [(t["assignee_org"], t["coverage_gap"]) for t in wages] == [(davao["employer"], False)]
    assert "3 sick or furloughed" in wages[0]["title"]


async def test_system_and_draft_messages_are_kept_but_never_acted_on(davao: dict[str, Any]) -> None:
    for status in ("System", "Draft"):
        await push(davao, cap(unique("SYS"), status=status))
    outcomes = await run_pass(davao)
    assert [o.result for o in outcomes] == ["not_a_crisis", "not_a_crisis"]


async def test_two_passes_at_once_link_an_alert_to_one_crisis(davao: dict[str, Any]) -> None:
    """The API's inline pass and the worker's run at once over the same new alert: one handles
    it, the other finds it claimed; one crisis, one link, no error."""
    import asyncio

    from sqlmodel import select

    from service.crises.models import Crisis, CrisisAlert

    app: FastAPI = davao["app"]
    alert = await push(davao, cap(unique("EQ")))
    await app.state.register_index.refresh()
    passes = [
        process_pending(app.state.sessionmaker, index=app.state.register_index) for _ in range(2)
    ]
    first, second = await asyncio.gather(*passes)
    mine = [o for o in first + second if o.alert_id == alert["id"]]
    assert [o.result for o in mine] in (["opened"], ["joined"]), mine
    async with app.state.sessionmaker() as session:
        links = (
            await session.exec(select(CrisisAlert).where(CrisisAlert.alert_id == alert["id"]))
        ).all()
        assert len(links) == 1
        opened = (await session.exec(select(Crisis).where(Crisis.id == links[0].crisis_id))).all()
        assert len(opened) == 1
