"""Restoring Family Links on a register of its own, on both databases: a worker recorded safe who
agreed is found by a relative who knows the birth date and by nobody who does not; an
enumeration gets only "no listing" and is stopped; a tracing request filed by the Philippine Red
Cross finds its candidate in Malaysia, the Malaysian Red Crescent confirms, the person refuses
contact and the family's side learns only that the search is closed; the request's PFIF re-reads
as the same records; family contacts sealed and forgotten with the worker."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from sqlalchemy import text

from integrations import pfif
from service.app import create_app
from service.auth.permissions import Role
from service.directory.models import OrgKind
from tests.conftest import Databases, bearer, make_org_in, make_token_in, settings_for, unique

KL = (3.139, 101.6869)


@pytest.fixture
async def links(databases: Databases, backend: str) -> AsyncIterator[dict[str, Any]]:
    settings = settings_for(await databases.create(backend)).model_copy(
        update={"safe_well_search_burst": 20}
    )
    app = create_app(settings, configure_logs=False)
    async with app.router.lifespan_context(app):
        orgs = {
            "embassy": await make_org_in(app, OrgKind.EMBASSY, "MYS", "PHL"),
            "mrc": await make_org_in(app, OrgKind.NATIONAL_SOCIETY, "MYS"),
            "prc": await make_org_in(app, OrgKind.NATIONAL_SOCIETY, "PHL"),
            "irc": await make_org_in(app, OrgKind.NATIONAL_SOCIETY, "IDN"),
        }
        tokens = {
            "phl": await make_token_in(app, Role.CONSULAR_OFFICER, orgs["embassy"]),
            "mrc": await make_token_in(app, Role.SOCIETY_RESPONDER, orgs["mrc"]),
            "prc": await make_token_in(app, Role.SOCIETY_RESPONDER, orgs["prc"]),
            "irc": await make_token_in(app, Role.SOCIETY_RESPONDER, orgs["irc"]),
            "coordinator": await make_token_in(app, Role.COORDINATOR, await make_org_in(app)),
        }
        transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
            people = [
                ("Maricel", "Dela Cruz", "1994-03-12", "+60123456801"),
                ("Marisol", "Dela Cruz", "1991-07-01", "+60123456802"),
                ("Rodelio", "Bautista", "1988-11-30", "+60123456803"),
            ]
            workers = []
            for given, family, born, phone in people:
                made = await client.post(
                    "/api/v1/workers",
                    json={
                        "nationality": "PHL",
                        "document_number": unique("P"),
                        "given_name": given,
                        "family_name": family,
                        "birth_date": born,
                        "phone": phone,
                        "documentation_status": "expired permit",
                        "location": {"lat": KL[0], "lon": KL[1]},
                        "consent": {"share_with_embassy": True, "share_with_humanitarian": True},
                    },
                    headers=bearer(tokens["phl"]),
                )
                assert made.status_code == 201, made.text
                workers.append(made.json()["id"])
            d = 0.1
            ring = [[KL[1] - d, KL[0] - d], [KL[1] + d, KL[0] - d], [KL[1] + d, KL[0] + d],
                    [KL[1] - d, KL[0] + d], [KL[1] - d, KL[0] - d]]  # fmt: skip
            crisis = await client.post(
                "/api/v1/crises",
                json={"title": unique("Floods"), "hazard": "flood", "severity": "severe",
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


def who(links: dict[str, Any], name: str = "phl") -> dict[str, str]:
    return bearer(links["tokens"][name])


async def mark_safe(links: dict[str, Any], worker: str) -> None:
    done = await links["client"].post(
        f"/api/v1/crises/{links['crisis']}/welfare/{worker}",
        json={"outcome": "safe", "how": "call"},
        headers=who(links),
    )
    assert done.status_code in (200, 201), done.text


async def search(links: dict[str, Any], **body: Any) -> httpx.Response:
    return await links["client"].post(
        "/api/v1/safe-and-well/search", json=body, headers=who(links, "coordinator")
    )


async def test_a_safe_worker_who_agreed_is_found_only_with_a_relative_s_fact(
    links: dict[str, Any],
) -> None:
    client, maricel = links["client"], links["workers"][0]
    body = {
        "worker_id": maricel,
        "agreed_via": "call",
        "message": "Ligtas ako, Nanay. Tatawag ako.",
    }
    early = await client.post("/api/v1/safe-and-well", json=body, headers=who(links))
    assert early.status_code == 409 and "safe" in early.json()["detail"], early.text
    await mark_safe(links, maricel)
    listed = await client.post("/api/v1/safe-and-well", json=body, headers=who(links))
    assert listed.status_code == 201, listed.text
    again = await client.post("/api/v1/safe-and-well", json=body, headers=who(links))
    assert again.status_code == 200 and again.json()["version"] == listed.json()["version"]

    # Found by the birth date, the phone, in any order, case or accents of the name.
    for fact in ({"birth_date": "1994-03-12"}, {"phone": "+60 12-345 6801"}):
        for name in ("Maricel Dela Cruz", "dela cruz, MARICEL", "Maricel de la Cruz"):
            found = await search(links, full_name=name, **fact)
            assert found.status_code == 200, found.text
            assert found.json()["found"] is True, (name, fact)
            assert found.json()["message"] == "Ligtas ako, Nanay. Tatawag ako."
    # Not by a wrong fact, nor by her sister's name with her birth date, nor an unlisted person.
    for name, fact in (
        ("Maricel Dela Cruz", {"birth_date": "1994-03-13"}),
        ("Marisol Dela Cruz", {"birth_date": "1994-03-12"}),
        ("Marisol Dela Cruz", {"birth_date": "1991-07-01"}),
    ):
        missed = await search(links, full_name=name, **fact)
        assert missed.json() == {
            "found": False, "listed_on": None, "message": None, "said": "No listing found.",
        }, (name, fact)  # fmt: skip
    # A name alone, or two facts, is refused: one fact only a relative knows.
    assert (await search(links, full_name="Maricel Dela Cruz")).status_code == 422
    both = await search(
        links, full_name="Maricel Dela Cruz", birth_date="1994-03-12", phone="+60123456801"
    )
    assert both.status_code == 422

    # Withdrawn, she is found no more, and her message is gone.
    ended = await client.post(
        f"/api/v1/safe-and-well/{listed.json()['id']}/end",
        json={"state": "withdrawn"},
        headers=who(links),
    )
    assert ended.status_code == 200 and ended.json()["message"] is None, ended.text
    gone = await search(links, full_name="Maricel Dela Cruz", birth_date="1994-03-12")
    assert gone.json()["found"] is False
    # Every search audited, without the name searched.
    async with links["app"].state.engine.connect() as conn:
        rows = (
            await conn.execute(
                text("SELECT detail FROM audit_events WHERE action = 'safe_well.search'")
            )
        ).all()
    assert rows and all("Maricel" not in str(r[0]) and "Cruz" not in str(r[0]) for r in rows)
    # The address only as a keyed hash: without the key, trying every IPv4 address finds none.
    from service.clients import keyed_hash

    key = links["app"].state.settings.blind_index_key
    details = [r[0] if isinstance(r[0], dict) else json.loads(r[0]) for r in rows]
    assert keyed_hash("127.0.0.1", key) in {d["address"] for d in details}
    assert all("127.0.0.1" not in str(d) for d in details)


async def test_an_enumeration_gets_no_listing_and_is_stopped(links: dict[str, Any]) -> None:
    await mark_safe(links, links["workers"][2])
    await links["client"].post(
        "/api/v1/safe-and-well",
        json={"worker_id": links["workers"][2], "agreed_via": "volunteer"},
        headers=who(links),
    )
    answers = []
    for day in range(1, 29):
        answers.append(
            await search(links, full_name="Rodelio Bautista", birth_date=f"1988-11-{day:02d}")
        )
    said = [a.json() for a in answers if a.status_code == 200]
    assert said and all(s["found"] is False for s in said)
    stopped = [a for a in answers if a.status_code == 429]
    assert stopped and "retry-after" in stopped[0].headers
    # The one right fact, after the stop, is stopped too: the limit is the address's.
    late = await search(links, full_name="Rodelio Bautista", birth_date="1988-11-30")
    assert late.status_code == 429


async def test_the_public_page_searches_without_an_account(links: dict[str, Any]) -> None:
    client = links["client"]
    await mark_safe(links, links["workers"][0])
    await client.post(
        "/api/v1/safe-and-well",
        json={"worker_id": links["workers"][0], "agreed_via": "reply", "message": "Safe <b>ok</b>"},
        headers=who(links),
    )
    page = await client.get("/safe-and-well")
    assert page.status_code == 200 and "Is my relative safe and well?" in page.text
    found = await client.post(
        "/safe-and-well", data={"full_name": "Maricel Dela Cruz", "birth_date": "1994-03-12"}
    )
    assert found.status_code == 200 and "Listed as safe and well on" in found.text
    assert "Safe &lt;b&gt;ok&lt;/b&gt;" in found.text, "the message is escaped"
    missed = await client.post(
        "/safe-and-well", data={"full_name": "Marisol Dela Cruz", "birth_date": "1994-03-12"}
    )
    assert "No listing found." in missed.text and "Marisol" not in missed.text
    bad = await client.post("/safe-and-well", data={"full_name": "Maricel Dela Cruz"})
    assert bad.status_code == 422 and "one more fact" in bad.text


async def test_a_tracing_request_found_confirmed_and_refused_reads_closed_for_the_family(
    links: dict[str, Any],
) -> None:
    client = links["client"]
    filed = await client.post(
        "/api/v1/tracing-requests",
        json={
            "host_country": "MYS",
            "crisis_id": links["crisis"],
            "sought_given_name": "Rodelyo",
            "sought_family_name": "Bautista",
            "sought_birth_year": 1988,
            "sought_nationality": "PHL",
            "sought_last_employer": "a construction site in Cheras",
            "separation": "disaster",
            "enquirer_name": "Lorna Bautista",
            "enquirer_relationship": "mother",
            "enquirer_contact": "+639171112233",
            "enquirer_consent": True,
            "language": "tl",
        },
        headers=who(links, "prc"),
    )
    assert filed.status_code == 201, filed.text
    request = filed.json()
    assert request["side"] == "family" and request["state"] == "searching"
    assert request["candidates"] == [] and request["located_worker_id"] is None

    # The Malaysian Red Crescent sees the candidate; the Indonesian society sees nothing.
    path = f"/api/v1/tracing-requests/{request['id']}"
    seen = (await client.get(path, headers=who(links, "mrc"))).json()
    assert seen["side"] == "search" and seen["state"] == "candidate"
    first = seen["candidates"][0]
    assert first["worker_id"] == links["workers"][2] and first["score"] >= 0.8, seen
    assert first["given_name"] == "Rodelio" and "birth year" in first["why"]
    assert all(c["worker_id"] != links["workers"][0] for c in seen["candidates"])
    assert (await client.get(path, headers=who(links, "irc"))).status_code == 404
    assert (await client.get(path, headers=who(links))).status_code == 404

    confirmed = await client.post(
        f"{path}/candidates/{first['id']}/decision",
        json={"confirmed": True},
        headers=who(links, "mrc"),
    )
    assert confirmed.status_code == 200 and confirmed.json()["state"] == "located", confirmed.text
    for state in ("consent_asked", "not_wanting_contact"):
        current = await client.get(path, headers=who(links, "mrc"))
        moved = await client.post(
            f"{path}/state",
            json={"state": state},
            headers={**who(links, "mrc"), "If-Match": current.headers["etag"]},
        )
        assert moved.status_code == 200, moved.text
    stale = await client.post(
        f"{path}/state", json={"state": "open"}, headers={**who(links, "mrc"), "If-Match": '"1"'}
    )
    assert stale.status_code == 412

    family = await client.get(path, headers=who(links, "prc"))
    assert family.json()["state"] == "closed", family.text
    assert family.json()["located_worker_id"] is None and family.json()["candidates"] == []
    assert links["workers"][2] not in family.text and "Rodelio" not in family.text
    listed = await client.get("/api/v1/tracing-requests", headers=who(links, "prc"))
    assert [r["state"] for r in listed.json()["items"]] == ["closed"]

    # A task each step, for the society of that side; none of them names anyone.
    tasks = await client.get(
        f"/api/v1/crises/{links['crisis']}/tasks", params={"limit": 200},
        headers=who(links, "coordinator"),
    )  # fmt: skip
    by_key = {t["key"]: t for t in tasks.json()["items"]}
    assert by_key[f"tracing.search@{request['id']}"]["assignee_org"] == links["orgs"]["mrc"]
    assert by_key[f"tracing.consent@{request['id']}"]["assignee_org"] == links["orgs"]["mrc"]
    assert by_key[f"tracing.answer@{request['id']}"]["assignee_org"] == links["orgs"]["prc"]
    assert "Bautista" not in tasks.text and "Lorna" not in tasks.text

    # Its PFIF: the person as the family knows them, and the search closed; read back the same.
    exported = await client.get(f"{path}/pfif", headers=who(links, "prc"))
    assert exported.status_code == 200, exported.text
    persons, notes = pfif.load(exported.content)
    assert [p.full_name for p in persons] == ["Rodelyo Bautista"]
    assert notes[0].text == "Search closed." and "Cheras" not in exported.text
    assert pfif.load(pfif.dump(persons, notes)) == (persons, notes)


async def test_a_request_needs_the_enquirer_s_consent_and_a_society(links: dict[str, Any]) -> None:
    body = {
        "host_country": "MYS", "sought_given_name": "Ana", "sought_nationality": "PHL",
        "separation": "migration", "enquirer_name": "Jose", "enquirer_relationship": "brother",
        "enquirer_contact": "+639170000000", "enquirer_consent": False,
    }  # fmt: skip
    refused = await links["client"].post(
        "/api/v1/tracing-requests", json=body, headers=who(links, "prc")
    )
    assert refused.status_code == 422 and "consent" in refused.json()["detail"]
    nobody = await links["client"].post(
        "/api/v1/tracing-requests", json={**body, "enquirer_consent": True}, headers=who(links)
    )
    assert nobody.status_code == 403


async def test_family_contacts_are_sealed_and_forgotten_with_the_worker(
    links: dict[str, Any],
) -> None:
    client, worker = links["client"], links["workers"][1]
    added = await client.post(
        f"/api/v1/workers/{worker}/family-contacts",
        json={"name": "Lorna Dela Cruz", "relationship": "mother", "phone": "+639171234567",
              "country": "PHL", "may_contact": True},
        headers=who(links),
    )  # fmt: skip
    assert added.status_code == 201, added.text
    listed = await client.get(f"/api/v1/workers/{worker}/family-contacts", headers=who(links))
    assert [c["name"] for c in listed.json()] == ["Lorna Dela Cruz"]
    other = await client.get(f"/api/v1/workers/{worker}/family-contacts", headers=who(links, "irc"))
    assert other.status_code == 404
    async with links["app"].state.engine.connect() as conn:
        sealed = (await conn.execute(text("SELECT name_sealed FROM family_contacts"))).scalar()
    assert sealed and "Lorna" not in sealed
    assert (await client.delete(f"/api/v1/workers/{worker}", headers=who(links))).status_code == 204
    async with links["app"].state.engine.connect() as conn:
        left = (await conn.execute(text("SELECT count(*) FROM family_contacts"))).scalar()
    assert left == 0


async def test_the_public_page_is_linked_from_the_index_and_sent_with_the_console_s_headers(
    links: dict[str, Any],
) -> None:
    client = links["client"]
    index = await client.get("/")
    assert 'href="/safe-and-well"' in index.text
    page = await client.get("/safe-and-well")
    assert "default-src 'self'" in page.headers["content-security-policy"]
    assert page.headers["cache-control"] == "no-store"


async def file_for_rodelio(links: dict[str, Any]) -> dict[str, Any]:
    filed = await links["client"].post(
        "/api/v1/tracing-requests",
        json={"host_country": "MYS", "crisis_id": links["crisis"], "sought_given_name": "Rodelio",
              "sought_family_name": "Bautista", "sought_birth_year": 1988,
              "sought_nationality": "PHL", "separation": "disaster", "enquirer_name": "Lorna",
              "enquirer_relationship": "mother", "enquirer_contact": "+639171112233",
              "enquirer_consent": True},
        headers=who(links, "prc"),
    )  # fmt: skip
    assert filed.status_code == 201, filed.text
    path = f"/api/v1/tracing-requests/{filed.json()['id']}"
    seen = (await links["client"].get(path, headers=who(links, "mrc"))).json()
    confirmed = await links["client"].post(
        f"{path}/candidates/{seen['candidates'][0]['id']}/decision",
        json={"confirmed": True},
        headers=who(links, "mrc"),
    )
    assert confirmed.status_code == 200, confirmed.text
    return {"path": path, **confirmed.json()}


async def test_the_person_s_own_consular_officers_see_it_only_once_they_agreed(
    links: dict[str, Any],
) -> None:
    client = links["client"]
    located = await file_for_rodelio(links)
    path = located["path"]
    assert (await client.get(path, headers=who(links))).status_code == 404
    agreed = await client.post(
        f"{path}/consular-agreement", json={"agreed": True}, headers=who(links, "mrc")
    )
    assert agreed.status_code == 200 and agreed.json()["consular_agreed"] is True, agreed.text
    seen = await client.get(path, headers=who(links))
    assert seen.status_code == 200 and seen.json()["side"] == "consular"
    assert seen.json()["located_worker_id"] == links["workers"][2]
    assert seen.json()["candidates"] == []
    # They see it; they do not move it.
    moved = await client.post(
        f"{path}/state", json={"state": "consent_asked"},
        headers={**who(links), "If-Match": seen.headers["etag"]},
    )  # fmt: skip
    assert moved.status_code == 404
    assert (await client.post(
        f"{path}/consular-agreement", json={"agreed": True}, headers=who(links, "prc")
    )).status_code == 404  # fmt: skip


async def test_a_refugee_is_never_passed_to_their_country_s_consular_officers(
    links: dict[str, Any],
) -> None:
    client = links["client"]
    async with links["app"].state.engine.begin() as conn:
        await conn.execute(
            text("UPDATE workers SET international_protection = :t WHERE id = :id"),
            {"t": True, "id": links["workers"][2]},
        )
    located = await file_for_rodelio(links)
    refused = await client.post(
        f"{located['path']}/consular-agreement", json={"agreed": True}, headers=who(links, "mrc")
    )
    assert refused.status_code == 409 and "international protection" in refused.json()["detail"]
    assert (await client.get(located["path"], headers=who(links))).status_code == 404


async def test_retention_keeps_the_states_and_forgets_the_names(links: dict[str, Any]) -> None:
    from datetime import timedelta

    from service.db import session_scope, utcnow
    from service.family_links.service import anonymise_expired

    client = links["client"]
    located = await file_for_rodelio(links)
    current = await client.get(located["path"], headers=who(links, "mrc"))
    closed = await client.post(
        f"{located['path']}/state", json={"state": "consent_asked"},
        headers={**who(links, "mrc"), "If-Match": current.headers["etag"]},
    )  # fmt: skip
    current = await client.get(located["path"], headers=who(links, "mrc"))
    closed = await client.post(
        f"{located['path']}/state", json={"state": "contact_restored"},
        headers={**who(links, "mrc"), "If-Match": current.headers["etag"]},
    )  # fmt: skip
    assert closed.status_code == 200, closed.text
    await mark_safe(links, links["workers"][0])
    await client.post(
        "/api/v1/safe-and-well",
        json={"worker_id": links["workers"][0], "agreed_via": "call", "message": "ok"},
        headers=who(links),
    )
    later = utcnow() + timedelta(days=1)
    async with session_scope(links["app"].state.sessionmaker) as session:
        done = await anonymise_expired(session, requests_before=later, listings_before=later)
    assert done == {"requests": 1, "listings": 1}
    kept = (await client.get(located["path"], headers=who(links, "mrc"))).json()
    assert kept["state"] == "contact_restored" and kept["sought_given_name"] is None
    assert kept["enquirer_name"] is None and kept["sought_nationality"] == "PHL"
    assert (await search(links, full_name="Maricel Dela Cruz", birth_date="1994-03-12")).json()[
        "found"
    ] is False
    async with session_scope(links["app"].state.sessionmaker) as session:
        again = await anonymise_expired(session, requests_before=later, listings_before=later)
    assert again == {"requests": 0, "listings": 0}


async def test_red_cross_messages_are_carried_once_contact_is_restored(
    links: dict[str, Any],
) -> None:
    from sqlmodel import select

    from service.db import session_scope
    from service.messaging.models import OutboundMessage

    client = links["client"]
    located = await file_for_rodelio(links)
    path = located["path"]
    early = await client.post(
        f"{path}/messages", json={"text": "Anak, kumusta ka?"}, headers=who(links, "prc")
    )
    assert early.status_code == 409, early.text
    for state in ("consent_asked", "contact_restored"):
        current = await client.get(path, headers=who(links, "mrc"))
        moved = await client.post(
            f"{path}/state", json={"state": state},
            headers={**who(links, "mrc"), "If-Match": current.headers["etag"]},
        )  # fmt: skip
        assert moved.status_code == 200, moved.text
    to_found = await client.post(
        f"{path}/messages", json={"text": "Anak, kumusta ka?"}, headers=who(links, "prc")
    )
    assert to_found.status_code == 201, to_found.text
    assert to_found.json()["direction"] == "to_found" and to_found.json()["channel"] == "sms"
    to_family = await client.post(
        f"{path}/messages", json={"text": "Okay lang ako, Nay."}, headers=who(links, "mrc")
    )
    assert to_family.json()["direction"] == "to_family" and to_family.json()["channel"] == "sms"
    listed = await client.get(f"{path}/messages", headers=who(links, "prc"))
    assert [m["text"] for m in listed.json()] == ["Anak, kumusta ka?", "Okay lang ako, Nay."]
    protector = links["app"].state.protector
    async with session_scope(links["app"].state.sessionmaker) as session:
        out = (
            await session.exec(select(OutboundMessage).where(OutboundMessage.step == "rc_message"))
        ).all()
    by_worker = {m.worker_id: m for m in out}
    assert set(by_worker) == {links["workers"][2], None}
    to_him = by_worker[links["workers"][2]]
    assert protector.sealer.open(to_him.text_sealed, record_id=to_him.id, field="text") == (
        "Anak, kumusta ka?"
    )
    to_her = by_worker[None]
    assert protector.sealer.open(to_her.to_sealed, record_id=to_her.id, field="to") == (
        "+639171112233"
    )
    assert to_her.language == "en" and to_him.kind == "rc_message"


async def test_every_opening_of_a_request_is_audited_without_a_name(links: dict[str, Any]) -> None:
    located = await file_for_rodelio(links)
    await links["client"].get(located["path"], headers=who(links, "prc"))
    async with links["app"].state.engine.connect() as conn:
        rows = (
            await conn.execute(
                text("SELECT detail FROM audit_events WHERE action = 'tracing.read'")
            )
        ).all()
    sides = sorted(str(r[0]) for r in rows)
    assert any("family" in s for s in sides) and any("search" in s for s in sides)
    assert all("Rodelio" not in s and "Bautista" not in s for s in sides)


async def test_the_origin_society_reaches_the_contacts_the_worker_agreed_to(
    links: dict[str, Any],
) -> None:
    client, worker = links["client"], links["workers"][0]
    for name, agreed in (("Lorna Dela Cruz", True), ("Ramon Dela Cruz", False)):
        added = await client.post(
            f"/api/v1/workers/{worker}/family-contacts",
            json={"name": name, "relationship": "parent", "phone": "+639171234567",
                  "country": "PHL", "may_contact": agreed},
            headers=who(links),
        )  # fmt: skip
        assert added.status_code == 201, added.text
    origin = await client.get(
        f"/api/v1/workers/{worker}/family-contacts", headers=who(links, "prc")
    )
    assert [c["name"] for c in origin.json()] == ["Lorna Dela Cruz"], origin.text
    other = await client.get(f"/api/v1/workers/{worker}/family-contacts", headers=who(links, "irc"))
    assert other.status_code == 404
    async with links["app"].state.engine.begin() as conn:
        await conn.execute(
            text("UPDATE workers SET international_protection = :t WHERE id = :id"),
            {"t": True, "id": worker},
        )
    protected = await client.get(
        f"/api/v1/workers/{worker}/family-contacts", headers=who(links, "prc")
    )
    assert protected.status_code == 404


def test_a_search_limit_counts_an_ipv6_household_once_and_forgets_full_buckets() -> None:
    from service.clients import network_of
    from service.registry.ratelimit import TokenBuckets

    assert network_of("2001:db8:1:2:aaaa::1") == network_of("2001:db8:1:2:ffff::9")
    assert network_of("2001:db8:1:2::1") != network_of("2001:db8:1:3::1")
    assert network_of("::ffff:192.0.2.7") == "192.0.2.7" == network_of("192.0.2.7")
    buckets = TokenBuckets(rate=1000.0, burst=2, max_keys=3)
    for key in ("a", "b", "c"):
        buckets.take(key)
    import time

    time.sleep(0.01)
    assert buckets.take("d") == 0.0 and len(buckets._state) <= 2


async def test_the_family_s_side_learns_nothing_of_a_person_found_meanwhile(
    links: dict[str, Any],
) -> None:
    located = await file_for_rodelio(links)
    client, path = links["client"], located["path"]
    await client.post(
        f"{path}/consular-agreement", json={"agreed": True}, headers=who(links, "mrc")
    )
    family = await client.get(path, headers=who(links, "prc"))
    body = family.json()
    assert body["state"] == "searching" and body["consular_agreed"] is None
    assert body["version"] == 1 and family.headers["etag"] == '"1"'
    assert body["updated_at"] == body["created_at"]
    _persons, notes = pfif.load(
        (await client.get(f"{path}/pfif", headers=who(links, "prc"))).content
    )
    assert notes[0].note_record_id.endswith(".1") and notes[0].text == "Search searching."


async def test_retention_s_erasure_ends_the_listing_and_the_contacts(links: dict[str, Any]) -> None:
    from datetime import timedelta

    from service.db import session_scope, utcnow
    from service.retention import erase_expired_workers

    client, worker = links["client"], links["workers"][0]
    await mark_safe(links, worker)
    await client.post(
        "/api/v1/safe-and-well",
        json={"worker_id": worker, "agreed_via": "call", "message": "ok"},
        headers=who(links),
    )
    await client.post(
        f"/api/v1/workers/{worker}/family-contacts",
        json={"name": "Lorna", "relationship": "mother", "country": "PHL", "may_contact": True},
        headers=who(links),
    )
    found = await search(links, full_name="Maricel Dela Cruz", birth_date="1994-03-12")
    assert found.json()["found"] is True
    async with links["app"].state.engine.begin() as conn:
        await conn.execute(
            text("UPDATE workers SET retain_until = :t WHERE id = :id"),
            {"t": utcnow() - timedelta(days=1), "id": worker},
        )
    async with session_scope(links["app"].state.sessionmaker) as session:
        assert await erase_expired_workers(session, retention=timedelta(days=3650)) == 1
    gone = await search(links, full_name="Maricel Dela Cruz", birth_date="1994-03-12")
    assert gone.json()["found"] is False
    async with links["app"].state.engine.connect() as conn:
        left = (await conn.execute(text("SELECT count(*) FROM family_contacts"))).scalar()
    assert left == 0


async def test_a_person_under_international_protection_is_not_listed_publicly(
    links: dict[str, Any],
) -> None:
    client, worker = links["client"], links["workers"][0]
    await mark_safe(links, worker)
    listed = await client.post(
        "/api/v1/safe-and-well",
        json={"worker_id": worker, "agreed_via": "call"},
        headers=who(links),
    )
    assert listed.status_code == 201
    async with links["app"].state.engine.begin() as conn:
        await conn.execute(
            text("UPDATE workers SET international_protection = :t WHERE id = :id"),
            {"t": True, "id": worker},
        )
    # Protection recorded after the listing: no search finds it, no export carries it.
    hidden = await search(links, full_name="Maricel Dela Cruz", birth_date="1994-03-12")
    assert hidden.json()["found"] is False
    exported = await client.get("/api/v1/safe-and-well.pfif", headers=who(links, "coordinator"))
    assert "Maricel" not in exported.text
    await mark_safe(links, links["workers"][1])
    async with links["app"].state.engine.begin() as conn:
        await conn.execute(
            text("UPDATE workers SET international_protection = :t WHERE id = :id"),
            {"t": True, "id": links["workers"][1]},
        )
    refused = await client.post(
        "/api/v1/safe-and-well",
        json={"worker_id": links["workers"][1], "agreed_via": "volunteer"},
        headers=who(links, "mrc"),
    )
    assert refused.status_code == 409 and "protection" in refused.json()["detail"]


async def test_a_drill_s_listing_never_reaches_the_public_page(links: dict[str, Any]) -> None:
    client, worker = links["client"], links["workers"][0]
    async with links["app"].state.engine.begin() as conn:
        await conn.execute(text("UPDATE crises SET exercise = :t"), {"t": True})
    await mark_safe(links, worker)
    listed = await client.post(
        "/api/v1/safe-and-well",
        json={"worker_id": worker, "agreed_via": "call"},
        headers=who(links),
    )
    assert listed.json()["exercise"] is True
    public = await client.post(
        "/safe-and-well", data={"full_name": "Maricel Dela Cruz", "birth_date": "1994-03-12"}
    )
    assert "No listing found." in public.text
    drill = await search(links, full_name="Maricel Dela Cruz", birth_date="1994-03-12")
    assert drill.json()["found"] is True, "an integration's drill finds it through the API"
