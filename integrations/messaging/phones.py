"""Phone numbers in E.164, the form replies are matched on.

A number is read with the ``phonenumbers`` rules (the metadata of libphonenumber): an international
form (``+63 917 123 4567``, or with the country's international prefix, ``00 63 917 ...`` from
the Philippines) whatever the country; a national form (``0917 123 4567``) with the rules of
``country``. Only a number valid in its country's numbering plan is returned: garbage, short
codes, too short or too long numbers and ranges not in the plan are None, and so is anything with
letters in it (a register's "N/A", a name typed in the phone column, a vanity number, "ext. 12").
An extension written without letters (``;12``) is dropped: a text goes to the line.

Without a known ``country``, a number that starts with ``00`` is read as international (``00`` is
the international prefix of most of the workers' countries of origin and residence).

``normalise`` takes about 20 to 30 µs a call (``phonenumbers`` parses in 12 to 20 µs, the
validity check takes about 4 µs), some 25 s for a million rows: no fast path is kept beside it, so
there is one reading of a number, never two that could disagree.
"""

from __future__ import annotations

import phonenumbers

from integrations.messaging.regions import alpha2

_E164 = phonenumbers.PhoneNumberFormat.E164


def normalise(raw: str, country: str | None = None) -> str | None:
    """``raw`` in E.164 (``+639171234567``), read with the rules of ``country`` (ISO 3166-1
    alpha-3: the worker's country of residence, then nationality) when it is not international;
    None when it is not a usable phone number."""
    text = raw.strip()
    if not text or any(char.isalpha() for char in text):
        return None
    region = alpha2(country)
    if region is None and text.startswith("00"):
        text = "+" + text[2:]
    try:
        number = phonenumbers.parse(text, region)
    except phonenumbers.NumberParseException:
        return None
    if not phonenumbers.is_valid_number(number):
        return None
    return phonenumbers.format_number(number, _E164)
