"""``kill -9`` of a worker in the middle of a job, then a worker started again on the same
database: the crisis pass, webhook delivery, a welfare check's sending and escalation each end
with their work done once (docs/decisions/0026-worker-faults.md). The kill's moment is read
from the database or the receiver: the job's rows being written in a transaction still open, or
deliveries and messages part of the way through, never a sleep."""

from __future__ import annotations

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
    overdue_tasks,
    push_alerts,
    receiving,
    seed,
    start_check,
    subscribe,
    wait_until,
    watcher,
)

pytestmark = FAULTS

#: Leases short enough that a killed worker's claims come back within the test.
SHORT_LEASES = {"LIFELINE_WEBHOOK_LEASE_S": "3", "LIFELINE_MESSAGES_LEASE_S": "3"}


async def test_killed_mid_crisis_pass_every_task_is_made_once(tmp_path: Path) -> None:
    cities = dict(list(CITIES.items())[:2])
    async with fresh_database(tmp_path) as world, api(world) as app:
        seeded = await seed(app, cities=cities, per_city=9)
        await push_alerts(app, seeded.admin, cities)
        first = await WorkerProcess(world, "first").start()
        try:
            async with watcher(world) as watch:

                async def mid_second_alert() -> bool:
                    # The first alert's crisis committed, the second's tasks being written.
                    done = await world.value("SELECT count(*) FROM crises")
                    return done == 1 and await watch.writing("tasks")

                await wait_until(
                    mid_second_alert, within=90, interval=0.005, what="the second alert's tasks"
                )
                first.kill()
                assert await first.wait(10) == -9
        finally:
            await first.stop()
        assert await world.value("SELECT count(*) FROM crises") == 1
        kept = await world.value("SELECT count(*) FROM tasks")
        second = await WorkerProcess(world, "second").start()
        try:
            await wait_until(lambda: _all_processed(world, len(cities)), within=90, what="the pass")
        finally:
            await second.stop()
        assert await duplicates(world) == {}
        assert await world.value("SELECT count(*) FROM tasks") > kept
        async with session_scope(app.state.sessionmaker) as session:
            for crisis in (await session.exec(select(Crisis))).all():
                # Nothing the playbooks plan is missing, and nothing is there twice.
                assert await planned(session, crisis) == []


async def _all_processed(world: World, crises: int) -> bool:
    pending = await world.value(
        "SELECT count(*) FROM alerts WHERE processed_version IS DISTINCT FROM version"
    )
    return pending == 0 and await world.value("SELECT count(*) FROM crises") == crises


async def test_killed_mid_webhook_batch_every_event_arrives(tmp_path: Path) -> None:
    async with (
        fresh_database(tmp_path) as world,
        api(world) as app,
        receiving(delay_s=1.0) as receiver,
    ):
        seeded = await seed(app, cities={"kuala-lumpur": KUALA_LUMPUR}, per_city=6)
        await subscribe(app, seeded.admin, receiver.url)
        await declare(app, seeded.admin)  # the crisis and its tasks: events in the outbox
        events = await world.value("SELECT count(*) FROM outbox_events")
        assert events >= 20
        first = await WorkerProcess(world, "first", **SHORT_LEASES).start()
        try:
            await wait_until(
                lambda: _received(receiver, 8), within=90, interval=0.01, what="8 deliveries"
            )
            first.kill()
            assert await first.wait(10) == -9
        finally:
            await first.stop()
        assert receiver.events < events  # mid-batch
        second = await WorkerProcess(world, "second", **SHORT_LEASES).start()
        try:
            await wait_until(
                lambda: _received(receiver, events), within=90, what="every event received"
            )
            await wait_until(lambda: _all_delivered(world), within=30, what="every delivery done")
        finally:
            await second.stop()
        ids = {r["id"] for r in await world.fetch("SELECT id FROM outbox_events")}
        assert set(receiver.received) == ids  # each at least once, counted once by its id
        assert await duplicates(world) == {}
        again = sum(1 for n in receiver.received.values() if n > 1)
        print(f"webhooks: {events} events, {again} sent twice (cut off by the kill)")


async def _received(receiver: object, n: int) -> bool:
    return getattr(receiver, "events", 0) >= n


async def _all_delivered(world: World) -> bool:
    left = await world.value("SELECT count(*) FROM webhook_deliveries WHERE status <> 'delivered'")
    return left == 0


async def test_killed_mid_sending_every_message_goes_once(tmp_path: Path) -> None:
    async with fresh_database(tmp_path) as world, api(world) as app:
        seeded = await seed(
            app, cities={"kuala-lumpur": KUALA_LUMPUR}, per_city=30, nationalities=("PHL",)
        )
        crisis = await declare(app, seeded.admin)
        check = await start_check(app, crisis, seeded.officers["PHL"])
        planned_ids = {
            r["id"]
            for r in await world.fetch("SELECT id FROM messages_out WHERE check_id = $1", check)
        }
        assert len(planned_ids) == 30
        # Ten a second, claims of fifteen (half a lease's worth): the kill lands mid-claim.
        slow = {**SHORT_LEASES, "LIFELINE_MESSAGES_RATE_PER_S": "10"}
        first = await WorkerProcess(world, "first", **slow).start()
        try:

            async def some_sent() -> bool:
                return sum(world.drilled().values()) >= 5

            await wait_until(some_sent, within=90, interval=0.01, what="5 messages sent")
            first.kill()
            assert await first.wait(10) == -9
        finally:
            await first.stop()
        assert len(world.drilled()) < len(planned_ids)
        second = await WorkerProcess(world, "second", **slow).start()
        try:

            async def all_sent() -> bool:
                left = await world.value(
                    "SELECT count(*) FROM messages_out WHERE check_id = $1"
                    " AND state NOT IN ('sent', 'delivered')",
                    check,
                )
                return left == 0

            await wait_until(all_sent, within=90, what="every message sent")
        finally:
            await second.stop()
        drilled = world.drilled()
        assert set(drilled) == planned_ids  # each at least once, counted once by its key
        assert await duplicates(world) == {}
        contacted = await world.value(
            "SELECT count(*) FROM welfare_statuses WHERE crisis_id = $1 AND status = 'contacted'",
            crisis,
        )
        assert contacted == len(planned_ids)
        again = sum(1 for n in drilled.values() if n > 1)
        print(f"messages: {len(planned_ids)} planned, {again} sent twice (cut off by the kill)")


async def test_killed_mid_escalation_no_task_is_escalated_twice(tmp_path: Path) -> None:
    async with fresh_database(tmp_path) as world, api(world) as app:
        seeded = await seed(app, cities={"kuala-lumpur": KUALA_LUMPUR}, per_city=3)
        crisis = await declare(app, seeded.admin)
        overdue = await overdue_tasks(app, crisis, 300)
        first = await WorkerProcess(world, "first").start()
        try:
            async with watcher(world) as watch:
                # Escalation is the worker's first job: tasks being written, not committed.
                await wait_until(
                    lambda: watch.writing("tasks"), within=60, interval=0.002, what="escalating"
                )
                first.kill()
                assert await first.wait(10) == -9
        finally:
            await first.stop()
        done = await world.value(
            "SELECT count(*) FROM tasks WHERE id = ANY($1) AND escalated_at IS NOT NULL", overdue
        )
        assert done in (0, len(overdue))  # one transaction: all or nothing
        second = await WorkerProcess(world, "second").start()
        try:

            async def all_escalated() -> bool:
                left = await world.value(
                    "SELECT count(*) FROM tasks WHERE id = ANY($1) AND escalated_at IS NULL",
                    overdue,
                )
                return left == 0

            await wait_until(all_escalated, within=60, what="every task escalated")
        finally:
            await second.stop()
        assert await duplicates(world) == {}
        events = await world.value(
            "SELECT count(*) FROM crisis_events WHERE kind = 'task_escalated' AND crisis_id = $1",
            crisis,
        )
        assert events == len(overdue)
        print(f"escalation: killed with {done} of {len(overdue)} committed")
