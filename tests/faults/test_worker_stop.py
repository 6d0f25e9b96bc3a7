"""SIGTERM to a worker in the middle of a webhook batch, and of a welfare check's sending: it
stops within the bound, exits 0, and leaves nothing held (no delivery or message under lease, no
job's advisory lock), what it sent recorded with the statuses that follow, so that a second
worker does the rest at once, long before the lease it would otherwise wait for runs out
(docs/decisions/0026-worker-faults.md)."""

from __future__ import annotations

import time
from pathlib import Path

from sqlmodel import select

from service.crises.models import Crisis
from service.db import session_scope
from service.flows.alert_pass import planned
from tests.faults.workers import (
    CITIES,
    FAULTS,
    KUALA_LUMPUR,
    WorkerProcess,
    World,
    api,
    declare,
    duplicates,
    fresh_database,
    push_alerts,
    receiving,
    seed,
    start_check,
    subscribe,
    wait_until,
    watcher,
)

pytestmark = FAULTS

#: What the test allows a stopping worker (its grace, then the cancelled job's clean-up).
STOP_BOUND_S = 10.0
#: The leases as a deployment has them: a second worker that had to wait for one would wait
#: this long.
LEASE_S = 60


async def test_sigterm_mid_batch_stops_cleanly_and_a_second_worker_takes_over_at_once(
    tmp_path: Path,
) -> None:
    settings = {"LIFELINE_WORKER_STOP_GRACE_S": "1", "LIFELINE_WEBHOOK_LEASE_S": str(LEASE_S)}
    async with (
        fresh_database(tmp_path) as world,
        api(world) as app,
        receiving(delay_s=3.0) as receiver,
    ):
        seeded = await seed(app, cities={"kuala-lumpur": KUALA_LUMPUR}, per_city=6)
        await subscribe(app, seeded.admin, receiver.url)
        await declare(app, seeded.admin)
        events = await world.value("SELECT count(*) FROM outbox_events")
        first = await WorkerProcess(world, "first", **settings).start()
        try:

            async def some_received() -> bool:
                return receiver.events >= 3

            await wait_until(some_received, within=90, interval=0.01, what="3 deliveries")
            asked = time.monotonic()
            first.terminate()
            assert await first.wait(STOP_BOUND_S + 5) == 0
            took = time.monotonic() - asked
        finally:
            await first.stop()
        assert took < STOP_BOUND_S, f"stopped in {took:.1f} s"
        assert receiver.events < events  # it was stopped mid-batch
        held = await world.value(
            "SELECT count(*) FROM webhook_deliveries WHERE status = 'pending'"
            " AND locked_until > now()"
        )
        assert held == 0  # every claim let go
        async with watcher(world) as watch:
            assert not await watch.job_running("webhooks")
        assert "job cancelled: the worker is stopping" in first.log.read_text()
        second = await WorkerProcess(world, "second", **settings).start()
        try:
            started = time.monotonic()

            async def all_received() -> bool:
                return receiver.events >= events

            # Well within the lease: the second worker did not wait for it.
            await wait_until(all_received, within=LEASE_S / 2, what="every event received")
            rest = time.monotonic() - started
            second.terminate()  # idle between runs: it stops at once
            assert await second.wait(STOP_BOUND_S) == 0
        finally:
            await second.stop()
        ids = {r["id"] for r in await world.fetch("SELECT id FROM outbox_events")}
        assert set(receiver.received) == ids
        assert await duplicates(world) == {}
        print(
            f"stop: SIGTERM to exit {took:.1f} s; the second worker delivered the rest in {rest:.1f} s"
        )


async def test_sigterm_mid_sending_records_what_went_and_lets_the_rest_go(tmp_path: Path) -> None:
    # Five a second, one claim of all thirty (half a lease's worth is 150): stopped midway.
    settings = {
        "LIFELINE_WORKER_STOP_GRACE_S": "1",
        "LIFELINE_MESSAGES_LEASE_S": str(LEASE_S),
        "LIFELINE_MESSAGES_RATE_PER_S": "5",
    }
    async with fresh_database(tmp_path) as world, api(world) as app:
        seeded = await seed(
            app, cities={"kuala-lumpur": KUALA_LUMPUR}, per_city=30, nationalities=("PHL",)
        )
        crisis = await declare(app, seeded.admin)
        check = await start_check(app, crisis, seeded.officers["PHL"])
        first = await WorkerProcess(world, "first", **settings).start()
        try:

            async def some_sent() -> bool:
                return sum(world.drilled().values()) >= 8

            await wait_until(some_sent, within=90, interval=0.01, what="8 messages sent")
            asked = time.monotonic()
            first.terminate()
            assert await first.wait(STOP_BOUND_S + 5) == 0
            took = time.monotonic() - asked
        finally:
            await first.stop()
        assert took < STOP_BOUND_S, f"stopped in {took:.1f} s"
        sent = await _sent(world, check)
        assert 0 < sent < 30
        held = await world.value(
            "SELECT count(*) FROM messages_out WHERE state = 'pending' AND locked_until > now()"
        )
        assert held == 0  # the rest of the claim let go
        # What it recorded as sent, it recorded with its statuses.
        assert await _contacted(world, crisis) == sent
        second = await WorkerProcess(world, "second", **settings).start()
        try:
            started = time.monotonic()

            async def all_sent() -> bool:
                return await _sent(world, check) == 30

            await wait_until(all_sent, within=LEASE_S / 2, what="every message sent")
            rest = time.monotonic() - started
        finally:
            await second.stop()
        planned = {
            r["id"]
            for r in await world.fetch("SELECT id FROM messages_out WHERE check_id = $1", check)
        }
        assert set(world.drilled()) == planned
        assert await _contacted(world, crisis) == 30
        assert await duplicates(world) == {}
        print(
            f"stop: SIGTERM to exit {took:.1f} s with {sent} of 30 recorded;"
            f" the second worker sent the rest in {rest:.1f} s"
        )


async def _sent(world: World, check: str) -> int:
    return int(
        await world.value(
            "SELECT count(*) FROM messages_out WHERE check_id = $1"
            " AND state IN ('sent', 'delivered')",
            check,
        )
    )


async def _contacted(world: World, crisis: str) -> int:
    return int(
        await world.value(
            "SELECT count(*) FROM welfare_statuses WHERE crisis_id = $1 AND status = 'contacted'",
            crisis,
        )
    )


async def test_sigterm_mid_crisis_pass_rolls_the_alert_back_for_the_next_worker(
    tmp_path: Path,
) -> None:
    # No grace: the pass is cancelled inside an alert's transaction, its geometry in threads.
    settings = {"LIFELINE_WORKER_STOP_GRACE_S": "0"}
    cities = dict(list(CITIES.items())[:2])
    async with fresh_database(tmp_path) as world, api(world) as app:
        seeded = await seed(app, cities=cities, per_city=9)
        await push_alerts(app, seeded.admin, cities)
        first = await WorkerProcess(world, "first", **settings).start()
        try:
            async with watcher(world) as watch:

                async def mid_second_alert() -> bool:
                    done = await world.value("SELECT count(*) FROM crises")
                    return done == 1 and await watch.writing("tasks")

                await wait_until(
                    mid_second_alert, within=90, interval=0.005, what="the second alert's tasks"
                )
                asked = time.monotonic()
                first.terminate()
                assert await first.wait(STOP_BOUND_S + 5) == 0
                took = time.monotonic() - asked
                assert not await watch.job_running("crises")
        finally:
            await first.stop()
        assert took < STOP_BOUND_S, f"stopped in {took:.1f} s"
        # The second alert's transaction rolled back, its claim with it.
        assert await world.value("SELECT count(*) FROM crises") == 1
        second = await WorkerProcess(world, "second", **settings).start()
        try:

            async def both() -> bool:
                pending = await world.value(
                    "SELECT count(*) FROM alerts WHERE processed_version IS DISTINCT FROM version"
                )
                return pending == 0 and await world.value("SELECT count(*) FROM crises") == 2

            await wait_until(both, within=90, what="the second alert through the pass")
        finally:
            await second.stop()
        assert await duplicates(world) == {}
        async with session_scope(app.state.sessionmaker) as session:
            for crisis in (await session.exec(select(Crisis))).all():
                assert await planned(session, crisis) == []
        print(f"stop: SIGTERM mid crisis pass to exit {took:.1f} s")
