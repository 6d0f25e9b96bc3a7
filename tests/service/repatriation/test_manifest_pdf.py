"""The printed manifest, on both databases: a PDF per leg of who travels, names only for those who
may read them, never a documentation status, an exercise's banner; and the writer itself: the
header row on every page, "page X of Y", the same content the same file."""

from __future__ import annotations

import io
from datetime import UTC, datetime
from typing import Any

from pypdf import PdfReader

from service.exports.pdf import Column, Section, table_pdf
from service.repatriation import manifest_pdf
from service.repatriation.models import Leg, Movement
from tests.conftest import unique
from tests.service.repatriation.test_repatriation import (
    KL,
    consent,
    home,  # noqa: F401 (the fixture)
    movement,
    open_case,
    raise_level,
    seat,
    who,
)

WHEN = datetime(2026, 3, 1, 8, 30, tzinfo=UTC)


def pages(document: bytes) -> list[str]:
    return [p.extract_text() for p in PdfReader(io.BytesIO(document)).pages]


async def booked(home: dict[str, Any], crisis: str | None = None) -> dict[str, Any]:  # noqa: F811
    """Three people booked on a two-leg movement, one with a family of two and a wheelchair."""
    cases = []
    for i, worker in enumerate(home["workers"][:3]):
        made = await open_case(home, worker, family=1 if i == 0 else 0,
                               needs=["wheelchair"] if i == 0 else [])  # fmt: skip
        assert made.status_code == 201, made.text
        cases.append(made.json()["id"])
        await consent(home, made.json()["id"])
    moving = await movement(home, 10, 10)
    for case in cases:
        assert (await seat(home, moving["id"], case)).status_code == 200
    return {"movement": moving, "cases": cases}


async def test_the_pdf_manifest_names_only_for_those_who_may_read_them(
    home: dict[str, Any],  # noqa: F811
) -> None:
    client = home["client"]
    await raise_level(home, 3)
    made = await booked(home)
    path = f"/api/v1/movements/{made['movement']['id']}/manifest"
    mine = await client.get(path, params={"format": "pdf"}, headers=who(home))
    assert mine.status_code == 200, mine.text
    assert mine.headers["content-type"] == "application/pdf"
    assert "attachment" in mine.headers["content-disposition"]
    assert mine.content.startswith(b"%PDF")
    text = "\n".join(pages(mine.content))
    assert "Manifest: Sealift home" in text and home["crisis"] in text
    assert "EXERCISE" not in text
    assert "Leg 1, bus: Kuala Lumpur → Port Klang" in text and "capacity 10, booked 4" in text
    assert "Leg 2, ship: Port Klang → Kota Kinabalu" in text
    assert text.count("Juan0 Dela Cruz") == 2 and "Juan2 Dela Cruz" in text  # one row per leg
    assert "wheelchair" in text and made["cases"][0][:8] in text
    assert "expired" not in text and "documentation" not in text.lower()
    assert "held" not in text  # no passport either: the carrier does not need it

    theirs = await client.get(path, params={"format": "pdf"}, headers=who(home, "idn"))
    assert theirs.status_code == 200
    other = "\n".join(pages(theirs.content))
    assert "Juan" not in other and "wheelchair" not in other
    assert made["cases"][1][:8] in other and "—" in other

    missing = await client.get(
        "/api/v1/movements/no-such-movement/manifest", params={"format": "pdf"}, headers=who(home)
    )
    assert missing.status_code == 404
    assert missing.headers["content-type"].startswith("application/problem+json")


async def test_an_exercise_movement_says_so_on_its_manifest(home: dict[str, Any]) -> None:  # noqa: F811
    client = home["client"]
    lat, lon = KL
    ring = [[lon - 0.1, lat - 0.1], [lon + 0.1, lat - 0.1], [lon + 0.1, lat + 0.1],
            [lon - 0.1, lat + 0.1], [lon - 0.1, lat - 0.1]]  # fmt: skip
    drill = await client.post(
        "/api/v1/crises",
        json={"title": unique("Drill"), "hazard": "conflict", "severity": "severe",
              "alert_level": 3, "exercise": True,
              "zones": {"type": "Polygon", "coordinates": [ring]}},
        headers=who(home, "coordinator"),
    )  # fmt: skip
    assert drill.status_code == 201, drill.text
    case = await client.post(
        f"/api/v1/crises/{drill.json()['id']}/repatriation-cases",
        json={"worker_id": home["workers"][3]},
        headers=who(home),
    )
    assert case.status_code == 201, case.text
    await consent(home, case.json()["id"])
    moving = await client.post(
        f"/api/v1/crises/{drill.json()['id']}/movements",
        json={"title": "Drill bus", "legs": [{"mode": "bus", "origin": "Kuala Lumpur",
              "destination": "KLIA", "capacity": 5, "departs_at": "2026-03-02T06:00:00Z"}]},
        headers=who(home),
    )  # fmt: skip
    assert moving.status_code == 201 and moving.json()["exercise"] is True
    assert (await seat(home, moving.json()["id"], case.json()["id"])).status_code == 200
    printed = await client.get(
        f"/api/v1/movements/{moving.json()['id']}/manifest",
        params={"format": "pdf"},
        headers=who(home),
    )
    assert printed.status_code == 200, printed.text
    text = "\n".join(pages(printed.content))
    assert text.startswith("EXERCISE") and "Juan3 Dela Cruz" in text
    assert "departs 2026-03-02 06:00 UTC" in text


def test_a_long_leg_runs_over_pages_with_its_header_on_each() -> None:
    trip = Movement(id="m1", crisis_id="c1", title="Sealift", exercise=False)
    leg = Leg(id="l1", movement_id="m1", seq=1, mode="ship", origin="Port Klang",
              destination="Manila", capacity=200, booked=120)  # fmt: skip
    rows = [
        {"leg": 1, "case_id": f"case{n:04d}-0000", "given_name": f"Maria{n}", "family_name": "Đặng",
         "nationality": "PHL", "places": 1, "needs": "", "seat": "booked"}
        for n in range(120)
    ]  # fmt: skip
    document = manifest_pdf.render(trip, [leg], rows, generated_at=WHEN)
    texts = pages(document)
    assert len(texts) > 1
    for n, text in enumerate(texts, start=1):
        assert "Case Name Nationality Places Needs Seat Checked" in text, n
        assert f"page {n} of {len(texts)}" in text
    joined = "\n".join(texts)
    assert all(f"Maria{n} Đặng" in joined for n in range(120))
    assert "Generated 2026-03-01 08:30:00 UTC" in texts[0]
    # The same content, the same file: dated by the time given, not the clock.
    assert manifest_pdf.render(trip, [leg], rows, generated_at=WHEN) == document
    assert PdfReader(io.BytesIO(document)).metadata.creation_date == WHEN


def test_the_writer_leaves_text_readable_uncompressed_and_says_an_empty_section() -> None:
    document = table_pdf(
        "Situation", ["line one"], [Section("Nothing here", [Column("a")], [], empty="Nobody.")],
        created_at=WHEN, compress=False,
    )  # fmt: skip
    assert document.startswith(b"%PDF") and b"BT " in document  # the page stream as it is
    assert "Nobody." in pages(document)[0]
