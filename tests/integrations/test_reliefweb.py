"""ReliefWeb disasters: single answers, the 1,000-entry list, the v2 query and its appname."""

from __future__ import annotations

import json
from collections import Counter
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest

from integrations import reliefweb
from integrations.alert import Certainty, Hazard, MsgType, Severity, Status, Urgency
from integrations.errors import PayloadError

FEEDS = Path(__file__).resolve().parent.parent / "fixtures" / "feeds" / "reliefweb"
LIST = FEEDS / "v1-disasters-appname-vocabulary-preset-external-limit-1000.json"


def test_single_disaster_burkina_faso_floods() -> None:
    (alert,) = reliefweb.parse_disasters((FEEDS / "disasters-25466.json").read_bytes())
    assert alert.source == "reliefweb"
    assert alert.external_id == "25466"
    assert alert.headline == "Burkina Faso: Floods - Aug 2015"
    assert alert.hazard is Hazard.FLOOD
    assert alert.countries == ("BFA",)
    assert alert.geometry is None  # countries only: the service resolves their polygons
    assert alert.version == "2015-12-08T22:02:56+00:00"
    assert alert.sent == datetime(2015, 12, 8, 22, 2, 56, tzinfo=UTC)
    assert alert.onset == datetime(2015, 8, 7, tzinfo=UTC)
    assert alert.aliases == ("FL-2015-000106-BFA",)
    assert alert.severity is Severity.UNKNOWN
    assert alert.status is Status.ACTUAL
    assert alert.msg_type is MsgType.CANCEL and alert.urgency is Urgency.PAST  # status past
    assert alert.url == "https://reliefweb.int/disaster/fl-2015-000106-bfa"
    assert alert.description.startswith("On the first week of August 2015, 20,000 people")
    assert alert.extra["type_name"] == "Flood" and alert.extra["types"] == ["FL"]
    assert alert.extra["created"] == "2015-08-07T00:00:00+00:00"


def test_single_disaster_flash_flood() -> None:
    (alert,) = reliefweb.parse_disasters((FEEDS / "disasters-25846.json").read_bytes())
    assert alert.external_id == "25846"
    assert alert.extra["type_code"] == "FF" and alert.hazard is Hazard.FLOOD
    assert alert.countries == ("MKD",)
    assert alert.version == "2018-05-22T17:01:25+00:00"
    assert alert.aliases == ("FF-2015-000115-MKD",)
    assert alert.extra["reliefweb_status"] == "past"


def test_list_of_one_thousand() -> None:
    alerts = reliefweb.parse_disasters(LIST.read_bytes())
    assert len(alerts) == 1000
    statuses = Counter(a.extra["reliefweb_status"] for a in alerts)
    assert statuses == {"past": 813, "alert-archive": 104, "ongoing": 73, "alert": 7, "external": 3}
    kinds = Counter(a.msg_type for a in alerts)
    assert kinds == {MsgType.CANCEL: 813 + 104, MsgType.ALERT: 73 + 7 + 3}
    hazards = Counter(a.hazard for a in alerts)
    assert hazards[Hazard.EPIDEMIC] == 175  # GLIDE EP
    assert hazards[Hazard.CONFLICT] == 5  # GLIDE CE
    assert hazards[Hazard.FLOOD] == 402 + 45 + 3  # FL, FF, SS
    first, second = alerts[0], alerts[1]
    assert (first.external_id, first.headline) == ("52108", "Chad: Floods - Aug 2024")
    assert first.countries == ("TCD",) and first.hazard is Hazard.FLOOD
    # Minimal presets carry no date.changed: the status stands in as the version.
    assert first.version == "status:ongoing" and first.certainty is Certainty.OBSERVED
    assert first.url == "https://reliefweb.int/taxonomy/term/52108"
    assert (second.external_id, second.hazard, second.countries) == (
        "52104",
        Hazard.EPIDEMIC,
        ("TGO",),
    )
    assert second.headline == "Togo: Dengue Outbreak - Jun 2024"
    assert second.msg_type is MsgType.ALERT and second.urgency is Urgency.EXPECTED
    # A GLIDE number for a multi-country event ends in a number, not a country.
    no_country = [a for a in alerts if not a.countries]
    assert [a.extra["glide"] for a in no_country] == ["EP-2020-000012-001"]
    assert all(a.countries == (a.extra["glide"][-3:],) for a in alerts if a.countries)


def test_v2_answer_with_several_countries() -> None:
    doc = json.loads((FEEDS / "disasters-25466.json").read_bytes())
    fields = doc["data"][0]["fields"]
    fields["status"] = "ongoing"
    fields["primary_type"] = {"id": 4642, "name": "Epidemic", "code": "EP"}
    fields["country"].append({"iso3": "nga", "name": "Nigeria"})
    (alert,) = reliefweb.parse_disasters(json.dumps(doc).encode())
    assert alert.hazard is Hazard.EPIDEMIC
    assert alert.countries == ("BFA", "NGA")
    assert alert.msg_type is MsgType.ALERT and alert.urgency is Urgency.IMMEDIATE


def test_disasters_url_needs_an_appname() -> None:
    since = datetime(2026, 11, 1, 6, 0, tzinfo=timezone(timedelta(hours=7)))
    url = reliefweb.disasters_url("lifeline-ops", limit=200, changed_since=since)
    parts = urlsplit(url)
    assert (
        f"{parts.scheme}://{parts.netloc}{parts.path}" == "https://api.reliefweb.int/v2/disasters"
    )
    query = parse_qs(parts.query)
    assert query["appname"] == ["lifeline-ops"]
    assert query["limit"] == ["200"]
    assert set(query["fields[include][]"]) >= {"status", "glide", "country", "primary_type", "date"}
    assert query["sort[]"] == ["date.changed:desc"]
    assert query["filter[field]"] == ["date.changed"]
    assert query["filter[value][from]"] == ["2026-11-01T06:00:00+07:00"]
    for bad in ("", " ", "has space"):
        with pytest.raises(ValueError, match="appname"):
            reliefweb.disasters_url(bad)
    with pytest.raises(ValueError, match="limit"):
        reliefweb.disasters_url("lifeline-ops", limit=5000)
    with pytest.raises(ValueError, match="timezone"):
        reliefweb.disasters_url("lifeline-ops", changed_since=datetime(2026, 1, 1))


@pytest.mark.parametrize(
    "payload",
    [
        b"",
        b"not json",
        b"[]",
        b'{"data": {}}',
        b'{"data": [{"id": "1"}]}',
        b'{"data": [{"fields": {"name": "no id"}}]}',
        b'{"data": [{"fields": {"id": 1, "date": {"changed": "yesterday"}}}]}',
    ],
)
def test_garbage_is_a_payload_error(payload: bytes) -> None:
    with pytest.raises(PayloadError):
        reliefweb.parse_disasters(payload)
