"""Two workers side by side on one database, from the same start, with work for every
singleton job and every queue waiting: alerts for the crisis pass, an outbox of webhook events,
a welfare check's messages, overdue tasks, the day's situation reports, audit events to chain.
Each effect happens once: no task, delivery, message, escalation, kept report or chain link
twice, and the receiver and the gateway see each event and message exactly once
(docs/decisions/0026-worker-faults.md)."""

from __future__ import annotations

import asyncio
import sys
import uuid
from pathlib import Path

from fastapi import FastAPI

from tests.conftest import bearer
from tests.faults.workers import (
    CAP_XML,
    CITIES,
    FAULTS,
    ROOT,
    World,
    api,
    cap,
    client,
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
    workers,
)

pytestmark = FAULTS


async def test_two_workers_do_each_job_once(tmp_path: Path) -> None:
    async with (
        fresh_database(tmp_path) as world,
        api(world) as app,
        receiving(delay_s=0.05) as receiver,
    ):
        seeded = await seed(app, per_city=9)
        await subscribe(app, seeded.admin, receiver.url)
        declared = await declare(app, seeded.admin, CITIES["johor-bahru"])
        check = await start_check(app, declared, seeded.officers["PHL"])
        overdue = await overdue_tasks(app, declared, 50)
        alerts = {c: CITIES[c] for c in ("kuala-lumpur", "penang")}
        await push_alerts(app, seeded.admin, alerts)
        # Jobs that run hourly or every minute run every few seconds here, so that each worker
        # comes back to them while the other may be at them.
        often = {"LIFELINE_HOUSEKEEPING_INTERVAL_S": "5", "LIFELINE_AUDIT_CHAIN_INTERVAL_S": "2"}
        async with workers(world, "one", "two", **often) as pair:

            async def all_done() -> bool:
                return await _all_done(world, receiver.events, check, overdue)

            await wait_until(all_done, within=150, interval=0.2, what="every job's work")
            for worker in pair:
                worker.terminate()
            assert [await w.wait(15) for w in pair] == [0, 0]
        assert await duplicates(world) == {}
        # Exactly once here, not only at least once: neither worker was killed.
        assert set(receiver.received.values()) == {1}
        ids = {r["id"] for r in await world.fetch("SELECT id FROM outbox_events")}
        assert set(receiver.received) == ids
        drilled = world.drilled()
        assert drilled and set(drilled.values()) == {1}
        assert await _audit_chain_verifies(world)
        skipped = [
            job
            for worker in pair
            for job, outcome in _outcomes(worker.lines())
            if outcome == "skipped: running elsewhere"
        ]
        print(f"pairs: jobs skipped as running in the other worker: {sorted(set(skipped))}")


async def test_two_apis_and_two_workers_take_each_alert_once(tmp_path: Path) -> None:
    """The crisis pass runs in every API process (a pushed alert goes through it before the push
    is answered) and in every worker: two of each (the APIs as two apps in this process, each
    with its own engine, pool and index, sharing only the database, as processes do), the same alerts pushed through both APIs at
    once, twice each (a feed and an integration sending the same CAP message), while both
    workers run. Every push is answered 2xx, and each alert opens one crisis with its tasks
    once."""
    async with (
        fresh_database(tmp_path, crisis_pass_inline=True) as world,
        api(world) as first,
        api(world) as second,
    ):
        seeded = await seed(first, per_city=6)
        identifiers = {city: f"{city}-{uuid.uuid4().hex[:6]}" for city in CITIES}
        async with workers(world, "one", "two") as pair:

            async def under_way() -> bool:
                return all(_outcomes(worker.lines()) for worker in pair)

            # Both workers at their jobs (their passes running) before the alerts come.
            await wait_until(under_way, within=90, interval=0.2, what="both workers' first jobs")

            async def push(app: FastAPI, city: str) -> int:
                async with client(app) as http:
                    pushed = await http.post(
                        "/api/v1/alerts/cap",
                        content=cap(identifiers[city], CITIES[city]),
                        headers={**CAP_XML, **bearer(seeded.admin)},
                    )
                assert pushed.status_code in (200, 201), pushed.text
                return pushed.status_code

            answers = await asyncio.gather(
                *(push(app, city) for city in CITIES for app in (first, second, first, second))
            )
            assert len(answers) == 4 * len(CITIES)

            async def opened() -> bool:
                (row,) = await world.fetch(
                    """SELECT
                        (SELECT count(*) FROM alerts
                            WHERE processed_version IS DISTINCT FROM version) AS pending,
                        (SELECT count(*) FROM alerts) AS alerts,
                        (SELECT count(*) FROM crises) AS crises"""
                )
                return row["pending"] == 0 and row["alerts"] == len(CITIES) == row["crises"]

            await wait_until(opened, within=120, interval=0.2, what="one crisis per alert")
            for worker in pair:
                worker.terminate()
            assert [await w.wait(15) for w in pair] == [0, 0]
        assert await duplicates(world) == {}
        per_crisis = await world.fetch("SELECT crisis_id, count(*) AS n FROM tasks GROUP BY 1")
        assert len(per_crisis) == len(CITIES) and all(r["n"] > 0 for r in per_crisis)


async def _all_done(world: World, received: int, check: str, overdue: list[str]) -> bool:
    counts = await world.fetch(
        """SELECT
            (SELECT count(*) FROM alerts WHERE processed_version IS DISTINCT FROM version) AS alerts,
            (SELECT count(*) FROM crises) AS crises,
            (SELECT count(*) FROM messages_out WHERE check_id = $1
                AND state NOT IN ('sent', 'delivered')) AS unsent,
            (SELECT count(*) FROM tasks WHERE id = ANY($2) AND escalated_at IS NULL) AS due,
            (SELECT count(DISTINCT crisis_id) FROM sitreps) AS reported,
            (SELECT count(*) FROM outbox_events WHERE NOT fanned_out) AS unfanned,
            (SELECT count(*) FROM webhook_deliveries WHERE status <> 'delivered') AS undelivered,
            (SELECT count(*) FROM outbox_events) AS events,
            (SELECT count(*) FROM audit_events e
                WHERE NOT EXISTS (SELECT 1 FROM audit_chain c WHERE c.event_id = e.id))
                AS unchained""",
        check,
        overdue,
    )
    c = counts[0]
    return (
        c["alerts"] == 0
        and c["crises"] == 3
        and c["unsent"] == 0
        and c["due"] == 0
        and c["reported"] == 3
        and c["unfanned"] == 0
        and c["undelivered"] == 0
        and received == c["events"]
        and c["unchained"] == 0
    )


def _outcomes(lines: list[dict[str, object]]) -> list[tuple[str, str]]:
    return [
        (str(line.get("job")), str(line.get("outcome")))
        for line in lines
        if line.get("msg") == "job ran"
    ]


async def _audit_chain_verifies(world: World) -> bool:
    import asyncio

    verify = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "service.cli",
        "audit",
        "verify",
        env=world.env(),
        cwd=ROOT,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    out, _ = await verify.communicate()
    print(out.decode().strip()[-300:])
    return verify.returncode == 0
