"""DATA-PROTECTION.md, point by point, on both databases."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import text

from service.auth.permissions import Role
from service.crypto import SealBroken, Sealer, new_key_spec
from service.directory.models import OrgKind
from service.registry.models import Worker
from service.registry.protect import Protector
from tests.conftest import OrgFactory, TokenFactory, bearer, unique

KL = {"lat": 3.1390, "lon": 101.6869}  # Kuala Lumpur
PENANG = {"lat": 5.4141, "lon": 100.3288}


def registration(nationality: str = "PHL", **extra: Any) -> dict[str, Any]:
    return {
        "nationality": nationality,
        "given_name": "Maria",
        "family_name": "Santos",
        "sex": "F",
        "birth_date": "1990-04-02",
        "document_number": unique("P"),
        "phone": "+60 12 345 6789",
        "languages": ["tl", "en"],
        "sector": "domestic_work",
        "location": KL,
        "accompanying_family": 1,
        "vulnerabilities": ["pregnant"],
        "source": "embassy_registration",
        **extra,
    }


async def register(client: httpx.AsyncClient, token: str, **extra: Any) -> dict[str, Any]:
    response = await client.post(
        "/api/v1/workers", json=registration(**extra), headers=bearer(token)
    )
    assert response.status_code == 201, response.text
    return dict(response.json())


@pytest.fixture
async def people(make_org: OrgFactory, make_token: TokenFactory) -> dict[str, str]:
    """Tokens of the organisations around one corridor (Philippines → Malaysia)."""
    phl_embassy = await make_org(OrgKind.EMBASSY, "MYS", represents="PHL")
    khm_embassy = await make_org(OrgKind.EMBASSY, "MYS", represents="KHM", acts_for=["PHL"])
    idn_embassy = await make_org(OrgKind.EMBASSY, "MYS", represents="IDN")
    society_mys = await make_org(OrgKind.NATIONAL_SOCIETY, "MYS")
    society_tha = await make_org(OrgKind.NATIONAL_SOCIETY, "THA")
    host = await make_org(OrgKind.HOST_AUTHORITY, "MYS")
    employer = await make_org(OrgKind.EMPLOYER, "MYS")
    return {
        "phl": await make_token(Role.CONSULAR_OFFICER, phl_embassy),
        "khm_acting_for_phl": await make_token(Role.CONSULAR_OFFICER, khm_embassy),
        "idn": await make_token(Role.CONSULAR_OFFICER, idn_embassy),
        "society_mys": await make_token(Role.SOCIETY_RESPONDER, society_mys),
        "society_tha": await make_token(Role.SOCIETY_RESPONDER, society_tha),
        "host_coordinator": await make_token(Role.COORDINATOR, host),
        "host_officer": await make_token(Role.CONSULAR_OFFICER, host),
        "employer": await make_token(Role.SOCIETY_RESPONDER, employer),
        "admin": await make_token(Role.ADMIN),
        "viewer": await make_token(Role.VIEWER),
    }


async def read(client: httpx.AsyncClient, token: str, worker_id: str) -> httpx.Response:
    return await client.get(f"/api/v1/workers/{worker_id}", headers=bearer(token))


async def test_basis_and_source_recorded_and_registration_needs_no_consent(
    client: httpx.AsyncClient, people: dict[str, str]
) -> None:
    made = await register(
        client,
        people["phl"],
        consent={"share_with_embassy": False, "share_with_humanitarian": False},
    )
    assert made["country"] == "MYS"
    assert made["admin1"] == "MY-14"
    admin = (await read(client, people["admin"], made["id"])).json()
    assert admin["legal_basis"] == "vital_interest"
    assert admin["source"] == "embassy_registration"
    assert admin["consent"] == {"share_with_embassy": False, "share_with_humanitarian": False}


async def test_personal_fields_are_sealed_at_rest(
    client: httpx.AsyncClient, people: dict[str, str], app: FastAPI
) -> None:
    body = registration(document_number="PX 998-877", phone="+60 11 222 3333")
    made = (await client.post("/api/v1/workers", json=body, headers=bearer(people["phl"]))).json()
    async with app.state.engine.connect() as conn:
        row = (
            (await conn.execute(text("SELECT * FROM workers WHERE id = :id"), {"id": made["id"]}))
            .mappings()
            .one()
        )
    dump = " ".join(str(v) for v in row.values())
    for clear in (
        "Maria",
        "Santos",
        "PX 998-877",
        "998-877",
        "PX998877",
        "+60 11 222 3333",
        "1990-04-02",
    ):
        assert clear not in dump
    assert str(row["given_name_sealed"]).startswith("v1:")
    assert row["identity_hash"] and len(row["identity_hash"]) == 64


def test_a_seal_moved_to_another_record_or_field_fails_to_open() -> None:
    sealer = Sealer.from_spec(new_key_spec("k1"))
    token = sealer.seal("Maria", record_id="a", field="given_name")
    assert sealer.open(token, record_id="a", field="given_name") == "Maria"
    with pytest.raises(SealBroken):
        sealer.open(token, record_id="b", field="given_name")
    with pytest.raises(SealBroken):
        sealer.open(token, record_id="a", field="family_name")
    tampered = token[:-4] + ("AAAA" if not token.endswith("AAAA") else "BBBB")
    with pytest.raises(SealBroken):
        sealer.open(tampered, record_id="a", field="given_name")


def test_a_record_sealed_at_once_opens_field_by_field_with_a_fresh_nonce_each() -> None:
    sealer = Sealer.from_spec(new_key_spec("k1"))
    values = [("given_name", "Maria"), ("phone", None), ("family_name", "Maria")]
    tokens = sealer.seal_all(values, record_id="a")
    assert tokens[1] is None
    for (name, value), token in zip(values, tokens, strict=True):
        assert sealer.open(token, record_id="a", field=name) == value
    with pytest.raises(SealBroken):  # still bound to its field
        sealer.open(tokens[0], record_id="a", field="family_name")
    assert tokens[0] is not None and tokens[2] is not None
    nonces = {t.split(":")[2][:16] for t in (tokens[0], tokens[2])}
    nonces |= {t.split(":")[2][:16] for t in sealer.seal_all(values, record_id="a") if t}
    assert len(nonces) == 4  # the same value twice never gives the same nonce


def test_key_rotation_keeps_old_seals_readable_and_reseals() -> None:
    old_key, new_key = new_key_spec("k1"), new_key_spec("k2")
    old = Protector.from_settings(_settings(old_key))
    worker = Worker(nationality="PHL", legal_basis="consent", source="self")
    old.seal_into(worker, {"given_name": "Maria", "phone": "+639171234567"})
    rotated = Protector.from_settings(_settings(f"{new_key},{old_key}"))
    assert rotated.open(worker, "given_name") == "Maria"
    assert rotated.reseal(worker) is True
    assert str(worker.given_name_sealed).split(":")[1] == "k2"
    assert rotated.reseal(worker) is False
    with pytest.raises(SealBroken):
        Protector.from_settings(_settings(old_key)).open(worker, "given_name")


def _settings(keys: str) -> Any:
    from service.settings import Settings

    return Settings(encryption_keys=keys, blind_index_key="test-blind-key")


async def test_duplicates_are_found_by_keyed_hash_whatever_the_spelling(
    client: httpx.AsyncClient, people: dict[str, str]
) -> None:
    number = unique("P")
    first = await register(client, people["phl"], document_number=number)
    again = await client.post(
        "/api/v1/workers",
        json=registration(document_number=f" {number.upper().replace('-', ' ')} "),
        headers=bearer(people["phl"]),
    )
    assert again.status_code == 409
    assert again.json()["existing_id"] == first["id"]
    other_nationality = await client.post(
        "/api/v1/workers",
        json=registration("PHL", document_number=number + "x"),
        headers=bearer(people["phl"]),
    )
    assert other_nationality.status_code == 201


async def test_consular_officers_read_their_own_nationals_and_acts_for_only(
    client: httpx.AsyncClient, people: dict[str, str]
) -> None:
    phl_worker = await register(client, people["phl"])
    assert (await read(client, people["phl"], phl_worker["id"])).status_code == 200
    assert (await read(client, people["khm_acting_for_phl"], phl_worker["id"])).status_code == 200
    assert (await read(client, people["idn"], phl_worker["id"])).status_code == 404
    cannot = await client.post(
        "/api/v1/workers", json=registration("IDN"), headers=bearer(people["phl"])
    )
    assert cannot.status_code == 403


async def test_documentation_status_only_for_the_workers_own_consular_officers(
    client: httpx.AsyncClient, people: dict[str, str]
) -> None:
    made = await register(
        client,
        people["phl"],
        documentation_status="overstayed",
        consent={"share_with_embassy": True, "share_with_humanitarian": True},
    )
    own = (await read(client, people["phl"], made["id"])).json()
    assert own["documentation_status"] == "overstayed"
    for who in ("khm_acting_for_phl", "admin", "society_mys"):
        response = await read(client, people[who], made["id"])
        assert response.status_code == 200, who
        assert "documentation_status" not in response.json(), who
    for who in ("host_coordinator", "host_officer", "employer"):
        assert (await read(client, people[who], made["id"])).status_code in {403, 404}, who
    # nobody else may even record it
    by_admin = await client.post(
        "/api/v1/workers",
        json=registration(documentation_status="irregular"),
        headers=bearer(people["admin"]),
    )
    assert by_admin.status_code == 403
    # no list shows it, not even to admins
    listed = await client.get(
        "/api/v1/workers", headers=bearer(people["admin"]), params={"limit": 500}
    )
    assert "overstayed" not in listed.text
    assert all("documentation_status" not in w for w in listed.json()["items"])


async def test_refusing_the_embassy_leaves_only_counts(
    client: httpx.AsyncClient, people: dict[str, str]
) -> None:
    made = await register(client, people["admin"], consent={"share_with_embassy": False})
    assert (await read(client, people["phl"], made["id"])).status_code == 404
    listed = await client.get(
        "/api/v1/workers", headers=bearer(people["phl"]), params={"limit": 500}
    )
    assert made["id"] not in listed.text


async def test_consent_can_be_withdrawn(client: httpx.AsyncClient, people: dict[str, str]) -> None:
    made = await register(
        client, people["phl"], consent={"share_with_embassy": True, "share_with_humanitarian": True}
    )
    assert (await read(client, people["society_mys"], made["id"])).status_code == 200
    withdrawn = await client.patch(
        f"/api/v1/workers/{made['id']}",
        json={"consent": {"share_with_embassy": True, "share_with_humanitarian": False}},
        headers={**bearer(people["phl"]), "If-Match": "1"},
    )
    assert withdrawn.status_code == 200, withdrawn.text
    assert (await read(client, people["society_mys"], made["id"])).status_code == 404


async def test_refugees_are_never_passed_to_their_country_of_origin(
    client: httpx.AsyncClient, people: dict[str, str]
) -> None:
    made = await register(client, people["admin"], international_protection=True)
    assert (await read(client, people["phl"], made["id"])).status_code == 404
    listed = await client.get(
        "/api/v1/workers", headers=bearer(people["phl"]), params={"limit": 500}
    )
    assert made["id"] not in listed.text
    # the embassy assisting under consular cooperation is not the country of origin
    assert (await read(client, people["khm_acting_for_phl"], made["id"])).status_code == 200


async def test_society_responders_see_consenting_workers_in_their_country_and_only_task_fields(
    client: httpx.AsyncClient, people: dict[str, str]
) -> None:
    consenting = await register(client, people["phl"], consent={"share_with_humanitarian": True})
    refusing = await register(client, people["phl"])
    seen = await read(client, people["society_mys"], consenting["id"])
    assert seen.status_code == 200
    assert set(seen.json()) - {"id", "version"} <= {
        "nationality",
        "given_name",
        "family_name",
        "phone",
        "languages",
        "location",
        "country",
        "admin1",
        "admin1_name",
        "vulnerabilities",
        "accompanying_family",
    }
    assert "document_number" not in seen.json()
    assert "birth_date" not in seen.json()
    assert (await read(client, people["society_mys"], refusing["id"])).status_code == 404
    assert (await read(client, people["society_tha"], consenting["id"])).status_code == 404


async def test_outsiders_never_get_name_lists(
    client: httpx.AsyncClient, people: dict[str, str]
) -> None:
    await register(client, people["phl"], consent={"share_with_humanitarian": True})
    for who in ("host_coordinator", "host_officer", "employer"):
        response = await client.get("/api/v1/workers", headers=bearer(people[who]))
        assert response.status_code == 200, who
        assert response.json()["items"] == [], who
    assert (
        await client.get("/api/v1/workers", headers=bearer(people["viewer"]))
    ).status_code == 403


async def test_reads_of_personal_data_are_audited_without_personal_data(
    client: httpx.AsyncClient, people: dict[str, str]
) -> None:
    made = await register(client, people["phl"])
    await client.get(
        f"/api/v1/workers/{made['id']}",
        headers={**bearer(people["phl"]), "X-Lifeline-Purpose": "welfare check"},
    )
    events = (
        await client.get(
            "/api/v1/audit", params={"subject_id": made["id"]}, headers=bearer(people["admin"])
        )
    ).json()["items"]
    actions = {e["action"] for e in events}
    assert {"worker.create", "worker.read", "api.get_worker"} <= actions
    read_event = next(e for e in events if e["action"] == "worker.read")
    assert read_event["purpose"] == "welfare check"
    assert "Maria" not in str(events) and "Santos" not in str(events)


async def test_erasure_leaves_an_anonymous_count(
    client: httpx.AsyncClient, people: dict[str, str], app: FastAPI
) -> None:
    made = await register(client, people["phl"])
    assert (
        await client.delete(f"/api/v1/workers/{made['id']}", headers=bearer(people["society_mys"]))
    ).status_code in {403, 404}
    assert (
        await client.delete(f"/api/v1/workers/{made['id']}", headers=bearer(people["phl"]))
    ).status_code == 204
    assert (await read(client, people["phl"], made["id"])).status_code == 404
    async with app.state.engine.connect() as conn:
        row = (
            (await conn.execute(text("SELECT * FROM workers WHERE id = :id"), {"id": made["id"]}))
            .mappings()
            .one()
        )
    assert row["erased_at"] is not None
    assert (row["nationality"], row["country"], row["sex"]) == ("PHL", "MYS", "F")
    assert all(
        row[f"{f}_sealed"] is None
        for f in ("given_name", "family_name", "birth_date", "document_number", "phone")
    )
    assert row["lat"] is None and row["identity_hash"] is None


async def test_lists_of_people_are_rate_limited(
    client: httpx.AsyncClient, people: dict[str, str], app: FastAPI, monkeypatch: pytest.MonkeyPatch
) -> None:
    burst = app.state.people_lists.burst
    # Refilled slower than the test runs, however busy the machine: the burst, then refusals.
    monkeypatch.setattr(app.state.people_lists, "rate", 0.001)
    statuses = [
        (await client.get("/api/v1/workers", headers=bearer(people["idn"]))).status_code
        for _ in range(burst + 2)
    ]
    assert statuses[:burst] == [200] * burst
    assert statuses[-1] == 429


async def test_stale_if_match_gets_412_and_loses_nothing(
    client: httpx.AsyncClient, people: dict[str, str]
) -> None:
    made = await register(client, people["phl"])
    url = f"/api/v1/workers/{made['id']}"
    ok = await client.patch(
        url, json={"sector": "care"}, headers={**bearer(people["phl"]), "If-Match": "1"}
    )
    assert ok.status_code == 200 and ok.json()["version"] == 2
    stale = await client.patch(
        url, json={"sector": "fishing"}, headers={**bearer(people["phl"]), "If-Match": "1"}
    )
    assert stale.status_code == 412
    assert stale.json()["current_version"] == 2
    missing = await client.patch(url, json={"sector": "fishing"}, headers=bearer(people["phl"]))
    assert missing.status_code == 428
    assert (await read(client, people["phl"], made["id"])).json()["sector"] == "care"


@pytest.mark.parametrize(
    ("location", "reason"),
    [
        ({"lat": -10.0, "lon": 80.0}, "outside every country"),  # the Indian Ocean
        ({"lat": 79.85, "lon": 6.93}, "swapped"),  # Colombo written lon-first
        ({"lat": 101.6869, "lon": 3.139}, "less than or equal to 90"),  # out of range
    ],
)
async def test_doubtful_locations_are_flagged_not_silently_accepted(
    client: httpx.AsyncClient, people: dict[str, str], location: dict[str, float], reason: str
) -> None:
    body = registration(location=location)
    refused = await client.post("/api/v1/workers", json=body, headers=bearer(people["phl"]))
    assert refused.status_code == 422
    assert reason in refused.text
    if "range" not in reason and "90" not in reason:
        body["accept_flagged_location"] = True
        accepted = await client.post("/api/v1/workers", json=body, headers=bearer(people["phl"]))
        assert accepted.status_code == 201
        assert accepted.json()["location_flag"] in {"at_sea", "swapped_lat_lon"}
