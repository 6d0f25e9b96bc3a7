"""CAP: every sample parsed with asserted values; hostile and broken inputs refused cleanly."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest
import shapely
from shapely.geometry import shape

from geo.cap import parse_cap_circle, parse_cap_polygon
from geo.errors import GeometryError
from integrations.alert import Hazard, MsgType, Severity, Status
from integrations.cap import parse_cap, parse_cap_index
from integrations.errors import PayloadError

CAP = Path(__file__).resolve().parent.parent / "fixtures" / "feeds" / "cap"


def load(name: str) -> bytes:
    return (CAP / name).read_bytes()


def test_update_with_references_lands_on_the_chain_of_the_first_message() -> None:
    alert = parse_cap(load("example3.xml"))
    assert alert.msg_type is MsgType.UPDATE
    assert alert.external_id == "trinet@caltech.edu/TRI13970876.1"
    assert alert.aliases == ("trinet@caltech.edu/TRI13970876.2",)
    assert alert.references == ("trinet@caltech.edu/TRI13970876.1",)
    assert alert.hazard is Hazard.EARTHQUAKE and alert.severity is Severity.MINOR
    assert alert.sent == datetime(2003, 6, 12, 3, 56, tzinfo=UTC)
    # circle of radius 0: a 1 km floor around the epicentre, in lon/lat order
    zone = shape(alert.geometry)
    assert zone.contains(shapely.Point(-115.5, 32.9)) or zone.centroid.x < 0


def test_polygon_is_read_latitude_first_and_stored_lon_lat() -> None:
    alert = parse_cap(load("example2.xml"))
    minx, miny, maxx, maxy = shape(alert.geometry).bounds
    assert (minx, miny, maxx, maxy) == (-120.14, 38.34, -119.74, 38.62)  # "38.47,-120.14 ..."
    assert ["SAME", "006109"] in alert.extra["geocodes"]


def test_two_references_and_two_languages() -> None:
    alert = parse_cap(load("canada.cap"))
    assert len(alert.references) == 2
    assert alert.languages == ("en-CA", "fr-CA")
    assert alert.geometry is not None and alert.geometry["type"] in {"Polygon", "MultiPolygon"}


def test_cancel_without_info_closes_the_chain() -> None:
    alert = parse_cap(load("ipaws-5e6dd9de023f1930ef6548d9.xml"))
    assert alert.msg_type is MsgType.CANCEL
    assert alert.geometry is None
    assert alert.external_id.startswith("bbrundage@dps.state.nv.us/")
    assert alert.external_id != alert.aliases[0]


def test_tsunami_cancellation_sent_as_an_update_is_a_cancel() -> None:
    alert = parse_cap(load("google-PAAQ-4-mg5a94.xml"))
    assert alert.msg_type is MsgType.CANCEL
    assert alert.hazard is Hazard.TSUNAMI
    assert alert.external_id == "wcatwc@noaa.gov/PAAQ-1-mg5a94"


def test_iso_8859_1_bytes_are_decoded_by_their_declaration() -> None:
    alert = parse_cap(load("earthquake-iso8859-1.cap"))
    assert "Usulután" in alert.description + alert.headline + str(alert.extra)
    assert "\ufffd" not in alert.description


@pytest.mark.parametrize(
    "name", ["Philippines-Tsunami.xml", "Myanmar-Tsunami-MultiLanguage.xml", "tsunami.xml"]
)
def test_exercises_are_kept_and_marked(name: str) -> None:
    alert = parse_cap(load(name))
    assert alert.status is Status.EXERCISE
    assert not alert.is_real
    assert alert.hazard is Hazard.TSUNAMI


def test_expires_before_sent_is_not_trusted() -> None:
    alert = parse_cap(load("tsunami.xml"))
    assert alert.expires is None
    assert "before sent" in alert.extra["expires_ignored"]


def test_cap_1_1_and_empty_polygons() -> None:
    alert = parse_cap(load("nws-5c2cf27b1f56885d61654dc47fa411d5.xml"))
    assert alert.severity is Severity.SEVERE
    assert "geometry_problems" not in alert.extra
    errors = parse_cap(load("noaa_errors.cap"))
    assert errors.hazard is Hazard.FLOOD and errors.geometry is not None


def test_every_sample_parses_to_utc_times() -> None:
    for path in sorted(CAP.glob("*")):
        if path.suffix in {".xsd", ".atom", ".rss"} or path.name == "xee.cap":
            continue
        alert = parse_cap(path.read_bytes())
        for value in (alert.sent, alert.onset, alert.expires):
            assert value is None or (
                value.utcoffset() is not None and value.utcoffset().total_seconds() == 0
            )


def test_external_entities_are_refused_harmlessly() -> None:
    with pytest.raises(PayloadError, match="DTD"):
        parse_cap(load("xee.cap"))


def test_billion_laughs_is_refused() -> None:
    bomb = b"""<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;">]>
    <alert xmlns="urn:oasis:names:tc:emergency:cap:1.2"><identifier>&lol2;</identifier></alert>"""
    with pytest.raises(PayloadError):
        parse_cap(bomb)


@pytest.mark.parametrize(
    ("payload", "words"),
    [
        (b"", "empty"),
        (b"\xff\xfe garbage", "XML"),
        (b"<rss><channel/></rss>", "not a CAP message"),
        (
            b'<alert xmlns="urn:oasis:names:tc:emergency:cap:1.2"><identifier>x</identifier></alert>',
            "sender",
        ),
    ],
)
def test_broken_payloads_get_clean_errors(payload: bytes, words: str) -> None:
    with pytest.raises(PayloadError, match=words):
        parse_cap(payload)


def test_index_feeds() -> None:
    rss = parse_cap_index(load("ny_index.rss"))
    atom = parse_cap_index(load("weather_index.atom"))
    assert rss and atom
    assert all(e.url.startswith("http") for e in rss + atom)
    assert atom[0].updated == datetime(2010, 8, 31, 3, 4, tzinfo=UTC)


def test_cap_geometry_pitfalls() -> None:
    glued = parse_cap_polygon(
        "14.0,100.0 14.0,100.5 14.5,100.5 14.0,100.0, 15.0,101.0 15.0,101.5 15.5,101.5 15.0,101.0"
    )
    assert glued.geom_type == "MultiPolygon"
    opened = parse_cap_polygon("14.0,100.0 14.0,100.5 14.5,100.5")
    assert opened.area > 0
    with pytest.raises(GeometryError, match="out of range"):
        parse_cap_polygon("100.0,14.0 100.5,14.0 100.5,14.5 100.0,14.0")
    with pytest.raises(GeometryError):
        parse_cap_polygon("14.0,100.0 14.0,100.0")
    assert parse_cap_circle("14.6,121.0 0").area > 0
    with pytest.raises(GeometryError):
        parse_cap_circle("nonsense")
