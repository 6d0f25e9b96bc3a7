"""What a worker's reply says: safe, needs help, or stop, in the languages of the templates.

The outcome comes from the first word or words of the reply: a digit (``1`` safe, ``2`` needs
help, in any script's digits: Thai ๑, Burmese ၁, Khmer ១, Bengali ১, Devanagari १, full-width １)
or a keyword of ``KEYWORDS`` in any of the template languages, whatever the worker's language.
The rest of the message is kept as ``words``, as the worker wrote it.

Reading is forgiving where a phone makes writing hard, and strict where a guess could be wrong:

- case, compatibility forms (NFKC) and, in Latin script, accents are ignored (``an toan`` reads
  as ``an toàn``), and so is punctuation around a word (``LIGTAS!``, ``1.``, ``Tolong, banjir``);
- Thai, Burmese and Khmer are written without spaces between words: there a keyword may begin a
  longer word (``ปลอดภัยดีครับ`` reads safe), as long as it ends on a whole character (a vowel
  sign or tone mark after it would make it another word);
- a reply that begins with anything else (``Who is this?``, ``ok lang``, an emoji), or that says
  both (``1 2``, ``safe, help``), or a greeting that starts like a keyword (Malay and Indonesian
  ``selamat pagi``, good morning), is not read: ``outcome`` None and the whole text as ``words``,
  for a person to read.

``HELP`` reads as needing help. In the United States carriers treat HELP as a keyword asking for
the service's information; to a person in a disaster it means help, and this service answers it
as such. ``STOP`` and the carriers' other opt-out words (STOPALL, UNSUBSCRIBE, CANCEL, END, QUIT)
stop the messages only when they are the whole reply ("stop sending me this" goes to a person).

Malay and Indonesian ``tolong`` and Thai ``ช่วย`` also mean "please": a request that starts with
them reads as needing help, the safer mistake, except "tolong berhenti" / "tolong jangan"
(please stop, please don't), which go to a person.

The keywords in languages other than English were chosen by the project and are to be reviewed by
native speakers, with the templates that name them.
"""

from __future__ import annotations

import enum
import unicodedata
from collections.abc import Mapping
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


_SAFE, _HELP = Outcome.SAFE, Outcome.NEEDS_HELP

#: The reply words read in each template language (ISO 639-1), as a worker may write them; the
#: digits 1 and 2 are read in every language and script. Keywords of several words are written
#: with single spaces.
KEYWORDS: Mapping[str, Mapping[Outcome, tuple[str, ...]]] = {
    "en": {_SAFE: ("SAFE", "I AM SAFE", "I'M SAFE"), _HELP: ("HELP", "SOS")},
    "tl": {_SAFE: ("LIGTAS",), _HELP: ("TULONG", "SAKLOLO")},
    "id": {_SAFE: ("AMAN", "SELAMAT"), _HELP: ("TOLONG", "BANTUAN")},
    "ms": {_SAFE: ("SELAMAT", "AMAN"), _HELP: ("TOLONG", "BANTUAN")},
    "th": {_SAFE: ("ปลอดภัย", "ปลอดภัยดี"), _HELP: ("ช่วย", "ช่วยด้วย")},
    "my": {_SAFE: ("လုံခြုံ", "လုံခြုံပါတယ်"), _HELP: ("ကူညီ", "ကူညီပါ")},
    "km": {_SAFE: ("សុវត្ថិភាព",), _HELP: ("ជួយ", "ជួយផង")},
    "vi": {_SAFE: ("AN TOÀN", "ANTOAN"), _HELP: ("GIÚP", "CỨU")},
    "ne": {_SAFE: ("सुरक्षित",), _HELP: ("मद्दत", "सहायता")},
    "bn": {_SAFE: ("নিরাপদ",), _HELP: ("সাহায্য",)},
}

#: Whole replies that stop the messages, as the carriers read them.
STOP_WORDS: tuple[str, ...] = ("STOP", "STOPALL", "UNSUBSCRIBE", "CANCEL", "END", "QUIT")

#: Words after a keyword that make the reply something else (a greeting, "please stop").
_NOT_AFTER: Mapping[str, frozenset[str]] = {
    "selamat": frozenset(
        ("pagi", "siang", "sore", "petang", "malam", "datang", "tinggal", "jalan", "tengah")
    ),
    "tolong": frozenset(("berhenti", "jangan", "hentikan", "stop")),
}


def _is_nospace(char: str) -> bool:
    """A character of a script written without spaces between words: Thai, Lao, Burmese,
    Khmer."""
    code = ord(char)
    return 0x0E00 <= code <= 0x0EFF or 0x1000 <= code <= 0x109F or 0x1780 <= code <= 0x17FF


def _fold(text: str) -> str:
    """Case, compatibility forms, digits of every script and accents on Latin letters folded."""
    text = unicodedata.normalize("NFKC", text).casefold()
    out: list[str] = []
    latin = False
    for char in unicodedata.normalize("NFD", text):
        if unicodedata.combining(char):
            if latin:
                continue
        else:
            latin = "LATIN" in unicodedata.name(char, "")
        value = unicodedata.decimal(char, None)
        out.append(str(value) if value is not None and not char.isascii() else char)
    return unicodedata.normalize("NFC", "".join(out))


def _strip_punctuation(word: str) -> str:
    start, end = 0, len(word)
    while start < end and unicodedata.category(word[start]).startswith("P"):
        start += 1
    while end > start and unicodedata.category(word[end - 1]).startswith("P"):
        end -= 1
    return word[start:end]


@dataclass(frozen=True, slots=True)
class _Keyword:
    words: tuple[str, ...]  # folded
    outcome: Outcome


def _build() -> list[_Keyword]:
    seen: dict[tuple[str, ...], Outcome] = {}
    for by_outcome in KEYWORDS.values():
        for outcome, keywords in by_outcome.items():
            for keyword in keywords:
                words = tuple(_strip_punctuation(_fold(w)) for w in keyword.split())
                if seen.setdefault(words, outcome) is not outcome:
                    raise ValueError(f"{keyword!r} is a keyword of two outcomes")
    seen[("1",)] = _SAFE
    seen[("2",)] = _HELP
    # The longest first: "ปลอดภัยดี" before "ปลอดภัย", "giúp tôi" before "giúp".
    ordered = sorted(seen.items(), key=lambda item: (-len(item[0]), -len("".join(item[0]))))
    return [_Keyword(words, outcome) for words, outcome in ordered]


_KEYWORDS = _build()
_STOP = frozenset(_fold(word) for word in STOP_WORDS)


@dataclass(frozen=True, slots=True)
class _Token:
    start: int
    end: int
    raw: str
    folded: str  # folded, punctuation around it stripped


def _tokens(text: str, offset: int = 0) -> list[_Token]:
    out: list[_Token] = []
    index = 0
    for raw in text.split():
        start = text.index(raw, index)
        index = start + len(raw)
        out.append(_Token(offset + start, offset + index, raw, _strip_punctuation(_fold(raw))))
    return out


def _prefix_end(raw: str, keyword: str) -> int | None:
    """Where ``keyword`` (folded) ends in ``raw``, when ``raw`` begins with it and goes on in a
    script without word spaces; None otherwise."""
    for end in range(1, len(raw)):
        folded = _fold(raw[:end])
        if folded == keyword:
            following = raw[end]
            if unicodedata.combining(following) or unicodedata.category(following) == "Mc":
                return None
            if _is_nospace(following) or _is_nospace(keyword[-1]):
                return end
            return None
        if len(folded) > len(keyword) + 2:
            return None
    return None


def _match(text: str, tokens: list[_Token]) -> tuple[Outcome, int] | None:
    """The outcome the first words of ``tokens`` say, and where they end in ``text``."""
    while tokens and not tokens[0].folded:  # a lone dash or quote before the reply
        tokens = tokens[1:]
    if not tokens:
        return None
    for keyword in _KEYWORDS:
        count = len(keyword.words)
        if count > len(tokens):
            continue
        if all(tokens[i].folded == keyword.words[i] for i in range(count)):
            return keyword.outcome, tokens[count - 1].end
    first = tokens[0]
    # A keyword that begins a longer word: only the first word, and punctuation before it kept.
    lead = 0
    while lead < len(first.raw) and unicodedata.category(first.raw[lead]).startswith("P"):
        lead += 1
    for keyword in _KEYWORDS:
        if len(keyword.words) != 1:
            continue
        end = _prefix_end(first.raw[lead:], keyword.words[0])
        if end is not None:
            return keyword.outcome, first.start + lead + end
    return None


def understand(text: str) -> Understood:
    """Read one reply."""
    whole = text.strip()
    tokens = _tokens(whole)
    if not tokens:
        return Understood(None, "")
    if len(tokens) == 1 and tokens[0].folded in _STOP:
        return Understood(Outcome.STOP, "")
    found = _match(whole, tokens)
    if found is None:
        return Understood(None, whole)
    outcome, end = found
    rest = whole[end:]
    rest_tokens = _tokens(rest, end)
    # Said both ("1 2", "safe, help"): not read.
    again = _match(whole, rest_tokens)
    if again is not None and again[0] is not outcome:
        return Understood(None, whole)
    # A keyword that is the first word of something else ("selamat pagi").
    matched = _fold(whole[:end]).split()
    following = next((t.folded for t in rest_tokens if t.folded), None)
    if matched and following in _NOT_AFTER.get(_strip_punctuation(matched[-1]), frozenset()):
        return Understood(None, whole)
    return Understood(outcome, rest.strip())
