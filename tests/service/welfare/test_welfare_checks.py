"""The welfare loop end to end, on a register of its own, on both databases, through Twilio's
own payload shapes (``httpx.MockTransport`` as Twilio's API; its webhooks signed as Twilio signs
them): a CAP alert opens a crisis; the Philippine and Indonesian embassies' checks go to their
exposed nationals in Filipino and Indonesian; replies "1", "LIGTAS po kami", "TOLONG banjir" and
an unreadable one come back (the last to a person's queue); a needs-help task and, at the
deadline, a tracing task open for the right organisations; the counts appear in the crisis's
exposure; a forged request is refused and a redelivered reply changes nothing; STOP is honoured;
a drill never reaches the real gateway."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlencode

import httpx
import pytest
from fastapi import FastAPI
from sqlmodel import col, select

from integrations.messaging import twilio
from integrations.messaging.drill import SIGNATURE_HEADER, sign
from service.auth.permissions import Role
from service.auth.principal import WORKER
from service.db import session_scope, utcnow
from service.directory.models import OrgKind
from service.flows.alert_pass import process_pending
from service.flows.sending import Sender, send_due
from service.flows.welfare_checks import advance
from service.messaging.models import OutboundMessage
from service.registry.protect import Protector
from service.tasks.models import Task
from service.welfare.models import WelfareEvent, WelfareStatus
from tests.conftest import Databases, bearer, make_org_in, make_token_in, settings_for, unique

ACCOUNT = "AC" + "0" * 32
AUTH_TOKEN = "twilio-test-auth-token"
PUBLIC = "https://lifeline.test"
KL = (3.139, 101.6869)
CAP_XML = {"Content-Type": "application/cap+xml"}


def cap(identifier: str, status: str = "Actual") -> bytes:
    lat, lon, half = KL[0], KL[1], 0.15
    ring = " ".join(
        f"{y},{x}"
        for y, x in [
            (lat - half, lon - half),
            (lat - half, lon + half),
            (lat + half, lon + half),
            (lat + half, lon - half),
            (lat - half, lon - half),
        ]
    )
    return f"""<alert xmlns="urn:oasis:names:tc:emergency:cap:1.2"><identifier>{identifier}</identifier>
<sender>met.test</sender><sent>2026-12-01T08:00:00+08:00</sent><status>{status}</status>
<msgType>Alert</msgType><scope>Public</scope><info><category>Met</category><event>Flood</event>
<urgency>Immediate</urgency><severity>Severe</severity><certainty>Observed</certainty>
<headline>Flash floods in the Klang Valley</headline>
<area><areaDesc>Klang Valley</areaDesc><polygon>{ring}</polygon></area></info></alert>""".encode()


class TwilioApi:
    """Twilio's Messages API as a ``MockTransport``: each message taken gets an ``SM`` sid; the
    numbers in ``refuse`` are answered with Twilio's invalid-number error."""

    def __init__(self, refuse: frozenset[str] = frozenset()) -> None:
        self.sent: list[dict[str, str]] = []
        self.refuse = refuse

    def __call__(self, request: httpx.Request) -> httpx.Response:
        assert request.url.path == f"/2010-04-01/Accounts/{ACCOUNT}/Messages.json"
        form = dict(parse_qsl(request.content.decode()))
        if form["To"] in self.refuse:
            return httpx.Response(
                400,
                json={
                    "code": 21211,
                    "message": f"The 'To' number {form['To']} is not a valid phone number.",
                    "more_info": "https://www.twilio.com/docs/errors/21211",
                    "status": 400,
                },
            )
        self.sent.append(form)
        sid = f"SM{len(self.sent):032x}"
        return httpx.Response(
            201,
            json={
                "account_sid": ACCOUNT,
                "api_version": "2010-04-01",
                "body": form["Body"],
                "date_created": "Thu, 03 Dec 2026 10:00:00 +0000",
                "date_sent": None,
                "date_updated": "Thu, 03 Dec 2026 10:00:00 +0000",
                "direction": "outbound-api",
                "error_code": None,
                "error_message": None,
                "from": form["From"],
                "messaging_service_sid": None,
                "num_media": "0",
                "num_segments": "1",
                "price": None,
                "price_unit": "USD",
                "sid": sid,
                "status": "queued",
                "subresource_uris": {
                    "media": f"/2010-04-01/Accounts/{ACCOUNT}/Messages/{sid}/Media.json"
                },
                "to": form["To"],
                "uri": f"/2010-04-01/Accounts/{ACCOUNT}/Messages/{sid}.json",
            },
        )

    def to(self, phone: str) -> list[str]:
        return [m["Body"] for m in self.sent if m["To"] == phone]


def inbound_form(sid: str, sender: str, body: str) -> dict[str, str]:
    """Twilio's incoming-message webhook, every field it sends for an SMS."""
    return {
        "ToCountry": "MY",
        "ToState": "",
        "SmsMessageSid": sid,
        "NumMedia": "0",
        "ToCity": "",
        "FromZip": "",
        "SmsSid": sid,
        "FromState": "",
        "SmsStatus": "received",
        "FromCity": "",
        "Body": body,
        "FromCountry": "MY",
        "To": "+60300000000",
        "ToZip": "",
        "NumSegments": "1",
        "MessageSid": sid,
        "AccountSid": ACCOUNT,
        "From": sender,
        "ApiVersion": "2010-04-01",
    }


PEOPLE = {
    # name: nationality, phone, languages, share with humanitarian organisations
    "ana": ("PHL", "+60123456701", ["tl"], False),
    "ben": ("PHL", "+60123456702", [], True),
    "citra": ("IDN", "+60123456703", ["id"], True),
    "dewi": ("IDN", "+60123456704", ["id"], False),
    "eka": ("IDN", "+60123456705", ["id"], False),
    "fe": ("PHL", None, ["tl"], False),
    "gus": ("PHL", "+60123456707", ["tl"], False),  # asked to stop
    "bad": ("PHL", "+60123456708", ["tl"], False),  # a number Twilio refuses
}


@pytest.fixture
async def klang(databases: Databases, backend: str) -> AsyncIterator[dict[str, Any]]:
    url = await databases.create(backend)
    settings = settings_for(url).model_copy(
        update={
            "messages_gateway": "twilio",
            "messages_account": ACCOUNT,
            "messages_secret": AUTH_TOKEN,
            "messages_public_url": PUBLIC,
            "messages_senders": {"MYS": "+60300000000"},
        }
    )
    app = create(settings)
    async with app.router.lifespan_context(app):
        await app.state.register_index.ready.wait()
        orgs = {
            "phl": await make_org_in(
                app, OrgKind.EMBASSY, "MYS", "PHL", name="Embassy of the Philippines"
            ),
            "idn": await make_org_in(app, OrgKind.EMBASSY, "MYS", "IDN", name="KBRI Kuala Lumpur"),
            "mrcs": await make_org_in(app, OrgKind.NATIONAL_SOCIETY, "MYS"),
        }
        tokens = {
            "admin": await make_token_in(app, Role.ADMIN, await make_org_in(app)),
            "coordinator": await make_token_in(app, Role.COORDINATOR, await make_org_in(app)),
            "integration": await make_token_in(app, Role.INTEGRATION, await make_org_in(app)),
            "phl": await make_token_in(app, Role.CONSULAR_OFFICER, orgs["phl"]),
            "idn": await make_token_in(app, Role.CONSULAR_OFFICER, orgs["idn"]),
            "mrcs": await make_token_in(app, Role.SOCIETY_RESPONDER, orgs["mrcs"]),
        }
        transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
        async with httpx.AsyncClient(transport=transport, base_url=PUBLIC) as client:
            ids = {}
            for i, (name, (nationality, phone, languages, humanitarian)) in enumerate(
                PEOPLE.items()
            ):
                made = await client.post(
                    "/api/v1/workers",
                    json={
                        "nationality": nationality,
                        "document_number": unique("D"),
                        "given_name": name.title(),
                        "family_name": "Test",
                        "phone": phone,
                        "languages": languages,
                        "documentation_status": "overstayed",
                        "location": {"lat": KL[0] + i * 0.002, "lon": KL[1] + i * 0.002},
                        "sector": "domestic_work" if nationality == "PHL" else "manufacturing",
                        "consent": {
                            "share_with_embassy": True,
                            "share_with_humanitarian": humanitarian,
                        },
                    },
                    # Their own embassy: the one that may record a documentation status.
                    headers=bearer(tokens[nationality.lower()]),
                )
                assert made.status_code == 201, made.text
                ids[name] = made.json()["id"]
            yield {"app": app, "client": client, "tokens": tokens, "orgs": orgs, "ids": ids}


def create(settings: Any) -> FastAPI:
    from service.app import create_app

    return create_app(settings, configure_logs=False)


async def open_crisis(klang: dict[str, Any], status: str = "Actual") -> str:
    pushed = await klang["client"].post(
        "/api/v1/alerts/cap",
        content=cap(unique("FL"), status=status),
        headers={**bearer(klang["tokens"]["integration"]), **CAP_XML},
    )
    assert pushed.status_code in {200, 201}, pushed.text
    app: FastAPI = klang["app"]
    await app.state.register_index.refresh()
    [outcome] = await process_pending(
        app.state.sessionmaker, index=app.state.register_index, geometry=app.state.geometry
    )
    assert outcome.result == "opened", outcome
    return str(outcome.crisis_id)


async def send(klang: dict[str, Any], api: TwilioApi) -> dict[str, int]:
    app: FastAPI = klang["app"]
    settings = app.state.settings
    sender = Sender(settings, Protector.from_settings(settings))
    async with httpx.AsyncClient(transport=httpx.MockTransport(api)) as gateway:
        return await send_due(app.state.engine, app.state.sessionmaker, gateway, sender)


async def reply(
    klang: dict[str, Any], sid: str, phone: str, body: str, *, token: str = AUTH_TOKEN
) -> httpx.Response:
    path = "/api/v1/messages/inbound/twilio"
    form = inbound_form(sid, phone, body)
    signed = twilio.signature(token, PUBLIC + path, list(form.items()))
    return await klang["client"].post(
        path,
        content=urlencode(form),
        headers={
            "Content-Type": "application/x-www-form-urlencoded",
            "X-Twilio-Signature": signed,
        },
    )


async def status_of(klang: dict[str, Any], crisis: str, name: str) -> dict[str, Any]:
    found = await klang["client"].get(
        f"/api/v1/crises/{crisis}/welfare/{klang['ids'][name]}",
        headers=bearer(klang["tokens"]["admin"]),
    )
    assert found.status_code == 200, found.text
    return dict(found.json())


async def test_the_whole_loop_through_twilio(klang: dict[str, Any]) -> None:
    client, tokens, ids = klang["client"], klang["tokens"], klang["ids"]
    crisis = await open_crisis(klang)

    # Gus's phone said STOP before: honoured by every check.
    stop = await reply(klang, "SM" + "9" * 32, PEOPLE["gus"][1] or "", "STOP")
    assert stop.status_code == 200 and stop.json()["understood"] == 1

    preview = await client.post(
        f"/api/v1/crises/{crisis}/welfare-check-preview", json={}, headers=bearer(tokens["phl"])
    )
    assert preview.status_code == 200, preview.text
    shown = preview.json()
    assert (shown["recipients"], shown["unreachable"], shown["stopped"]) == (3, 1, 1)
    assert shown["gateway"] == "twilio"
    [check_text] = [t for t in shown["texts"] if t["kind"] == "check"]
    assert check_text["language"] == "tl" and "LIGTAS" in check_text["body"]
    assert check_text["needs_review"] and check_text["segments"] >= 1
    assert "overstay" not in json.dumps(shown).lower()

    started = {}
    for embassy in ("phl", "idn"):
        made = await client.post(
            f"/api/v1/crises/{crisis}/welfare-checks",
            json={"reminder_after_hours": 2, "answer_within_hours": 12},
            headers=bearer(tokens[embassy]),
        )
        assert made.status_code == 201, made.text
        started[embassy] = made.json()
    assert started["phl"]["recipients"] == 3 and started["idn"]["recipients"] == 3
    again = await client.post(
        f"/api/v1/crises/{crisis}/welfare-checks", json={}, headers=bearer(tokens["phl"])
    )
    assert again.status_code == 409

    api = TwilioApi(refuse=frozenset({PEOPLE["bad"][1] or ""}))
    sent = await send(klang, api)
    assert sent == {"sent": 6, "undeliverable": 1}  # with the answer to STOP
    assert await send(klang, api) == {}  # nothing twice
    [to_ana] = api.to(PEOPLE["ana"][1] or "")
    [to_citra] = api.to(PEOPLE["citra"][1] or "")
    assert "LIGTAS" in to_ana and "Embassy of the Philippines" in to_ana
    assert "AMAN" in to_citra.upper() and "KBRI" in to_citra
    assert all("overstay" not in m["Body"].lower() for m in api.sent)
    assert all(m["From"] == "+60300000000" for m in api.sent)
    assert all(m["StatusCallback"] == f"{PUBLIC}/api/v1/messages/inbound/twilio" for m in api.sent)
    assert (await status_of(klang, crisis, "ana"))["status"] == "contacted"
    assert (await status_of(klang, crisis, "bad"))["status"] == "unreachable"
    assert (await status_of(klang, crisis, "fe"))["status"] == "unreachable"

    # A delivery receipt, as Twilio posts it to the StatusCallback.
    receipt = {
        "MessageSid": "SM" + f"{1:032x}",
        "MessageStatus": "delivered",
        "AccountSid": ACCOUNT,
        "From": "+60300000000",
        "To": api.sent[0]["To"],
        "ApiVersion": "2010-04-01",
        "SmsSid": "SM" + f"{1:032x}",
        "SmsStatus": "delivered",
    }
    path = "/api/v1/messages/inbound/twilio"
    signed = twilio.signature(AUTH_TOKEN, PUBLIC + path, list(receipt.items()))
    got = await client.post(
        path,
        content=urlencode(receipt),
        headers={"Content-Type": "application/x-www-form-urlencoded", "X-Twilio-Signature": signed},
    )
    assert got.status_code == 200 and got.json()["receipts"] == 1, got.text

    # The replies.
    for sid, name, body in [
        ("SMa1", "ana", "1"),
        ("SMb1", "ben", "LIGTAS po kami"),
        ("SMc1", "citra", "TOLONG banjir"),
        ("SMd1", "dewi", "siapa ini?"),
    ]:
        answered = await reply(klang, sid, PEOPLE[name][1] or "", body)
        assert answered.status_code == 200, answered.text
    assert (await status_of(klang, crisis, "ana"))["status"] == "safe"
    ben = await status_of(klang, crisis, "ben")
    assert (ben["status"], ben["note"], ben["how"]) == ("safe", "po kami", "reply")
    citra = await status_of(klang, crisis, "citra")
    assert (citra["status"], citra["note"]) == ("needs_help", "banjir")
    assert (await status_of(klang, crisis, "dewi"))["status"] == "contacted"

    # A forged request: refused, nothing changed.
    forged = await reply(klang, "SMa2", PEOPLE["ana"][1] or "", "2", token="not-the-token")
    assert forged.status_code == 401
    assert forged.headers["content-type"].startswith("application/problem+json")
    unsigned = await client.post(
        path, content=urlencode(inbound_form("SMa3", PEOPLE["ana"][1] or "", "2")),
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )  # fmt: skip
    assert unsigned.status_code == 401
    assert (await status_of(klang, crisis, "ana"))["status"] == "safe"

    # Twilio redelivers a reply: nothing changes.
    history = len((await status_of(klang, crisis, "citra"))["history"])
    redelivered = await reply(klang, "SMc1", PEOPLE["citra"][1] or "", "TOLONG banjir")
    assert redelivered.json()["repeated"] == 1
    assert len((await status_of(klang, crisis, "citra"))["history"]) == history

    # The unreadable one waits for a person of the Indonesian embassy, not of the Philippine.
    queue = await client.get("/api/v1/messages/inbound", headers=bearer(tokens["idn"]))
    assert [m["text"] for m in queue.json()["items"]] == ["siapa ini?"]
    assert queue.json()["items"][0]["worker_ids"] == [ids["dewi"]]
    other = await client.get("/api/v1/messages/inbound", headers=bearer(tokens["phl"]))
    assert other.json()["items"] == []
    message_id = queue.json()["items"][0]["id"]
    read = await client.post(
        f"/api/v1/messages/inbound/{message_id}/reading",
        json={"outcome": "safe", "note": "asked who we are; said all fine by phone"},
        headers=bearer(tokens["idn"]),
    )
    assert read.status_code == 200 and read.json()["state"] == "read", read.text
    assert (await status_of(klang, crisis, "dewi"))["status"] == "safe"

    # Citra needs help: a task for the host society (she agreed to humanitarian sharing).
    app: FastAPI = klang["app"]
    async with session_scope(app.state.sessionmaker) as session:
        tasks = (await session.exec(select(Task).where(Task.crisis_id == crisis))).all()
    by_key = {t.key: t for t in tasks}
    assert by_key[f"welfare.needs_help@{ids['citra']}"].assignee_org == klang["orgs"]["mrcs"]

    # Thanks went back, in their languages, through the same gateway.
    sent = await send(klang, api)
    assert sent == {"sent": 3}  # Ana, Ben and Citra; Dewi's was read by a person
    assert any("salamat" in b.lower() for b in api.to(PEOPLE["ana"][1] or ""))

    # Past the reminder: Eka, still silent, gets one; those who answered do not.
    async with session_scope(app.state.sessionmaker) as session:
        done = await advance(session, actor=WORKER, now=utcnow() + timedelta(hours=3))
    assert done["reminded"] == 1
    await send(klang, api)
    assert len(api.to(PEOPLE["eka"][1] or "")) == 2
    assert len([b for b in api.to(PEOPLE["ana"][1] or "") if "LIGTAS" in b]) == 1

    # Past the deadline: Eka is no_answer, with a tracing task for her embassy; once.
    for _ in range(2):
        async with session_scope(app.state.sessionmaker) as session:
            done = await advance(session, actor=WORKER, now=utcnow() + timedelta(hours=13))
    assert (await status_of(klang, crisis, "eka"))["status"] == "no_answer"
    async with session_scope(app.state.sessionmaker) as session:
        tracing = (
            await session.exec(select(Task).where(Task.key == f"welfare.tracing@{ids['eka']}"))
        ).all()
    assert [t.assignee_org for t in tracing] == [klang["orgs"]["idn"]]
    checks = await client.get(
        f"/api/v1/crises/{crisis}/welfare-checks", headers=bearer(tokens["idn"])
    )
    [idn_check] = checks.json()["items"]
    assert idn_check["state"] == "closed"
    assert idn_check["answers"] == {"safe": 1, "needs_help": 1, "no_answer": 1}

    # The counts in the crisis's exposure: exact for coordinators, by nationality and status.
    exposure = await client.get(
        f"/api/v1/crises/{crisis}/exposure", headers=bearer(tokens["coordinator"])
    )
    welfare = exposure.json()["welfare"]
    assert welfare["by_nationality_status"]["IDN"] == {"safe": 1, "needs_help": 1, "no_answer": 1}
    assert welfare["by_status"]["unreachable"] == 2

    # Nothing of what they said, nor any documentation status, in the timeline or the audit log.
    timeline = await client.get(
        f"/api/v1/crises/{crisis}/timeline?limit=500", headers=bearer(tokens["coordinator"])
    )
    audit = await client.get("/api/v1/audit?limit=500", headers=bearer(tokens["admin"]))
    for text in (timeline.text, audit.text):
        assert "banjir" not in text and "siapa" not in text and "overstayed" not in text


async def test_a_drill_never_reaches_the_real_gateway(klang: dict[str, Any]) -> None:
    client, tokens = klang["client"], klang["tokens"]
    crisis = await open_crisis(klang, status="Exercise")
    made = await client.post(
        f"/api/v1/crises/{crisis}/welfare-checks", json={}, headers=bearer(tokens["phl"])
    )
    assert made.status_code == 201, made.text
    assert (made.json()["gateway"], made.json()["exercise"]) == ("drill", True)
    api = TwilioApi()
    sent = await send(klang, api)
    assert api.sent == [] and sent == {"delivered": 4}
    app: FastAPI = klang["app"]
    drill_file = app.state.settings.messages_drill_file
    written = (await asyncio.to_thread(Path(drill_file).read_text, encoding="utf-8")).splitlines()
    lines = [json.loads(line) for line in written]
    assert {PEOPLE["ana"][1], PEOPLE["ben"][1]} <= {line["to"] for line in lines}

    # The drill's phones answer through the drill gateway, signed; its statuses are the drill's.
    body = json.dumps({"id": unique("d"), "from": PEOPLE["ana"][1], "text": "1"}).encode()
    secret = app.state.settings.messages_drill_secret
    answered = await client.post(
        "/api/v1/messages/inbound/drill",
        content=body,
        headers={"Content-Type": "application/json", SIGNATURE_HEADER: sign(secret, body)},
    )
    assert answered.status_code == 200 and answered.json()["understood"] == 1, answered.text
    status = await status_of(klang, crisis, "ana")
    assert (status["status"], status["exercise"]) == ("safe", True)
    forged = await client.post(
        "/api/v1/messages/inbound/drill",
        content=body,
        headers={"Content-Type": "application/json", SIGNATURE_HEADER: "0" * 64},
    )
    assert forged.status_code == 401


async def test_an_unknown_number_is_told_the_hotline_once(klang: dict[str, Any]) -> None:
    api = TwilioApi()
    for sid in ("SMu1", "SMu2"):
        answered = await reply(klang, sid, "+60129999999", "tolong saya")
        assert answered.json()["unknown_sender"] == 1
    await send(klang, api)
    [told] = api.to("+60129999999")
    assert "+60 3 1234 5678" in told
    app: FastAPI = klang["app"]
    async with session_scope(app.state.sessionmaker) as session:
        rows = (
            await session.exec(select(OutboundMessage).where(OutboundMessage.step == "reply"))
        ).all()
        assert all(r.worker_id is None for r in rows)
        statuses = (await session.exec(select(WelfareStatus))).all()
        events = (await session.exec(select(WelfareEvent))).all()
    assert statuses == [] and events == []


async def test_an_integration_pushes_the_replies_it_received(klang: dict[str, Any]) -> None:
    client, tokens = klang["client"], klang["tokens"]
    crisis = await open_crisis(klang)
    made = await client.post(
        f"/api/v1/crises/{crisis}/welfare-checks", json={}, headers=bearer(tokens["phl"])
    )
    assert made.status_code == 201, made.text
    api = TwilioApi()
    await send(klang, api)
    body = {"messages": [{"id": "rp-1", "from": PEOPLE["ben"][1], "text": "2 baha sa bahay"}]}
    for repeated in (0, 1):
        pushed = await client.post(
            "/api/v1/messages/inbound", json=body, headers=bearer(tokens["integration"])
        )
        assert pushed.status_code == 200, pushed.text
        assert (pushed.json()["understood"], pushed.json()["repeated"]) == (1 - repeated, repeated)
    ben = await status_of(klang, crisis, "ben")
    assert (ben["status"], ben["note"], len(ben["history"])) == ("needs_help", "baha sa bahay", 2)
    # Its thanks go through the deployment's gateway.
    await send(klang, api)
    assert len(api.to(PEOPLE["ben"][1] or "")) == 2
    refused = await client.post(
        "/api/v1/messages/inbound", json=body, headers=bearer(tokens["phl"])
    )
    assert refused.status_code == 403
    # An integration names numbers: none the register does not know gets an SMS for it, and a
    # STOP it pushes waits for a person.
    strangers = {"messages": [{"id": "rp-2", "from": "+60129990000", "text": "hello"}]}
    pushed = await client.post(
        "/api/v1/messages/inbound", json=strangers, headers=bearer(tokens["integration"])
    )
    assert pushed.json()["unknown_sender"] == 1
    stop = {"messages": [{"id": "rp-3", "from": PEOPLE["ana"][1], "text": "STOP"}]}
    pushed = await client.post(
        "/api/v1/messages/inbound", json=stop, headers=bearer(tokens["integration"])
    )
    assert pushed.json()["to_read"] == 1
    await send(klang, api)
    assert api.to("+60129990000") == [] and len(api.to(PEOPLE["ana"][1] or "")) == 1


class Relay:
    """The deployment's own relay as a ``MockTransport``: the same Idempotency-Key again is the
    same message (409), counted apart."""

    def __init__(self, status: int = 202) -> None:
        self.keys: dict[str, int] = {}
        self.status = status

    def __call__(self, request: httpx.Request) -> httpx.Response:
        if self.status != 202:
            return httpx.Response(self.status, headers={"Retry-After": "30"})
        key = request.headers["idempotency-key"]
        self.keys[key] = self.keys.get(key, 0) + 1
        if self.keys[key] > 1:
            return httpx.Response(409, json={"id": key})
        return httpx.Response(202, json={"id": key})


def relay_sender(klang: dict[str, Any]) -> Sender:
    settings = klang["app"].state.settings.model_copy(
        update={"messages_base_url": "http://relay.internal", "messages_rate_per_s": 10_000.0}
    )
    return Sender(settings, Protector.from_settings(settings))


async def queue_check(klang: dict[str, Any], gateway: str = "relay") -> tuple[str, list[str]]:
    """A crisis with a check of the Philippine embassy queued through ``gateway``; the ids of
    its messages."""
    crisis = await open_crisis(klang)
    made = await klang["client"].post(
        f"/api/v1/crises/{crisis}/welfare-checks", json={}, headers=bearer(klang["tokens"]["phl"])
    )
    assert made.status_code == 201, made.text
    app: FastAPI = klang["app"]
    async with session_scope(app.state.sessionmaker) as session:
        rows = (
            await session.exec(
                select(OutboundMessage).where(OutboundMessage.check_id == made.json()["id"])
            )
        ).all()
        for row in rows:
            row.gateway = gateway
            session.add(row)
    return crisis, [r.id for r in rows]


async def test_a_sender_killed_mid_send_loses_nothing_and_sends_nothing_twice(
    klang: dict[str, Any],
) -> None:
    app: FastAPI = klang["app"]
    _, ids = await queue_check(klang)
    relay = Relay()
    sender = relay_sender(klang)
    # The first sender claims them all, hands one to the relay and dies before writing it down.
    from integrations.messaging.relay import RelayGateway
    from service.messaging import service as messaging

    claimed = await messaging.claim(app.state.engine, 100)
    assert sorted(claimed) == sorted(ids)
    async with httpx.AsyncClient(transport=httpx.MockTransport(relay)) as gateway:
        config = messaging.gateway_config(sender.settings, "relay")
        from integrations.messaging.base import OutboundMessage as Out

        await RelayGateway().send(
            gateway, config, Out(key=ids[0], to="+60123456701", body="x", sender="s")
        )
        # While its lease runs, nobody else sends them.
        assert await send_due(app.state.engine, app.state.sessionmaker, gateway, sender) == {}
        # The lease runs out (as it does 60 s after a kill -9); another sender takes over.
        async with session_scope(app.state.sessionmaker) as session:
            connection = await session.connection()
            await connection.execute(
                messaging.OUT.update()
                .where(messaging.OUT.c.id.in_(ids))
                .values(locked_until=utcnow() - timedelta(seconds=1))
            )
        # Two senders at once: each message once.
        first, second = await asyncio.gather(
            send_due(app.state.engine, app.state.sessionmaker, gateway, sender),
            send_due(app.state.engine, app.state.sessionmaker, gateway, sender),
        )
    assert first.get("sent", 0) + second.get("sent", 0) == len(ids)
    assert set(relay.keys) == set(ids)  # nothing lost
    assert relay.keys[ids[0]] == 2  # the one handed over before the crash, again with its key
    assert all(n == 1 for k, n in relay.keys.items() if k != ids[0])


async def test_a_gateway_that_is_down_is_retried_later_and_loses_nothing(
    klang: dict[str, Any],
) -> None:
    app: FastAPI = klang["app"]
    _, ids = await queue_check(klang)
    sender = relay_sender(klang)
    down = Relay(status=503)
    async with httpx.AsyncClient(transport=httpx.MockTransport(down)) as gateway:
        tried = await send_due(app.state.engine, app.state.sessionmaker, gateway, sender)
        assert tried == {"pending": len(ids)}
        # Not due again before its backoff (and the gateway's Retry-After): nothing is sent.
        assert await send_due(app.state.engine, app.state.sessionmaker, gateway, sender) == {}
    async with session_scope(app.state.sessionmaker) as session:
        rows = (
            await session.exec(select(OutboundMessage).where(col(OutboundMessage.id).in_(ids)))
        ).all()
        assert {(r.state, r.attempts) for r in rows} == {("pending", 1)}
        assert all(r.next_attempt_at > utcnow() + timedelta(seconds=20) for r in rows)
        for row in rows:  # an hour later, the gateway is back
            row.next_attempt_at = utcnow()
            session.add(row)
    back = Relay()
    async with httpx.AsyncClient(transport=httpx.MockTransport(back)) as gateway:
        assert await send_due(app.state.engine, app.state.sessionmaker, gateway, sender) == {
            "sent": len(ids)
        }
    assert set(back.keys) == set(ids)


async def test_safe_sent_unasked_marks_the_worker_safe_where_a_crisis_holds_them(
    klang: dict[str, Any],
) -> None:
    crisis = await open_crisis(klang)
    # Nobody has checked on Gus yet: he writes first.
    said = await reply(klang, "SMg1", PEOPLE["gus"][1] or "", "ligtas ako, nasa bahay")
    assert said.json()["understood"] == 1, said.text
    gus = await status_of(klang, crisis, "gus")
    assert (gus["status"], gus["note"], gus["how"]) == ("safe", "ako, nasa bahay", "reply")


async def test_no_two_checks_reach_a_person_within_the_quiet_hours(klang: dict[str, Any]) -> None:
    client, tokens = klang["client"], klang["tokens"]
    crisis = await open_crisis(klang)
    made = await client.post(
        f"/api/v1/crises/{crisis}/welfare-checks", json={}, headers=bearer(tokens["phl"])
    )
    assert made.json()["recipients"] == 4
    cancelled = await client.post(
        f"/api/v1/crises/{crisis}/welfare-checks/{made.json()['id']}/cancel",
        headers=bearer(tokens["phl"]),
    )
    assert cancelled.json()["state"] == "cancelled"
    # Another crisis over the same people, an hour later: the cancelled check reached nobody,
    # so they may be asked; once this one is queued, a third finds them all too recent.
    lat, lon = KL
    ring = [[lon - 0.2, lat - 0.2], [lon + 0.2, lat - 0.2], [lon + 0.2, lat + 0.2],
            [lon - 0.2, lat + 0.2], [lon - 0.2, lat - 0.2]]  # fmt: skip
    declared = await client.post(
        "/api/v1/crises",
        json={"title": unique("Landslide"), "hazard": "other", "severity": "severe",
              "zones": {"type": "Polygon", "coordinates": [ring]}},
        headers=bearer(tokens["coordinator"]),
    )  # fmt: skip
    assert declared.status_code == 201, declared.text
    other = declared.json()["id"]
    second = await client.post(
        f"/api/v1/crises/{other}/welfare-checks", json={}, headers=bearer(tokens["phl"])
    )
    assert (second.json()["recipients"], second.json()["quiet"]) == (4, 0)
    third = await client.post(
        f"/api/v1/crises/{crisis}/welfare-check-preview", json={}, headers=bearer(tokens["phl"])
    )
    assert (third.json()["recipients"], third.json()["quiet"]) == (0, 4)


async def test_an_unknown_number_becomes_a_crisis_time_registration(klang: dict[str, Any]) -> None:
    client, tokens = klang["client"], klang["tokens"]
    crisis = await open_crisis(klang)
    read = await client.get(f"/api/v1/crises/{crisis}", headers=bearer(tokens["coordinator"]))
    opened = await client.patch(
        f"/api/v1/crises/{crisis}",
        json={"intake": True},
        headers={**bearer(tokens["coordinator"]), "If-Match": read.headers["etag"]},
    )
    assert opened.status_code == 200 and opened.json()["intake"] is True, opened.text
    stranger = "+60129998877"
    wrote = await reply(klang, "SMx1", stranger, "TOLONG saya di Klang")
    assert wrote.json()["unknown_sender"] == 1
    queue = await client.get(
        "/api/v1/messages/inbound",
        params={"state": "intake"},
        headers=bearer(tokens["coordinator"]),
    )
    [waiting] = queue.json()["items"]
    assert waiting["text"] == "TOLONG saya di Klang" and waiting["crisis_ids"] == [crisis]
    hidden = await client.get(
        "/api/v1/messages/inbound", params={"state": "intake"}, headers=bearer(tokens["idn"])
    )
    assert hidden.json()["items"] == []
    registered = await client.post(
        f"/api/v1/messages/inbound/{waiting['id']}/registration",
        json={"nationality": "IDN", "given_name": "Sari", "family_name": "Wulan",
              "languages": ["id"], "location": {"lat": KL[0], "lon": KL[1]}},
        headers=bearer(tokens["coordinator"]),
    )  # fmt: skip
    assert registered.status_code == 201, registered.text
    [worker_id] = registered.json()["worker_ids"]
    again = await client.post(
        f"/api/v1/messages/inbound/{waiting['id']}/registration",
        json={"nationality": "IDN", "location": {"lat": KL[0], "lon": KL[1]}},
        headers=bearer(tokens["coordinator"]),
    )
    assert again.status_code == 409
    record = await client.get(f"/api/v1/workers/{worker_id}", headers=bearer(tokens["admin"]))
    assert (record.json()["source"], record.json()["verified"]) == ("crisis_intake", False)
    assert record.json()["phone"] == stranger
    status = await client.get(
        f"/api/v1/crises/{crisis}/welfare/{worker_id}", headers=bearer(tokens["admin"])
    )
    assert (status.json()["status"], status.json()["note"]) == ("needs_help", "saya di Klang")
    # The number is known now: the next message is theirs; it says safe where a person
    # recorded that she needs help, so a person reads it rather than a machine undoing that.
    later = await reply(klang, "SMx2", stranger, "1 sudah aman")
    assert later.json()["to_read"] == 1
    status = await client.get(
        f"/api/v1/crises/{crisis}/welfare/{worker_id}", headers=bearer(tokens["admin"])
    )
    assert status.json()["status"] == "needs_help"
    queue = await client.get("/api/v1/messages/inbound", headers=bearer(tokens["coordinator"]))
    assert [m["worker_ids"] for m in queue.json()["items"]] == [[worker_id]]
