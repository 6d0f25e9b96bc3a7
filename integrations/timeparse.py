"""Timestamps from feeds, always returned timezone-aware in UTC.

Zone-less strings are a per-source decision, made explicit by ``assume``: GDACS JSON dates are
UTC without a zone; anything else without a zone is refused rather than guessed.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from email.utils import parsedate_to_datetime

from integrations.errors import PayloadError


def parse_time(value: str | None, *, assume: timezone | None = None) -> datetime | None:
    """RFC 3339 / ISO 8601 (``Z``, ``+07:00``, ``-00:00``, fractions) or RFC 822 (RSS) → UTC.

    ``assume`` is the zone of strings that carry none; None refuses them.
    """
    if value is None or not value.strip():
        return None
    raw = value.strip()
    parsed: datetime | None = None
    try:
        parsed = datetime.fromisoformat(raw.replace("Z", "+00:00").replace("z", "+00:00"))
    except ValueError:
        try:
            parsed = parsedate_to_datetime(raw)
        except (TypeError, ValueError, IndexError, OverflowError):
            parsed = None
    if parsed is None:
        raise PayloadError(f"unreadable time {raw!r}")
    if parsed.tzinfo is None:
        if assume is None:
            raise PayloadError(f"time {raw!r} has no time zone")
        parsed = parsed.replace(tzinfo=assume)
    try:
        return parsed.astimezone(UTC)
    except OverflowError as exc:
        # 9999-12-31T23:59:59-14:00 is a time of year 10000 in UTC, which Python cannot hold.
        raise PayloadError(f"time {raw!r} is out of range once in UTC") from exc


def from_epoch_ms(value: int | float | None) -> datetime | None:
    """USGS times: milliseconds since the epoch."""
    if value is None:
        return None
    return datetime(1970, 1, 1, tzinfo=UTC) + timedelta(milliseconds=value)
