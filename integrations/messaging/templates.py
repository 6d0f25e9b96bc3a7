"""The texts sent to workers, in their languages, with placeholders.

Interface first (English only): the texts in every listed language replace this body, not its
signature. No text carries documentation status or anything a third person reading the phone
should not see.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

#: The languages the templates are written in (ISO 639-1), English first.
LANGUAGES: tuple[str, ...] = ("en",)


class Kind(enum.StrEnum):
    #: The first message of a welfare check. Placeholders: ``{crisis}``, ``{sender}``.
    CHECK = "check"
    #: The reminder to those who have not answered. Same placeholders.
    REMINDER = "reminder"
    #: The answer to a reply read as safe, as needing help, and to STOP.
    THANKS_SAFE = "thanks_safe"
    THANKS_HELP = "thanks_help"
    STOPPED = "stopped"
    #: The answer to a number the register does not know: ``{hotline}``.
    UNKNOWN_SENDER = "unknown_sender"


@dataclass(frozen=True, slots=True)
class Text:
    language: str
    body: str
    #: Written by the project; not yet reviewed by a native speaker.
    needs_review: bool


_EN: Mapping[Kind, str] = {
    Kind.CHECK: (
        "{sender}: {crisis}. Are you safe? Reply 1 if you are safe, 2 if you need help, "
        "with a few words if you can."
    ),
    Kind.REMINDER: "{sender}: {crisis}. We have not heard from you. Reply 1 if safe, 2 for help.",
    Kind.THANKS_SAFE: "Thank you. We have recorded that you are safe.",
    Kind.THANKS_HELP: "Thank you. Someone will contact you as soon as possible.",
    Kind.STOPPED: "You will get no more messages from this service.",
    Kind.UNKNOWN_SENDER: "We do not know this number. Call {hotline} for help or to register.",
}


def choose_language(languages: Sequence[str], nationality: str | None) -> str:
    """The worker's first language we have texts in, else the nationality's usual language
    (``nationality`` is ISO 3166-1 alpha-3), else English."""
    for language in languages:
        if language in LANGUAGES:
            return language
    return "en"


def render(kind: Kind, language: str, values: Mapping[str, str]) -> Text:
    """The text of ``kind`` in ``language`` (English when there is none), placeholders filled."""
    return Text(language="en", body=_EN[kind].format_map(dict(values)), needs_review=False)
