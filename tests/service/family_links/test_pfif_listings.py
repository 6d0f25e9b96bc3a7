"""Safe-and-well listings exchanged as PFIF 1.4, on both databases: the export holds the
listings whose persons agreed, of the workers the caller may read, with the names and the
message and never the birth date, the phone or a documentation status; an import lists people
who are not in the register, found afterwards by a relative's search, the same document twice
changing nothing and a bad one nothing at all; an export imported elsewhere exports the same."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
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
EXAMPLE = Path(__file__).parents[2] / "fixtures" / "pfif" / "example-1.4.xml"
XML = {"Content-Type": "application/xml"}


@pytest.fixture
async def links(databases: Databases, backend: str) -> AsyncIterator[dict[str, Any]]:
    settings = settings_for(await databases.create(backend)).model_copy(
        update={"safe_well_search_burst": 20}
    )
    app = create_app(settings, configure_logs=False)
    async with app.router.lifespan_context(app):
        embassy = await make_org_in(app, OrgKind.EMBASSY, "MYS", "PHL")
        tokens = {
            "phl": await make_token_in(app, Role.CONSULAR_OFFICER, embassy),
            "idn": await make_token_in(
                app, Role.CONSULAR_OFFICER, await make_org_in(app, OrgKind.EMBASSY, "MYS", "IDN")
            ),
            "mrc": await make_token_in(
                app, Role.SOCIETY_RESPONDER, await make_org_in(app, OrgKind.NATIONAL_SOCIETY, "MYS")
            ),
            "coordinator": await make_token_in(app, Role.COORDINATOR, await make_org_in(app)),
        }
        transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
            people = [
                ("Maricel", "Dela Cruz", "1994-03-12", "+60123456801"),
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
                "workers": workers,
                "crisis": crisis.json()["id"],
            }


def who(links: dict[str, Any], name: str = "phl") -> dict[str, str]:
    return bearer(links["tokens"][name])


async def list_safe(links: dict[str, Any], worker: str, **body: Any) -> dict[str, Any]:
    client = links["client"]
    done = await client.post(
        f"/api/v1/crises/{links['crisis']}/welfare/{worker}",
        json={"outcome": "safe", "how": "call"},
        headers=who(links),
    )
    assert done.status_code in (200, 201), done.text
    listed = await client.post(
        "/api/v1/safe-and-well",
        json={"worker_id": worker, "agreed_via": "call", **body},
        headers=who(links),
    )
    assert listed.status_code == 201, listed.text
    result: dict[str, Any] = listed.json()
    return result


async def export(links: dict[str, Any], name: str = "phl") -> httpx.Response:
    return await links["client"].get(
        "/api/v1/safe-and-well.pfif",
        params={"crisis_id": links["crisis"]},
        headers=who(links, name),
    )


async def import_(links: dict[str, Any], document: bytes, name: str = "phl") -> httpx.Response:
    return await links["client"].post(
        "/api/v1/safe-and-well.pfif",
        params={"crisis_id": links["crisis"]},
        content=document,
        headers={**who(links, name), **XML},
    )


async def search(links: dict[str, Any], **body: Any) -> dict[str, Any]:
    found = await links["client"].post(
        "/api/v1/safe-and-well/search", json=body, headers=who(links, "coordinator")
    )
    assert found.status_code == 200, found.text
    result: dict[str, Any] = found.json()
    return result


def document(*persons: str) -> bytes:
    return (
        f'<?xml version="1.0" encoding="UTF-8"?>\n<pfif:pfif xmlns:pfif="{pfif.NAMESPACE}">'
        + "".join(persons)
        + "</pfif:pfif>"
    ).encode()


def person(record_id: str, *fields: str, status: str | None = "believed_alive") -> str:
    note = (
        f"<pfif:note><pfif:note_record_id>{record_id}.n</pfif:note_record_id>"
        "<pfif:author_name>Thai Red Cross</pfif:author_name>"
        "<pfif:source_date>2026-11-20T08:00:00Z</pfif:source_date>"
        f"<pfif:status>{status}</pfif:status><pfif:text>Safe at the temple.</pfif:text>"
        "</pfif:note>"
        if status
        else ""
    )
    return (
        f"<pfif:person><pfif:person_record_id>{record_id}</pfif:person_record_id>"
        "<pfif:source_date>2026-11-20T07:00:00Z</pfif:source_date>"
        + "".join(fields)
        + note
        + "</pfif:person>"
    )


async def test_an_export_holds_the_listed_workers_names_and_message_and_nothing_secret(
    links: dict[str, Any],
) -> None:
    maricel, rodelio = links["workers"]
    listed = await list_safe(links, maricel, message="Ligtas ako, Nanay.", home_town="Tarlac")
    withdrawn = await list_safe(links, rodelio)
    ended = await links["client"].post(
        f"/api/v1/safe-and-well/{withdrawn['id']}/end",
        json={"state": "withdrawn"},
        headers=who(links),
    )
    assert ended.status_code == 200, ended.text

    exported = await export(links)
    assert exported.status_code == 200, exported.text
    assert exported.headers["content-type"].startswith("application/xml")
    persons, notes = pfif.load(exported.content)
    assert [p.person_record_id for p in persons] == [f"lifeline.invalid/safe-well.{listed['id']}"]
    [one], [note] = persons, notes
    assert (one.full_name, one.given_name, one.family_name) == (
        "Maricel Dela Cruz", "Maricel", "Dela Cruz",
    )  # fmt: skip
    assert one.home_city == "Tarlac" and one.date_of_birth is None
    assert note.status == "believed_alive" and note.author_made_contact is True
    assert note.text == "Ligtas ako, Nanay." and note.person_record_id == one.person_record_id
    for secret in ("1994", "+6012", "6012345", "expired", "permit", "Bautista"):
        assert secret not in exported.text, secret

    # Another embassy's officer reads none of these workers: an empty document.
    other = await export(links, "idn")
    assert other.status_code == 200 and pfif.load(other.content) == ([], [])
    # Exports are audited, with a count and no name.
    async with links["app"].state.engine.connect() as conn:
        rows = (
            await conn.execute(
                text("SELECT detail FROM audit_events WHERE action = 'safe_well.export'")
            )
        ).all()
    assert len(rows) == 2 and all("Maricel" not in str(r[0]) for r in rows)


async def test_an_import_lists_people_not_in_the_register_once(links: dict[str, Any]) -> None:
    doc = document(
        person(
            "tredcross.example/p.1",
            "<pfif:full_name>Somsak Wongsuwan</pfif:full_name>",
            "<pfif:date_of_birth>1990-05-17</pfif:date_of_birth>",
        ),
        person(
            "tredcross.example/p.2",
            "<pfif:full_name>Niran Chaiyaphum</pfif:full_name>",
            "<pfif:date_of_birth>1990</pfif:date_of_birth>",
        ),
        person(
            "tredcross.example/p.3",
            "<pfif:full_name>Anong Srisuk</pfif:full_name>",
            "<pfif:date_of_birth>1985-01-02</pfif:date_of_birth>",
            status="information_sought",
        ),
    )
    done = await import_(links, doc)
    assert done.status_code == 200, done.text
    answer = done.json()
    assert (answer["imported"], answer["unchanged"], answer["skipped"]) == (1, 0, 2)
    reasons = {r["record_id"]: r["reason"] for r in answer["reasons"]}
    assert "no fact" in reasons["tredcross.example/p.2"]
    assert "alive" in reasons["tredcross.example/p.3"]

    # A relative finds him with his full name and birth date, in any order; not without.
    found = await search(links, full_name="wongsuwan, Somsak", birth_date="1990-05-17")
    assert found["found"] is True and found["message"] == "Safe at the temple.", found
    missed = await search(links, full_name="Somsak Wongsuwan", birth_date="1990-05-18")
    assert missed["found"] is False
    assert (await search(links, full_name="Anong Srisuk", birth_date="1985-01-02"))[
        "found"
    ] is False

    again = await import_(links, doc)
    assert again.status_code == 200, again.text
    assert (again.json()["imported"], again.json()["unchanged"], again.json()["skipped"]) == (
        0, 1, 2,
    )  # fmt: skip
    async with links["app"].state.engine.connect() as conn:
        rows = (
            await conn.execute(text("SELECT worker_id, name_sealed FROM safe_well_listings"))
        ).all()
        audited = (
            await conn.execute(
                text("SELECT detail FROM audit_events WHERE action = 'safe_well.import'")
            )
        ).all()
        listing_id = (await conn.execute(text("SELECT id FROM safe_well_listings"))).scalar()
    assert len(rows) == 1 and rows[0][0] is None and "Somsak" not in rows[0][1]
    assert len(audited) == 2 and all("Somsak" not in str(r[0]) for r in audited)

    # Withdrawn, he is found no more, and importing the document again does not list him again.
    client = links["client"]
    other = await client.get(f"/api/v1/safe-and-well/{listing_id}", headers=who(links, "idn"))
    assert other.status_code == 404, "an imported listing is its importer's"
    ended = await client.post(
        f"/api/v1/safe-and-well/{listing_id}/end", json={"state": "withdrawn"}, headers=who(links)
    )
    assert ended.status_code == 200 and ended.json()["worker_id"] is None, ended.text
    assert ended.json()["record_id"] == "tredcross.example/p.1"
    assert (await import_(links, doc)).json()["unchanged"] == 1
    gone = await search(links, full_name="Somsak Wongsuwan", birth_date="1990-05-17")
    assert gone["found"] is False
    assert pfif.load((await export(links)).content) == ([], [])


async def test_the_spec_shaped_example_is_listed_by_its_home_city(links: dict[str, Any]) -> None:
    done = await import_(links, EXAMPLE.read_bytes(), "mrc")
    assert done.status_code == 200, done.text
    assert done.json()["imported"] == 1, done.text
    found = await search(links, full_name="Somchai Srisuk", home_town="udon thani")
    assert found["found"] is True
    # Its export keeps the original record id and note; the importer's organisation sees it.
    persons, notes = pfif.load((await export(links, "mrc")).content)
    assert [p.person_record_id for p in persons] == ["example.org/p.2012.1024"]
    assert [n.note_record_id for n in notes] == ["other.example.net/n.55"]
    assert persons[0].date_of_birth is None and notes[0].phone_of_found_person is None
    assert pfif.load((await export(links, "phl")).content) == ([], [])


async def test_a_bad_document_is_refused_whole(links: dict[str, Any]) -> None:
    doc = document(
        person(
            "tredcross.example/p.10",
            "<pfif:full_name>Kanya Boonmee</pfif:full_name>",
            "<pfif:date_of_birth>1992-02-02</pfif:date_of_birth>",
        ),
        person("tredcross.example/p.11", "<pfif:sex>unknown</pfif:sex>"),
    )
    refused = await import_(links, doc)
    assert refused.status_code == 422, refused.text
    assert "person 2" in refused.json()["detail"] and "sex" in refused.json()["detail"]
    assert (await import_(links, b"not xml")).status_code == 422
    async with links["app"].state.engine.connect() as conn:
        count = (await conn.execute(text("SELECT count(*) FROM safe_well_listings"))).scalar()
    assert count == 0
    assert (await search(links, full_name="Kanya Boonmee", birth_date="1992-02-02"))[
        "found"
    ] is False


async def test_an_export_imported_elsewhere_exports_the_same(
    links: dict[str, Any], databases: Databases, backend: str
) -> None:
    await list_safe(links, links["workers"][0], message="Ligtas ako.", home_town="Tarlac")
    imported = await import_(
        links,
        document(
            person(
                "tredcross.example/p.20",
                "<pfif:full_name>Somsak Wongsuwan</pfif:full_name>",
                "<pfif:given_name>Somsak</pfif:given_name>",
                "<pfif:home_city>Khon Kaen</pfif:home_city>",
            )
        ),
    )
    assert imported.json()["imported"] == 1, imported.text
    first = await export(links)
    assert len(pfif.load(first.content)[0]) == 2, first.text

    settings = settings_for(await databases.create(backend)).model_copy(
        update={"records_domain": "elsewhere.invalid"}
    )
    app = create_app(settings, configure_logs=False)
    async with app.router.lifespan_context(app):
        token = await make_token_in(app, Role.ADMIN, await make_org_in(app))
        transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
            done = await client.post(
                "/api/v1/safe-and-well.pfif",
                content=first.content,
                headers={**bearer(token), **XML},
            )
            assert done.status_code == 200 and done.json()["imported"] == 2, done.text
            second = await client.get("/api/v1/safe-and-well.pfif", headers=bearer(token))
            assert second.status_code == 200, second.text
    assert pfif.load(second.content) == pfif.load(first.content)
