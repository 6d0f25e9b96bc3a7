"""The situation report of a crisis, on both databases: the PDF read back (2 or 3 pages, the
headline figures, EXERCISE on every page of a drill, no name, no documentation status, the map
drawn with vector paths), the HTML (the same figures, one SVG path a province hit), an outsider's
counts withheld and rounded as their exposure is, a day before the crisis a 422, the console's
page for a consular officer with its PDF link, and each export audited."""

from __future__ import annotations

import io
import re
from datetime import UTC, datetime, timedelta
from typing import Any

from fastapi import FastAPI
from pypdf import PdfReader
from sqlmodel import select

from service.audit.models import AuditEvent
from service.db import session_scope
from tests.conftest import unique
from tests.service.repatriation.test_repatriation import (
    KL,
    home,  # noqa: F401 (the fixture)
    who,
)

FIGURE = re.compile(r'data-figure="([^"]+)">([^<]*)<')
#: A polygon of the page's own paths: moved to, lines to, closed, then filled and stroked (a
#: province) or stroked (the zone).
POLYGON = re.compile(r" m\n(?:[-\d.]+ [-\d.]+ l\n)+ h\n (B|S)\n")
PRIVATE = ("Juan", "Dela Cruz", "expired permit", "documentation")


def pages(document: bytes) -> list[str]:
    return [p.extract_text() for p in PdfReader(io.BytesIO(document)).pages]


async def drill(home: dict[str, Any]) -> dict[str, Any]:  # noqa: F811
    """Two more workers by Kuala Lumpur (seven in all), a drill declared over them, three of
    them safe."""
    client = home["client"]
    workers = list(home["workers"])
    for i in range(5, 7):
        made = await client.post(
            "/api/v1/workers",
            json={"nationality": "PHL", "given_name": f"Juan{i}", "family_name": "Dela Cruz",
                  "documentation_status": "expired permit",
                  "location": {"lat": KL[0] + i * 0.001, "lon": KL[1]}},
            headers=who(home),
        )  # fmt: skip
        assert made.status_code == 201, made.text
        workers.append(made.json()["id"])
    lat, lon = KL
    ring = [[lon - 0.1, lat - 0.1], [lon + 0.1, lat - 0.1], [lon + 0.1, lat + 0.1],
            [lon - 0.1, lat + 0.1], [lon - 0.1, lat - 0.1]]  # fmt: skip
    declared = await client.post(
        "/api/v1/crises",
        json={"title": unique("Drill"), "hazard": "conflict", "severity": "severe",
              "alert_level": 2, "exercise": True,
              "zones": {"type": "Polygon", "coordinates": [ring]}},
        headers=who(home, "coordinator"),
    )  # fmt: skip
    assert declared.status_code == 201, declared.text
    crisis = declared.json()["id"]
    for worker in workers[:3]:
        recorded = await client.post(
            f"/api/v1/crises/{crisis}/welfare/{worker}",
            json={"outcome": "safe", "how": "call"},
            headers=who(home),
        )
        assert recorded.status_code in {200, 201}, recorded.text
    return {"crisis": crisis, "created_at": declared.json()["created_at"]}


async def sitrep(home: dict[str, Any], crisis: str, token: str, **params: str) -> Any:  # noqa: F811
    return await home["client"].get(
        f"/api/v1/crises/{crisis}/sitrep", params=params, headers=who(home, token)
    )


async def open_tasks(home: dict[str, Any], crisis: str) -> int:  # noqa: F811
    listed = await home["client"].get(
        "/api/v1/tasks", params={"crisis": crisis, "limit": 200}, headers=who(home, "coordinator")
    )
    assert listed.status_code == 200, listed.text
    return sum(t["status"] not in {"done", "cancelled"} for t in listed.json()["items"])


async def test_the_pdf_holds_the_headline_figures_and_no_name(home: dict[str, Any]) -> None:  # noqa: F811
    made = await drill(home)
    answer = await sitrep(home, made["crisis"], "coordinator", format="pdf")
    assert answer.status_code == 200, answer.text
    assert answer.headers["content-type"] == "application/pdf"
    assert "attachment" in answer.headers["content-disposition"]
    texts = pages(answer.content)
    assert 2 <= len(texts) <= 3, len(texts)
    assert all(t.startswith("EXERCISE") for t in texts)
    text = "\n".join(texts)
    tasks_open = await open_tasks(home, made["crisis"])
    assert "Workers exposed 7" in text
    assert f"Tasks open {tasks_open}" in text
    assert "Reported safe 3" in text and "These counts are exact" in text
    assert "Repatriation: 0 cases" in text
    for private in PRIVATE:
        assert private.lower() not in text.lower(), private
    # The map: the province and the zone drawn as closed, filled polygons of the page itself.
    reader = PdfReader(io.BytesIO(answer.content))
    streams = "".join(
        p.get_contents().get_data().decode("latin-1")  # type: ignore[union-attr]
        for p in reader.pages
    )
    drawn = POLYGON.findall(streams)
    assert "B" in drawn and "S" in drawn, drawn

    # A real crisis says no EXERCISE.
    real = await sitrep(home, home["crisis"], "coordinator")
    assert real.status_code == 200, real.text
    assert "EXERCISE" not in "\n".join(pages(real.content))


async def test_the_html_draws_each_province_hit_and_counts_as_the_caller_sees(
    home: dict[str, Any],  # noqa: F811
) -> None:
    made = await drill(home)
    crisis = made["crisis"]
    for token, exposed in (("coordinator", "7"), ("idn", "5")):
        seen = await home["client"].get(
            f"/api/v1/crises/{crisis}/exposure", headers=who(home, token)
        )
        assert seen.status_code == 200, seen.text
        json = seen.json()
        page = await sitrep(home, crisis, token, format="html")
        assert page.status_code == 200, page.text
        assert page.headers["content-type"].startswith("text/html")
        figures = dict(FIGURE.findall(page.text))
        assert figures["Workers exposed"] == f"{json['workers']:,}" == exposed, token
        assert int(figures["Timeline events in the 24 hours"]) >= 1  # opened, its zone
        assert page.text.count("<svg") == 1
        provinces = re.findall(r'<path class="province"', page.text)
        assert len(provinces) == len(json["by_admin1"]) >= 1, token
        assert page.text.count('<path class="zone"') == 1
        assert "format=pdf" in page.text and "EXERCISE" in page.text
        for private in PRIVATE:
            assert private.lower() not in page.text.lower(), (token, private)
        printed = "\n".join(pages((await sitrep(home, crisis, token)).content))
        assert f"Workers exposed {exposed}" in printed, token
    # The outsider's counts are rounded, and the report says so.
    assert json["exact"] is False and "rounded to 5" in page.text


async def test_a_day_before_the_crisis_or_to_come_is_a_422(home: dict[str, Any]) -> None:  # noqa: F811
    made = await drill(home)
    opened = datetime.fromisoformat(made["created_at"]).astimezone(UTC).date()
    for day in (opened - timedelta(days=1), datetime.now(UTC).date() + timedelta(days=2)):
        refused = await sitrep(home, made["crisis"], "coordinator", date=day.isoformat())
        assert refused.status_code == 422, refused.text
        assert refused.headers["content-type"].startswith("application/problem+json")
        assert refused.json()["errors"][0]["loc"] == ["query", "date"]
    same_day = await sitrep(home, made["crisis"], "coordinator", date=opened.isoformat())
    assert same_day.status_code == 200, same_day.text
    missing = await sitrep(home, "no-such-crisis", "coordinator")
    assert missing.status_code == 404


async def test_the_console_page_for_a_consular_officer(home: dict[str, Any]) -> None:  # noqa: F811
    made = await drill(home)
    crisis = made["crisis"]
    client = home["client"]
    page = await client.get(f"/console/crises/{crisis}/sitrep", headers=who(home))
    assert page.status_code == 200, page.text
    assert f"/api/v1/crises/{crisis}/sitrep?date=" in page.text and "format=pdf" in page.text
    assert "<svg" in page.text and "Workers exposed" in page.text
    for private in PRIVATE:
        assert private.lower() not in page.text.lower(), private
    linked = await client.get(f"/console/crises/{crisis}", headers=who(home))
    assert f'href="/console/crises/{crisis}/sitrep"' in linked.text
    # Each report made is audited: the page's and the API's alike.
    assert (await sitrep(home, crisis, "phl", format="html")).status_code == 200
    app: FastAPI = home["app"]
    async with session_scope(app.state.sessionmaker) as session:
        events = (
            await session.exec(
                select(AuditEvent).where(
                    AuditEvent.action == "crisis.sitrep_exported", AuditEvent.subject_id == crisis
                )
            )
        ).all()
    assert sorted(e.detail["format"] for e in events) == ["console", "html"]
