"""The repatriation operation on a register of its own, on both databases: eligibility by the
crisis's alert level, consent before a seat, the last seat raced for by two officers (one seat,
one 409), a withdrawal that frees it, a three-leg movement boarded and arrived with one person
missing at the second leg (the reconciliation says who), the manifest, reception tasks at
origin on arrival, the embassy's task for a travel document."""

from __future__ import annotations

import asyncio
import csv
import io
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlmodel import select

from service.app import create_app
from service.auth.permissions import Role
from service.db import session_scope
from service.directory.models import OrgKind
from service.tasks.models import Task
from tests.conftest import Databases, bearer, make_org_in, make_token_in, settings_for, unique

KL = (3.139, 101.6869)


@pytest.fixture
async def home(databases: Databases, backend: str) -> AsyncIterator[dict[str, Any]]:
    app = create_app(settings_for(await databases.create(backend)), configure_logs=False)
    async with app.router.lifespan_context(app):
        await app.state.register_index.ready.wait()
        orgs = {
            "embassy": await make_org_in(app, OrgKind.EMBASSY, "MYS", "PHL"),
            "ministry": await make_org_in(app, OrgKind.LABOUR_MINISTRY, "PHL", "PHL"),
            "prc": await make_org_in(app, OrgKind.NATIONAL_SOCIETY, "PHL"),
            "idn": await make_org_in(app, OrgKind.EMBASSY, "MYS", "IDN"),
        }
        tokens = {
            "phl": await make_token_in(app, Role.CONSULAR_OFFICER, orgs["embassy"]),
            "phl2": await make_token_in(app, Role.CONSULAR_OFFICER, orgs["embassy"]),
            "idn": await make_token_in(app, Role.CONSULAR_OFFICER, orgs["idn"]),
            "coordinator": await make_token_in(app, Role.COORDINATOR, await make_org_in(app)),
        }
        transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
            workers = []
            for i in range(5):
                made = await client.post(
                    "/api/v1/workers",
                    json={
                        "nationality": "PHL",
                        "document_number": unique("P"),
                        "given_name": f"Juan{i}",
                        "family_name": "Dela Cruz",
                        "documentation_status": "expired permit",
                        "location": {"lat": KL[0] + i * 0.001, "lon": KL[1]},
                        "vulnerabilities": ["pregnant"] if i == 4 else [],
                    },
                    headers=bearer(tokens["phl"]),
                )
                assert made.status_code == 201, made.text
                workers.append(made.json()["id"])
            lat, lon = KL
            ring = [[lon - 0.1, lat - 0.1], [lon + 0.1, lat - 0.1], [lon + 0.1, lat + 0.1],
                    [lon - 0.1, lat + 0.1], [lon - 0.1, lat - 0.1]]  # fmt: skip
            crisis = await client.post(
                "/api/v1/crises",
                json={"title": unique("Conflict"), "hazard": "conflict", "severity": "severe",
                      "zones": {"type": "Polygon", "coordinates": [ring]}},
                headers=bearer(tokens["coordinator"]),
            )  # fmt: skip
            assert crisis.status_code == 201, crisis.text
            yield {
                "app": app,
                "client": client,
                "tokens": tokens,
                "orgs": orgs,
                "workers": workers,
                "crisis": crisis.json()["id"],
            }


def who(home: dict[str, Any], name: str = "phl") -> dict[str, str]:
    return bearer(home["tokens"][name])


async def raise_level(home: dict[str, Any], level: int) -> None:
    client, path = home["client"], f"/api/v1/crises/{home['crisis']}"
    read = await client.get(path, headers=who(home, "coordinator"))
    changed = await client.patch(
        path,
        json={"alert_level": level},
        headers={**who(home, "coordinator"), "If-Match": read.headers["etag"]},
    )
    assert changed.status_code == 200, changed.text


async def open_case(home: dict[str, Any], worker: str, **body: Any) -> httpx.Response:
    return await home["client"].post(
        f"/api/v1/crises/{home['crisis']}/repatriation-cases",
        json={"worker_id": worker, **body},
        headers=who(home),
    )


async def consent(home: dict[str, Any], case: str, given: bool = True) -> None:
    answered = await home["client"].post(
        f"/api/v1/repatriation-cases/{case}/consent", json={"given": given}, headers=who(home)
    )
    assert answered.status_code == 200, answered.text


async def movement(home: dict[str, Any], *capacities: int) -> dict[str, Any]:
    legs = [
        {"mode": mode, "origin": a, "destination": b, "capacity": n}
        for (mode, a, b), n in zip(
            [("bus", "Kuala Lumpur", "Port Klang"), ("ship", "Port Klang", "Kota Kinabalu"),
             ("flight", "Kota Kinabalu", "Manila")],
            capacities,
            strict=False,
        )
    ]  # fmt: skip
    made = await home["client"].post(
        f"/api/v1/crises/{home['crisis']}/movements",
        json={"title": "Sealift home", "legs": legs},
        headers=who(home),
    )
    assert made.status_code == 201, made.text
    return dict(made.json())


async def seat(home: dict[str, Any], moving: str, case: str, token: str = "phl") -> httpx.Response:
    return await home["client"].post(
        f"/api/v1/movements/{moving}/seats", json={"case_id": case}, headers=who(home, token)
    )


async def test_eligibility_consent_and_the_last_seat(home: dict[str, Any]) -> None:
    client, workers = home["client"], home["workers"]
    # At alert level 1 a request is recorded, not eligible, with the rule that says so.
    early = await open_case(home, workers[0])
    assert early.status_code == 201, early.text
    assert early.json()["state"] == "not_eligible" and "alert level 1" in early.json()["rule"]
    await raise_level(home, 3)
    again = await open_case(home, workers[0])
    assert again.status_code == 200 and again.json()["state"] == "eligible"
    cases = [again.json()["id"]]
    for worker in workers[1:3]:
        made = await open_case(home, worker)
        assert made.json()["state"] == "eligible"
        cases.append(made.json()["id"])
    # Someone else's national: a 404, as their record is.
    other = await client.post(
        f"/api/v1/crises/{home['crisis']}/repatriation-cases",
        json={"worker_id": workers[0]},
        headers=who(home, "idn"),
    )
    assert other.status_code == 404

    moving = await movement(home, 2)
    # No seat without consent.
    refused = await seat(home, moving["id"], cases[0])
    assert refused.status_code == 409 and "consent" in refused.json()["detail"]
    for case in cases:
        await consent(home, case)
    assert (await seat(home, moving["id"], cases[0])).status_code == 200
    # Two officers race for the last seat: one gets it, the other a clear 409.
    first, second = await asyncio.gather(
        seat(home, moving["id"], cases[1], "phl"), seat(home, moving["id"], cases[2], "phl2")
    )
    assert sorted([first.status_code, second.status_code]) == [200, 409]
    loser = cases[2] if first.status_code == 200 else cases[1]
    assert "no room" in (second if first.status_code == 200 else first).json()["detail"]
    read = await client.get(f"/api/v1/movements/{moving['id']}", headers=who(home))
    assert read.json()["legs"][0]["booked"] == 2
    # A withdrawal frees the seat, and the one who waited gets it.
    winner = cases[1] if loser == cases[2] else cases[2]
    current = await client.get(f"/api/v1/repatriation-cases/{winner}", headers=who(home))
    withdrawn = await client.post(
        f"/api/v1/repatriation-cases/{winner}/state",
        json={"state": "withdrawn", "reason": "changed their mind"},
        headers={**who(home), "If-Match": current.headers["etag"]},
    )
    assert withdrawn.status_code == 200 and withdrawn.json()["state"] == "withdrawn"
    assert withdrawn.json()["movement_id"] is None
    assert (await seat(home, moving["id"], loser)).status_code == 200
    read = await client.get(f"/api/v1/movements/{moving['id']}", headers=who(home))
    assert read.json()["legs"][0]["booked"] == 2
    # The same assignment again changes nothing.
    assert (await seat(home, moving["id"], loser)).status_code == 200
    read = await client.get(f"/api/v1/movements/{moving['id']}", headers=who(home))
    assert read.json()["legs"][0]["booked"] == 2


async def test_three_legs_one_missing_at_the_second_and_reception_at_home(
    home: dict[str, Any],
) -> None:
    client, workers = home["client"], home["workers"]
    await raise_level(home, 4)
    cases = []
    for i, worker in enumerate(workers[:3]):
        made = await open_case(
            home,
            worker,
            family=1 if i == 0 else 0,
            passport="held_by_employer" if i == 1 else "held",
        )
        assert made.status_code == 201, made.text
        cases.append(made.json()["id"])
        await consent(home, made.json()["id"])
    moving = await movement(home, 10, 10, 10)
    for case in cases:
        assert (await seat(home, moving["id"], case)).status_code == 200
    read = await client.get(f"/api/v1/movements/{moving['id']}", headers=who(home))
    assert [leg["booked"] for leg in read.json()["legs"]] == [4, 4, 4]  # a family of two

    base = f"/api/v1/movements/{moving['id']}/legs"
    for seq in (1, 2, 3):
        for n, case in enumerate(cases):
            if seq >= 2 and n == 2:
                continue  # the third person does not board the ship
            for step in ("boarding", "arrival"):
                done = await client.post(
                    f"{base}/{seq}/{step}", json={"case_id": case}, headers=who(home)
                )
                assert done.status_code == 200, done.text
    again = await client.post(f"{base}/1/boarding", json={"case_id": cases[0]}, headers=who(home))
    assert again.json()["changed"] is False
    early = await client.post(f"{base}/2/arrival", json={"case_id": cases[2]}, headers=who(home))
    assert early.status_code == 409

    reconciled = (
        await client.get(f"/api/v1/movements/{moving['id']}/reconciliation", headers=who(home))
    ).json()
    legs = reconciled["legs"]
    assert [(leg["booked"], leg["boarded"], leg["arrived"]) for leg in legs] == [
        (3, 3, 3), (3, 2, 2), (3, 2, 2),
    ]  # fmt: skip
    assert legs[1]["not_boarded"] == [workers[2]] and legs[0]["not_boarded"] == []
    states = [
        (await client.get(f"/api/v1/repatriation-cases/{c}", headers=who(home))).json()["state"]
        for c in cases
    ]
    assert states == ["arrived", "arrived", "boarded"]

    app: FastAPI = home["app"]
    async with session_scope(app.state.sessionmaker) as session:
        tasks = (await session.exec(select(Task).where(Task.crisis_id == home["crisis"]))).all()
    by_key = {t.key: t for t in tasks}
    assert by_key[f"reception.reception@{workers[0]}"].assignee_org == home["orgs"]["ministry"]
    assert by_key[f"reception.psychosocial@{workers[0]}"].assignee_org == home["orgs"]["prc"]
    assert f"reception.reception@{workers[2]}" not in by_key
    # The follow-ups fall due 30 and 90 days after the arrival.
    arrived = by_key[f"reception.reception@{workers[0]}"].created_at
    for days in (30, 90):
        due = by_key[f"reception.followup_{days}@{workers[0]}"].due_at
        assert due is not None and 0 <= (due - arrived).total_seconds() - days * 86_400 < 60
    assert (
        by_key[f"repatriation.travel_document@{workers[1]}"].assignee_org == home["orgs"]["embassy"]
    )

    # The manifest: names for the embassy, ids only for another; never a documentation status.
    mine = await client.get(
        f"/api/v1/movements/{moving['id']}/manifest?format=csv", headers=who(home)
    )
    rows = list(csv.DictReader(io.StringIO(mine.content.decode("utf-8-sig"))))
    assert len(rows) == 9 and {r["given_name"] for r in rows} == {"Juan0", "Juan1", "Juan2"}
    assert "expired" not in mine.text and "documentation" not in mine.text
    theirs = await client.get(
        f"/api/v1/movements/{moving['id']}/manifest", headers=who(home, "idn")
    )
    assert {r["given_name"] for r in theirs.json()} == {None}
    assert {r["needs"] for r in theirs.json()} == {None}  # what a journey needs: theirs only
    assert {r["worker_id"] for r in theirs.json()} == set(workers[:3])


async def test_a_refusal_is_recorded_and_frees_the_seat(home: dict[str, Any]) -> None:
    await raise_level(home, 4)
    made = await open_case(home, home["workers"][4])
    case = made.json()["id"]
    assert made.json()["priority"] == 1  # pregnant: first
    await consent(home, case)
    moving = await movement(home, 1)
    assert (await seat(home, moving["id"], case)).status_code == 200
    await consent(home, case, given=False)
    read = await home["client"].get(f"/api/v1/repatriation-cases/{case}", headers=who(home))
    assert (read.json()["consent"], read.json()["state"]) == ("refused", "withdrawn")
    legs = (await home["client"].get(f"/api/v1/movements/{moving['id']}", headers=who(home))).json()
    assert legs["legs"][0]["booked"] == 0


async def test_the_fund_commits_spends_and_recovers_from_the_employer(
    home: dict[str, Any],
) -> None:
    client, app = home["client"], home["app"]
    employer = await make_org_in(app, OrgKind.EMPLOYER, "MYS", slug=unique("kl-builders"))
    slug = (await client.get(f"/api/v1/organizations/{employer}", headers=who(home))).json()["slug"]
    hired = await client.post(
        "/api/v1/workers",
        json={"nationality": "PHL", "document_number": unique("P"), "employer": slug,
              "location": {"lat": KL[0], "lon": KL[1] + 0.01}},
        headers=who(home),
    )  # fmt: skip
    assert hired.status_code == 201, hired.text
    await raise_level(home, 4)
    cases = []
    for worker in (hired.json()["id"], home["workers"][0]):
        made = await open_case(home, worker)
        await consent(home, made.json()["id"])
        cases.append(made.json()["id"])
    legs = [
        {"mode": "bus", "origin": "Kuala Lumpur", "destination": "KLIA", "capacity": 10,
         "cost_per_place": 15_000},
        {"mode": "flight", "origin": "KLIA", "destination": "Manila", "capacity": 10,
         "cost_per_place": 1_200_000},
    ]  # fmt: skip
    moving = await client.post(
        f"/api/v1/crises/{home['crisis']}/movements",
        json={"title": "Flight home", "legs": legs},
        headers=who(home),
    )
    movement_id = moving.json()["id"]
    for case in cases:
        assert (await seat(home, movement_id, case)).status_code == 200
        for seq in (1, 2):
            boarded = await client.post(
                f"/api/v1/movements/{movement_id}/legs/{seq}/boarding",
                json={"case_id": case},
                headers=who(home),
            )
            assert boarded.status_code == 200

    fund = await client.post(
        "/api/v1/funds",
        json={"name": "Emergency Repatriation Fund", "currency": "PHP", "country": "PHL"},
        headers=who(home),
    )
    assert fund.status_code == 201, fund.text
    entries = f"/api/v1/funds/{fund.json()['id']}/entries"

    async def entry(token: str = "phl", **body: Any) -> httpx.Response:
        return await client.post(entries, json=body, headers=who(home, token))

    assert (await entry(kind="budget", amount=20_000_000)).status_code == 201
    # Another State's officer does not write this one's fund.
    assert (await entry("idn", kind="budget", amount=1)).status_code == 403
    # The movement's commitment: each leg's places at their price (10 × 15,000 + 10 × 1,200,000).
    committed = await entry(kind="commitment", movement_id=movement_id, crisis_id=home["crisis"])
    assert committed.status_code == 201 and committed.json()["amount"] == 12_150_000
    paid = await entry(kind="expenditure", amount=10_000_000, against=committed.json()["id"])
    assert paid.status_code == 201
    over = await entry(kind="expenditure", amount=3_000_000, against=committed.json()["id"])
    assert over.status_code == 409  # more than the commitment has left
    released = await entry(kind="release", amount=2_150_000, against=committed.json()["id"])
    assert released.status_code == 201
    balance = (await client.get(f"/api/v1/funds/{fund.json()['id']}", headers=who(home))).json()
    assert (balance["available"], balance["committed"], balance["spent"]) == (
        10_000_000,
        0,
        10_000_000,
    )
    # Below zero: refused, not for a consular officer, and a coordinator's override is recorded.
    assert (await entry(kind="expenditure", amount=11_000_000)).status_code == 409
    forced = await entry(kind="expenditure", amount=11_000_000, override="charter paid upfront")
    assert forced.status_code == 403
    allowed = await entry(
        "coordinator", kind="expenditure", amount=11_000_000, override="charter paid upfront"
    )
    assert allowed.status_code == 201 and allowed.json()["override"] == "charter paid upfront"

    # The employer pays for their worker's return (RA 8042 s.15); the other has no employer.
    recovered = await client.post(
        f"/api/v1/funds/{fund.json()['id']}/recoveries",
        json={"movement_id": movement_id},
        headers=who(home),
    )
    assert recovered.json() == {
        "rule": "employer_or_agency", "claimed": 1, "no_debtor": 1, "already": 0,
    }  # fmt: skip
    again = await client.post(
        f"/api/v1/funds/{fund.json()['id']}/recoveries",
        json={"movement_id": movement_id},
        headers=who(home),
    )
    assert again.json()["already"] == 1 and again.json()["claimed"] == 0
    received = await entry(kind="recovery_received", amount=1_000_000, debtor_org_id=employer)
    assert received.status_code == 201
    too_much = await entry(kind="recovery_received", amount=500_000, debtor_org_id=employer)
    assert too_much.status_code == 409
    balance = (await client.get(f"/api/v1/funds/{fund.json()['id']}", headers=who(home))).json()
    assert balance["owed"] == {employer: 215_000} and balance["available"] == 0
    ledger = await client.get(f"{entries}?format=csv", headers=who(home))
    rows = list(csv.DictReader(io.StringIO(ledger.content.decode("utf-8-sig"))))
    assert [r["kind"] for r in rows].count("recovery_claim") == 1 and len(rows) == 7
