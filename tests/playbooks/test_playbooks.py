"""The playbook schema, actor resolution, the engine, and the library's coverage of every action
of the catalogue: plain values, no database."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from playbooks.actors import Organization, resolve
from playbooks.engine import CrisisState, ExposureView, plan
from playbooks.loader import load_library, validate_yaml

GOOD = """key: test
title: A test playbook
version: 1
trigger:
  hazards: [earthquake]
tasks:
  - key: first
    title: "Hotline for {nationality} in {country}"
    actor: embassy
    per: nationality
    due: 2h
    basis: [MICIC Guideline 9]
    description: "Open the hotline"
  - key: second
    title: "Reach everyone"
    actor: embassy
    per: nationality
    after: [first]
    due: 1d
    basis: [MICIC Guideline 6]
    description: "Call each worker"
"""


def test_a_good_playbook_validates() -> None:
    playbook, issues = validate_yaml(GOOD)
    assert (
        issues == []
        and playbook is not None
        and [t.key for t in playbook.tasks] == ["first", "second"]
    )


@pytest.mark.parametrize(
    ("change", "line", "words"),
    [
        (("due: 1d", "due: tomorrow"), 19, "not a duration"),
        (('"Reach everyone"', '"Reach {everyone}"'), 15, "unknown placeholder"),
        (("after: [first]", "after: [nobody]"), None, "unknown task"),
        (
            (
                "actor: embassy\n    per: nationality\n    after",
                "actor: astronaut\n    per: nationality\n    after",
            ),
            16,
            "Input should be",
        ),
        (("    basis: [MICIC Guideline 6]\n", "    basis: []\n"), 20, "at least 1"),
    ],
)
def test_problems_come_with_their_line(
    change: tuple[str, str], line: int | None, words: str
) -> None:
    playbook, issues = validate_yaml(GOOD.replace(*change))
    assert playbook is None
    assert any(words in i.msg for i in issues), issues
    if line is not None:
        assert any(i.line == line for i in issues), issues


def test_cycles_are_refused() -> None:
    cyclic = GOOD.replace("  - key: first\n", "  - key: first\n    after: [second]\n")
    _, issues = validate_yaml(cyclic)
    assert any("cycle" in i.msg for i in issues)


DIRECTORY = [
    Organization("phl-kl", "phl-embassy-kl", "embassy", "MYS", "PHL"),
    Organization("khm-kl", "khm-embassy-kl", "embassy", "MYS", "KHM", acts_for=("LAO",)),
    Organization("idn-bkk", "idn-embassy-bkk", "embassy", "THA", "IDN", jurisdiction=("MYS",)),
    Organization("mrcs", "mys-red-crescent", "national_society", "MYS"),
    Organization("prc", "phl-red-cross", "national_society", "PHL"),
    Organization("dmw", "phl-dmw", "labour_ministry", "PHL", "PHL"),
]


@pytest.mark.parametrize(
    ("role", "nationality", "expected"),
    [
        ("embassy", "PHL", "phl-kl"),  # its own embassy in the host country
        ("embassy", "LAO", "khm-kl"),  # consular cooperation
        ("embassy", "IDN", "idn-bkk"),  # jurisdiction covers the host country
        ("embassy", "MMR", None),  # nobody: a coverage gap
        ("national_society_host", "PHL", "mrcs"),
        ("national_society_origin", "PHL", "prc"),
        ("labour_ministry_origin", "PHL", "dmw"),
        ("labour_ministry_origin", "IDN", None),
    ],
)
def test_actor_resolution(role: str, nationality: str, expected: str | None) -> None:
    found = resolve(role, nationality=nationality, host="MYS", directory=DIRECTORY)
    assert (found.id if found else None) == expected


def crisis(**changes: object) -> CrisisState:
    values: dict[str, object] = {
        "id": "c1",
        "title": "Earthquake in Sabah",
        "hazard": "earthquake",
        "severity": "severe",
        "phase": "response",
        "alert_level": 1,
        "exercise": False,
        "activated_at": datetime(2026, 11, 20, tzinfo=UTC),
    }
    values.update(changes)
    return CrisisState(**values)  # type: ignore[arg-type]


EXPOSURE = ExposureView(
    workers=120,
    by_nationality_country={"PHL": {"MYS": 80}, "MMR": {"MYS": 40}},
    by_admin1={"MY-12": 120},
    by_sector={"construction": 100},
    vulnerable=3,
    family=20,
)


def test_the_engine_plans_once_and_only_what_is_missing() -> None:
    library = load_library()
    first = plan(crisis(), EXPOSURE, DIRECTORY, set(), library)
    keys = [t.key for t in first]
    # The same plan, in the same order, whatever order the directory and the counts come in.
    shuffled = ExposureView(
        workers=EXPOSURE.workers,
        by_nationality_country=dict(reversed(list(EXPOSURE.by_nationality_country.items()))),
        by_admin1=EXPOSURE.by_admin1,
        by_sector=EXPOSURE.by_sector,
        vulnerable=EXPOSURE.vulnerable,
        family=EXPOSURE.family,
    )
    again = plan(crisis(), shuffled, list(reversed(DIRECTORY)), set(), library)
    assert [t.key for t in again] == keys
    assert len(set(keys)) == len(keys)
    assert (
        "response-core.contact_nationals@PHL@MYS" in keys
        and "response-core.contact_nationals@MMR@MYS" in keys
    )
    assert plan(crisis(), EXPOSURE, DIRECTORY, set(keys), library) == []
    grown = ExposureView(
        workers=150,
        by_nationality_country={"PHL": {"MYS": 80}, "MMR": {"MYS": 40}, "IDN": {"MYS": 30}},
        by_admin1={"MY-12": 150},
        by_sector={"construction": 100},
        vulnerable=3,
        family=20,
    )
    more = plan(crisis(), grown, DIRECTORY, set(keys), library)
    assert more and all("@IDN@MYS" in t.key for t in more)
    gaps = [t for t in first if t.coverage_gap]
    assert any("@MMR@MYS" in t.key for t in gaps) and all(t.assignee is None for t in gaps)
    assert plan(crisis(), EXPOSURE, DIRECTORY, set(), library) == first


def test_levels_phases_and_drills_gate_the_playbooks() -> None:
    library = load_library()
    level1 = {t.playbook for t in plan(crisis(), EXPOSURE, DIRECTORY, set(), library)}
    level3 = {t.playbook for t in plan(crisis(alert_level=3), EXPOSURE, DIRECTORY, set(), library)}
    assert "evacuation" not in level1 and "evacuation" in level3
    recovery = {
        t.playbook for t in plan(crisis(phase="recovery"), EXPOSURE, DIRECTORY, set(), library)
    }
    assert recovery == {"recovery"}
    drill = plan(crisis(exercise=True), EXPOSURE, DIRECTORY, set(), library)
    assert drill and all(t.exercise for t in drill)


#: Every row of the action catalogue of PLAYBOOKS.md, and a task that covers it.
CATALOGUE = {
    "overlay hazard and registered populations": "preparedness.overlay_populations",
    "employers and agencies contingency plans": "preparedness.employer_plans",
    "crisis information in the workers' languages": "preparedness.crisis_information",
    "24-hour hotline and crisis team": "response-core.hotline",
    "contact every exposed national": "response-core.contact_nationals",
    "multilingual public information": "response-core.public_information",
    "first aid, health care, psychosocial support": "response-core.first_aid",
    "Restoring Family Links": "response-core.family_links_host",
    "families left behind": "response-core.families_left_behind",
    "emergency travel documents": "response-core.travel_documents",
    "waive exit fees and overstay penalties": "response-core.exit_clearance",
    "trafficking and protection referral": "response-core.trafficking_referral",
    "livelihood support, unpaid wages": "epidemic.livelihood_support",
    "repatriation": "evacuation.repatriation_manifest",
    "national contingency fund": "evacuation.contingency_fund",
    "reception on arrival": "recovery.reception",
    "reintegration": "recovery.reintegration",
    "lessons learned": "recovery.lessons_learned",
}


def test_the_library_covers_every_catalogue_row_with_a_basis() -> None:
    library = {p.key: {t.key: t for t in p.tasks} for p in load_library()}
    for row, ref in CATALOGUE.items():
        playbook, task = ref.split(".")
        assert task in library[playbook], row
        assert library[playbook][task].basis, row


SCENARIOS = {
    "preparedness": crisis(phase="preparedness"),
    "response-core": crisis(),
    "evacuation": crisis(alert_level=4),
    "epidemic": crisis(hazard="epidemic"),
    "recovery": crisis(phase="recovery"),
    "earthquake": crisis(hazard="earthquake"),
    "tropical-cyclone": crisis(hazard="tropical_cyclone"),
    "conflict": crisis(hazard="civil_unrest", alert_level=2),
}


@pytest.mark.parametrize("key", sorted(SCENARIOS))
def test_every_playbook_plans_work_in_its_own_scenario(key: str) -> None:
    library = load_library()
    assert {p.key for p in library} == set(SCENARIOS)
    tasks = [
        t for t in plan(SCENARIOS[key], EXPOSURE, DIRECTORY, set(), library) if t.playbook == key
    ]
    assert tasks, key
    assert all(t.basis and t.title and "{" not in t.title for t in tasks)


def test_crisis_rules_can_be_tightened_in_settings() -> None:
    from integrations.alert import Certainty, Hazard, Severity
    from service.crises.rules import qualifies, rules_from

    rules = rules_from({"flood": {"min_severity": "severe", "min_exposed": 100}})
    assert qualifies(Hazard.FLOOD, Severity.MODERATE, Certainty.LIKELY, 500)[0]
    assert not qualifies(Hazard.FLOOD, Severity.MODERATE, Certainty.LIKELY, 500, rules)[0]
    assert not qualifies(Hazard.FLOOD, Severity.SEVERE, Certainty.LIKELY, 50, rules)[0]
    assert qualifies(Hazard.FLOOD, Severity.EXTREME, Certainty.OBSERVED, 100, rules)[0]
    with pytest.raises(ValueError):
        rules_from({"meteor": {}})


def test_a_task_names_its_province() -> None:
    """A province is named in what a task says (its key keeps the code); without a name the
    code stands alone."""
    from dataclasses import replace

    library = load_library()
    flood = crisis(hazard="tropical_cyclone", alert_level=2)
    named = replace(EXPOSURE, admin1_names={"MY-12": "Sabah"})
    titles = {t.key: t.title for t in plan(flood, named, DIRECTORY, set(), library)}
    bare = {t.key: t.title for t in plan(flood, EXPOSURE, DIRECTORY, set(), library)}
    by_province = [k for k in titles if k.endswith("@MY-12")]
    assert by_province, "the cyclone playbook plans per province"
    for key in by_province:
        assert "Sabah (MY-12)" in titles[key] and "Sabah" not in bare[key]
