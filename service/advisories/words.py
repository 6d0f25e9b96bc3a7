"""Words no advisory may carry: an advisory is read by anyone, on a screen shown to an
employer or at a checkpoint, and it never asks a person to say who they are or what their
status is (MICIC guideline 6: information people can use without identifying themselves).
The words no text to workers may carry (``integrations.messaging.words``), and three English
phrases that ask a person who they are."""

from __future__ import annotations

import re
import unicodedata

from integrations.messaging.words import THIRD_PERSON_WORDS

FORBIDDEN: tuple[str, ...] = (
    *THIRD_PERSON_WORDS,
    # asking a person to identify themselves, in English
    "identify yourself",
    "your name and",
    "id card",
)


#: Characters that draw nothing and would hide a word from the check ("vi\u200bsa").
_INVISIBLE = dict.fromkeys(map(ord, "\u00ad\u200b\u200c\u200d\u2060\ufeff"))


def fold(text: str) -> str:
    """Compatibility forms (full-width letters) folded, invisible characters dropped, case
    ignored. The joiners dropped are also written inside some scripts' words; the words of the
    list are folded the same way, so they still match."""
    return unicodedata.normalize("NFKC", text).translate(_INVISIBLE).casefold()


def _pattern(word: str) -> re.Pattern[str]:
    # A word in a Latin script starts a word ("permit" in "permitted", not in "hermit"); the
    # scripts written without spaces (Thai, Burmese, Khmer) are matched anywhere.
    folded = re.escape(fold(word))
    return re.compile(rf"(?<!\w){folded}" if word.isascii() or " " in word else folded)


_PATTERNS = tuple((word, _pattern(word)) for word in FORBIDDEN)


def forbidden_in(text: str) -> list[str]:
    """The forbidden words ``text`` holds, as listed."""
    folded = fold(text)
    return [word for word, pattern in _PATTERNS if pattern.search(folded)]
