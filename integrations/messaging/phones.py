"""Phone numbers in E.164, the form replies are matched on.

Interface first (numbers already in E.164 only): parsing national forms with the country's rules
replaces this body, not its signature.
"""

from __future__ import annotations

import re

_E164 = re.compile(r"^\+[1-9][0-9]{6,14}$")


def normalise(raw: str, country: str | None = None) -> str | None:
    """``raw`` in E.164 (``+639171234567``), read with the rules of ``country`` (ISO 3166-1
    alpha-3: the worker's country of residence, then nationality) when it is not international;
    None when it is not a usable phone number."""
    candidate = re.sub(r"[\s().-]", "", raw)
    return candidate if _E164.match(candidate) else None
