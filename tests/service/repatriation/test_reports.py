"""The repatriation reports on both databases: a crisis's cases by state and nationality with
the situation report's line, a three-leg movement's counts with one person missing at the
second leg's end, and its money; counts only of the people the caller may read."""

from __future__ import annotations

from typing import Any

from tests.service.repatriation.test_repatriation import (
    consent,
    movement,
    open_case,
    raise_level,
    seat,
    who,
)


async def test_the_crisis_and_movement_reports_count_what_happened(home: dict[str, Any]) -> None:
    client = home["client"]
    await raise_level(home, 3)
    cases = [(await open_case(home, w, family=1 if i == 0 else 0)).json()
             for i, w in enumerate(home["workers"][:4])]  # fmt: skip
    moving = await movement(home, 10, 10, 10)
    for case in cases[:3]:
        await consent(home, case["id"])
        assert (await seat(home, moving["id"], case["id"])).status_code == 200
    await consent(home, cases[3]["id"], given=False)
    base = f"/api/v1/movements/{moving['id']}/legs"
    for seq in (1, 2, 3):
        for case in cases[:3]:
            if seq == 2 and case is cases[2]:
                continue  # boarded leg 2 at Port Klang, never seen at Kota Kinabalu
            for step in ("boarding", "arrival"):
                if seq == 3 and case is cases[2]:
                    break
                done = await client.post(
                    f"{base}/{seq}/{step}", json={"case_id": case["id"]}, headers=who(home)
                )
                assert done.status_code == 200, done.text
            if seq == 2 and case is cases[1]:
                boarded_only = await client.post(
                    f"{base}/2/boarding", json={"case_id": cases[2]["id"]}, headers=who(home)
                )
                assert boarded_only.status_code == 200, boarded_only.text

    report = await client.get(f"/api/v1/movements/{moving['id']}/report", headers=who(home))
    assert report.status_code == 200, report.text
    legs = report.json()["legs"]
    assert [(leg["booked"], leg["boarded"], leg["arrived"]) for leg in legs] == [
        (3, 3, 3), (3, 3, 2), (3, 2, 2),
    ]  # fmt: skip
    assert [leg["not_arrived"] for leg in legs] == [0, 1, 0]
    assert [leg["not_boarded"] for leg in legs] == [0, 0, 1]
    assert legs[0]["booked_places"] == 4, "the first worker travels with one family member"

    crisis = await client.get(
        f"/api/v1/crises/{home['crisis']}/repatriation-report", headers=who(home)
    )
    assert crisis.status_code == 200, crisis.text
    body = crisis.json()
    assert body["by_state"] == {"eligible": 1, "boarded": 1, "arrived": 2}
    assert body["consent"] == {"given": 3, "refused": 1}
    assert body["cases"] == 4 and body["people"] == 5
    assert body["by_nationality"][0]["nationality"] == "PHL"
    assert body["sitrep"].startswith("Repatriation: 4 cases, 1 waiting for a seat")
    assert "2 arrived home" in body["sitrep"] and "1 refused to leave" in body["sitrep"]
    assert "1 missing at a gate" in body["sitrep"], body["sitrep"]
    assert "Juan" not in crisis.text and "expired" not in crisis.text

    # Another embassy counts none of these people as its cases.
    other = await client.get(
        f"/api/v1/crises/{home['crisis']}/repatriation-report", headers=who(home, "idn")
    )
    assert other.json()["cases"] == 0 and other.json()["by_nationality"] == []
