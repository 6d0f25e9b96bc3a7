"""Properties of playbook planning, on generated crises: nationalities and host countries,
counts, provinces, sectors, employers, severities, phases, levels, a directory, and tasks that
exist already.

Planning is idempotent (planning again with what it planned adds nothing), plans only what is
missing (what exists plus what it plans is what planning from nothing gives), and does not
depend on the order its inputs come in (the directory, the library, the counts, the existing
tasks). Pure: no database.
"""

from __future__ import annotations

import random
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from playbooks.actors import Organization
from playbooks.engine import CrisisState, ExposureView, plan
from playbooks.loader import load_library
from playbooks.schema import HAZARDS, PHASES, SEVERITIES

LIBRARY = load_library()
NATIONALITIES = ["PHL", "IDN", "MMR", "NPL", "BGD", "KHM", "LAO", "MYS", "THA", "unknown", ""]
HOSTS = ["MYS", "THA", "SGP"]
PROVINCES = ["MY-10", "MY-12", "MY-14", "TH-10", "unknown", ""]
SECTORS = ["construction", "manufacturing", "domestic_work", "agriculture", "unknown"]
KINDS = [
    "embassy",
    "consulate",
    "national_society",
    "labour_ministry",
    "host_authority",
    "employer",
    "recruitment_agency",
    "international_org",
]

SETTINGS = settings(max_examples=50, deadline=None, suppress_health_check=[HealthCheck.too_slow])

counts = st.integers(0, 400)


@st.composite
def directories(draw: st.DrawFn) -> list[Organization]:
    """Organisations of every kind, some for the same role (ties broken by slug)."""
    size = draw(st.integers(0, 14))
    slugs = draw(st.lists(st.integers(0, 999), min_size=size, max_size=size, unique=True))
    out = []
    for n in slugs:
        kind = draw(st.sampled_from(KINDS))
        represents = draw(st.none() | st.sampled_from(NATIONALITIES[:7]))
        out.append(
            Organization(
                id=f"org-{n}",
                slug=f"slug-{n:03d}",
                kind=kind,
                country=draw(st.sampled_from([*HOSTS, *NATIONALITIES[:7]])),
                represents=represents,
                jurisdiction=tuple(draw(st.lists(st.sampled_from(HOSTS), max_size=2))),
                acts_for=tuple(draw(st.lists(st.sampled_from(NATIONALITIES[:7]), max_size=2))),
            )
        )
    return out


@st.composite
def exposures(draw: st.DrawFn, directory: list[Organization]) -> ExposureView:
    by_nationality_country = draw(
        st.dictionaries(
            st.sampled_from(NATIONALITIES),
            st.dictionaries(st.sampled_from(HOSTS), counts, max_size=3),
            max_size=6,
        )
    )
    ids = [o.id for o in directory] + ["unknown", ""]
    workers = sum(c for cs in by_nationality_country.values() for c in cs.values())
    return ExposureView(
        workers=workers,
        by_nationality_country=by_nationality_country,
        by_admin1=draw(st.dictionaries(st.sampled_from(PROVINCES), counts, max_size=4)),
        by_sector=draw(st.dictionaries(st.sampled_from(SECTORS), counts, max_size=4)),
        vulnerable=draw(st.integers(0, 50)),
        family=draw(st.integers(0, 200)),
        by_employer=draw(st.dictionaries(st.sampled_from(ids), counts, max_size=3)),
        by_agency=draw(st.dictionaries(st.sampled_from(ids), counts, max_size=3)),
        admin1_names={"MY-10": "Selangor", "MY-12": "Sabah", "TH-10": "Bangkok"},
    )


crises = st.builds(
    CrisisState,
    id=st.just("c1"),
    title=st.just("A crisis"),
    hazard=st.sampled_from(HAZARDS),
    severity=st.sampled_from(SEVERITIES),
    phase=st.sampled_from(PHASES),
    alert_level=st.integers(1, 4),
    exercise=st.booleans(),
    activated_at=st.just(datetime(2026, 11, 20, 6, tzinfo=UTC)),
)


@st.composite
def worlds(draw: st.DrawFn) -> tuple[CrisisState, ExposureView, list[Organization]]:
    directory = draw(directories())
    return draw(crises), draw(exposures(directory)), directory


def _shuffled(mapping: Mapping[str, Any], rng: random.Random | None) -> dict[str, Any]:
    """The same mapping, its keys (and those of the mappings it holds) in another order:
    shuffled, or reversed when ``rng`` is None."""
    items = list(mapping.items())
    if rng is None:
        items.reverse()
    else:
        rng.shuffle(items)
    return {k: _shuffled(v, rng) if isinstance(v, Mapping) else v for k, v in items}


def _reordered(exposure: ExposureView, rng: random.Random | None) -> ExposureView:
    return ExposureView(
        workers=exposure.workers,
        by_nationality_country=_shuffled(exposure.by_nationality_country, rng),
        by_admin1=_shuffled(exposure.by_admin1, rng),
        by_sector=_shuffled(exposure.by_sector, rng),
        vulnerable=exposure.vulnerable,
        family=exposure.family,
        by_employer=_shuffled(exposure.by_employer, rng),
        by_agency=_shuffled(exposure.by_agency, rng),
        admin1_names=_shuffled(exposure.admin1_names, rng),
    )


#: The per-crisis tasks go to the host country with the most exposed workers: two with as many
#: (MYS and THA, 10 each) must give the same host whichever the counts list first.
TIED_HOSTS = (
    CrisisState("c1", "A crisis", "flood", "severe", "response", 1, False, datetime(2026, 11, 20, tzinfo=UTC)),
    ExposureView(workers=20, by_nationality_country={"PHL": {"THA": 10}, "IDN": {"MYS": 10}}),
    [
        Organization("mrcs", "mys-red-crescent", "national_society", "MYS"),
        Organization("trc", "thai-red-cross", "national_society", "THA"),
    ],
)  # fmt: skip


@SETTINGS
@example(TIED_HOSTS, 0)
@given(worlds(), st.integers(0, 2**32 - 1))
def test_planning_does_not_depend_on_the_order_of_its_inputs(
    world: tuple[CrisisState, ExposureView, list[Organization]], seed: int
) -> None:
    crisis, exposure, directory = world
    rng = random.Random(seed)
    first = plan(crisis, exposure, directory, set(), LIBRARY)
    existing = [t.key for t in first if rng.random() < 0.3] + ["elsewhere.unrelated@PHL@MYS"]
    expected = plan(crisis, exposure, directory, set(existing), LIBRARY)
    # Every input reversed (two of anything always change places), then shuffled.
    reversed_plan = plan(
        crisis,
        _reordered(exposure, None),
        directory[::-1],
        existing[::-1],
        LIBRARY[::-1],
    )
    assert reversed_plan == expected
    library = list(LIBRARY)
    rng.shuffle(library)
    others = list(directory)
    rng.shuffle(others)
    rng.shuffle(existing)
    again = plan(crisis, _reordered(exposure, rng), others, existing, library)
    assert again == expected


@SETTINGS
@given(worlds(), st.integers(0, 2**32 - 1))
def test_planning_is_idempotent_and_plans_only_what_is_missing(
    world: tuple[CrisisState, ExposureView, list[Organization]], seed: int
) -> None:
    crisis, exposure, directory = world
    rng = random.Random(seed)
    everything = plan(crisis, exposure, directory, set(), LIBRARY)
    keys = [t.key for t in everything]
    assert len(set(keys)) == len(keys), "one task per key"
    # Planning again with what was planned adds nothing.
    assert plan(crisis, exposure, directory, set(keys), LIBRARY) == []
    # With some of it there already, what is planned is exactly the rest, as it was planned.
    existing = {k for k in keys if rng.random() < 0.5}
    rest = plan(crisis, exposure, directory, existing, LIBRARY)
    assert rest == [t for t in everything if t.key not in existing]
    assert plan(crisis, exposure, directory, existing | {t.key for t in rest}, LIBRARY) == []
    # Every predecessor a task waits for is planned before it, or exists already.
    seen = set(existing)
    planned = set(keys)
    for task in rest:
        assert all(before in seen or before not in planned for before in task.after)
        seen.add(task.key)
