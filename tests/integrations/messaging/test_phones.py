"""Phone numbers read into E.164 with the country's rules."""

from __future__ import annotations

import pytest

from integrations.messaging.phones import normalise
from integrations.messaging.regions import ALPHA3_TO_ALPHA2, alpha2


@pytest.mark.parametrize(
    ("raw", "country"),
    [
        ("+639171234567", None),
        ("+63 917 123 4567", None),
        ("+63 917 123 4567", "MYS"),
        ("+63-917-123-4567", "PHL"),
        ("0917 123 4567", "PHL"),
        ("(0917) 123-4567", "PHL"),
        ("09171234567", "phl"),
        (" 0917 123 4567 ", " PHL "),
        ("00 63 917 123 4567", "PHL"),
        ("00 63 917 123 4567", None),
        ("+63 917 123 4567;12", None),
    ],
)
def test_forms_of_one_philippine_mobile(raw: str, country: str | None) -> None:
    assert normalise(raw, country) == "+639171234567"


@pytest.mark.parametrize(
    ("raw", "country", "expected"),
    [
        ("012-345 6789", "MYS", "+60123456789"),
        ("+60 12-345 6789", None, "+60123456789"),
        ("081 234 5678", "THA", "+66812345678"),
        ("0812 3456 7890", "IDN", "+6281234567890"),
        ("(650) 253-0000", "USA", "+16502530000"),
        ("011 63 917 123 4567", "USA", "+639171234567"),
        ("+44 20 7946 0958", None, "+442079460958"),
        ("0 20 7946 0958", "GBR", "+442079460958"),
    ],
)
def test_other_countries(raw: str, country: str | None, expected: str) -> None:
    assert normalise(raw, country) == expected


def test_national_form_needs_the_country() -> None:
    assert normalise("0917 123 4567") is None
    assert normalise("0917 123 4567", "XYZ") is None
    # The same digits read with another country's rules are another number, or none.
    assert normalise("0917 123 4567", "MYS") != "+639171234567"


def test_an_international_number_ignores_the_country() -> None:
    assert normalise("+639171234567", "XYZ") == "+639171234567"
    assert normalise("+60123456789", "PHL") == "+60123456789"


@pytest.mark.parametrize(
    "raw",
    [
        "",
        "   ",
        "N/A",
        "none",
        "call me",
        "ext",
        "+63 917 123 4567 ext. 12",
        "1-800-FLOWERS",
        "123",
        "0917",
        "+63 917",
        "+63 917 123 4567 8901 2345",
        "+999 123 456 789",
        "+63 000 000 0000",
        "117",
        "2024-01-31",
    ],
)
def test_not_usable_numbers(raw: str) -> None:
    assert normalise(raw, "PHL") is None


def test_regions_cover_iso_3166() -> None:
    assert len(ALPHA3_TO_ALPHA2) == 250  # 249 countries and Kosovo's XKX
    assert alpha2("PHL") == "PH"
    assert alpha2(" mmr ") == "MM"
    assert alpha2("XKX") == "XK"
    assert alpha2("XYZ") is None
    assert alpha2(None) is None
    assert all(len(a3) == 3 and len(a2) == 2 for a3, a2 in ALPHA3_TO_ALPHA2.items())
    assert len(set(ALPHA3_TO_ALPHA2.values())) == len(ALPHA3_TO_ALPHA2)
