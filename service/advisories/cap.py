"""An advisory as a CAP 1.2 alert, and the Atom index feed of the latest ones.

``integrations.cap.parse_cap`` and ``parse_cap_index`` read both back: the tests check they read
the same values, and that every alert validates against the OASIS schema."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from datetime import UTC, datetime
from typing import Any
from xml.etree.ElementTree import Element, SubElement, tostring

from integrations.alert import Hazard
from service.advisories.models import Advisory, AdvisoryStatus, AdvisoryType
from service.advisories.service import cap_time
from service.crises.models import Crisis, CrisisZone

CAP_NS = "urn:oasis:names:tc:emergency:cap:1.2"
ATOM_NS = "http://www.w3.org/2005/Atom"
CAP_MEDIA_TYPE = "application/cap+xml"
ATOM_MEDIA_TYPE = "application/atom+xml"

#: CAP ``category`` and ``event`` of each hazard (``event`` in English: the texts carry the
#: languages; ``parse_cap`` reads the hazard back from it).
HAZARDS: dict[str, tuple[str, str]] = {
    Hazard.EARTHQUAKE: ("Geo", "Earthquake"),
    Hazard.TSUNAMI: ("Geo", "Tsunami"),
    Hazard.VOLCANO: ("Geo", "Volcanic eruption"),
    Hazard.TROPICAL_CYCLONE: ("Met", "Tropical cyclone"),
    Hazard.FLOOD: ("Met", "Flood"),
    Hazard.DROUGHT: ("Met", "Drought"),
    Hazard.WILDFIRE: ("Fire", "Wildfire"),
    Hazard.EPIDEMIC: ("Health", "Epidemic"),
    Hazard.CONFLICT: ("Security", "Armed conflict"),
    Hazard.CIVIL_UNREST: ("Safety", "Civil unrest"),
    Hazard.ECONOMIC_CRISIS: ("Other", "Economic crisis"),
    Hazard.OTHER: ("Other", "Emergency"),
}
#: The crisis's severity -> CAP (urgency, severity, certainty). A crisis is declared or opened
#: from an alert once it is happening: Observed when severe, Likely below.
SEVERITIES: dict[str, tuple[str, str, str]] = {
    "extreme": ("Immediate", "Extreme", "Observed"),
    "severe": ("Immediate", "Severe", "Observed"),
    "moderate": ("Expected", "Moderate", "Likely"),
    "minor": ("Future", "Minor", "Likely"),
}
DRILL_NOTE = "EXERCISE: a drill, not a real emergency. Nothing in it calls for action."


def _number(value: float) -> str:
    return f"{value:.6f}".rstrip("0").rstrip(".")


def _ring(ring: Sequence[Sequence[float]]) -> str:
    """A GeoJSON ring (lon, lat) as a CAP polygon: "lat,lon" pairs, the first repeated last."""
    points = [f"{_number(lat)},{_number(lon)}" for lon, lat, *_ in ring]
    if points[0] != points[-1]:
        points.append(points[0])
    return " ".join(points)


def polygons(geometry: dict[str, Any] | None) -> Iterator[str]:
    """The outer rings of a zone's polygons as CAP polygons.

    CAP has no holes: a hole is dropped, so the area named covers it too. For an advisory of
    where to get help that errs on the side of telling more people, never fewer."""
    if geometry is None:
        return
    kind = geometry.get("type")
    if kind == "Polygon":
        yield _ring(geometry["coordinates"][0])
    elif kind == "MultiPolygon":
        for polygon in geometry["coordinates"]:
            yield _ring(polygon[0])
    elif kind == "GeometryCollection":
        for part in geometry.get("geometries", []):
            yield from polygons(part)


def _add(parent: Element, tag: str, value: str | None) -> None:
    if value:
        SubElement(parent, tag).text = value


def alert(crisis: Crisis, advisory: Advisory, zone: CrisisZone | None) -> bytes:
    """The CAP 1.2 alert of ``advisory``: one ``info`` per language, English first."""
    root = Element("alert", {"xmlns": CAP_NS})
    _add(root, "identifier", advisory.identifier)
    _add(root, "sender", advisory.sender)
    _add(root, "sent", cap_time(advisory.sent))
    _add(root, "status", advisory.status)
    _add(root, "msgType", advisory.msg_type)
    _add(root, "scope", "Public")
    if advisory.status == AdvisoryStatus.EXERCISE:
        _add(root, "note", DRILL_NOTE)
    if advisory.references:
        _add(root, "references", " ".join(advisory.references))
    category, event = HAZARDS.get(crisis.hazard, HAZARDS[Hazard.OTHER])
    urgency, severity, certainty = SEVERITIES.get(crisis.severity, ("Unknown",) * 3)
    if advisory.msg_type == AdvisoryType.CANCEL:
        urgency = "Past"
    shapes = list(polygons(zone.geometry if zone else None))
    languages = sorted(advisory.texts, key=lambda lang: (lang != "en", lang))
    for language in languages:
        text = advisory.texts[language]
        info = SubElement(root, "info")
        _add(info, "language", language)
        _add(info, "category", category)
        _add(info, "event", event)
        _add(info, "urgency", urgency)
        _add(info, "severity", severity)
        _add(info, "certainty", certainty)
        _add(info, "senderName", "Lifeline")
        _add(info, "headline", text["headline"])
        _add(info, "description", text["description"])
        _add(info, "instruction", text["instruction"])
        _add(info, "web", advisory.web)
        _add(info, "contact", advisory.contact)
        area = SubElement(info, "area")
        _add(area, "areaDesc", crisis.title)
        for shape in shapes:
            _add(area, "polygon", shape)
    return _document(root)


def _document(root: Element) -> bytes:
    body: bytes = tostring(root, encoding="utf-8", xml_declaration=False)
    return b'<?xml version="1.0" encoding="UTF-8"?>\n' + body


def _atom_time(at: datetime) -> str:
    return at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def feed(
    entries: Sequence[tuple[Crisis, Advisory]], *, base_url: str, self_url: str, domain: str
) -> bytes:
    """An Atom index of the alerts (the form alert hubs pull): an entry per crisis, its link
    the CAP alert of the version listed."""
    root = Element("feed", {"xmlns": ATOM_NS})
    _add(root, "id", f"tag:{domain},2026:advisories")
    _add(root, "title", "Lifeline advisories")
    updated = max((a.sent for _, a in entries), default=datetime(2026, 1, 1, tzinfo=UTC))
    _add(root, "updated", _atom_time(updated))
    SubElement(root, "link", {"rel": "self", "href": self_url, "type": ATOM_MEDIA_TYPE})
    author = SubElement(root, "author")
    _add(author, "name", domain)
    for crisis, advisory in entries:
        href = f"{base_url}/api/v1/crises/{crisis.id}/cap?version={advisory.version}"
        entry = SubElement(root, "entry")
        _add(entry, "id", f"tag:{domain},2026:advisory.{crisis.id}.{advisory.version}")
        headline = advisory.texts.get("en", {}).get("headline", crisis.title)
        prefix = "Exercise: " if advisory.status == AdvisoryStatus.EXERCISE else ""
        _add(entry, "title", f"{prefix}{advisory.msg_type}: {headline}")
        _add(entry, "updated", _atom_time(advisory.sent))
        SubElement(entry, "link", {"rel": "alternate", "type": CAP_MEDIA_TYPE, "href": href})
        _add(entry, "summary", advisory.identifier)
    return _document(root)
