"""What a worker's reply says: safe, needs help, or stop, in the languages of the templates.

Interface first (digits and English words only): the full reading of every template language and
script replaces this body, not its signature.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass


class Outcome(enum.StrEnum):
    SAFE = "safe"
    NEEDS_HELP = "needs_help"
    #: The worker asks for no more messages: honoured at once.
    STOP = "stop"


@dataclass(frozen=True, slots=True)
class Understood:
    """``outcome`` is None when the reply cannot be read with certainty: a person reads it
    (never guessed). ``words`` is the rest of the message, kept as the worker's own words."""

    outcome: Outcome | None
    words: str


_FIRST = {
    "1": Outcome.SAFE,
    "safe": Outcome.SAFE,
    "2": Outcome.NEEDS_HELP,
    "help": Outcome.NEEDS_HELP,
}


def understand(text: str) -> Understood:
    """Read one reply."""
    parts = text.strip().split(maxsplit=1)
    if not parts:
        return Understood(None, "")
    if parts[0].upper() == "STOP" and len(parts) == 1:
        return Understood(Outcome.STOP, "")
    outcome = _FIRST.get(parts[0].lower())
    if outcome is None:
        return Understood(None, text.strip())
    return Understood(outcome, parts[1] if len(parts) > 1 else "")
