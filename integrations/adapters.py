"""The parser of every feed kind: one plain mapping, its adapters imported like any module, so a
broken adapter fails at import (and in the tests) instead of silently dropping its kind."""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType

from integrations import cap, eonet, gdacs, pdc, reliefweb, usgs
from integrations.polling import FeedKind, Parser

PARSERS: Mapping[FeedKind, Parser] = MappingProxyType(
    {
        FeedKind.GDACS_RSS: gdacs.parse_rss,
        FeedKind.USGS: usgs.parse_summary,
        # An index lists CAP documents: the service fetches each new one and parses it.
        FeedKind.CAP_INDEX: cap.parse_cap_index,
        FeedKind.RELIEFWEB: reliefweb.parse_disasters,
        FeedKind.EONET: eonet.parse,
        FeedKind.PDC: pdc.parse_hazards,
    }
)
