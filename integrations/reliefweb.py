"""ReliefWeb disasters (API v2): curated crises, epidemics and conflicts as country alerts."""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from datetime import datetime
from typing import Any
from urllib.parse import urlencode

from integrations.alert import Alert, Certainty, Hazard, MsgType, Severity, Status, Urgency
from integrations.errors import PayloadError
from integrations.timeparse import parse_time

SOURCE = "reliefweb"
API_URL = "https://api.reliefweb.int/v2/disasters"

#: Fields the adapter reads; asked for explicitly because list presets return almost none.
FIELDS = (
    "id",
    "name",
    "status",
    "glide",
    "primary_country",
    "country",
    "primary_type",
    "type",
    "date",
    "url",
    "url_alias",
    "description",
)

#: GLIDE hazard codes (glidenumber.net) as ReliefWeb uses them for ``primary_type.code``.
HAZARDS: dict[str, Hazard] = {
    "EQ": Hazard.EARTHQUAKE,
    "TC": Hazard.TROPICAL_CYCLONE,
    "EC": Hazard.TROPICAL_CYCLONE,  # extratropical cyclone: same wind and surge playbooks
    "FL": Hazard.FLOOD,
    "FF": Hazard.FLOOD,
    "SS": Hazard.FLOOD,  # storm surge is coastal flooding
    "TS": Hazard.TSUNAMI,
    "VO": Hazard.VOLCANO,
    "WF": Hazard.WILDFIRE,
    "DR": Hazard.DROUGHT,
    "EP": Hazard.EPIDEMIC,
    "CE": Hazard.CONFLICT,
}

#: ``status`` → (msg_type, certainty, urgency). ``past`` and ``alert-archive`` close the alert.
_STATUS: dict[str, tuple[MsgType, Certainty, Urgency]] = {
    "alert": (MsgType.ALERT, Certainty.LIKELY, Urgency.EXPECTED),
    "ongoing": (MsgType.ALERT, Certainty.OBSERVED, Urgency.IMMEDIATE),
    "past": (MsgType.CANCEL, Certainty.OBSERVED, Urgency.PAST),
    "alert-archive": (MsgType.CANCEL, Certainty.UNLIKELY, Urgency.PAST),
}

_APPNAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{1,99}$")
#: GLIDE numbers read ``FL-2024-000139-TCD``: hazard code, year, serial, ISO3 country (or a
#: number for multi-country events such as ``EP-2020-000012-001``).
_GLIDE = re.compile(r"^([A-Z]{2})-\d{4}-\d{6}-([A-Z0-9]{3})$")


def disasters_url(
    appname: str,
    *,
    limit: int = 100,
    changed_since: datetime | None = None,
    base_url: str = API_URL,
) -> str:
    """The v2 disasters query, newest change first, with every field the parser reads.

    ``appname`` is required: since November 2025 ReliefWeb answers 403 to names it has not
    approved, so it is a setting of the deployment, never a default of the code.
    ``changed_since`` keeps the daily call quota for what changed.
    """
    if not _APPNAME.match(appname or ""):
        raise ValueError(
            "appname must be the ReliefWeb-approved application name "
            "(2-100 letters, digits, '.', '_' or '-')"
        )
    if not 1 <= limit <= 1000:
        raise ValueError(f"limit={limit}: ReliefWeb returns 1 to 1000 entries per call")
    params: list[tuple[str, str]] = [("appname", appname), ("limit", str(limit))]
    params += [("fields[include][]", name) for name in FIELDS]
    params.append(("sort[]", "date.changed:desc"))
    if changed_since is not None:
        if changed_since.tzinfo is None:
            raise ValueError("changed_since must be timezone-aware")
        params += [
            ("filter[field]", "date.changed"),
            ("filter[value][from]", changed_since.isoformat()),
        ]
    return f"{base_url}?{urlencode(params)}"


def parse_disasters(payload: bytes) -> list[Alert]:
    """Alerts from a disasters answer (a list or a single disaster: both carry ``data[]``).

    Geometry is None: ReliefWeb gives countries only (``countries`` as upper-case ISO3) and the
    service resolves their polygons. Without ``country`` fields (minimal list presets) the
    country comes from the GLIDE number's last part. The version is ``date.changed``; an
    entry without it gets ``status:<status>`` so a change of status is still a new version.

    Raises
    ------
    PayloadError
        Not JSON, or not a ReliefWeb answer with a ``data`` list of entries with ids.
    """
    try:
        doc = json.loads(payload)
    except (ValueError, RecursionError) as exc:
        raise PayloadError(f"not valid JSON: {exc}") from exc
    if not isinstance(doc, dict) or not isinstance(doc.get("data"), list):
        raise PayloadError("a ReliefWeb answer is an object with a data list")
    alerts = []
    for index, item in enumerate(doc["data"]):
        fields = item.get("fields") if isinstance(item, dict) else None
        if not isinstance(fields, dict):
            raise PayloadError(f"ReliefWeb entry {index} has no fields")
        alerts.append(_alert(item, fields))
    return alerts


def _alert(item: Mapping[str, Any], fields: Mapping[str, Any]) -> Alert:
    disaster_id = str(fields.get("id") or item.get("id") or "").strip()
    if not disaster_id:
        raise PayloadError("a ReliefWeb disaster without an id")
    status = str(fields.get("status") or "").strip().lower()
    glide = str(fields.get("glide") or "").strip().upper()
    glide_match = _GLIDE.match(glide)
    primary_type = _mapping(fields, "primary_type")
    code = str(primary_type.get("code") or (glide_match.group(1) if glide_match else "")).upper()
    dates = _mapping(fields, "date")
    changed = parse_time(dates.get("changed"))
    msg_type, certainty, urgency = _STATUS.get(
        status, (MsgType.ALERT, Certainty.UNKNOWN, Urgency.UNKNOWN)
    )
    name = str(fields.get("name") or "").strip()
    return Alert(
        source=SOURCE,
        external_id=disaster_id,
        version=changed.isoformat() if changed else f"status:{status or 'unknown'}",
        hazard=HAZARDS.get(code, Hazard.OTHER),
        # ReliefWeb grades no severity: its status says whether a crisis is on, not how bad.
        severity=Severity.UNKNOWN,
        certainty=certainty,
        urgency=urgency,
        status=Status.ACTUAL,
        msg_type=msg_type,
        headline=name or f"ReliefWeb disaster {disaster_id}",
        onset=parse_time(dates.get("event")),
        sent=changed,
        geometry=None,
        description=str(fields.get("description") or ""),
        aliases=(glide,) if glide else (),
        countries=_countries(fields, glide_match),
        url=_url(fields, disaster_id),
        raw=json.dumps(item, separators=(",", ":"), ensure_ascii=False).encode(),
        extra={
            "glide": glide or None,
            "reliefweb_status": status or None,
            "type_code": code or None,
            "type_name": primary_type.get("name"),
            "types": [t.get("code") for t in fields.get("type") or [] if isinstance(t, dict)],
            "created": _iso(parse_time(dates.get("created"))),
        },
    )


def _countries(fields: Mapping[str, Any], glide: re.Match[str] | None) -> tuple[str, ...]:
    codes: list[str] = []
    primary = fields.get("primary_country")
    listed = fields.get("country")
    # The primary country first: it is the one the disaster is named after.
    for entry in [primary, *(listed if isinstance(listed, list) else [])]:
        if isinstance(entry, dict) and isinstance(entry.get("iso3"), str):
            codes.append(entry["iso3"].strip().upper())
    if not codes and glide and glide.group(2).isalpha():
        codes.append(glide.group(2))
    return tuple(dict.fromkeys(c for c in codes if len(c) == 3))


def _mapping(parent: Mapping[str, Any], key: str) -> Mapping[str, Any]:
    value = parent.get(key)
    return value if isinstance(value, dict) else {}


def _url(fields: Mapping[str, Any], disaster_id: str) -> str:
    for value in (fields.get("url_alias"), fields.get("url")):
        if isinstance(value, str) and value.startswith("https://"):
            return value
    # Minimal list presets carry only the API href; the public page has a stable address.
    return f"https://reliefweb.int/taxonomy/term/{disaster_id}"


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value else None
