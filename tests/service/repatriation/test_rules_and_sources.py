"""Eligibility rules set per crisis and decided again; cases opened in bulk for a province at
alert level 4 (each waiting for consent), from a worker's reply to a welfare check, and by
officers; people under international protection never repatriated; the family at home told of
the movement and the arrival where the worker agreed; an erased worker's case forgets what they
said. On both databases."""

from __future__ import annotations

from typing import Any

from sqlmodel import select

from service.db import session_scope
from service.messaging.models import InboundMessage, InboundState, OutboundMessage, Step
from service.repatriation.models import RepatriationCase
from tests.conftest import unique
from tests.service.repatriation.test_repatriation import (
    consent,
    movement,
    open_case,
    raise_level,
    seat,
    who,
)


def rules_path(home: dict[str, Any]) -> str:
    return f"/api/v1/crises/{home['crisis']}/repatriation-rules"


async def put_rules(home: dict[str, Any], version: str, **body: Any) -> Any:
    return await home["client"].put(
        rules_path(home), json=body, headers={**who(home, "coordinator"), "If-Match": version}
    )


async def test_rules_set_by_the_coordinator_decide_the_open_cases_again(
    home: dict[str, Any],
) -> None:
    client = home["client"]
    read = await client.get(rules_path(home), headers=who(home))
    assert read.status_code == 200, read.text
    assert read.json()["source"] == "settings" and read.json()["repatriation_level"] == 3
    assert read.headers["etag"] == '"0"'

    await raise_level(home, 3)
    first = (await open_case(home, home["workers"][0])).json()
    assert first["state"] == "eligible" and first["source"] == "officer"

    # Only Indonesians may leave: the Filipino's case is decided again, and says why.
    only_idn = await put_rules(home, '"0"', nationalities=["IDN"])
    assert only_idn.status_code == 200, only_idn.text
    assert only_idn.json()["decided"] == {"not_eligible": 1}
    assert only_idn.json()["source"] == "crisis" and only_idn.headers["etag"] == '"1"'
    case = await client.get(f"/api/v1/repatriation-cases/{first['id']}", headers=who(home))
    assert case.json()["state"] == "not_eligible"
    assert "other nationalities" in case.json()["rule"]

    # A stale version is a 412 and changes nothing; a consular officer may not set them.
    stale = await put_rules(home, '"0"', nationalities=[])
    assert stale.status_code == 412, stale.text
    officer = await client.put(rules_path(home), json={}, headers={**who(home), "If-Match": '"1"'})
    assert officer.status_code == 403, officer.text

    # Everyone again, the province named: eligible again; the same rules twice change nothing.
    worker = await client.get(f"/api/v1/workers/{home['workers'][0]}", headers=who(home))
    admin1 = worker.json()["admin1"]
    assert admin1, worker.json()
    back = await put_rules(home, '"1"', admin1=[admin1], priority=["pregnant"])
    assert back.json()["decided"] == {"eligible": 1}, back.text
    again = await put_rules(home, '"2"', admin1=[admin1], priority=["pregnant"])
    assert again.json()["decided"] == {} and again.headers["etag"] == '"2"'
    case = await client.get(f"/api/v1/repatriation-cases/{first['id']}", headers=who(home))
    assert case.json()["state"] == "eligible" and admin1 in case.json()["rule"]

    # Bad rules are a clear 422.
    bad = await put_rules(home, '"2"', repatriation_level=7)
    assert bad.status_code == 422 and bad.headers["content-type"] == "application/problem+json"


async def test_cases_asked_for_too_early_are_decided_when_the_level_rises(
    home: dict[str, Any],
) -> None:
    await raise_level(home, 2)
    early = (await open_case(home, home["workers"][1])).json()
    assert early["state"] == "not_eligible"
    await raise_level(home, 3)
    applied = await put_rules(home, '"0"')
    assert applied.json()["decided"] == {"eligible": 1}, applied.text


async def test_a_province_at_level_4_gets_its_cases_in_bulk_each_waiting_for_consent(
    home: dict[str, Any],
) -> None:
    client = home["client"]
    admin1 = (await client.get(f"/api/v1/workers/{home['workers'][0]}", headers=who(home))).json()[
        "admin1"
    ]
    path = f"/api/v1/crises/{home['crisis']}/repatriation-cases/bulk"
    await raise_level(home, 3)
    early = await client.post(path, json={"admin1": admin1}, headers=who(home))
    assert early.status_code == 409 and "level 4" in early.json()["detail"]

    await raise_level(home, 4)
    one = (await open_case(home, home["workers"][0])).json()
    bulk = await client.post(path, json={"admin1": admin1}, headers=who(home))
    assert bulk.status_code == 200, bulk.text
    assert bulk.json() == {"opened": 4, "already": 1, "eligible": 4, "not_eligible": 0}
    again = await client.post(path, json={"admin1": admin1}, headers=who(home))
    assert again.json() == {"opened": 0, "already": 5, "eligible": 0, "not_eligible": 0}
    # Another embassy's officer opens nothing: they may read none of these people.
    other = await client.post(path, json={"admin1": admin1}, headers=who(home, "idn"))
    assert other.json()["opened"] == 0

    listed = await client.get(
        f"/api/v1/crises/{home['crisis']}/repatriation-cases", headers=who(home)
    )
    cases = listed.json()["items"]
    assert len(cases) == 5 and {c["source"] for c in cases} == {"officer", "bulk"}
    bulk_case = next(c for c in cases if c["source"] == "bulk")
    assert bulk_case["consent"] == "not_asked" and bulk_case["state"] == "eligible"
    # The pregnant worker first.
    assert cases[0]["worker_id"] == home["workers"][4] and cases[0]["priority"] == 1

    # No seat without the person's own consent, bulk or not; their refusal stands.
    moving = await movement(home, 10)
    refused = await seat(home, moving["id"], bulk_case["id"])
    assert refused.status_code == 409 and "consent" in refused.json()["detail"]
    await consent(home, bulk_case["id"], given=False)
    assert (await seat(home, moving["id"], bulk_case["id"])).status_code == 409
    await consent(home, one["id"])
    assert (await seat(home, moving["id"], one["id"])).status_code == 200

    timeline = await client.get(
        f"/api/v1/crises/{home['crisis']}/timeline?limit=200", headers=who(home)
    )
    assert timeline.status_code == 200, timeline.text
    opened = [e for e in timeline.json()["items"] if e["kind"] == "repatriation_cases_opened"]
    assert len(opened) == 1 and opened[0]["detail"]["opened"] == 4, opened


async def test_a_person_under_international_protection_is_never_repatriated(
    home: dict[str, Any],
) -> None:
    client = home["client"]
    made = await client.post(
        "/api/v1/workers",
        json={
            "nationality": "MMR",
            "document_number": unique("M"),
            "given_name": "Aung",
            "family_name": "Min",
            "international_protection": True,
            "location": {"lat": 3.14, "lon": 101.687},
        },
        headers=who(home, "coordinator"),
    )
    assert made.status_code == 201, made.text
    await raise_level(home, 4)
    path = f"/api/v1/crises/{home['crisis']}/repatriation-cases"
    body = {"worker_id": made.json()["id"]}
    back = await client.post(path, json=body, headers=who(home, "coordinator"))
    assert back.status_code == 201, back.text
    assert back.json()["state"] == "not_eligible"
    assert "protection" not in back.json()["rule"] and "refugee" not in back.json()["rule"]
    moved = await client.post(
        path, json={**body, "kind": "relocation"}, headers=who(home, "coordinator")
    )
    assert moved.json()["state"] == "eligible", moved.text


async def test_a_case_opened_from_the_worker_s_reply(home: dict[str, Any]) -> None:
    app = home["app"]
    async with session_scope(app.state.sessionmaker) as session:
        reply = InboundMessage(
            gateway="drill",
            provider_id=unique("sms"),
            state=InboundState.READ.value,
            outcome="needs_help",
            worker_ids=[home["workers"][2]],
        )
        session.add(reply)
    await raise_level(home, 3)
    wrong = await open_case(home, home["workers"][3], reply_id=reply.id)
    assert wrong.status_code == 422 and "reply_id" in wrong.json()["detail"]
    assert (await open_case(home, home["workers"][3], reply_id="0" * 36)).status_code == 422
    made = await open_case(home, home["workers"][2], reply_id=reply.id)
    assert made.status_code == 201, made.text
    assert made.json()["source"] == "welfare_reply" and made.json()["reply_id"] == reply.id


async def family_messages(home: dict[str, Any]) -> list[OutboundMessage]:
    async with session_scope(home["app"].state.sessionmaker) as session:
        rows = await session.exec(
            select(OutboundMessage).where(OutboundMessage.step == Step.FAMILY.value)
        )
        return list(rows.all())


async def test_the_family_at_home_is_told_where_the_worker_agreed(home: dict[str, Any]) -> None:
    await raise_level(home, 3)
    no_phone = await open_case(home, home["workers"][0], tell_family=True)
    assert no_phone.status_code == 422 and "family_phone" in no_phone.json()["detail"]
    told = (
        await open_case(home, home["workers"][0], tell_family=True, family_phone="+63 917 123 4567")
    ).json()
    assert told["tell_family"] is True
    silent = (await open_case(home, home["workers"][1])).json()
    moving = await movement(home, 5, 5)
    for case in (told, silent):
        await consent(home, case["id"])
        assert (await seat(home, moving["id"], case["id"])).status_code == 200
    sent = await family_messages(home)
    assert [m.kind for m in sent] == ["family_on_movement"]
    protector = home["app"].state.protector
    assert protector.sealer.open(sent[0].to_sealed, record_id=sent[0].id, field="to") == (
        "+639171234567"
    )
    assert sent[0].worker_id is None and sent[0].language == "tl"
    # The same seat again tells nobody twice.
    assert (await seat(home, moving["id"], told["id"])).status_code == 200
    assert len(await family_messages(home)) == 1

    client = home["client"]
    base = f"/api/v1/movements/{moving['id']}/legs"
    for seq in (1, 2):
        for step in ("boarding", "arrival"):
            for case in (told, silent):
                checked = await client.post(
                    f"{base}/{seq}/{step}", json={"case_id": case["id"]}, headers=who(home)
                )
                assert checked.status_code == 200, checked.text
    kinds = sorted(m.kind for m in await family_messages(home))
    assert kinds == ["family_arrived", "family_on_movement"]

    # Erased, the worker's case forgets their family's number and their words.
    erased = await client.delete(f"/api/v1/workers/{home['workers'][0]}", headers=who(home))
    assert erased.status_code == 204, erased.text
    async with session_scope(home["app"].state.sessionmaker) as session:
        case = await session.get(RepatriationCase, told["id"])
        assert case is not None
        assert case.family_phone_sealed is None and case.tell_family is False
        assert case.state == "arrived"


async def test_no_answer_of_the_rules_or_of_a_case_shows_a_documentation_status(
    home: dict[str, Any],
) -> None:
    await raise_level(home, 4)
    client = home["client"]
    answers = [
        await client.get(rules_path(home), headers=who(home)),
        await open_case(home, home["workers"][0], tell_family=True, family_phone="+639171234567"),
        await client.get(f"/api/v1/crises/{home['crisis']}/repatriation-cases", headers=who(home)),
    ]
    for answer in answers:
        assert "expired permit" not in answer.text and "documentation" not in answer.text
        assert "9171234567" not in answer.text, "the family's number is never shown"
