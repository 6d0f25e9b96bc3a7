"""The normalised alert: what every hazard adapter returns, whatever the source said."""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any


class Hazard(enum.StrEnum):
    """The hazard vocabulary shared with the playbooks."""

    EARTHQUAKE = "earthquake"
    TROPICAL_CYCLONE = "tropical_cyclone"
    FLOOD = "flood"
    TSUNAMI = "tsunami"
    VOLCANO = "volcano"
    WILDFIRE = "wildfire"
    DROUGHT = "drought"
    CONFLICT = "conflict"
    EPIDEMIC = "epidemic"
    CIVIL_UNREST = "civil_unrest"
    ECONOMIC_CRISIS = "economic_crisis"
    OTHER = "other"


class Severity(enum.IntEnum):
    """One ordinal scale for every source (CAP's words; GDACS green/orange/red map onto it)."""

    UNKNOWN = 0
    MINOR = 1
    MODERATE = 2
    SEVERE = 3
    EXTREME = 4


class Certainty(enum.StrEnum):
    OBSERVED = "observed"
    LIKELY = "likely"
    POSSIBLE = "possible"
    UNLIKELY = "unlikely"
    UNKNOWN = "unknown"


class Urgency(enum.StrEnum):
    IMMEDIATE = "immediate"
    EXPECTED = "expected"
    FUTURE = "future"
    PAST = "past"
    UNKNOWN = "unknown"


class Status(enum.StrEnum):
    """Exercise and test messages are kept and marked, never treated as real."""

    ACTUAL = "actual"
    EXERCISE = "exercise"
    TEST = "test"
    SYSTEM = "system"
    DRAFT = "draft"


class MsgType(enum.StrEnum):
    ALERT = "alert"
    UPDATE = "update"
    CANCEL = "cancel"


@dataclass(frozen=True, slots=True)
class FetchInfo:
    """Where and when the raw bytes came from."""

    url: str | None
    fetched_at: datetime
    status_code: int | None = None
    etag: str | None = None
    last_modified: str | None = None
    content_type: str | None = None


@dataclass(frozen=True, slots=True)
class Alert:
    """One normalised alert (one version of one event or CAP chain).

    ``external_id`` is stable across versions of the same event (a GDACS event id, a USGS
    event id, the first identifier of a CAP references chain); ``version`` orders them.
    ``geometry`` is a GeoJSON geometry mapping in lon/lat (EPSG:4326), or ``None`` when the
    source gave no zone. All datetimes are timezone-aware UTC.
    """

    source: str
    external_id: str
    version: str
    hazard: Hazard
    severity: Severity
    certainty: Certainty
    urgency: Urgency
    status: Status
    msg_type: MsgType
    headline: str
    onset: datetime | None = None
    expires: datetime | None = None
    sent: datetime | None = None
    geometry: dict[str, Any] | None = None
    description: str = ""
    instruction: str = ""
    languages: tuple[str, ...] = ()
    references: tuple[str, ...] = ()
    #: Other identifiers of the same event (USGS ``ids``, CAP identifiers): dedupe on overlap.
    aliases: tuple[str, ...] = ()
    countries: tuple[str, ...] = ()
    url: str | None = None
    raw: bytes = b""
    fetch: FetchInfo | None = None
    #: Source-specific values worth keeping (magnitude, depth, GDACS alert score...).
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def is_real(self) -> bool:
        """Only ``actual`` alerts may reach a real person."""
        return self.status is Status.ACTUAL
