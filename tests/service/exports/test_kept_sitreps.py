"""The situation reports kept with a crisis, on both databases: the worker's daily pass keeps
one a crisis, day and language (English and the languages of the nationalities most exposed),
a second pass changes nothing; the list and the files by each role that reads crises, 403 for
the others; keeping again on request; the kept PDF of a drill EXERCISE on every page, in the
language asked, as shared beyond the need-to-know (rounded), with no name in it; a language
not offered a 422; and the console's page showing the latest."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from fastapi import FastAPI
from sqlmodel import col, select

from service.audit.models import AuditEvent
from service.auth.permissions import Role
from service.crises.models import Crisis, Phase
from service.db import session_scope
from service.exports.models import KeptSitrep
from service.flows import kept_sitreps
from service.worker import run_once, sitrep_jobs
from tests.conftest import bearer, make_org_in, make_token_in
from tests.service.exports.test_sitrep import PRIVATE, drill, pages
from tests.service.repatriation.test_repatriation import (
    KL,
    home,  # noqa: F401 (the fixture)
    who,
)


async def kept_rows(app: FastAPI) -> list[KeptSitrep]:
    async with session_scope(app.state.sessionmaker) as session:
        rows = (await session.exec(select(KeptSitrep).order_by(col(KeptSitrep.id)))).all()
        for row in rows:
            session.expunge(row)
        return list(rows)


async def daily_pass(app: FastAPI) -> str:
    outcome = await run_once(app.state.engine, sitrep_jobs(app.state.settings))
    return outcome["sitreps"]


async def indonesians(home: dict[str, Any], n: int = 6) -> None:  # noqa: F811
    """``n`` Indonesian workers by Kuala Lumpur, registered by their embassy."""
    for i in range(n):
        made = await home["client"].post(
            "/api/v1/workers",
            json={"nationality": "IDN", "given_name": f"Siti{i}", "family_name": "Rahayu",
                  "documentation_status": "expired permit",
                  "location": {"lat": KL[0] - i * 0.001, "lon": KL[1]}},
            headers=who(home, "idn"),
        )  # fmt: skip
        assert made.status_code == 201, made.text


async def roles(home: dict[str, Any]) -> dict[str, str]:  # noqa: F811
    """A token of each role beside the fixture's."""
    app: FastAPI = home["app"]
    org = await make_org_in(app)
    return {
        role.value: await make_token_in(app, role, org)
        for role in (Role.ADMIN, Role.VIEWER, Role.INTEGRATION, Role.SOCIETY_RESPONDER)
    }


async def test_the_daily_pass_keeps_one_report_a_crisis_day_and_language(
    home: dict[str, Any],  # noqa: F811
) -> None:
    await indonesians(home)
    made = await drill(home)
    app: FastAPI = home["app"]
    assert (await daily_pass(app)).startswith("2 crises' reports kept")
    first = await kept_rows(app)
    today = datetime.now(UTC).date()
    by_crisis: dict[str, list[str]] = {}
    for row in first:
        assert row.day == today and row.made_by == "worker"
        by_crisis.setdefault(row.crisis_id, []).append(row.language)
    # Filipinos exposed in both, Indonesians in the drill (the first crisis's exposure was
    # counted before they were registered): English and their languages, once each.
    assert {c: sorted(ls) for c, ls in by_crisis.items()} == {
        home["crisis"]: ["en", "tl"],
        made["crisis"]: ["en", "id", "tl"],
    }
    assert {r.crisis_id: r.exercise for r in first} == {home["crisis"]: False, made["crisis"]: True}

    # A second pass the same day keeps what it kept, and changes nothing.
    assert (await daily_pass(app)).startswith("0 crises' reports kept, 2 kept already today")
    again = await kept_rows(app)
    assert [(r.id, r.created_at, r.pdf) for r in again] == [
        (r.id, r.created_at, r.pdf) for r in first
    ]
    async with session_scope(app.state.sessionmaker) as session:
        kept = (
            await session.exec(select(AuditEvent).where(AuditEvent.action == "crisis.sitrep_kept"))
        ).all()
    assert len(kept) == 2 and {e.detail["languages"][0] for e in kept} == {"en"}

    # The drill's kept PDF: EXERCISE on every page, the shared (rounded) view, no name.
    client = home["client"]
    for language, headline, rounded in (
        ("en", "Workers exposed 15", "rounded to 5"),
        ("id", "Pekerja terdampak 15", "dibulatkan ke kelipatan 5"),
        ("tl", "Mga manggagawang apektado 15", "inikot sa 5"),
    ):
        answer = await client.get(
            f"/api/v1/crises/{made['crisis']}/sitreps/{today.isoformat()}",
            params={"language": language},
            headers=who(home, "coordinator"),
        )
        assert answer.status_code == 200, answer.text
        assert answer.headers["content-type"] == "application/pdf"
        texts = pages(answer.content)
        assert texts and all(t.startswith("EXERCISE") for t in texts), language
        text = "\n".join(texts)
        # 13 exposed, rounded to 15 as for a viewer, whoever reads the kept file.
        assert headline in text, language
        assert rounded in text, language
        footer = {"en": "page 1 of", "id": "halaman 1 dari", "tl": "pahina 1 ng"}[language]
        assert footer in text, language
        for private in (*PRIVATE, "Siti", "Rahayu"):
            assert private.lower() not in text.lower(), (language, private)
        page = await client.get(
            f"/api/v1/crises/{made['crisis']}/sitreps/{today.isoformat()}",
            params={"language": language, "format": "html"},
            headers=who(home, "phl"),
        )
        assert page.status_code == 200, page.text
        assert page.headers["content-type"].startswith("text/html")
        assert f'<html lang="{language}">' in page.text and "EXERCISE" in page.text
        assert f"sitreps/{today.isoformat()}?language={language}&amp;format=pdf" in page.text
        for private in (*PRIVATE, "Siti", "Rahayu"):
            assert private.lower() not in page.text.lower(), (language, private)
    # The real crisis's report says no EXERCISE.
    real = await client.get(
        f"/api/v1/crises/{home['crisis']}/sitreps/{today.isoformat()}",
        headers=who(home, "coordinator"),
    )
    assert real.status_code == 200 and "EXERCISE" not in "\n".join(pages(real.content))


async def test_the_list_and_the_files_by_role(home: dict[str, Any]) -> None:  # noqa: F811
    made = await drill(home)
    crisis, client = made["crisis"], home["client"]
    tokens = {**home["tokens"], **(await roles(home))}
    today = datetime.now(UTC).date().isoformat()

    # Keeping on request: crises:write (a coordinator, an admin); others 403.
    for name in ("phl", "viewer", "society_responder", "integration"):
        refused = await client.post(
            f"/api/v1/crises/{crisis}/sitreps", headers=bearer(tokens[name])
        )
        assert refused.status_code == 403, (name, refused.text)
    kept = await client.post(f"/api/v1/crises/{crisis}/sitreps", headers=who(home, "coordinator"))
    assert kept.status_code == 201, kept.text
    assert [k["language"] for k in kept.json()] == ["en", "tl"]
    first = kept.json()[0]
    assert first["made_by"] != "worker" and first["exercise"] is True
    assert first["pdf"] == f"/api/v1/crises/{crisis}/sitreps/{today}?language=en&format=pdf"
    # Again the same day: replaced, still one a language.
    again = await client.post(f"/api/v1/crises/{crisis}/sitreps", headers=bearer(tokens["admin"]))
    assert again.status_code == 201, again.text
    assert [k["id"] for k in again.json()] == [k["id"] for k in kept.json()]
    assert len(await kept_rows(home["app"])) == 2

    for name in ("coordinator", "admin", "phl", "idn", "viewer", "society_responder"):
        listed = await client.get(f"/api/v1/crises/{crisis}/sitreps", headers=bearer(tokens[name]))
        assert listed.status_code == 200, (name, listed.text)
        assert sorted(k["language"] for k in listed.json()["items"]) == ["en", "tl"], name
        got = await client.get(first["pdf"], headers=bearer(tokens[name]))
        assert got.status_code == 200, (name, got.text)
        assert (
            got.content
            == (await client.get(first["pdf"], headers=who(home, "coordinator"))).content
        )
    for path in (f"/api/v1/crises/{crisis}/sitreps", first["pdf"]):
        refused = await client.get(path, headers=bearer(tokens["integration"]))
        assert refused.status_code == 403, refused.text

    # A page at a time, newest first.
    one = await client.get(
        f"/api/v1/crises/{crisis}/sitreps", params={"limit": 1}, headers=who(home, "phl")
    )
    assert one.status_code == 200 and len(one.json()["items"]) == 1
    rest = await client.get(
        f"/api/v1/crises/{crisis}/sitreps",
        params={"limit": 1, "cursor": one.json()["next_cursor"]},
        headers=who(home, "phl"),
    )
    assert rest.status_code == 200 and len(rest.json()["items"]) == 1
    assert rest.json()["items"][0]["id"] != one.json()["items"][0]["id"]

    # None kept of a day, or of a language offered but not kept: 404; another crisis: 404.
    yesterday = (datetime.now(UTC).date() - timedelta(days=1)).isoformat()
    for path, params in (
        (f"/api/v1/crises/{crisis}/sitreps/{yesterday}", {}),
        (f"/api/v1/crises/{crisis}/sitreps/{today}", {"language": "vi"}),
        (f"/api/v1/crises/no-such-crisis/sitreps/{today}", {}),
        ("/api/v1/crises/no-such-crisis/sitreps", {}),
    ):
        missing = await client.get(path, params=params, headers=who(home, "phl"))
        assert missing.status_code == 404, (path, missing.text)

    # Each download is audited.
    async with session_scope(home["app"].state.sessionmaker) as session:
        events = (
            await session.exec(
                select(AuditEvent).where(
                    AuditEvent.action == "crisis.sitrep_exported", AuditEvent.subject_id == crisis
                )
            )
        ).all()
    assert sum("kept" in e.detail for e in events) >= 12


async def test_a_language_not_offered_is_a_422_naming_those_offered(
    home: dict[str, Any],  # noqa: F811
) -> None:
    made = await drill(home)
    crisis, client = made["crisis"], home["client"]
    today = datetime.now(UTC).date().isoformat()
    assert (
        await client.post(f"/api/v1/crises/{crisis}/sitreps", headers=who(home, "coordinator"))
    ).status_code == 201
    for path in (f"/api/v1/crises/{crisis}/sitrep", f"/api/v1/crises/{crisis}/sitreps/{today}"):
        refused = await client.get(path, params={"language": "th"}, headers=who(home))
        assert refused.status_code == 422, refused.text
        assert refused.headers["content-type"].startswith("application/problem+json")
        problem = refused.json()
        assert problem["errors"][0]["loc"] == ["query", "language"]
        assert "en, id, ms, tl, vi" in problem["detail"]

    # The live report in each language offered: its own words translated, the figures as ever.
    for language, headline in (
        ("id", "Laporan situasi"),
        ("ms", "Laporan situasi"),
        ("tl", "Ulat ng sitwasyon"),
        ("vi", "Báo cáo tình hình"),
    ):
        live = await client.get(
            f"/api/v1/crises/{crisis}/sitrep",
            params={"language": language},
            headers=who(home, "coordinator"),
        )
        assert live.status_code == 200, live.text
        assert f"-{language}.pdf" in live.headers["content-disposition"]
        text = "\n".join(pages(live.content))
        assert headline in text and "EXERCISE" in text, language
        assert "Workers exposed" not in text, language
    indonesian = "\n".join(
        pages(
            (
                await client.get(
                    f"/api/v1/crises/{crisis}/sitrep",
                    params={"language": "id"},
                    headers=who(home, "coordinator"),
                )
            ).content
        )
    )
    assert "Pekerja terdampak 7" in indonesian and "Dilaporkan selamat 3" in indonesian


async def test_the_console_page_shows_the_latest_kept_report(home: dict[str, Any]) -> None:  # noqa: F811
    made = await drill(home)
    crisis, client, app = made["crisis"], home["client"], home["app"]
    page = await client.get(f"/console/crises/{crisis}/sitrep", headers=who(home))
    assert page.status_code == 200, page.text
    assert "None kept yet" in page.text
    assert "Keep today's report now" not in page.text  # a consular officer keeps none

    # An earlier day's report (as kept yesterday), then today's by the daily pass.
    async with session_scope(app.state.sessionmaker) as session:
        session.add(
            KeptSitrep(
                crisis_id=crisis,
                day=datetime.now(UTC).date() - timedelta(days=1),
                language="en",
                created_at=datetime.now(UTC) - timedelta(days=1),
                exercise=True,
                pdf=b"%PDF-1.7",
                html="<p>earlier</p>",
                made_by="worker",
            )
        )
    await daily_pass(app)
    today = datetime.now(UTC).date().isoformat()
    yesterday = (datetime.now(UTC).date() - timedelta(days=1)).isoformat()
    page = await client.get(f"/console/crises/{crisis}/sitrep", headers=who(home))
    assert page.status_code == 200, page.text
    latest = page.text.split('data-kept="latest"')[1].split("</table>")[0]
    assert f"The latest: {today}" in latest
    assert f"/api/v1/crises/{crisis}/sitreps/{today}?language=en&amp;format=pdf" in latest
    assert f"/api/v1/crises/{crisis}/sitreps/{today}?language=tl&amp;format=html" in latest
    earlier = page.text.split('data-kept="earlier"')[1].split("</table>")[0]
    assert yesterday in earlier and today not in earlier
    for private in PRIVATE:
        assert private.lower() not in page.text.lower(), private

    # A coordinator keeps it again from the page: today's replaced, the earlier day kept.
    coordinator = who(home, "coordinator")
    shown = await client.get(f"/console/crises/{crisis}/sitrep", headers=coordinator)
    assert 'action="/console/crises/' + crisis + '/sitreps"' in shown.text
    mine = [r for r in await kept_rows(app) if r.crisis_id == crisis]
    before = {r.language: r for r in mine if r.day.isoformat() == today}
    kept = await client.post(
        f"/console/crises/{crisis}/sitreps", data={"csrf_token": ""}, headers=coordinator
    )
    assert kept.status_code == 303, kept.text
    after = [r for r in await kept_rows(app) if r.crisis_id == crisis]
    assert len(after) == 3
    for row in after:
        if row.day.isoformat() == today:
            assert row.id == before[row.language].id and row.made_by != "worker"


async def test_a_closed_crisis_gets_no_more_daily_report(home: dict[str, Any]) -> None:  # noqa: F811
    made = await drill(home)
    app: FastAPI = home["app"]
    async with session_scope(app.state.sessionmaker) as session:
        crisis = await session.get(Crisis, home["crisis"])
        assert crisis is not None
        crisis.phase = Phase.CLOSED.value
        session.add(crisis)
    assert (await daily_pass(app)).startswith("1 crises' reports kept")
    assert {r.crisis_id for r in await kept_rows(app)} == {made["crisis"]}


async def test_a_report_that_fails_stops_no_other_and_is_tried_again(
    home: dict[str, Any],  # noqa: F811
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    made = await drill(home)
    app: FastAPI = home["app"]
    keep = kept_sitreps.keep

    async def broken(session: Any, *, crisis: Crisis, **kwargs: Any) -> Any:
        if crisis.id == home["crisis"]:
            raise RuntimeError("the report could not be drawn")
        return await keep(session, crisis=crisis, **kwargs)

    monkeypatch.setattr(kept_sitreps, "keep", broken)
    assert await daily_pass(app) == "1 crises' reports kept, 0 kept already today, 1 failed"
    assert {r.crisis_id for r in await kept_rows(app)} == {made["crisis"]}
    monkeypatch.setattr(kept_sitreps, "keep", keep)
    assert await daily_pass(app) == "1 crises' reports kept, 1 kept already today"
    assert {r.crisis_id for r in await kept_rows(app)} == {made["crisis"], home["crisis"]}


async def test_keeping_while_another_keeps_the_same_day_is_a_409(
    home: dict[str, Any],  # noqa: F811
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The worker's pass writes today's report between the request's reading of what is kept
    and its writing: the request answers 409, and the report the worker kept stays."""
    app: FastAPI = home["app"]
    if app.state.settings.database_url.startswith("sqlite"):
        pytest.skip("SQLite has one writer at a time: the two keepers cannot interleave")
    made = await drill(home)
    render = kept_sitreps._render
    raced: list[bool] = []

    async def worker_first(report: Any, created_at: datetime) -> tuple[bytes, str]:
        if not raced:
            raced.append(True)
            await daily_pass(app)
        return await render(report, created_at)

    monkeypatch.setattr(kept_sitreps, "_render", worker_first)
    answer = await home["client"].post(
        f"/api/v1/crises/{made['crisis']}/sitreps", headers=who(home, "coordinator")
    )
    assert answer.status_code == 409, answer.text
    assert "try again" in answer.json()["detail"]
    assert {r.made_by for r in await kept_rows(app)} == {"worker"}
