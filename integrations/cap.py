"""CAP 1.1 and 1.2 messages, and the RSS/Atom index feeds that list them, as normalised alerts."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from xml.etree.ElementTree import Element

import shapely
from shapely.geometry import mapping

from geo.cap import parse_cap_circle, parse_cap_polygon
from geo.errors import GeometryError
from geo.limits import check_complexity
from integrations.alert import (
    Alert,
    Certainty,
    FetchInfo,
    Hazard,
    MsgType,
    Severity,
    Status,
    Urgency,
)
from integrations.errors import PayloadError
from integrations.timeparse import parse_time
from integrations.xml import child, children, local, parse_xml, text

_HAZARDS: tuple[tuple[str, Hazard], ...] = (
    (r"tsunami", Hazard.TSUNAMI),
    (r"earthquake|seismic|gempa", Hazard.EARTHQUAKE),
    (
        r"typhoon|cyclone|hurricane|tropical (storm|depression)|storm surge|bagyo",
        Hazard.TROPICAL_CYCLONE,
    ),
    (r"flood|heavy rain|very heavy rain|hujan lebat|torrential|banjir|baha", Hazard.FLOOD),
    (r"volcan|eruption|ash", Hazard.VOLCANO),
    (r"fire", Hazard.WILDFIRE),
    (r"drought", Hazard.DROUGHT),
    (r"epidemic|outbreak|pandemic|disease", Hazard.EPIDEMIC),
    (r"civil (unrest|disturbance)|riot", Hazard.CIVIL_UNREST),
    (r"armed conflict|terror|shooting|military", Hazard.CONFLICT),
)
_CATEGORY_HAZARD = {"Health": Hazard.EPIDEMIC, "Fire": Hazard.WILDFIRE}
_SEVERITY = {
    "extreme": Severity.EXTREME,
    "severe": Severity.SEVERE,
    "moderate": Severity.MODERATE,
    "minor": Severity.MINOR,
}
_STATUS = {
    "actual": Status.ACTUAL,
    "exercise": Status.EXERCISE,
    "test": Status.TEST,
    "system": Status.SYSTEM,
    "draft": Status.DRAFT,
}
_MSGTYPE = {"alert": MsgType.ALERT, "update": MsgType.UPDATE, "cancel": MsgType.CANCEL}


def hazard_of(event: str, categories: list[str], event_codes: list[str]) -> Hazard:
    words = " ".join([event, *event_codes]).lower()
    for pattern, hazard in _HAZARDS:
        if re.search(pattern, words):
            return hazard
    for category in categories:
        if category in _CATEGORY_HAZARD:
            return _CATEGORY_HAZARD[category]
    return Hazard.OTHER


def _enum(value: str, table: dict[str, Any], default: Any) -> Any:
    return table.get(value.strip().lower(), default)


def _references(raw: str) -> tuple[tuple[str, str, str], ...]:
    """``sender,identifier,sent`` triplets, space separated."""
    out = []
    for token in raw.split():
        parts = token.split(",")
        if len(parts) >= 2:
            out.append((parts[0], parts[1], ",".join(parts[2:])))
    return tuple(out)


def _chain_key(sender: str, identifier: str) -> str:
    return f"{sender}/{identifier}"


def parse_cap(
    content: bytes, *, fetch: FetchInfo | None = None, source: str | None = None
) -> Alert:
    """One CAP message (bytes) as one alert.

    The alert's ``external_id`` is the first message of its chain (the earliest ``references``
    entry, else the message itself), so every Update and Cancel lands on the same alert; the
    message's own identifier is in ``aliases`` and ``version`` is its ``sent`` time.
    """
    root = parse_xml(content)
    if local(root.tag) != "alert":
        raise PayloadError(f"not a CAP message: the root element is <{local(root.tag)}>")
    sender = text(root, "sender")
    identifier = text(root, "identifier")
    if not sender or not identifier:
        raise PayloadError("CAP message without sender or identifier")
    sent = _time(text(root, "sent"), "sent")
    if sent is None:
        raise PayloadError("CAP message without a sent time")
    refs = _references(text(root, "references"))
    earliest = min(refs, key=lambda r: _sort_time(r[2]), default=None)
    external_id = _chain_key(*earliest[:2]) if earliest else _chain_key(sender, identifier)
    status = _enum(text(root, "status"), _STATUS, None)
    if status is None:
        raise PayloadError(f"unknown CAP status {text(root, 'status')!r}")
    msg_type = _enum(text(root, "msgType"), _MSGTYPE, None)
    if msg_type is None:
        raise PayloadError(
            f"CAP msgType {text(root, 'msgType')!r} is not an alert, update or cancel"
        )
    infos = children(root, "info")
    extra: dict[str, Any] = {
        "scope": text(root, "scope"),
        "identifier": identifier,
        "sender": sender,
    }
    if text(root, "incidents"):
        extra["incidents"] = text(root, "incidents").split()
    if not infos:
        # A Cancel may carry no info at all (IPAWS): it only closes the chain.
        return Alert(
            source=source or f"cap:{sender}",
            external_id=external_id,
            version=sent.isoformat(),
            hazard=Hazard.OTHER,
            severity=Severity.UNKNOWN,
            certainty=Certainty.UNKNOWN,
            urgency=Urgency.UNKNOWN,
            status=status,
            msg_type=msg_type,
            headline=text(root, "note") or msg_type.value,
            sent=sent,
            references=tuple(_chain_key(r[0], r[1]) for r in refs),
            aliases=(_chain_key(sender, identifier),),
            raw=content,
            fetch=fetch,
            extra=extra,
        )
    main = next(
        (i for i in infos if text(i, "language", "en-US").lower().startswith("en")), infos[0]
    )
    event = text(main, "event")
    categories = [text(c) for c in children(main, "category")]
    codes = [text(c, "value") for c in children(main, "eventCode")]
    if msg_type is MsgType.UPDATE and "cancellation" in event.lower():
        # Tsunami centres cancel with an Update whose event is "Tsunami Cancellation".
        msg_type = MsgType.CANCEL
    expires = _time(text(main, "expires"), "expires")
    if expires is not None and expires < sent:
        extra["expires_ignored"] = f"expires {expires.isoformat()} is before sent"
        expires = None
    geometry, geocodes, problems = _areas(infos)
    if geocodes:
        extra["geocodes"] = geocodes
    if problems:
        extra["geometry_problems"] = problems
    extra["area_descriptions"] = sorted(
        {text(a, "areaDesc") for i in infos for a in children(i, "area")} - {""}
    )
    parameters = {text(p, "valueName"): text(p, "value") for p in children(main, "parameter")}
    if parameters:
        extra["parameters"] = parameters
    response = [text(r) for r in children(main, "responseType")]
    if response:
        extra["response"] = response
    return Alert(
        source=source or f"cap:{sender}",
        external_id=external_id,
        version=sent.isoformat(),
        hazard=hazard_of(event, categories, codes),
        severity=_enum(text(main, "severity"), _SEVERITY, Severity.UNKNOWN),
        certainty=_enum(
            text(main, "certainty"), {c.value: c for c in Certainty}, Certainty.UNKNOWN
        ),
        urgency=_enum(text(main, "urgency"), {u.value: u for u in Urgency}, Urgency.UNKNOWN),
        status=status,
        msg_type=msg_type,
        headline=text(main, "headline") or event,
        onset=_time(text(main, "onset"), "onset")
        or _time(text(main, "effective"), "effective")
        or sent,
        expires=expires,
        sent=sent,
        geometry=geometry,
        description=text(main, "description"),
        instruction=text(main, "instruction"),
        languages=tuple(dict.fromkeys(text(i, "language", "en-US") for i in infos)),
        references=tuple(_chain_key(r[0], r[1]) for r in refs),
        aliases=(_chain_key(sender, identifier),),
        url=text(main, "web") or None,
        raw=content,
        fetch=fetch,
        extra={**extra, "event": event, "categories": categories},
    )


def _time(value: str, what: str) -> datetime | None:
    try:
        # CAP times carry an offset; the rare zone-less one is taken as UTC.
        return parse_time(value, assume=UTC)
    except PayloadError as exc:
        raise PayloadError(f"CAP {what}: {exc.reason}") from exc


def _sort_time(value: str) -> datetime:
    try:
        return parse_time(value, assume=UTC) or datetime.max.replace(tzinfo=UTC)
    except PayloadError:
        return datetime.max.replace(tzinfo=UTC)


def _areas(infos: list[Element]) -> tuple[dict[str, Any] | None, list[list[str]], list[str]]:
    shapes = []
    geocodes: list[list[str]] = []
    problems: list[str] = []
    for info in infos:
        for area in children(info, "area"):
            for polygon in children(area, "polygon"):
                if not text(polygon):
                    continue  # an empty element, common in NWS messages: no polygon
                try:
                    shapes.append(parse_cap_polygon(text(polygon)))
                except GeometryError as exc:
                    problems.append(exc.reason)
            for circle in children(area, "circle"):
                if not text(circle):
                    continue
                try:
                    shapes.append(parse_cap_circle(text(circle)))
                except GeometryError as exc:
                    problems.append(exc.reason)
            for geocode in children(area, "geocode"):
                pair = [text(geocode, "valueName"), text(geocode, "value")]
                if pair not in geocodes:
                    geocodes.append(pair)
    if not shapes:
        return None, geocodes, problems
    if len(shapes) > 1:
        # Each area is within the limits; together they may not be, and the union compares
        # every edge of each with the others.
        try:
            check_complexity(shapely.GeometryCollection(shapes))
        except GeometryError as exc:
            return None, geocodes, [*problems, exc.reason]
    union = shapely.union_all(shapes) if len(shapes) > 1 else shapes[0]
    return dict(mapping(union)), geocodes, problems


@dataclass(frozen=True, slots=True)
class IndexEntry:
    """One CAP message listed by an index feed."""

    url: str
    id: str
    updated: datetime | None


def parse_cap_index(content: bytes) -> list[IndexEntry]:
    """The CAP messages an RSS or Atom index lists (newest first as the feed gives them)."""
    root = parse_xml(content)
    entries: list[IndexEntry] = []
    if local(root.tag) == "rss":
        channel = child(root, "channel")
        for item in children(channel, "item") if channel is not None else []:
            url = text(item, "link")
            if url:
                entries.append(
                    IndexEntry(url, text(item, "guid") or url, _lenient(text(item, "pubDate")))
                )
    elif local(root.tag) == "feed":
        for entry in children(root, "entry"):
            links = children(entry, "link")
            href = next(
                (
                    link.get("href", "")
                    for link in links
                    if link.get("rel") in (None, "alternate", "related")
                ),
                "",
            )
            if not href and links:
                href = links[0].get("href", "")
            if href:
                entries.append(
                    IndexEntry(href, text(entry, "id") or href, _lenient(text(entry, "updated")))
                )
    else:
        raise PayloadError(f"not an RSS or Atom index: the root element is <{local(root.tag)}>")
    return entries


def _lenient(value: str) -> datetime | None:
    # Index dates are often wrong (TMD labels UTC clock time +0700): informative only.
    try:
        return parse_time(value, assume=UTC)
    except PayloadError:
        return None
