"""How many SMS a text costs: GSM-7 when every character is in the GSM 03.38 alphabet (160 per
single message, 153 per part), else UCS-2 (70, 67 per part).

Interface first (ASCII counted as GSM-7): the full GSM 03.38 table with its extension characters
and UTF-16 code units for UCS-2 replace this body, not its signature.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass


class Encoding(enum.StrEnum):
    GSM7 = "GSM-7"
    UCS2 = "UCS-2"


@dataclass(frozen=True, slots=True)
class Segments:
    encoding: Encoding
    segments: int
    #: Characters as the encoding counts them (septets for GSM-7, UTF-16 units for UCS-2).
    units: int


def count(text: str) -> Segments:
    if text.isascii():
        units = len(text)
        return Segments(Encoding.GSM7, 1 if units <= 160 else -(-units // 153), units)
    units = len(text.encode("utf-16-le")) // 2
    return Segments(Encoding.UCS2, 1 if units <= 70 else -(-units // 67), units)
