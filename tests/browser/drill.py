"""The journey's live server: a drill made as an integration makes one. Two embassies register
their nationals in Kuala Lumpur, an integration pushes a CAP flood warning marked as an
exercise (the demo's, over the Klang Valley) and the crisis pass opens a drill with the
playbooks' tasks; a coordinator raises the alert level to 3 (voluntary repatriation), which
adds the hand-off chain embassy → labour ministry, and the Philippine embassy has done its first
step. People of each side sign in."""

from __future__ import annotations

from dataclasses import dataclass

import httpx
from fastapi import FastAPI

from service.auth.permissions import Role
from service.demo.scenarios import DRILL_CAP
from service.directory.models import OrgKind
from tests.conftest import bearer, make_org_in, make_token_in
from tests.live import KUALA_LUMPUR, Person, make_person_in

#: Registered by each embassy: (given name, family name). Nobody else's appear on its lists.
FILIPINOS = (("Maricel", "Dela Cruz"), ("Rodelio", "Bautista"), ("Jocelyn", "Manalo"))
INDONESIANS = (("Siti", "Rahayu"), ("Agus", "Setiawan"), ("Dewi", "Lestari"))


@dataclass(frozen=True)
class Drill:
    crisis_id: str
    #: The Philippine embassy's next task (open): its completion hands ``transport`` on.
    manifest: str
    #: The Philippine labour ministry's, waiting for ``manifest``.
    transport: str
    phl_officer: Person
    phl_ministry: Person
    idn_officer: Person
    #: A bus then a ship home for the three Filipinos, each with their consent and a seat.
    movement_id: str = ""

    @property
    def filipino_names(self) -> list[str]:
        return [f"{given} {family}" for given, family in FILIPINOS]

    @property
    def indonesian_names(self) -> list[str]:
        return [f"{given} {family}" for given, family in INDONESIANS]


def phone(nationality: str, i: int) -> str:
    """The Malaysian mobile each seeded worker registered with (E.164)."""
    return f"+6012{ {'PHL': 3, 'IDN': 4}[nationality] }45{6800 + i}"


async def _register(
    client: httpx.AsyncClient, token: str, nationality: str, names: tuple[tuple[str, str], ...]
) -> None:
    for i, (given, family) in enumerate(names):
        made = await client.post(
            "/api/v1/workers",
            json={
                "nationality": nationality,
                "given_name": given,
                "family_name": family,
                "document_number": f"{nationality[0]}J{i:06d}",
                "phone": phone(nationality, i),
                "location": {"lat": KUALA_LUMPUR[0] + i / 100, "lon": KUALA_LUMPUR[1]},
                "source": "embassy_registration",
            },
            headers=bearer(token),
        )
        assert made.status_code == 201, made.text


async def _patch(
    client: httpx.AsyncClient, url: str, token: str, changes: dict[str, object]
) -> None:
    read = await client.get(url, headers=bearer(token))
    assert read.status_code == 200, read.text
    changed = await client.patch(
        url, json=changes, headers={**bearer(token), "If-Match": read.headers["etag"]}
    )
    assert changed.status_code == 200, changed.text


async def seed_drill(app: FastAPI) -> Drill:
    """The drill, its tasks, and a person of each embassy and of the Philippine ministry."""
    agency = await make_org_in(app)
    phl_embassy = await make_org_in(app, OrgKind.EMBASSY, "MYS", represents="PHL")
    idn_embassy = await make_org_in(app, OrgKind.EMBASSY, "MYS", represents="IDN")
    phl_ministry = await make_org_in(app, OrgKind.LABOUR_MINISTRY, "PHL", represents="PHL")
    admin = await make_token_in(app, Role.ADMIN, agency)
    integration = await make_token_in(app, Role.INTEGRATION, agency)
    phl_token = await make_token_in(app, Role.CONSULAR_OFFICER, phl_embassy)
    idn_token = await make_token_in(app, Role.CONSULAR_OFFICER, idn_embassy)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://lifeline.test") as client:
        await _register(client, phl_token, "PHL", FILIPINOS)
        await _register(client, idn_token, "IDN", INDONESIANS)
        # The crisis pass counts from the index, which follows the register every few seconds.
        await app.state.register_index.refresh()
        pushed = await client.post(
            "/api/v1/alerts/cap",
            content=DRILL_CAP,
            headers={**bearer(integration), "Content-Type": "application/cap+xml"},
        )
        assert pushed.status_code == 201, pushed.text
        assert pushed.json()["status"] == "exercise", pushed.text
        outcome = pushed.json()["outcome"]
        assert outcome["result"] == "opened", outcome
        crisis_id = outcome["crisis_id"]
        await _patch(client, f"/api/v1/crises/{crisis_id}", admin, {"alert_level": 3})
        listed = await client.get(
            f"/api/v1/crises/{crisis_id}/tasks", params={"limit": 200}, headers=bearer(admin)
        )
        assert listed.status_code == 200, listed.text
        tasks = {t["key"]: t for t in listed.json()["items"]}
        chain = [f"evacuation.{step}@PHL@MYS" for step in ("shelter_and_exits",
                 "repatriation_manifest", "repatriation_transport")]  # fmt: skip
        assert set(chain) <= set(tasks), sorted(tasks)
        assert [tasks[k]["assignee_org"] for k in chain] == [phl_embassy, phl_embassy, phl_ministry]
        assert all(t["exercise"] for t in tasks.values())
        await _patch(
            client, f"/api/v1/tasks/{tasks[chain[0]]['id']}", phl_token, {"status": "done"}
        )
        movement_id = await _movement(client, phl_token, crisis_id)
    return Drill(
        crisis_id=crisis_id,
        manifest=tasks[chain[1]]["id"],
        transport=tasks[chain[2]]["id"],
        phl_officer=await make_person_in(
            app, phl_embassy, Role.CONSULAR_OFFICER, "Philippine consular officer"
        ),
        phl_ministry=await make_person_in(
            app, phl_ministry, Role.CONSULAR_OFFICER, "Philippine ministry officer"
        ),
        idn_officer=await make_person_in(
            app, idn_embassy, Role.CONSULAR_OFFICER, "Indonesian consular officer"
        ),
        movement_id=movement_id,
    )


async def _movement(client: httpx.AsyncClient, token: str, crisis_id: str) -> str:
    """The Filipinos' return: a case each with consent, a bus to Port Klang then a ship, a seat
    each."""
    listed = await client.get(f"/api/v1/crises/{crisis_id}/workers", headers=bearer(token))
    assert listed.status_code == 200, listed.text
    moving = await client.post(
        f"/api/v1/crises/{crisis_id}/movements",
        json={"title": "Bus to Port Klang, then the ship home", "legs": [
            {"mode": "bus", "origin": "Kuala Lumpur", "destination": "Port Klang", "capacity": 40},
            {"mode": "ship", "origin": "Port Klang", "destination": "Manila", "capacity": 400},
        ]},
        headers=bearer(token),
    )  # fmt: skip
    assert moving.status_code == 201, moving.text
    for worker in listed.json()["items"]:
        case = await client.post(
            f"/api/v1/crises/{crisis_id}/repatriation-cases",
            json={"worker_id": worker["id"]},
            headers=bearer(token),
        )
        assert case.status_code == 201 and case.json()["state"] == "eligible", case.text
        for path, body in (
            (f"/api/v1/repatriation-cases/{case.json()['id']}/consent", {"given": True}),
            (f"/api/v1/movements/{moving.json()['id']}/seats", {"case_id": case.json()["id"]}),
        ):
            done = await client.post(path, json=body, headers=bearer(token))
            assert done.status_code == 200, done.text
    return str(moving.json()["id"])
