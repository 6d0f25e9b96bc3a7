"""When an alert opens a crisis: per hazard, a minimum severity and certainty (defaults below,
overridable in settings), a real or exercise status, and at least one registered worker exposed."""

from __future__ import annotations

from dataclasses import dataclass

from integrations.alert import Certainty, Hazard, Severity

_CERTAINTY_RANK = {
    Certainty.OBSERVED: 4,
    Certainty.LIKELY: 3,
    Certainty.POSSIBLE: 2,
    Certainty.UNLIKELY: 1,
    Certainty.UNKNOWN: 0,
}


@dataclass(frozen=True, slots=True)
class CrisisRule:
    min_severity: Severity
    min_certainty: Certainty
    min_exposed: int = 1


#: Sudden-onset hazards open a crisis from "moderate" and "possible" up: a consul would rather
#: stand a crisis down than learn of one late. Slow or diffuse ones need more.
DEFAULT_RULES: dict[Hazard, CrisisRule] = {
    **{h: CrisisRule(Severity.MODERATE, Certainty.POSSIBLE) for h in Hazard},
    Hazard.DROUGHT: CrisisRule(Severity.SEVERE, Certainty.LIKELY, min_exposed=50),
    Hazard.ECONOMIC_CRISIS: CrisisRule(Severity.SEVERE, Certainty.LIKELY, min_exposed=50),
    Hazard.EPIDEMIC: CrisisRule(Severity.MODERATE, Certainty.LIKELY, min_exposed=10),
    Hazard.OTHER: CrisisRule(Severity.SEVERE, Certainty.LIKELY),
}

#: An alert joins an open crisis of the same hazard whose zone it overlaps within this many hours.
JOIN_WINDOW_HOURS = 72


def rules_from(overrides: dict[str, dict[str, str | int]]) -> dict[Hazard, CrisisRule]:
    """The defaults with the settings' overrides applied; an unknown hazard or value is an error."""
    rules = dict(DEFAULT_RULES)
    for name, override in overrides.items():
        hazard = Hazard(name)
        base = rules[hazard]
        rules[hazard] = CrisisRule(
            min_severity=Severity[
                str(override.get("min_severity", base.min_severity.name)).upper()
            ],
            min_certainty=Certainty(
                str(override.get("min_certainty", base.min_certainty.value)).lower()
            ),
            min_exposed=int(override.get("min_exposed", base.min_exposed)),
        )
    return rules


def qualifies(
    hazard: Hazard,
    severity: Severity,
    certainty: Certainty,
    exposed: int,
    rules: dict[Hazard, CrisisRule] | None = None,
) -> tuple[bool, str]:
    """Whether an alert opens a crisis, and why (or why not) in words for the timeline."""
    rule = (rules or DEFAULT_RULES).get(hazard, DEFAULT_RULES[Hazard.OTHER])
    if severity < rule.min_severity:
        return False, f"severity {severity.name.lower()} under {rule.min_severity.name.lower()}"
    if (
        _CERTAINTY_RANK[certainty] < _CERTAINTY_RANK[rule.min_certainty]
        and certainty is not Certainty.UNKNOWN
    ):
        return False, f"certainty {certainty.value} under {rule.min_certainty.value}"
    if exposed < rule.min_exposed:
        return False, f"{exposed} registered workers exposed, fewer than {rule.min_exposed}"
    return True, f"{severity.name.lower()} {hazard.value} with {exposed} registered workers exposed"
