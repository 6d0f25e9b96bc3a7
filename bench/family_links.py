"""Restoring Family Links on PostgreSQL, through HTTP against the real service (two API processes).

    python bench/family_links.py                  # 1,000,000 workers, 100,000 listings
    python bench/family_links.py --quick          # 100,000 workers, 10,000 listings

A register of ``--workers`` people in Malaysia is imported in this process (``import_workers``,
sealing included) from a CSV made here: names drawn from name lists of the corridors (Indonesian,
Nepali, Bangladeshi, Myanmar, Filipino, Thai), the first names of each list far more common than
the last (weights 1/rank), so that many people share a common name, as in reality; birth dates
(ages 19-57) and Malaysian mobile numbers. ``--listings`` of them, drawn at random, are listed
safe and well, written directly in SQL (``COPY``) with the service's own key function
(``service.family_links.service.listing_keys`` under the deployment's ``Protector``), as
``POST /safe-and-well`` would write them.

1. Safe-and-well search: ``--searches`` ``POST /api/v1/safe-and-well/search`` by ``--clients``
   clients at once, half for listed people with the right birth date, half with the right name
   and a wrong birth date (checked to be no listing's key); each client has an address of its
   own (127.0.0.x) and a token of its own, and the per-address limit is raised for this part
   (``LIFELINE_SAFE_WELL_SEARCH_RATE=100``, ``LIFELINE_SAFE_WELL_SEARCH_BURST=10000``).
   Asserted: every right search found, every wrong one not. Baseline: ``/healthz`` by the same
   clients, same count.
2. Enumeration: ``--enumeration`` searches of names of the register with a wrong second fact
   (a wrong birth date, or the phone of someone else), on the same raised limit: all must answer
   ``found: false``. Then, on a second server with the default limit (two processes), from four
   addresses (a token each), ``--probes`` searches each, a new connection each: how many are
   answered before the first 429, and in all.
3. Tracing match: the name index built in this process (``index_names`` until it returns 0:
   workers a second, keys a worker, ``pg_total_relation_size``), then ``--tracing``
   ``POST /api/v1/tracing-requests`` one at a time, filed by the national society of the sought
   person's nationality (a ``society_responder`` token), host country Malaysia, a one-letter
   change in the longest name token of a registered person and their birth year: p50/p95, and
   whether that person is among the candidates (recall).

Correctness is asserted; times are printed against their targets, never asserted. ``--keep``
leaves the database for a look; otherwise it is dropped at the end.
"""

from __future__ import annotations

import argparse
import asyncio
import csv
import io
import json
import os
import random
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import asyncpg  # noqa: E402
import httpx  # noqa: E402

from bench.common import NO_REQUEST_LIMITS, Table, wait_until_ready  # noqa: E402
from bench.repatriation import Cpu, Run  # noqa: E402

PG = os.environ.get("BENCH_POSTGRES", "postgresql://postgres@127.0.0.1:5432")
DB = "bench_family_links"
URL = f"postgresql+asyncpg://{PG.split('://', 1)[1]}/{DB}"
#: The API with the search limit raised, and the API with the default limit.
PORT, LIMITED_PORT = 8791, 8792
ORG = "bench-fl-coordination"
HOST = "MYS"
SEED = 11

# --- names of the corridors ----------------------------------------------------------------
# Common names as passports spell them, typed in from general knowledge to make synthetic
# people look plausible; not a sample of any population. Earlier names are drawn more often.

_PHL_F = ("Maria Mary Grace Jennifer Michelle Rose Ana Kristine Maricel Marites Lorna Jocelyn "
          "Rowena Cristina Elena Rosalie Analyn Jovelyn Marilou Lovely Joy Angelica Sheila "
          "Gemma Liza Marjorie Girlie Rachelle Aileen")  # fmt: skip
_PHL_M = ("Jose Mark Michael Juan Ramon Rodel Jomar Ricardo Eduardo Reynaldo Romeo Arnel "
          "Jerome Christian Ronald Danilo Rogelio Jayson Renato Joel Noel Alvin Efren Benjie "
          "Dennis Paul John")  # fmt: skip
_PHL_FAMILY = ("Santos;Reyes;Cruz;Bautista;Ocampo;Garcia;Mendoza;Torres;Dela Cruz;Gonzales;"
               "Lopez;Flores;Ramos;Villanueva;Castillo;Aquino;Navarro;Fernandez;Domingo;Rivera;"
               "Mercado;Pascual;Del Rosario;Soriano;Manalo;Dizon;Salazar;Tolentino;Valdez;"
               "Aguilar;Santiago;De Leon")  # fmt: skip
_IDN_F = ("Siti Sri Dewi Nur Rina Wati Lestari Ani Yuni Fitri Ratna Endang Sumarni Indah "
          "Wahyuni Aminah Nurhayati Susilawati Yanti Puji Kartini Tri Eka Rahayu Sulastri "
          "Suwarni Murni Ernawati")  # fmt: skip
_IDN_M = ("Agus Budi Joko Slamet Bambang Eko Hendra Rudi Ahmad Dedi Andi Yusuf Wahyu Iwan "
          "Muhammad Sutrisno Supriyadi Sugeng Heru Darmawan Rahmat Hadi Teguh Ari Bayu Dwi "
          "Suparman")  # fmt: skip
_IDN_FAMILY = ("Wijaya Saputra Santoso Susanto Hidayat Setiawan Kurniawan Pratama Nugroho "
               "Siregar Hasibuan Lubis Sitompul Gunawan Purnomo Prasetyo Hartono Suryadi "
               "Rahman Syahputra Simanjuntak Nasution Harahap Sihombing Wibowo Utomo Sulistyo "
               "Permana")  # fmt: skip
_THA_F = ("Malee Siriporn Nittaya Sunisa Kanya Pranee Wanida Supaporn Ratana Somsri Jintana "
          "Kanokwan Pimchanok Orathai Duangjai Kannika Lamai Arunee Chutima Naree Suda Wilai "
          "Anong")  # fmt: skip
_THA_M = ("Somchai Somsak Surachai Prasert Sombat Anan Wichai Chaiwat Somkiat Boonsong "
          "Thawatchai Kittisak Nattapong Sakda Apichat Manop Wirat Pichit Chalerm Narong "
          "Sompong Yutthana")  # fmt: skip
#: Thai family names are many and long: made of two common parts.
_THA_FIRST = "Sri Wong Chai Suk Thong Kaew Boon Saeng Phrom Rat Charoen Kitti Siri Nak"
_THA_SECOND = "sawat suk chai thong wong sri pan rak kul siri phan det sombat"
_MMR_F = ("Aye Thida Su May Nilar Hnin Ei Moe Yin Sandar Thandar Phyu Khin Nyein Thet Wai "
          "Zin Mar Cho Myat Hla")  # fmt: skip
_MMR_M = ("Aung Kyaw Zaw Min Htet Soe Thura Naing Tun Myo Win Oo Htun Myint Lwin Thein Maung "
          "Hlaing Phyo Hein Ko Nyi Thant Sein")  # fmt: skip
_NPL_F = ("Sita Gita Sarita Sunita Anita Kamala Laxmi Radha Maya Sabina Puja Srijana Manisha "
          "Bimala Sushila Rita Parbati Durga Kopila Mina Sangita Usha")  # fmt: skip
_NPL_M = ("Ram Shyam Hari Krishna Bishnu Gopal Raju Suman Bikash Dipak Ramesh Suresh Santosh "
          "Prakash Binod Dinesh Rajesh Arjun Kiran Bhim Dil Prem")  # fmt: skip
_NPL_FAMILY = ("Thapa Magar Gurung Tamang Rai Limbu Shrestha Sharma Adhikari Karki Khadka "
               "Bhandari Poudel Basnet Chaudhary Yadav Bhattarai Ghimire Sapkota Shah Lama "
               "Sherpa Thakuri Bista Dahal Pandey Khatri Oli")  # fmt: skip
_BGD_F = ("Fatema Nasrin Shirin Rehana Ayesha Sumaiya Jannatul Rokeya Shahana Parvin Taslima "
          "Khadija Nusrat Salma Rahima Hasina Morjina Rupa Sharmin Shilpi")  # fmt: skip
_BGD_M = ("Mohammad Abdul Rahim Karim Shahidul Rafiqul Aminul Jahangir Mizanur Habibur Anwar "
          "Kamal Sohel Jamal Alamgir Shafiqul Nazrul Monir Rubel Sumon Shahin Masud Jewel "
          "Liton Mamun Faruk")  # fmt: skip
_BGD_FAMILY = ("Rahman Hossain Islam Ahmed Uddin Miah Sarker Chowdhury Khan Alam Haque Molla "
               "Talukder Bhuiyan Mondal Sheikh Ali Hasan Mahmud Kabir Karim Sikder Howlader "
               "Biswas")  # fmt: skip


def _list(text: str, sep: str = " ") -> tuple[str, ...]:
    return tuple(t.strip() for t in text.split(sep) if t.strip())


#: The nationalities of Malaysia's register here, and their shares.
CORRIDORS = {"IDN": 0.38, "NPL": 0.18, "BGD": 0.18, "MMR": 0.12, "PHL": 0.08, "THA": 0.06}


class Namer:
    """Draws a person's (given, family, sex) of a nationality, common names first."""

    def __init__(self, rng: random.Random) -> None:
        self.rng = rng
        thai = [a + b for a in _list(_THA_FIRST) for b in _list(_THA_SECOND)]
        self.lists = {
            ("PHL", "F"): _list(_PHL_F), ("PHL", "M"): _list(_PHL_M),
            ("PHL", "family"): _list(_PHL_FAMILY, ";"),
            ("IDN", "F"): _list(_IDN_F), ("IDN", "M"): _list(_IDN_M),
            ("IDN", "family"): _list(_IDN_FAMILY),
            ("THA", "F"): _list(_THA_F), ("THA", "M"): _list(_THA_M), ("THA", "family"): thai,
            ("MMR", "F"): _list(_MMR_F), ("MMR", "M"): _list(_MMR_M),
            ("NPL", "F"): _list(_NPL_F), ("NPL", "M"): _list(_NPL_M),
            ("NPL", "family"): _list(_NPL_FAMILY),
            ("BGD", "F"): _list(_BGD_F), ("BGD", "M"): _list(_BGD_M),
            ("BGD", "family"): _list(_BGD_FAMILY),
        }  # fmt: skip
        self.weights = {
            k: [1 / (rank + 1) for rank in range(len(v))]
            for k, v in self.lists.items()
            if k != ("THA", "family")  # Thai family names are spread evenly
        }

    def pick(self, nationality: str, part: str) -> str:
        options = self.lists[(nationality, part)]
        weights = self.weights.get((nationality, part))
        return self.rng.choices(options, weights)[0] if weights else self.rng.choice(options)

    def person(self, nationality: str) -> tuple[str, str, str]:
        r, sex = self.rng.random, "F" if self.rng.random() < 0.45 else "M"
        given = self.pick(nationality, sex)
        if nationality == "MMR":  # no family name: two or three parts of a given name
            parts = [given] + [self.pick("MMR", sex) for _ in range(1 if r() < 0.7 else 2)]
            return " ".join(parts), "", sex
        if nationality == "PHL" and r() < 0.35:  # two given names
            given = f"{given} {self.pick('PHL', sex)}"
        if nationality == "BGD" and sex == "M" and r() < 0.5:
            given = f"Md {given}"
        if nationality == "IDN" and r() < 0.3:  # one name only
            return given, "", sex
        if nationality == "BGD" and sex == "F" and r() < 0.4:
            return given, "Akter" if r() < 0.6 else "Begum", sex
        return given, self.pick(nationality, "family"), sex


#: Inland cities of Malaysia and their weights: (lat, lon, weight).
CITIES = [(3.139, 101.687, 5), (3.073, 101.519, 2), (2.730, 101.938, 1), (4.598, 101.090, 1)]


def register_csv(n: int, seed: int) -> bytes:
    rng = random.Random(seed)
    namer = Namer(rng)
    nationalities = list(CORRIDORS)
    shares = list(CORRIDORS.values())
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(
        ["nationality", "given_name", "family_name", "sex", "birth_date", "document_number",
         "phone", "lat", "lon", "share_with_humanitarian", "share_with_embassy",
         "legal_basis", "source"]
    )  # fmt: skip
    nats = rng.choices(nationalities, shares, k=n)
    cities = rng.choices(CITIES, [c[2] for c in CITIES], k=n)
    for i in range(n):
        nationality = nats[i]
        given, family, sex = namer.person(nationality)
        lat, lon, _ = cities[i]
        born = f"{2026 - rng.randint(19, 57)}-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}"
        writer.writerow(
            [nationality, given, family, sex, born, f"{nationality[0]}F{i:09d}",
             f"+601{rng.choice('2346789')}{rng.randint(0, 9_999_999):07d}",
             f"{lat + rng.gauss(0, 0.03):.5f}", f"{lon + rng.gauss(0, 0.03):.5f}",
             "true", "true", "vital_interest", "ministry_import"]
        )  # fmt: skip
    return out.getvalue().encode()


# --- seeding -------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Person:
    id: str
    nationality: str
    given: str
    family: str
    birth_date: str
    phone: str | None

    @property
    def full_name(self) -> str:
        return f"{self.given} {self.family}".strip()


@dataclass
class Seeded:
    listed: list[Person]
    others: list[Person]
    #: Every listing key written: a search's key in it is found.
    keys: set[str]
    search_tokens: list[str]
    probe_tokens: list[str]
    society_tokens: dict[str, str]


async def admin(sql: str) -> None:
    conn = await asyncpg.connect(PG + "/postgres")
    try:
        await conn.execute(sql)
    finally:
        await conn.close()


async def make_orgs(clients: int) -> tuple[list[str], list[str], dict[str, str]]:
    """The coordination organisation (it imports; its tokens search) and the national
    societies of the host and of each origin (their responders file tracing requests)."""
    from service.auth.service import hash_token

    conn = await asyncpg.connect(f"{PG}/{DB}")
    org_sql = (
        "INSERT INTO organizations (id, slug, name, kind, country, jurisdiction, acts_for, "
        "created_at, updated_at, version) VALUES ($1, $1, $2, $3, $4, '[]', '[]', now(), now(), 1)"
    )
    token_sql = (
        "INSERT INTO api_tokens (id, organization_id, role, name, token_hash, prefix, created_at) "
        "VALUES ($1, $2, $3, 'bench', $4, 'll_bench', now())"
    )
    await conn.execute(org_sql, ORG, "Bench coordination", "international_org", HOST)
    search, probe, society = [], [], {}
    for kind, n, out in (("search", clients, search), ("probe", 4, probe)):
        for i in range(n):
            token = f"ll_bench-fl-{kind}-{i}"
            await conn.execute(token_sql, f"bench-fl-{kind}-{i}", ORG, "coordinator",
                               hash_token(token))  # fmt: skip
            out.append(token)
    for country in [HOST, *CORRIDORS]:
        org = f"bench-fl-society-{country.lower()}"
        await conn.execute(org_sql, org, f"Red Cross {country}", "national_society", country)
        token = f"ll_bench-fl-society-{country.lower()}"
        await conn.execute(token_sql, org, org, "society_responder", hash_token(token))
        society[country] = token
    await conn.close()
    return search, probe, society


async def seed(args: argparse.Namespace) -> Seeded:
    from sqlmodel import col, select

    from service.auth.permissions import Role
    from service.auth.principal import Principal
    from service.db import (
        insert_rows,
        make_engine,
        make_sessionmaker,
        new_id,
        session_scope,
        utcnow,
    )
    from service.family_links.models import ListingKey, SafeWellListing
    from service.family_links.service import listing_keys
    from service.migrate import upgrade
    from service.registry.bulk import import_workers
    from service.registry.locate import default_locator
    from service.registry.models import Worker
    from service.registry.protect import Protector
    from service.settings import Settings

    await admin(f"DROP DATABASE IF EXISTS {DB} WITH (FORCE)")
    await admin(f"CREATE DATABASE {DB}")
    engine = make_engine(URL)
    await upgrade(engine)
    search_tokens, probe_tokens, society = await make_orgs(args.clients)
    protector = Protector.from_settings(Settings(database_url=URL))
    t = time.perf_counter()
    content = register_csv(args.workers, SEED)
    made = time.perf_counter() - t
    actor = Principal(organization_id=ORG, role=Role.COORDINATOR, channel="cli")
    maker = make_sessionmaker(engine)
    t = time.perf_counter()
    async with session_scope(maker) as session:
        report = await import_workers(
            session,
            actor=actor,
            protector=protector,
            locator=default_locator(),
            content=content,
            filename="register.csv",
        )
    seconds = time.perf_counter() - t
    print(
        f"  register: {args.workers:,} rows made in {made:.1f} s; {report.created:,} imported "
        f"in {seconds:.1f} s ({report.created / seconds:,.0f}/s, sealing included)"
    )
    # The listed, and the people whose names the enumeration and the tracing requests use.
    wanted = args.listings + max(args.tracing, 2000)
    conn = await asyncpg.connect(f"{PG}/{DB}")
    pks = [r[0] for r in await conn.fetch("SELECT pk FROM workers ORDER BY random() LIMIT $1",
                                          wanted)]  # fmt: skip
    await conn.close()
    t = time.perf_counter()
    people: list[Person] = []
    listings: list[dict[str, Any]] = []
    key_rows: list[dict[str, Any]] = []
    keys: set[str] = set()
    async with session_scope(maker) as session:
        for start in range(0, len(pks), 5000):
            chunk = pks[start : start + 5000]
            workers = (await session.exec(select(Worker).where(col(Worker.pk).in_(chunk)))).all()
            for worker in workers:
                person = Person(
                    worker.id,
                    worker.nationality,
                    protector.open(worker, "given_name") or "",
                    protector.open(worker, "family_name") or "",
                    protector.open(worker, "birth_date") or "",
                    protector.open(worker, "phone"),
                )
                people.append(person)
                if len(listings) >= args.listings:
                    continue
                listing_id = new_id()
                found = listing_keys(protector, worker, home_town=None)
                listings.append(
                    {
                        "id": listing_id,
                        "worker_id": worker.id,
                        "record_id": None,
                        "name_sealed": None,
                        "home_town_sealed": None,
                        "crisis_id": None,
                        "state": "listed",
                        "message_sealed": protector.sealer.seal(
                            "I am safe, do not worry.", record_id=listing_id, field="message"
                        ),
                        "agreed_via": "call",
                        "agreed_by": "bench",
                        "listed_at": utcnow(),
                        "ended_at": None,
                        "ended_by": None,
                        "exercise": True,
                        "version": 1,
                    }
                )
                key_rows += [{"key": k, "listing_id": listing_id} for k in sorted(found)]
                keys |= found
        connection = await session.connection()
        await insert_rows(connection, SafeWellListing.__table__, listings)  # type: ignore[attr-defined]
        await insert_rows(connection, ListingKey.__table__, key_rows)  # type: ignore[attr-defined]
    await engine.dispose()
    print(
        f"  {len(listings):,} listings and their {len(key_rows):,} keys written in SQL "
        f"(listing_keys, COPY) in {time.perf_counter() - t:.1f} s"
    )
    # Right after a bulk load the planner has no statistics (autovacuum gathers them later):
    # the search's plan then, and after ANALYZE, as a database that has run a while has it.
    conn = await asyncpg.connect(f"{PG}/{DB}")
    plan = (
        "EXPLAIN (ANALYZE, FORMAT JSON) SELECT l.* FROM safe_well_listings l JOIN safe_well_keys "
        "k ON k.listing_id = l.id WHERE k.key = $1 AND l.state = 'listed' ORDER BY l.listed_at DESC"
    )
    before = json.loads(await conn.fetchval(plan, key_rows[0]["key"]))[0]["Execution Time"]
    await conn.execute("ANALYZE")
    after = json.loads(await conn.fetchval(plan, key_rows[0]["key"]))[0]["Execution Time"]
    await conn.close()
    print(f"  the search's query: {before:.2f} ms before ANALYZE, {after:.2f} ms after")
    listed = people[: len(listings)]
    return Seeded(listed, people[len(listings) :], keys, search_tokens, probe_tokens, society)


# --- load ----------------------------------------------------------------------------------


def client(port: int, token: str, address: str, *, keep_alive: bool = True) -> httpx.AsyncClient:
    """A client of its own connection pool from its own address (127.0.0.x: one address a
    relative); its idle connections close before the server's keep-alive of 5 s would."""
    limits = httpx.Limits(
        max_connections=1,
        max_keepalive_connections=1 if keep_alive else 0,
        keepalive_expiry=2.0,
    )
    return httpx.AsyncClient(
        base_url=f"http://127.0.0.1:{port}",
        timeout=60,
        headers={"Authorization": f"Bearer {token}"},
        transport=httpx.AsyncHTTPTransport(local_address=address, limits=limits),
    )


Send = Callable[[httpx.AsyncClient, int], Awaitable[httpx.Response]]


async def closed_load(
    n: int, clients: list[httpx.AsyncClient], send: Send, check: Callable[[int, Any], None]
) -> Run:
    """Requests 0..n-1, each taken by the next free client; ``check(i, response)``."""
    run, queue = Run(), iter(range(n))

    async def loop(c: httpx.AsyncClient) -> None:
        for i in queue:
            t = time.perf_counter()
            try:
                response = await send(c, i)
                status = response.status_code
            except httpx.TransportError:
                response, status = None, 0
            run.add(status, time.perf_counter() - t)
            check(i, response)

    t = time.perf_counter()
    await asyncio.gather(*(loop(c) for c in clients))
    run.seconds = time.perf_counter() - t
    return run


def wrong_date(rng: random.Random, birth_date: str) -> str:
    day = date.fromisoformat(birth_date) + timedelta(days=rng.choice([-1, 1]) * rng.randint(1, 400))
    return day.isoformat()


def lookup(protector: Any, name: str, kind: str, value: str) -> str | None:
    from service.family_links import names
    from service.family_links.service import mac

    return names.lookup_key(mac(protector), [name], kind, value)


def protector() -> Any:
    from service.registry.protect import Protector
    from service.settings import Settings

    return Protector.from_settings(Settings(database_url=URL))


async def searching(args: argparse.Namespace, seeded: Seeded, table: Table) -> None:
    print(f"## 1. Safe-and-well search: {args.searches:,} searches, {args.clients} clients")
    rng, protect = random.Random(SEED + 1), protector()
    queries: list[tuple[dict[str, str], bool]] = []
    while len(queries) < args.searches:
        person = rng.choice(seeded.listed)
        if len(queries) % 2 == 0:
            queries.append(({"full_name": person.full_name, "birth_date": person.birth_date}, True))
            continue
        wrong = wrong_date(rng, person.birth_date)
        if lookup(protect, person.full_name, "birth_date", wrong) not in seeded.keys:
            queries.append(({"full_name": person.full_name, "birth_date": wrong}, False))
    clients = [
        client(PORT, token, f"127.0.0.{10 + i}") for i, token in enumerate(seeded.search_tokens)
    ]
    wrong_answers: list[str] = []

    def check(i: int, response: httpx.Response | None) -> None:
        want = queries[i][1]
        if response is None or response.status_code != 200:
            wrong_answers.append(f"{response.status_code if response else 'no answer'}")
        elif response.json()["found"] is not want:
            wrong_answers.append(f"found={not want} for {'right' if want else 'wrong'} date")

    def none(i: int, response: Any) -> None:
        pass

    healthz: Send = lambda c, i: c.get("/healthz")  # noqa: E731
    await closed_load(min(2000, args.searches), clients, healthz, none)  # warm up
    cpu = Cpu(args.server_pid)
    base = await closed_load(args.searches, clients, healthz, none)
    print(base.line(f"/healthz, {args.clients} clients (baseline)"))
    print(f"    {cpu.per_request(args.searches)}")
    cpu = Cpu(args.server_pid)
    run = await closed_load(
        args.searches,
        clients,
        lambda c, i: c.post("/api/v1/safe-and-well/search", json=queries[i][0]),
        check,
    )
    for c in clients:
        await c.aclose()
    print(run.line(f"POST /safe-and-well/search, {args.clients} clients"))
    print(f"    {cpu.per_request(args.searches)}")
    print(
        f"    {run.statuses}; p95 {run.pct(95) / base.pct(95):.1f} × /healthz's p95, "
        f"{run.rate / base.rate:.2f} × its rate; wrong answers {len(wrong_answers)} "
        f"{wrong_answers[:5] or ''}"
    )
    right = sum(1 for _, want in queries if want)
    table.correct("search: wrong answers (right found, wrong not)", 0, len(wrong_answers))
    table.target("search: right / wrong birth date sent", "", f"{right:,} / {len(queries) - right:,}", True)  # fmt: skip
    table.target(
        "search: p95",
        "< 50 ms",
        f"{run.pct(95):.1f} ms ({run.pct(95) / base.pct(95):.1f} × /healthz {base.pct(95):.1f})",
        run.pct(95) < 50,
    )
    table.target("search: p50 / p99", "", f"{run.pct(50):.1f} / {run.pct(99):.1f} ms", True)
    table.target("search: rate", "", f"{run.rate:,.0f}/s (/healthz {base.rate:,.0f}/s)", True)


def enumeration_queries(n: int, seeded: Seeded) -> list[dict[str, str]]:
    """Names of the register with a wrong second fact: a wrong birth date, or another's phone."""
    rng, protect = random.Random(SEED + 2), protector()
    people = seeded.listed + seeded.others
    phones = [p.phone for p in people if p.phone]
    out: list[dict[str, str]] = []
    while len(out) < n:
        person = rng.choice(people)
        if rng.random() < 0.5:
            kind, value = "birth_date", wrong_date(rng, person.birth_date)
        else:
            kind, value = "phone", rng.choice(phones)
            if value == person.phone:
                continue
        if lookup(protect, person.full_name, kind, value) not in seeded.keys:
            out.append({"full_name": person.full_name, kind: value})
    return out


async def enumeration(args: argparse.Namespace, seeded: Seeded, table: Table) -> None:
    print(
        f"## 2. Enumeration: {args.enumeration:,} names with a wrong fact, {args.clients} clients"
    )
    queries = enumeration_queries(args.enumeration, seeded)
    revealed, other = 0, 0

    def check(i: int, response: httpx.Response | None) -> None:
        nonlocal revealed, other
        if response is None or response.status_code != 200:
            other += 1
        elif response.json()["found"]:
            revealed += 1

    clients = [
        client(PORT, token, f"127.0.0.{10 + i}") for i, token in enumerate(seeded.search_tokens)
    ]
    run = await closed_load(
        len(queries),
        clients,
        lambda c, i: c.post("/api/v1/safe-and-well/search", json=queries[i]),
        check,
    )
    for c in clients:
        await c.aclose()
    print(run.line("enumeration, the limit raised"))
    print(f"    {run.statuses}; revealed {revealed}, answers other than 200 {other}")
    table.correct("enumeration: revealed (found=true)", 0, revealed)
    table.correct("enumeration: answered 200", len(queries), run.statuses.get(200, 0))
    table.target("enumeration: rate, limit raised", "", f"{run.rate:,.0f}/s", True)

    # The default limit: each address alone, one search after another, a new connection each.
    print(f"  the default limit (two processes): {args.probes} searches from each of 4 addresses")
    firsts, answered, limited, leaked = [], [], [], 0
    for a, token in enumerate(seeded.probe_tokens):
        first_429, ok, refused = None, 0, 0
        async with client(LIMITED_PORT, token, f"127.0.1.{10 + a}", keep_alive=False) as c:
            for i in range(args.probes):
                response = await c.post(
                    "/api/v1/safe-and-well/search",
                    json=queries[(a * args.probes + i) % len(queries)],
                )
                if response.status_code == 429:
                    refused += 1
                    first_429 = i if first_429 is None else first_429
                elif response.status_code == 200:
                    ok += 1
                    leaked += bool(response.json()["found"])
        print(
            f"    address {a + 1}: answered {ok} (before the first 429: "
            f"{first_429 if first_429 is not None else 'all'}), refused 429 {refused}"
        )
        firsts.append(first_429 if first_429 is not None else args.probes)
        answered.append(ok)
        limited.append(refused)
    table.correct("enumeration, default limit: revealed", 0, leaked)
    table.target(
        "enumeration, default limit: answered before the first 429, per address",
        "a burst (10)",
        " / ".join(str(f) for f in firsts),
        True,
    )
    table.target(
        f"enumeration, default limit: answered / refused of {args.probes}, per address",
        "",
        " / ".join(f"{a}+{r}" for a, r in zip(answered, limited, strict=True)),
        True,
    )


def misspelt(rng: random.Random, person: Person) -> tuple[str, str] | None:
    """The person's given and family names with one letter of their longest token changed."""
    parts = [person.given, person.family]
    words = [(p, w) for p in range(2) for w, word in enumerate(parts[p].split()) if len(word) >= 4]
    if not words:
        return None
    p, w = max(words, key=lambda pw: len(parts[pw[0]].split()[pw[1]]))
    split = parts[p].split()
    word = split[w]
    at = rng.randrange(1, len(word))
    letters = (
        [c for c in "aeiou" if c != word[at].lower()]
        if word[at].lower() in "aeiou"
        else [c for c in "bdgklmnrst" if c != word[at].lower()]
    )
    split[w] = word[:at] + rng.choice(letters) + word[at + 1 :]
    parts[p] = " ".join(split)
    return parts[0], parts[1]


async def tracing(args: argparse.Namespace, seeded: Seeded, table: Table) -> None:
    from service.db import make_engine, make_sessionmaker, session_scope
    from service.family_links.service import index_names

    print(f"## 3. Tracing: the name index, then {args.tracing} tracing requests, one at a time")
    engine = make_engine(URL)
    maker = make_sessionmaker(engine)
    protect, indexed = protector(), 0
    t = time.perf_counter()
    while True:
        async with session_scope(maker) as session:
            done = await index_names(session, protect)
        if done == 0:
            break
        indexed += done
    seconds = time.perf_counter() - t
    await engine.dispose()
    conn = await asyncpg.connect(f"{PG}/{DB}")
    # Statistics, as autovacuum would gather them in time: without them (an autoanalyze made
    # while the table was filling) the match's two look-ups are sequential scans.
    t = time.perf_counter()
    await conn.execute("ANALYZE worker_name_keys")
    print(f"  ANALYZE worker_name_keys: {time.perf_counter() - t:.1f} s")
    keys = await conn.fetchval("SELECT count(*) FROM worker_name_keys")
    size = await conn.fetchval("SELECT pg_total_relation_size('worker_name_keys')")
    print(
        f"  index_names: {indexed:,} workers in {seconds:.1f} s ({indexed / seconds:,.0f}/s), "
        f"{keys:,} keys ({keys / max(indexed, 1):.1f} a worker), worker_name_keys "
        f"{size / 1e6:,.0f} MB with its indexes"
    )
    table.target("index: workers indexed a second", "", f"{indexed / seconds:,.0f}/s ({seconds:.0f} s)", True)  # fmt: skip
    table.target("index: keys a worker / table size", "", f"{keys / max(indexed, 1):.1f} / {size / 1e6:,.0f} MB", True)  # fmt: skip

    rng = random.Random(SEED + 3)
    sought: list[tuple[Person, str, str]] = []
    for person in seeded.others:
        changed = misspelt(rng, person)
        if changed is not None:
            sought.append((person, *changed))
        if len(sought) == args.tracing:
            break
    run, found, counts, cpu = Run(), 0, [], Cpu(args.server_pid)
    clients = {
        country: client(PORT, token, "127.0.0.2")
        for country, token in seeded.society_tokens.items()
    }
    t0 = time.perf_counter()
    for person, given, family in sought:
        body = {
            "host_country": HOST,
            "sought_given_name": given,
            "sought_nationality": person.nationality,
            "sought_birth_year": int(person.birth_date[:4]),
            "separation": "migration",
            "enquirer_name": "Bench Enquirer",
            "enquirer_relationship": "mother",
            "enquirer_contact": "+639171234567",
            "enquirer_consent": True,
        }
        if family:
            body["sought_family_name"] = family
        t = time.perf_counter()
        response = await clients[person.nationality].post("/api/v1/tracing-requests", json=body)
        run.add(response.status_code, time.perf_counter() - t)
        if response.status_code != 201:
            raise SystemExit(f"tracing request refused: {response.status_code} {response.text}")
        candidates = [
            r[0]
            for r in await conn.fetch(
                "SELECT worker_id FROM tracing_candidates WHERE request_id = $1",
                response.json()["id"],
            )
        ]
        counts.append(len(candidates))
        found += person.id in candidates
    run.seconds = time.perf_counter() - t0
    for c in clients.values():
        await c.aclose()
    await conn.close()
    print(run.line("POST /tracing-requests, one at a time"))
    print(f"    {cpu.per_request(len(sought))}")
    print(
        f"    {run.statuses}; the person sought among the candidates: {found} of {len(sought)}; "
        f"candidates a request: mean {sum(counts) / len(counts):.1f}, none for "
        f"{sum(1 for c in counts if not c)}"
    )
    table.target(
        "tracing: p95",
        "< 200 ms",
        f"{run.pct(95):.1f} ms (p50 {run.pct(50):.1f})",
        run.pct(95) < 200,
    )
    table.target("tracing: recall (the person among the candidates)", "", f"{found / len(sought):.0%} ({found} of {len(sought)})", True)  # fmt: skip


def start_api(port: int, *, raised: bool, processes: int) -> subprocess.Popen[bytes]:
    env = {
        **os.environ,
        "LIFELINE_DATABASE_URL": URL,
        "LIFELINE_LOG_LEVEL": "WARNING",
        **NO_REQUEST_LIMITS,
    }
    if raised:
        env |= {"LIFELINE_SAFE_WELL_SEARCH_RATE": "100", "LIFELINE_SAFE_WELL_SEARCH_BURST": "10000"}
    command = ["-m", "service.cli", "serve", "--port", str(port), "--processes", str(processes)]
    return subprocess.Popen([sys.executable, *command], env=env, cwd=ROOT)


def stop(server: subprocess.Popen[bytes]) -> None:
    server.terminate()
    try:
        server.wait(timeout=30)
    except subprocess.TimeoutExpired:
        server.kill()
        server.wait()


async def bench(args: argparse.Namespace) -> None:
    print(
        f"# Restoring Family Links on PostgreSQL: {args.workers:,} workers, {args.listings:,} "
        f"listings, {args.clients} clients"
    )
    table = Table()
    seeded = await seed(args)
    servers = [
        start_api(PORT, raised=True, processes=args.api_processes),
        start_api(LIMITED_PORT, raised=False, processes=args.api_processes),
    ]
    args.server_pid = servers[0].pid
    try:
        for port in (PORT, LIMITED_PORT):
            with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=30) as c:
                wait_until_ready(c, seconds=300, every=0.5)
        await searching(args, seeded, table)
        await enumeration(args, seeded, table)
        await tracing(args, seeded, table)
    finally:
        for server in servers:
            stop(server)
        if not args.keep:
            await admin(f"DROP DATABASE IF EXISTS {DB} WITH (FORCE)")
    table.print()
    if table.failures:
        raise SystemExit("incorrect: " + "; ".join(table.failures))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--workers", type=int, default=1_000_000)
    parser.add_argument("--listings", type=int, help="default: a tenth of --workers")
    parser.add_argument("--searches", type=int, default=10_000)
    parser.add_argument("--enumeration", type=int, default=100_000)
    parser.add_argument(
        "--probes", type=int, default=100, help="searches an address, default limit"
    )
    parser.add_argument("--tracing", type=int, default=200)
    parser.add_argument("--clients", type=int, default=16)
    parser.add_argument("--api-processes", type=int, default=2)
    parser.add_argument("--quick", action="store_true", help="100,000 workers, a tenth of the rest")
    parser.add_argument("--keep", action="store_true", help="keep the database")
    args = parser.parse_args()
    if args.quick:
        args.workers, args.searches, args.enumeration = 100_000, 4_000, 10_000
    if args.listings is None:
        args.listings = args.workers // 10
    if args.clients > 200:
        parser.error("--clients: one address each, at most 200")
    asyncio.run(bench(args))


if __name__ == "__main__":
    main()
