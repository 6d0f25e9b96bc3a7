"""The feed kinds' parsers: every kind has one, registered by name and imported normally."""

from __future__ import annotations

from integrations.adapters import PARSERS
from integrations.polling import FeedKind


def test_every_feed_kind_has_a_parser() -> None:
    assert set(PARSERS) == set(FeedKind)
    assert all(callable(parse) for parse in PARSERS.values())
    # One adapter module per kind: no kind borrows another's parser.
    assert len({parse.__module__ for parse in PARSERS.values()}) == len(FeedKind)
