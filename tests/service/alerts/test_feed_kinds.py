"""The feed kinds a feed file may name are the kinds the adapters parse, each with its parser."""

from __future__ import annotations

from typing import get_args

from integrations.adapters import PARSERS
from integrations.polling import FeedKind
from service.feeds.config import Kind, parser_for


def test_every_kind_a_feed_may_name_has_a_parser() -> None:
    kinds = get_args(Kind)
    assert {FeedKind(k) for k in kinds} == set(FeedKind)
    assert all(parser_for(k) is PARSERS[FeedKind(k)] for k in kinds)
