"""How many SMS a text costs: GSM-7 when every character is in the GSM 03.38 alphabet (its basic
set, and its extension table at two septets each), else UCS-2, counted in UTF-16 code units.

A single message holds 160 septets (GSM-7) or 70 units (UCS-2); a concatenated one loses room to
its header and holds 153 septets or 67 units per part. A part never splits an extension character
(its escape and the character go in one part) nor a surrogate pair (an emoji, say): such a
character starts the next part, which is how phones and gateways cut and bill them.

The empty text counts as one segment of no units: what a phone shows, and what the gateway bills.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

#: The GSM 03.38 basic character set, in table order (0x1B, the escape to the extension table,
#: stands as no character here).
GSM7_BASIC: frozenset[str] = frozenset(
    "@£$¥èéùìòÇ\nØø\rÅå"
    "Δ_ΦΓΛΩΠΨΣΘΞÆæßÉ"
    " !\"#¤%&'()*+,-./"
    "0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNO"
    "PQRSTUVWXYZÄÖÑÜ§"
    "¿abcdefghijklmno"
    "pqrstuvwxyzäöñüà"
)
#: The extension table: each costs two septets (the escape, then the character).
GSM7_EXTENSION: frozenset[str] = frozenset("\f^{}\\[~]|€")

SINGLE_GSM7 = 160
PART_GSM7 = 153
SINGLE_UCS2 = 70
PART_UCS2 = 67


class Encoding(enum.StrEnum):
    GSM7 = "GSM-7"
    UCS2 = "UCS-2"


@dataclass(frozen=True, slots=True)
class Segments:
    encoding: Encoding
    segments: int
    #: Characters as the encoding counts them (septets for GSM-7, UTF-16 units for UCS-2).
    units: int


def _parts(costs: list[int], total: int, single: int, part: int) -> int:
    """Parts needed for characters of these costs, none split across two parts."""
    if total <= single:
        return 1
    parts, room = 1, part
    for cost in costs:
        if cost > room:
            parts += 1
            room = part
        room -= cost
    return parts


def _gsm7_costs(text: str) -> list[int] | None:
    costs: list[int] = []
    for char in text:
        if char in GSM7_BASIC:
            costs.append(1)
        elif char in GSM7_EXTENSION:
            costs.append(2)
        else:
            return None
    return costs


def count(text: str) -> Segments:
    """The encoding, segments and units of ``text`` as one SMS (concatenated when long)."""
    costs = _gsm7_costs(text)
    if costs is not None:
        units = sum(costs)
        return Segments(Encoding.GSM7, _parts(costs, units, SINGLE_GSM7, PART_GSM7), units)
    costs = [2 if ord(char) > 0xFFFF else 1 for char in text]
    units = sum(costs)
    return Segments(Encoding.UCS2, _parts(costs, units, SINGLE_UCS2, PART_UCS2), units)
