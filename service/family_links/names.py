"""Names and facts of Restoring Family Links, matched through keyed hashes only.

A relative asks "is X safe?" with a full name and one fact only a relative knows; a tracing
officer matches a sought person against the register. Neither may compare clear names in bulk,
and no clear name may be stored outside the sealed register. So a name is first normalised into
tokens here, and only keyed hashes of those tokens leave this module: ``name_key`` and
``lookup_key`` for exact look-ups, ``match_keys`` and ``score`` for fuzzy matching.

Every keyed function takes ``mac``, a function of string parts returning a hex HMAC (as
``Protector._mac`` of the register is). Without its key a hash says nothing about the name, and
the same name under another key gives other hashes. The module has no database and no I/O.

How a name becomes tokens (``tokens``):

* Case does not count (casefold), nor width (NFKC).
* Accents are dropped in Latin, Greek and Cyrillic ("Nguyễn Văn An" is "nguyen van an", "José"
  is "jose"), with a small table for letters that have no decomposition: ß→ss, đ→d, ø→o, ł→l,
  æ→ae, œ→oe, ı→i, þ→th. In every other script the marks are kept: in Thai, Burmese, Khmer,
  Devanagari and Bengali a vowel sign is a letter, and dropping it would make another name.
  A word in those scripts is only NFKC-normalised and casefolded, so it stays as written.
* Apostrophes are removed ("D'Souza" is "dsouza"). Every other punctuation mark or symbol
  separates words: hyphens, commas, slashes, and full stops ("Ma.Theresa" is "ma" "theresa").
* Name particles are joined to the name after them, so "dela Cruz", "de la Cruz", "Dela Cruz"
  and "Delacruz" all give "delacruz". The particles are those of ``PARTICLES`` (de, del, dela,
  delos, della, di, da, van, von, der, den, bin, binti, binte, bte, al, el, and "de la", "de las",
  "de los"). "bin" and "binti" (or "binte", "bte") of Malay and Indonesian names mean "son of"
  and "daughter of": they are joined too, so "Ahmad bin Ismail" is "ahmad" "binismail"; a search
  for "Ahmad Ismail" then finds no exact match, only a partial score. In the form "Cruz, Maria
  De La" (family name first, then a comma) particles left at the end of the part after the
  comma belong to the first name before it.
* "van" is not a particle in a Vietnamese name (one with a common Vietnamese family name, or
  "thi"): there "Văn" is a middle name, and "An Van Nguyen" must be "Nguyen Van An".
* Abbreviations are NOT expanded: "Ma." (Maria) stays "ma", "Md." (Mohammad) stays "md". A
  search with the abbreviation finds the written-out name through ``score`` only partly.
* Tokens of one letter (initials) are dropped, and so are the suffixes of ``SUFFIXES`` (Jr, Sr,
  II, III, IV...).
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Final, Literal

from integrations.messaging.phones import normalise as normalise_phone

#: The function that makes keyed hashes: string parts in, a hex HMAC out.
Mac = Callable[..., str]

#: Particles joined to the name that follows them.
PARTICLES: Final = frozenset(
    {
        "de",
        "del",
        "dela",
        "delos",
        "della",
        "di",
        "da",
        "van",
        "von",
        "der",
        "den",
        "bin",
        "binti",
        "binte",
        "bte",
        "al",
        "el",
    }
)
#: Words that are particles only right after "de": "de la", "de las", "de los".
_AFTER_DE: Final = frozenset({"la", "las", "los"})

#: Generational suffixes, dropped.
SUFFIXES: Final = frozenset({"jr", "jnr", "sr", "snr", "ii", "iii", "iv"})

#: Family names (and the middle name "thi") that mark a name as Vietnamese, where "van" is a name.
_VIETNAMESE: Final = frozenset(
    {
        "nguyen",
        "tran",
        "le",
        "pham",
        "hoang",
        "huynh",
        "phan",
        "vu",
        "vo",
        "dang",
        "bui",
        "do",
        "ho",
        "ngo",
        "duong",
        "ly",
        "truong",
        "dinh",
        "thi",
    }
)

#: Latin letters that NFKD leaves whole, written with plain letters.
_TRANSLITERATION: Final = str.maketrans(
    {
        "ß": "ss",
        "đ": "d",
        "ø": "o",
        "ł": "l",
        "æ": "ae",
        "œ": "oe",
        "ı": "i",
        "þ": "th",
    }
)

#: Apostrophes of every keyboard, removed so that "D'Souza" stays one word.
_APOSTROPHES: Final = str.maketrans(dict.fromkeys("'’‘‛ʼʻ`´′", None))

#: Commas of every script: they separate "Family, Given".
_COMMAS: Final = re.compile("[,،、]")

#: The blocks of Latin, Greek and Cyrillic letters (beyond ASCII), where marks are accents.
_ACCENTED_SCRIPTS: Final = (
    (0x00C0, 0x024F),  # Latin-1 letters, Latin Extended-A and B
    (0x1E00, 0x1EFF),  # Latin Extended Additional (Vietnamese)
    (0x2C60, 0x2C7F),  # Latin Extended-C
    (0xA720, 0xA7FF),  # Latin Extended-D
    (0xAB30, 0xAB6F),  # Latin Extended-E
    (0x0370, 0x03FF),  # Greek
    (0x1F00, 0x1FFF),  # Greek Extended
    (0x0400, 0x052F),  # Cyrillic and its supplement
    (0x1C80, 0x1C8F),  # Cyrillic Extended-C
    (0x2DE0, 0x2DFF),  # Cyrillic Extended-A
    (0xA640, 0xA69F),  # Cyrillic Extended-B
)


class NoName(ValueError):
    """The name gives no token to match on: empty, initials only, or punctuation."""


def _accents_are_marks(decomposed: str) -> bool:
    """True when every letter of a decomposed word is Latin, Greek or Cyrillic (or a digit)."""
    for char in decomposed:
        if char.isascii() or unicodedata.combining(char):
            continue
        point = ord(char)
        if not any(low <= point <= high for low, high in _ACCENTED_SCRIPTS):
            return False
    return True


def _normalise_word(word: str) -> str:
    """One word, without case, and without accents where accents are marks."""
    folded = word.casefold()
    if folded.isascii():
        return folded
    decomposed = unicodedata.normalize("NFKD", folded)
    if not _accents_are_marks(decomposed):
        # Thai, Burmese, Devanagari and the like: the marks are letters, keep them as written.
        return unicodedata.normalize("NFKC", folded)
    bare = "".join(char for char in decomposed if not unicodedata.combining(char))
    return bare.translate(_TRANSLITERATION)


def _words(text: str) -> list[str]:
    """The words of one part of a name: letters, marks and digits, split at anything else."""
    kept: list[str] = []
    for char in text:
        if unicodedata.category(char)[0] in "LMN":
            kept.append(char)
        else:
            kept.append(" ")
    words = (_normalise_word(word) for word in "".join(kept).split())
    return [word for word in words if len(word) > 1 and word not in SUFFIXES]


def _parts(names: Iterable[str]) -> list[tuple[bool, list[str]]]:
    """Each comma-separated part of each name, with whether a comma came before it."""
    parts: list[tuple[bool, list[str]]] = []
    for name in names:
        text = unicodedata.normalize("NFKC", name.translate(_APOSTROPHES))
        for index, part in enumerate(_COMMAS.split(text)):
            parts.append((index > 0, _words(part)))
    return parts


def tokens(*names: str) -> list[str]:
    """The normalised tokens of a name given in one or more parts (given, family, or a full name
    in any order), in the order written. See the module's docstring for the rules."""
    parts = _parts(names)
    vietnamese = any(word in _VIETNAMESE for _, words in parts for word in words)
    particles = PARTICLES - {"van"} if vietnamese else PARTICLES

    out: list[str] = []
    pending: list[str] = []  # particles waiting for the name they belong to
    previous_first: int | None = None  # where the tokens of the part before a comma begin
    for after_comma, words in parts:
        first = len(out)
        for word in words:
            if word in particles or (pending and pending[-1] == "de" and word in _AFTER_DE):
                pending.append(word)
                continue
            out.append("".join(pending) + word)
            pending = []
        if pending and after_comma and previous_first is not None:
            # "Cruz, Maria De La": the particles belong to the family name before the comma.
            out[previous_first] = "".join(pending) + out[previous_first]
            pending = []
        if len(out) > first:
            previous_first = first
    if pending:
        # Particles with no name after them ("Al" alone) are a name of their own.
        out.append("".join(pending))
    return out


def _tokens_or_fail(names: Iterable[str]) -> list[str]:
    found = tokens(*names)
    if not found:
        raise NoName("the name has no usable part: give the full name, not initials")
    return found


def name_key(mac: Mac, *names: str) -> str:
    """The keyed hash of a name, whatever the order of its parts: "Maria Santos", "Santos,
    Maria" and given "Maria" with family "Santos" give the same key. Raises ``NoName``."""
    return mac("fl", "name", *sorted(_tokens_or_fail(names)))


# Facts only a relative knows.

Fact = Literal["birth_date", "phone", "home_town"]
FACTS: Final[tuple[Fact, ...]] = ("birth_date", "phone", "home_town")

_ISO_DATE: Final = re.compile(r"(\d{4})[-/.](\d{1,2})[-/.](\d{1,2})")
_DAY_FIRST: Final = re.compile(r"(\d{1,2})[-/.](\d{1,2})[-/.](\d{4})")
#: Years a living person can be born in; a Thai date of the Buddhist era (2533 for 1990) is not
#: one of them and is not converted: it is unusable.
_YEARS: Final = range(1900, 2100)


def _birth_date(value: str) -> str | None:
    text = value.strip()
    iso = _ISO_DATE.fullmatch(text)
    day_first = _DAY_FIRST.fullmatch(text)
    if iso:
        year, month, day = (int(group) for group in iso.groups())
    elif day_first:
        # 05/03/1990 is the 5th of March: day first, as in the workers' countries of origin.
        day, month, year = (int(group) for group in day_first.groups())
    else:
        return None
    if year not in _YEARS:
        return None
    try:
        return date(year, month, day).isoformat()
    except ValueError:
        return None


def fact_value(kind: str, value: str) -> str | None:
    """The normalised form of a fact, or None when it is unusable.

    * ``birth_date``: ISO 8601 (YYYY-MM-DD), read from YYYY-MM-DD or DD/MM/YYYY (with "/", "-"
      or "." between); a day and month that could be either way round are read day first.
    * ``phone``: E.164, only from a number written internationally (starting with "+"): a
      relative abroad knows the number, but not in which country a national form is read.
    * ``home_town``: its tokens, read as a name is, joined by spaces.
    """
    if kind == "birth_date":
        return _birth_date(value)
    if kind == "phone":
        text = value.strip()
        return normalise_phone(text, None) if text.startswith("+") else None
    if kind == "home_town":
        return " ".join(tokens(value)) or None
    raise ValueError(f"unknown fact {kind!r}: one of {', '.join(FACTS)}")


def lookup_key(mac: Mac, names: Sequence[str], kind: str, value: str) -> str | None:
    """The keyed hash of a name with one fact: what a safe-and-well listing stores for each
    fact it has, and what a search computes. None when the fact is unusable; raises ``NoName``
    when the name is."""
    if isinstance(names, str):
        raise TypeError("names is a sequence of names, not one string")
    fact = fact_value(kind, value)
    if fact is None:
        return None
    return mac("fl", "lookup", kind, fact, *sorted(_tokens_or_fail(names)))


# Fuzzy matching.

#: Token counts above this one are all counted as this one.
MAX_COUNTED: Final = 16
#: The shortest token with a deletion neighbourhood: shorter ones would match too much.
MIN_DELETION_LENGTH: Final = 4


#: Two letters read as one sound ("x" stands for the sound of "ch").
_DIGRAPHS: Final = {
    "ph": "f",
    "th": "t",
    "kh": "k",
    "bh": "b",
    "dh": "d",
    "gh": "g",
    "sh": "s",
    "ch": "x",
    "dj": "j",
    "tj": "x",
    "qu": "k",
    "ck": "k",
}
#: Single letters read as another ("c" depends on the letter after it, "h" on its place).
_LETTERS: Final = {"q": "k", "z": "s", "x": "s", "v": "b", "y": "i"}


def phonetic(token: str) -> str | None:
    """A simple phonetic code for a Latin-script name token, None for other scripts or when the
    code is shorter than 2 letters (it would match too many names).

    Written for the spellings of South-East and South Asia, read left to right:

    * ph→f; th, kh, bh, dh, gh→t, k, b, d, g (aspirates of Thai and South Asian
      romanisations: "Thapa"/"Tapa", "Bhattarai"/"Battarai"); sh→s ("Shrestha"/"Srestha");
      ch stays a sound of its own; dj→j, tj→ch (old Indonesian spelling: "Djoko"/"Joko").
    * c before e, i or y→s ("Jocelyn"/"Joselyn"); else c, k, q, qu→k; z and x→s; v→b
      (Filipino and Spanish); y→i; an h after the first letter is silent.
    * Double letters are collapsed ("Anna"/"Ana"), then vowels after the first letter dropped.
    """
    if not (token.isascii() and token.isalpha()):
        return None
    sounds: list[str] = []
    index = 0
    while index < len(token):
        pair = token[index : index + 2]
        char = token[index]
        if pair in _DIGRAPHS:
            sounds.append(_DIGRAPHS[pair])
            index += 2
            continue
        if char == "c":
            following = token[index + 1 : index + 2]
            sounds.append("s" if following in ("e", "i", "y") else "k")
        elif char == "h" and sounds:
            pass  # silent after the first letter
        else:
            sounds.append(_LETTERS.get(char, char))
        index += 1

    collapsed: list[str] = []
    for sound in sounds:
        if not collapsed or collapsed[-1] != sound:
            collapsed.append(sound)
    code = collapsed[:1] + [sound for sound in collapsed[1:] if sound not in "aeiou"]
    if len(code) < 2:
        return None
    return "".join(code)


def _deletions(token: str) -> set[str]:
    """The strings made by deleting one character of ``token`` (SymSpell's neighbourhood)."""
    return {token[:index] + token[index + 1 :] for index in range(len(token))}


def _count_key(mac: Mac, count: int) -> str:
    return mac("fl", "n", str(min(count, MAX_COUNTED)))


def match_keys(mac: Mac, *names: str) -> frozenset[str]:
    """The keyed tokens a register entry is matched on; empty when the name has no token.

    For each token, each hashed as ``mac("fl", tag, value)``: its exact key (tag "t"), its
    phonetic key ("p", Latin script only, see ``phonetic``), and for tokens of 4 characters or
    more its one-deletion neighbourhood ("d": the token itself and each string with one
    character deleted): two tokens share a "d" key when they are at most two edits apart. One
    key more holds the number of tokens ("n"), so that ``score`` can tell a long candidate.
    """
    found = tokens(*names)
    if not found:
        return frozenset()
    keys = {_count_key(mac, len(found))}
    for token in found:
        keys.add(mac("fl", "t", token))
        code = phonetic(token)
        if code is not None:
            keys.add(mac("fl", "p", code))
        if len(token) >= MIN_DELETION_LENGTH:
            keys.add(mac("fl", "d", token))
            keys.update(mac("fl", "d", deleted) for deleted in _deletions(token))
    return frozenset(keys)


@dataclass(frozen=True, slots=True)
class QueryToken:
    """The keys one token of a search is looked for with."""

    #: The token's exact key: the same token, score 1.0.
    exact: str
    #: Keys of a token one insertion or deletion away (score 0.8): the candidate's exact key of
    #: each deletion of this token, and the deletion key of this token itself (present in a
    #: candidate whose token is this one with a character more).
    one_edit: frozenset[str]
    #: The phonetic key, None outside the Latin script (score 0.7).
    phonetic: str | None
    #: This token's deletion keys: any of them shared means at most two edits (score 0.6).
    deletions: frozenset[str]


@dataclass(frozen=True, slots=True)
class Query:
    """A search, made once by ``query`` and scored against many candidates' key sets."""

    tokens: tuple[QueryToken, ...]
    #: Every key of the search: a candidate sharing none scores 0 at the cost of one lookup.
    any_key: frozenset[str]
    #: (count key, factor) for candidate token counts that cost: see ``score``.
    long: tuple[tuple[str, float], ...]


def _long_factor(candidate_count: int, query_count: int) -> float:
    """A candidate may have one token more than the search at no cost (a middle name the
    relative left out); each further token takes a tenth off, down to half."""
    extra = candidate_count - query_count - 1
    return max(0.5, 1.0 - 0.1 * extra)


def query(mac: Mac, *names: str) -> Query:
    """The keys of a search for ``names``; raises ``NoName`` when the name has no token."""
    found = _tokens_or_fail(names)
    built: list[QueryToken] = []
    for token in found:
        code = phonetic(token)
        one_edit: set[str] = set()
        deletions: set[str] = set()
        if len(token) >= MIN_DELETION_LENGTH - 1:
            # A candidate token of one character more has this token among its deletions.
            one_edit.add(mac("fl", "d", token))
        if len(token) >= MIN_DELETION_LENGTH:
            shorter = _deletions(token)
            one_edit.update(mac("fl", "t", deleted) for deleted in shorter)
            deletions.add(mac("fl", "d", token))
            deletions.update(mac("fl", "d", deleted) for deleted in shorter)
        built.append(
            QueryToken(
                exact=mac("fl", "t", token),
                one_edit=frozenset(one_edit),
                phonetic=mac("fl", "p", code) if code is not None else None,
                deletions=frozenset(deletions),
            )
        )

    any_key: set[str] = set()
    for item in built:
        any_key.add(item.exact)
        any_key.update(item.one_edit, item.deletions)
        if item.phonetic is not None:
            any_key.add(item.phonetic)
    long = tuple(
        (_count_key(mac, count), _long_factor(count, len(found)))
        for count in range(len(found) + 2, MAX_COUNTED + 1)
    )
    return Query(tuple(built), frozenset(any_key), long)


def _token_score(item: QueryToken, candidate: frozenset[str]) -> float:
    if item.exact in candidate:
        return 1.0
    if not item.one_edit.isdisjoint(candidate):
        return 0.8
    if item.phonetic is not None and item.phonetic in candidate:
        return 0.7
    if not item.deletions.isdisjoint(candidate):
        return 0.6
    return 0.0


def score(q: Query, candidate: frozenset[str]) -> float:
    """How well a candidate's ``match_keys`` fit a search, from 0 to 1.

    Each token of the search takes the best of: the same token 1.0; a token one insertion or
    deletion away 0.8; the same phonetic code 0.7; a shared deletion key (a substitution, or
    two edits) 0.6; else 0. The scores are averaged over the search's tokens, so a token the
    candidate lacks lowers the score. A candidate with more tokens than the search has one more
    free, then each further one multiplies the score by a tenth less, down to half (see
    ``_long_factor``). Only set lookups: no hash is computed here.
    """
    if q.any_key.isdisjoint(candidate):
        return 0.0
    total = 0.0
    for item in q.tokens:
        total += _token_score(item, candidate)
    average = total / len(q.tokens)
    for key, factor in q.long:
        if key in candidate:
            return average * factor
    return average
