"""The audit chain: a keyed hash chain over the audit log, kept in a table of its own.

Writing an audit event stays as it was (no lock, no column to fill, bulk inserts unchanged): a
pass appends every event not yet chained, in id order, one link each in ``audit_chain``::

    hash_n = HMAC-SHA256(key, bytes(hash_{n-1}) || canonical(event_n))

An event committed late (a long transaction holding a lower id) is simply chained at a later
pass: the chain's order is the order the pass met the events, not their ids. ``verify`` walks the
links in ``seq`` order and recomputes each hash, so a changed event, a deleted one and a removed
or reordered link each break the chain at a link it names. Forging a chain needs the key, not
only the database (docs/decisions/0024-audit-chain.md).
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import random
import time
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Table, exists, func, insert, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from service.audit.models import AuditEvent, AuditLink
from service.db import is_unique_violation, utcnow
from service.settings import Settings

#: The ``prev_hash`` of the first link.
GENESIS = "0" * 64
#: Events chained per transaction, and links read per query when verifying.
BATCH = 5000
#: The columns an event's hash covers, in the canonical form. Every column of ``audit_events``:
#: a column added there must be added here too (a test holds the two lists equal), and old links
#: then verify only if the canonical form leaves the new column out while it is empty.
CANONICAL_COLUMNS = (
    "id", "at", "channel", "request_id", "token_id", "user_id", "organization_id", "role",
    "action", "outcome", "subject_type", "subject_id", "purpose", "detail",
)  # fmt: skip
#: The label the default key is derived under (see ``chain_key``).
KEY_LABEL = b"lifeline:audit-chain:v1"
#: Unique-key collisions in a row with another pass tolerated before giving up.
_COLLISIONS = 10

EVENTS: Table = AuditEvent.__table__  # type: ignore[attr-defined]
LINKS: Table = AuditLink.__table__  # type: ignore[attr-defined]


def chain_key(settings: Settings) -> bytes:
    """``LIFELINE_AUDIT_CHAIN_KEY`` when set; else HMAC-SHA256 of a label under the blind index
    key: a secret the database does not hold, distinct from the blind index key itself."""
    if settings.audit_chain_key:
        return settings.audit_chain_key.encode()
    return hmac.new(settings.blind_index_key.encode(), KEY_LABEL, hashlib.sha256).digest()


def _utc_text(value: datetime) -> str:
    if value.tzinfo is None:  # never from UTCDateTime; a plain read of SQLite's text would be
        value = value.replace(tzinfo=UTC)
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def canonical(event: Mapping[Any, Any]) -> bytes:
    """The stable bytes of one event, the same on SQLite and PostgreSQL: a JSON object of every
    column, keys sorted at every depth, no spaces, ASCII only; the id an integer, the time in
    ISO 8601 UTC with microseconds, the detail as the JSON value it decodes to (PostgreSQL's
    JSONB reorders keys and drops spaces; decoding and encoding again makes that moot)."""
    doc: dict[str, Any] = {}
    for name in CANONICAL_COLUMNS:
        value = event[name]
        if name == "id":
            value = int(value)
        elif name == "at":
            value = _utc_text(value)
        elif name == "detail" and isinstance(value, str | bytes):
            value = json.loads(value)
        doc[name] = value
    text = json.dumps(doc, sort_keys=True, separators=(",", ":"), ensure_ascii=True)
    return text.encode("ascii")


def link_hash(key: bytes, prev_hash: str, event: Mapping[Any, Any]) -> str:
    """The hash of the link that seals ``event`` after the link whose hash is ``prev_hash``."""
    return hmac.new(key, bytes.fromhex(prev_hash) + canonical(event), hashlib.sha256).hexdigest()


def _unchained() -> Any:
    return ~exists().where(LINKS.c.event_id == EVENTS.c.id)


@dataclass(frozen=True, slots=True)
class ChainRun:
    """What one chaining pass did."""

    chained: int
    head_seq: int
    head_hash: str
    #: Batches refused by a unique key (another pass chained first) and tried again.
    collisions: int


async def _head(engine: AsyncEngine) -> tuple[int, str]:
    async with engine.connect() as conn:
        row = (
            await conn.execute(
                select(LINKS.c.seq, LINKS.c.hash).order_by(LINKS.c.seq.desc()).limit(1)
            )
        ).first()
    return (int(row.seq), str(row.hash)) if row else (0, GENESIS)


class ChainRefused(Exception):
    """The chain's last link does not verify under the key at hand: links made now would
    verify under no key the chain has. Nothing is chained until the key is right again (or the
    tampering found and dealt with)."""


async def _tail(conn: AsyncConnection, key: bytes, *, check: bool) -> tuple[int, str]:
    """The last link's seq and hash; with ``check``, refuse (``ChainRefused``) a last link
    whose hash its event and ``key`` do not give."""
    tail = (
        (
            await conn.execute(
                select(LINKS.c.seq, LINKS.c.prev_hash, LINKS.c.hash, *EVENTS.c)
                .select_from(LINKS.outerjoin(EVENTS, EVENTS.c.id == LINKS.c.event_id))
                .order_by(LINKS.c.seq.desc())
                .limit(1)
            )
        )
        .mappings()
        .first()
    )
    if tail is None:
        return 0, GENESIS
    seq, digest = int(tail["seq"]), str(tail["hash"])
    if check and (
        tail["id"] is None
        or not hmac.compare_digest(link_hash(key, str(tail["prev_hash"]), tail), digest)
    ):
        raise ChainRefused(
            f"the audit chain's last link ({seq}) does not verify under this key: the key "
            "changed (LIFELINE_AUDIT_CHAIN_KEY, or the blind index key it is derived from) or "
            "the log was changed; nothing was chained. Put the chain's key back, or run "
            "`lifeline audit verify` to find the broken link"
        )
    return seq, digest


async def _chain_batch(
    engine: AsyncEngine, key: bytes, batch: int, after: int | None
) -> tuple[int, int | None]:
    """Chain the first ``batch`` events not yet chained (with an id over ``after``, when given):
    how many, and the id of the last. The first batch of a run (``after`` None) first checks
    that the last link verifies under ``key``: a changed key must not go on chaining."""
    async with engine.begin() as conn:
        seq, prev = await _tail(conn, key, check=after is None)
        query = select(EVENTS).where(_unchained())
        if after is not None:
            query = query.where(EVENTS.c.id > after)
        pending = (await conn.execute(query.order_by(EVENTS.c.id).limit(batch))).mappings()
        now, rows = utcnow(), []
        for event in pending:
            seq += 1
            digest = link_hash(key, prev, event)
            rows.append(
                {
                    "seq": seq,
                    "event_id": event["id"],
                    "prev_hash": prev,
                    "hash": digest,
                    "chained_at": now,
                }
            )
            prev = digest
        if rows:
            await conn.execute(insert(LINKS), rows)
        return len(rows), (int(rows[-1]["event_id"]) if rows else after)


async def chain_pending(engine: AsyncEngine, key: bytes, *, batch: int = BATCH) -> ChainRun:
    """Chain every event not yet chained, oldest id first, ``batch`` events per transaction.

    The first batch of a run looks at the whole log (it finds the events committed late, below
    ids already chained); the next ones look past the last id chained, through the primary key,
    so that a backlog of millions costs one full look, not one per batch. An event committed
    late during the run is found by the next run's first batch.

    Run by one process at a time (the worker's job holds a singleton lock), and safe without:
    a link's ``seq`` and its ``event_id`` are unique, so a pass that raced another loses its
    batch to a unique key, and tries again from the new tail; never a second link to an event,
    never two links of one seq.

    Refused (``ChainRefused``) when the last link does not verify under ``key``."""
    total = collisions = in_a_row = 0
    after: int | None = None
    while True:
        try:
            done, after = await _chain_batch(engine, key, batch, after)
        except IntegrityError as exc:
            # Lost a race: the other pass chained these events (or took this seq). Meanwhile
            # the chain grew, so try again from its new tail, unless it keeps happening.
            if not is_unique_violation(exc) or in_a_row >= _COLLISIONS:
                raise
            collisions += 1
            in_a_row += 1
            after = None
            await asyncio.sleep(random.uniform(0, 0.01 * in_a_row))  # noqa: S311 (not a secret)
            continue
        in_a_row = 0
        total += done
        if done < batch:
            break
    seq, digest = await _head(engine)
    return ChainRun(total, seq, digest, collisions)


@dataclass(frozen=True, slots=True)
class Verdict:
    """What ``verify`` found."""

    #: Links walked (all of them when intact; up to the broken one when not).
    chained: int
    #: Events with no link yet: the next pass chains them; the chain proves nothing of them.
    unchained: int
    seconds: float
    head_seq: int
    head_hash: str
    #: The first broken link, said in words; None when the chain is intact.
    broken: str | None = None
    broken_seq: int | None = None
    broken_event_id: int | None = None

    @property
    def intact(self) -> bool:
        return self.broken is None


async def verify(
    engine: AsyncEngine,
    key: bytes,
    *,
    batch: int = BATCH,
    anchor: tuple[int, str] | None = None,
) -> Verdict:
    """Walk the chain in ``seq`` order, recomputing each hash; stop at the first broken link.

    ``anchor``, a ``(seq, hash)`` recorded earlier outside the database (a past verify's head),
    must still be in the chain: it catches links cut from the tail and chained again."""
    started = time.monotonic()
    expected, prev, walked = 1, GENESIS, 0
    head_seq, head_hash = 0, GENESIS
    broken: tuple[str, int, int | None] | None = None
    query = (
        select(LINKS.c.seq, LINKS.c.event_id, LINKS.c.prev_hash, LINKS.c.hash, *EVENTS.c)
        .select_from(LINKS.outerjoin(EVENTS, EVENTS.c.id == LINKS.c.event_id))
        .order_by(LINKS.c.seq)
        .limit(batch)
    )
    while broken is None:
        async with engine.connect() as conn:
            rows = (await conn.execute(query.where(LINKS.c.seq >= expected))).mappings().all()
        if not rows:
            break
        for row in rows:
            seq, event_id = int(row["seq"]), int(row["event_id"])
            if seq != expected:
                broken = (
                    f"link {expected} is missing: the chain goes from link {expected - 1} to "
                    f"link {seq} (a link was removed)",
                    expected,
                    None,
                )
            elif row["prev_hash"] != prev:
                broken = (
                    f"link {seq} (event {event_id}) does not follow link {seq - 1}: its "
                    "prev_hash differs (a link was removed, replaced or reordered)",
                    seq,
                    event_id,
                )
            elif row["id"] is None:
                broken = (
                    f"link {seq}: event {event_id} is missing (the event was deleted)",
                    seq,
                    event_id,
                )
            elif not hmac.compare_digest(link_hash(key, prev, row), str(row["hash"])):
                broken = (
                    f"link {seq}: event {event_id} has changed (hash mismatch)",
                    seq,
                    event_id,
                )
            if broken is not None:
                break
            if anchor is not None and seq == anchor[0] and row["hash"] != anchor[1]:
                broken = (
                    f"link {seq} is not the anchor given: its hash differs (the chain was cut "
                    "and chained again from there)",
                    seq,
                    event_id,
                )
                break
            prev = str(row["hash"])
            head_seq, head_hash = seq, prev
            walked += 1
            expected += 1
        if len(rows) < batch:
            break
    if broken is None and anchor is not None and head_seq < anchor[0]:
        broken = (
            f"the chain ends at link {head_seq}, before the anchor's link {anchor[0]} (links "
            "were cut from its end)",
            head_seq + 1,
            None,
        )
    async with engine.connect() as conn:
        unchained = int(
            (
                await conn.execute(select(func.count()).select_from(EVENTS).where(_unchained()))
            ).scalar_one()
        )
    verdict = Verdict(
        chained=walked,
        unchained=unchained,
        seconds=time.monotonic() - started,
        head_seq=head_seq,
        head_hash=head_hash,
    )
    if broken is None:
        return verdict
    said, at_seq, at_event = broken
    return Verdict(
        chained=walked,
        unchained=unchained,
        seconds=verdict.seconds,
        head_seq=head_seq,
        head_hash=head_hash,
        broken=said,
        broken_seq=at_seq,
        broken_event_id=at_event,
    )
