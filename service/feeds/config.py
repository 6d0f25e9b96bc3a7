"""Which feeds to poll, where, how often: defaults here, overridden by a JSON or YAML file
(``LIFELINE_FEEDS_FILE``), so a feed can point anywhere, a local test server included."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, HttpUrl, TypeAdapter

from integrations import polling
from integrations.adapters import PARSERS

Kind = Literal["gdacs_rss", "usgs", "cap_index", "reliefweb", "eonet", "pdc"]


class FeedConfig(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = Field(pattern=r"^[a-z0-9][a-z0-9_-]{1,79}$")
    kind: Kind
    url: HttpUrl
    interval_s: float = Field(default=300.0, ge=30.0, le=86_400.0)
    timeout_s: float = Field(default=30.0, gt=0, le=300)
    enabled: bool = True
    #: For CAP index feeds: how many listed messages to fetch at most per poll.
    max_items: int = Field(default=50, ge=1, le=1000)
    #: For GDACS: where an episode's polygons are, with {eventtype}, {eventid}, {episodeid}.
    geometry_url: str | None = Field(default=None, max_length=500)


DEFAULT_FEEDS: tuple[FeedConfig, ...] = tuple(
    FeedConfig.model_validate(f)
    for f in (
        {
            "name": "gdacs",
            "kind": "gdacs_rss",
            "url": "https://www.gdacs.org/xml/rss.xml",
            "interval_s": 600,
            "geometry_url": "https://www.gdacs.org/gdacsapi/api/polygons/getgeometry"
            "?eventtype={eventtype}&eventid={eventid}&episodeid={episodeid}",
        },
        {
            "name": "usgs-significant",
            "kind": "usgs",
            "url": "https://earthquake.usgs.gov/earthquakes/feed/v1.0/summary/4.5_day.geojson",
            "interval_s": 300,
        },
        {
            "name": "pagasa",
            "kind": "cap_index",
            "url": "https://publicalert.pagasa.dost.gov.ph/feeds/",
            "interval_s": 600,
            "enabled": False,
        },
        {
            "name": "bmkg-nowcast",
            "kind": "cap_index",
            "url": "https://www.bmkg.go.id/alerts/nowcast/en",
            "interval_s": 600,
            "enabled": False,
        },
        {
            "name": "tmd",
            "kind": "cap_index",
            "url": "https://www.tmd.go.th/api/xml/CAP",
            "interval_s": 900,
            "enabled": False,
        },
    )
)


def load_feeds(path: str | None, *, reliefweb_appname: str | None = None) -> tuple[FeedConfig, ...]:
    """The feeds of ``path`` (a JSON or YAML list), or the defaults when there is none; ReliefWeb
    (epidemics, conflict and complex emergencies) joins them when an application name is set."""
    if not path:
        if not reliefweb_appname:
            return DEFAULT_FEEDS
        from integrations.reliefweb import disasters_url

        reliefweb = FeedConfig(
            name="reliefweb",
            kind="reliefweb",
            url=disasters_url(reliefweb_appname),
            interval_s=3600,
        )
        return (*DEFAULT_FEEDS, reliefweb)
    text = Path(path).read_text(encoding="utf-8")
    data: Any = json.loads(text) if path.endswith(".json") else yaml.safe_load(text)
    feeds = TypeAdapter(list[FeedConfig]).validate_python(data)
    names = [f.name for f in feeds]
    if len(names) != len(set(names)):
        raise ValueError(f"feed names must be unique: {names}")
    return tuple(feeds)


def parser_for(kind: Kind) -> polling.Parser:
    """Bytes → alerts (or, for a CAP index, the entries to fetch), per kind."""
    return PARSERS[polling.FeedKind(kind)]
