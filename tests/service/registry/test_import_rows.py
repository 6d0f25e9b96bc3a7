"""The import's fast path and ``WorkerCreate`` agree: every row the fast path accepts,
WorkerCreate accepts with the same values; rows it declines go to WorkerCreate. And the rows
prepared in worker processes are the rows prepared in a thread, and a CSV file cut into pieces
reads as the whole file does."""

from __future__ import annotations

import csv
import io
import random
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from datetime import date

import pytest
from fastapi import FastAPI
from pydantic import ValidationError
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel.ext.asyncio.session import AsyncSession

from service.auth.principal import Principal
from service.db import (
    is_unique_violation,
    make_engine,
    make_sessionmaker,
    session_scope,
    utcnow,
)
from service.demo.synthetic import synthetic_csv
from service.errors import InvalidInput
from service.registry.bulk import import_workers
from service.registry.bulk_files import cells_of, read_pieces, read_rows, row_to_payload
from service.registry.bulk_store import ImportReport, Store
from service.registry.locate import default_locator
from service.registry.models import RegisterChange, Worker
from service.registry.protect import Protector
from service.registry.rows import Clean, Columns, RowMaker, clean_cells
from service.registry.schemas import WorkerCreate
from service.settings import Settings
from tests.conftest import Databases, settings_for
from tests.service.registry.test_register_import import HEADER, csv_file, good_rows

EXTRA = "country,international_protection,verified,stay_registered,accept_flagged_location"

# Each value is tried in its column of an otherwise good row.
SPELLINGS: dict[str, list[str]] = {
    "nationality": ["PHL", "phl", " PHL ", "PH", "ZZZ", "", "XKX"],
    "given_name": ["Maria", "", "María José", "Maria\u00a0", "\u200eMaria", "x" * 200, "x" * 201],
    "sex": ["F", "f", "X", "", "female"],
    "birth_date": ["1990-04-02", "", "1990-4-2", "19900402", "1899-12-31", "2990-01-01",
                   "1990-02-30", "1990-04-02T00:00:00"],
    "document_number": ["P123", "P1", "p 12-3", "", "x" * 41],
    "phone": ["+60123456789", "", "12", "+60 (12) 345-6789", "phone", "+" + "1" * 25],
    "languages": ["tl", "tl;en", "en;tl;en", "", ";", "tl;;en", "tagalog", "zh-Hant",
                  ";".join(["en"] * 11), "e1"],
    "sector": ["care", "", "Care", "piracy"],
    "employer": ["Acme", "", "x" * 201, "Acme\tSdn"],
    "lat": ["3.139", "-3", "3", "3.", ".5", "1e1", "nan", "inf", "91", "-90", "3_1", "", "+3"],
    "lon": ["101.6869", "180", "-180.0", "180.5", "0x10"],
    "accompanying_family": ["0", "2", "50", "51", "02", "-1", "", "2.0", "\u0662"],
    "vulnerabilities": ["pregnant", "", "elderly;disability", "elderly;elderly", "tired",
                        ";".join(["minor"] * 7)],
    "share_with_humanitarian": ["true", "false", "", "TRUE", "yes", "0", "1", "maybe"],
    "share_with_embassy": ["true", "false", "", "off"],
    "legal_basis": ["consent", "", "whim"],
    "source": ["ministry_import", "", "rumour"],
    "country": ["MYS", "mys", "", "QQQ"],
    "international_protection": ["true", "", "no"],
    "verified": ["1", "", "T"],
    "stay_registered": ["0", ""],
    "accept_flagged_location": ["true", ""],
}  # fmt: skip

BASE = {
    "nationality": "PHL",
    "given_name": "Maria",
    "family_name": "Santos",
    "sex": "F",
    "birth_date": "1990-04-02",
    "document_number": "P123456",
    "phone": "+60123456789",
    "languages": "tl;en",
    "sector": "domestic_work",
    "employer": "",
    "lat": "3.139",
    "lon": "101.6869",
    "accompanying_family": "1",
    "vulnerabilities": "pregnant",
    "share_with_humanitarian": "true",
    "share_with_embassy": "true",
    "legal_basis": "vital_interest",
    "source": "ministry_import",
    "country": "",
    "international_protection": "",
    "verified": "",
    "stay_registered": "",
    "accept_flagged_location": "",
}


def slow(header: list[str], cells: list[str]) -> Clean | None:
    try:
        return Clean.of(WorkerCreate.model_validate(row_to_payload(header, cells)))
    except ValidationError:
        return None


def agree(header: list[str], cells: list[str]) -> None:
    fast = clean_cells(cells, Columns.of(header), date.today())
    if fast is not None:
        assert fast == slow(header, cells), cells


def test_the_fast_path_accepts_only_what_workercreate_accepts_with_the_same_values() -> None:
    header = [*HEADER.split(","), *EXTRA.split(",")]
    tried = accepted = 0
    for name, values in SPELLINGS.items():
        for value in values:
            cells = [BASE[h] for h in header]
            cells[header.index(name)] = value
            agree(header, cells)
            tried += 1
            accepted += clean_cells(cells, Columns.of(header), date.today()) is not None
    assert 0 < accepted < tried  # both paths were exercised


def test_the_fast_path_agrees_on_a_synthetic_register_and_on_random_mixtures() -> None:
    header, rows = read_rows(synthetic_csv(500, seed=11), "register.csv")
    for _, cells in rows:
        agree(header, cells)
        assert clean_cells(cells, Columns.of(header), date.today()) is not None
    full = [*HEADER.split(","), *EXTRA.split(",")]
    rng = random.Random(7)
    for _ in range(2000):
        agree(full, [rng.choice(SPELLINGS.get(h, [BASE[h]])) for h in full])


# Fields that test where a record ends: quoted newlines and commas, doubled quotes, quotes
# that open nothing (in the middle or at the end of an unquoted field, after a space), both
# line ends, blank lines and non-ASCII text.
CSV_FIELDS = [
    "plain",
    '"a, b"',
    '"two\nlines"',
    '"say ""hi"""',
    'ab"c',
    'ab"',
    ' "x"',
    '""',
    '"\r\n"',
    "",
    "Peña",
    '"q"tail',
    '"""\n"""',
    '"',
    '"open\n',
]


def test_a_csv_file_in_pieces_reads_as_the_whole_file() -> None:
    """Random files, the header as random as the rows, with every line end (a lone CR too)
    and sometimes a byte order mark, cut into pieces of a few bytes: the same rows as ``csv``
    reading the whole file."""
    rng = random.Random(5)
    for trial in range(600):
        records = []
        for _ in range(rng.randint(1, 30)):
            fields = [rng.choice(CSV_FIELDS) for _ in range(rng.randint(0, 4))]
            records.append(",".join(fields) + rng.choice(["\n", "\r\n", "\r\n", "\n", "\r"]))
        text = "".join(records)
        if trial % 3 == 0:
            text = text.rstrip("\r\n")  # the last record without its line end
        content = ("\ufeff" if trial % 5 == 0 else "").encode() + text.encode()
        whole = list(csv.reader(io.StringIO(text, newline="")))
        for size in (1, 2, 7, 40, 1 << 19):
            if not whole or not whole[0]:
                with pytest.raises(InvalidInput, match="empty"):
                    read_pieces(content, "f.csv", size)
                continue
            header, pieces = read_pieces(content, "f.csv", size)
            rows = [cells for piece in pieces for cells in cells_of(piece)]
            assert [header, *rows] == [[h.strip() for h in whole[0]], *whole[1:]], (text, size)


def test_rows_seal_and_hash_like_the_protector() -> None:
    protector = Protector.from_settings(Settings())
    maker = RowMaker(protector, registered_by=None, companies={}, now=utcnow())
    header = HEADER.split(",")
    _, cells = next(iter(read_rows(csv_file(good_rows("SEAL")), "r.csv")[1]))
    clean = clean_cells(cells, Columns.of(header), date.today())
    assert clean is not None
    values = maker.values(clean, country="MYS", admin1="MY-14", flag=None)
    worker = Worker(**values)
    assert protector.open(worker, "given_name") == "Maria"
    assert protector.open(worker, "birth_date") == "1990-04-02"
    assert values["identity_hash"] == protector.identity_hash(
        nationality="PHL",
        document_number="seal-1",
        given_name=None,
        family_name=None,
        birth_date=None,
    )
    assert values["languages"] == ["en", "tl"]


@pytest.mark.parametrize("processes", [0, 1])
async def test_worker_processes_register_what_a_thread_registers(
    app: FastAPI, processes: int
) -> None:
    protector = Protector.from_settings(app.state.settings)
    rows = synthetic_csv(300, seed=processes + 20)
    actor = Principal.system("cli")

    async def run() -> tuple[int, int, int, int]:
        async with session_scope(app.state.sessionmaker) as session:
            report = await import_workers(
                session,
                actor=actor,
                protector=protector,
                locator=default_locator(),
                content=rows,
                filename="register.csv",
                processes=processes,
            )
        return report.created, report.updated, report.unchanged, report.rejected

    before = await count(app.state.sessionmaker)
    first = await run()
    assert first[0] > 250 and first[0] + first[3] == 300
    assert await run() == (0, 0, first[0], first[3])  # the same file twice: nothing new
    created, changes = await count(app.state.sessionmaker)
    assert created - before[0] == first[0]
    assert changes - before[1] == first[0]  # every new worker told to the exposure indexes


async def count(makers: async_sessionmaker[AsyncSession]) -> tuple[int, int]:
    async with session_scope(makers) as session:
        workers = (await session.exec(select(func.count()).select_from(Worker))).one()  # type: ignore[call-overload]
        changes = (await session.exec(select(func.count()).select_from(RegisterChange))).one()  # type: ignore[call-overload]
    return int(workers[0]), int(changes[0])


async def test_a_first_import_into_an_empty_register_counts_and_dedupes_alike(
    databases: Databases, backend: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An empty register skips the look-up of known people: the counts, the rejected repeats
    and the change records are those of the looked-up path, and the next import looks up."""
    async with _empty_register(databases, backend) as (makers, run):
        rows = good_rows("EMPTY")
        content = csv_file([*rows, rows[0].replace("+60123456789", "")])  # row 5 repeats row 2

        async def no_look_up(self: object, keys: list[str]) -> list[str]:
            raise AssertionError("an empty register has nobody to look up")

        with monkeypatch.context() as patched:
            patched.setattr(Store, "_known", no_look_up)
            report = await run(content)
        assert (report.created, report.unchanged, report.rejected) == (3, 0, 1)
        assert report.errors == [{"row": 5, "msg": "repeats the person of row 2"}]
        assert await count(makers) == (3, 3)
        again = await run(content)  # now the register is not empty: it looks up
        assert (again.created, again.unchanged, again.rejected) == (0, 3, 1)


async def test_a_person_registered_during_a_first_import_is_not_registered_twice(
    databases: Databases, backend: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The register is empty when the import starts; another request registers one of its people
    before its first write. PostgreSQL undoes the batch to its savepoint and places it again with
    the look-up; SQLite (one writer) refuses the import whole. Never two records of one person."""
    async with _empty_register(databases, backend) as (makers, run):
        rows = good_rows("MEANWHILE")
        begin = Store.begin
        raced: list[bool] = []

        async def begin_then_someone_registers(self: Store) -> None:
            await begin(self)
            if not raced:  # the import under test, not the registration inside it
                raced.append(True)
                assert self.probe is False
                assert (await run(csv_file(rows[1:2]))).created == 1

        with monkeypatch.context() as patched:
            patched.setattr(Store, "begin", begin_then_someone_registers)
            if backend == "postgresql":
                report = await run(csv_file(rows))
                assert (report.created, report.unchanged, report.rejected) == (2, 1, 0)
            else:
                with pytest.raises(IntegrityError) as refused:
                    await run(csv_file(rows))
                assert is_unique_violation(refused.value)
        assert (await count(makers))[0] == (3 if backend == "postgresql" else 1)


Runner = Callable[[bytes], Awaitable[ImportReport]]


@asynccontextmanager
async def _empty_register(
    databases: Databases, backend: str
) -> AsyncIterator[tuple[async_sessionmaker[AsyncSession], Runner]]:
    """A new database of the backend's kind, migrated, and a function importing a file into it."""
    url = await databases.create(backend)
    engine = make_engine(url)
    try:
        makers = make_sessionmaker(engine)
        yield makers, _runner(makers, Protector.from_settings(settings_for(url)))
    finally:
        await engine.dispose()


def _runner(makers: async_sessionmaker[AsyncSession], protector: Protector) -> Runner:
    async def run(content: bytes) -> ImportReport:
        async with session_scope(makers) as session:
            return await import_workers(
                session,
                actor=Principal.system("cli"),
                protector=protector,
                locator=default_locator(),
                content=content,
                filename="register.csv",
            )

    return run
