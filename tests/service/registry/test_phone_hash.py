"""The keyed phone hash a reply is matched on: the same for a number however it was written, and
the fast path for international numbers agrees with the full reading of them."""

from __future__ import annotations

import pytest

from integrations.messaging.phones import normalise
from service.registry.protect import NO_USABLE_PHONE, Protector
from tests.conftest import settings_for

PROTECTOR = Protector.from_settings(settings_for("sqlite+aiosqlite://"))


@pytest.mark.parametrize(
    ("written", "country"),
    [
        ("+60 12-345 6789", "MYS"),
        ("012-345 6789", "MYS"),
        ("+639171234567", "MYS"),
        ("0917 123 4567", "PHL"),
        ("(+62) 812 3456 7890", "MYS"),
    ],
)
def test_a_number_hashes_as_its_e164(written: str, country: str) -> None:
    e164 = normalise(written, country)
    assert e164 is not None
    assert PROTECTOR.phone_hash(written, country=country, nationality="PHL") == (
        PROTECTOR.phone_hash_e164(e164)
    )


def test_no_phone_and_no_usable_phone() -> None:
    assert PROTECTOR.phone_hash(None, country="MYS", nationality="PHL") is None
    assert PROTECTOR.phone_hash("12", country="MYS", nationality="PHL") == NO_USABLE_PHONE
    assert PROTECTOR.phone_hash("call my boss", country="MYS", nationality="PHL") == (
        NO_USABLE_PHONE
    )
