"""The alert pass passes along what it has: a message it will not act on costs no exposure count,
and the playbooks plan from the counts just computed exactly as from their stored snapshot."""

from __future__ import annotations

import dataclasses
import json
from typing import Any

import pytest
from fastapi import FastAPI

from geo.exposure import ExposureCounts
from integrations.cap import parse_cap
from service.alerts.service import store_alert
from service.auth.principal import WORKER
from service.db import session_scope
from service.flows.alert_pass import exposure_view, process_pending, stored_view
from tests.conftest import unique
from tests.service.crises.test_crises import cap


async def test_system_and_draft_messages_cost_no_exposure_count(
    own_app: FastAPI, monkeypatch: pytest.MonkeyPatch
) -> None:
    index = own_app.state.register_index
    queries: list[Any] = []

    def counted(*args: Any, **kwargs: Any) -> ExposureCounts:
        queries.append(args)
        raise AssertionError("exposure counted for a message the pass never acts on")

    monkeypatch.setattr(index.index, "query", counted)
    async with session_scope(own_app.state.sessionmaker) as session:
        for status in ("System", "Draft"):
            await store_alert(
                session, alert=parse_cap(cap(unique("SYS"), status=status)), actor=WORKER
            )
    outcomes = await process_pending(
        own_app.state.sessionmaker, index=index, geometry=own_app.state.geometry
    )
    assert [o.result for o in outcomes] == ["not_a_crisis", "not_a_crisis"]
    assert queries == []


def test_the_counts_computed_plan_as_their_stored_snapshot() -> None:
    counts = ExposureCounts(
        workers=11,
        by_nationality={"IDN": 9, "CHN": 2},
        by_country={"PHL": 11},
        by_admin1={"PH-DAS": 11},
        by_sector={"construction": 11},
        by_sex={"F": 4, "M": 7},
        accompanying_family=3,
        vulnerable=1,
        by_employer={"org-1": 3},
        by_agency={"org-2": 2},
        by_nationality_country={"IDN": {"PHL": 9}, "CHN": {"PHL": 2}},
    )
    stored = json.loads(json.dumps(dataclasses.asdict(counts)))
    assert exposure_view(counts) == stored_view(stored)
