"""The templates: every language, every kind, their placeholders, their reply words."""

from __future__ import annotations

import string
import unicodedata

import pytest

from integrations.messaging.replies import KEYWORDS, Outcome, understand
from integrations.messaging.segments import Encoding, count
from integrations.messaging.templates import (
    LANGUAGES,
    PLACEHOLDERS,
    REPLY_WORDS,
    Kind,
    Text,
    catalogue,
    choose_language,
    render,
)
from integrations.messaging.words import THIRD_PERSON_WORDS

VALUES = {
    "sender": "Lifeline",
    "crisis": "Flood in Selangor",
    "hotline": "+60 3 1234 5678",
    "text": "We are all well at home.",
}


def _fold(text: str) -> str:
    return unicodedata.normalize("NFC", text).casefold()


def _placeholders(body: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(body) if name is not None}


def test_languages() -> None:
    assert LANGUAGES[0] == "en"
    assert set(LANGUAGES) == {"en", "tl", "id", "th", "my", "km", "vi", "ne", "bn", "ms"}
    assert len(LANGUAGES) == len(set(LANGUAGES))


def test_replies_has_keywords_for_every_template_language() -> None:
    assert set(KEYWORDS) == set(LANGUAGES)
    for by_outcome in KEYWORDS.values():
        assert by_outcome[Outcome.SAFE]
        assert by_outcome[Outcome.NEEDS_HELP]


def test_the_catalogue_has_every_kind_in_every_language() -> None:
    texts = catalogue()
    assert len(texts) == len(LANGUAGES) * len(Kind)
    assert {(kind, text.language) for kind, text in texts} == {
        (kind, language) for kind in Kind for language in LANGUAGES
    }
    for _, text in texts:
        assert text.needs_review is (text.language != "en")
        assert text.body.strip() == text.body and text.body


@pytest.mark.parametrize(
    ("kind", "text"), catalogue(), ids=lambda v: str(getattr(v, "language", v))
)
def test_each_text_has_exactly_its_kinds_placeholders(kind: Kind, text: Text) -> None:
    assert _placeholders(text.body) == PLACEHOLDERS[kind]


@pytest.mark.parametrize("language", LANGUAGES)
@pytest.mark.parametrize("kind", list(Kind))
def test_each_text_renders(kind: Kind, language: str) -> None:
    rendered = render(kind, language, VALUES)
    assert rendered.language == language
    assert rendered.needs_review is (language != "en")
    assert "{" not in rendered.body and "}" not in rendered.body
    for name in PLACEHOLDERS[kind]:
        assert VALUES[name] in rendered.body


def test_a_missing_value_is_a_key_error_and_extra_values_are_ignored() -> None:
    with pytest.raises(KeyError):
        render(Kind.CHECK, "tl", {"sender": "Lifeline"})
    with pytest.raises(KeyError):
        render(Kind.UNKNOWN_SENDER, "en", {})
    assert render(Kind.STOPPED, "en", {"extra": "x"}).body == render(Kind.STOPPED, "en", {}).body


def test_a_language_without_texts_gets_english() -> None:
    assert render(Kind.THANKS_SAFE, "lo", {}) == render(Kind.THANKS_SAFE, "en", {})
    assert render(Kind.THANKS_SAFE, "", {}).language == "en"
    assert render(Kind.THANKS_SAFE, "fil-PH", {}).language == "tl"


def test_the_filipino_check_names_its_reply_words() -> None:
    body = render(Kind.CHECK, "tl", VALUES).body
    assert "Sumagot ng 1 o LIGTAS kung ligtas ka, 2 o TULONG kung kailangan mo ng tulong" in body


@pytest.mark.parametrize("language", LANGUAGES)
def test_the_reply_words_templates_name_are_read_as_meant(language: str) -> None:
    words = REPLY_WORDS[language]
    assert set(words) == {Outcome.SAFE, Outcome.NEEDS_HELP}
    for kind in (Kind.CHECK, Kind.REMINDER):
        body = render(kind, language, VALUES).body
        for outcome, word in words.items():
            assert word in body, (kind, outcome)
            assert word in KEYWORDS[language][outcome]
            assert understand(word).outcome is outcome
            assert understand(word.lower()).outcome is outcome
            assert understand(f"{word} ok").outcome is outcome
        assert " 1 " in body and " 2 " in body
    assert understand("1").outcome is Outcome.SAFE
    assert understand("2").outcome is Outcome.NEEDS_HELP


@pytest.mark.parametrize(
    ("kind", "text"), catalogue(), ids=lambda v: str(getattr(v, "language", v))
)
def test_no_text_says_what_a_third_person_should_not_read(kind: Kind, text: Text) -> None:
    body = _fold(text.body)
    for word in THIRD_PERSON_WORDS:
        assert _fold(word) not in body, (kind, text.language, word)


@pytest.mark.parametrize("language", LANGUAGES)
def test_checks_and_reminders_are_short(language: str) -> None:
    for kind in (Kind.CHECK, Kind.REMINDER):
        cost = count(render(kind, language, VALUES).body)
        # One GSM-7 SMS, or two UCS-2 parts, with a short crisis name.
        assert cost.segments <= (1 if cost.encoding is Encoding.GSM7 else 2), (kind, cost)


@pytest.mark.parametrize(
    ("languages", "nationality", "expected"),
    [
        (["tl"], None, "tl"),
        (["tl-PH"], None, "tl"),
        (["fil"], None, "tl"),
        (["fil-PH"], "IDN", "tl"),
        (["TGL"], None, "tl"),
        (["in"], None, "id"),
        (["ind"], None, "id"),
        (["id_ID"], None, "id"),
        (["bur"], None, "my"),
        (["mya"], None, "my"),
        (["my-MM"], None, "my"),
        (["khm"], None, "km"),
        (["vie"], None, "vi"),
        (["nep"], None, "ne"),
        (["ben"], None, "bn"),
        (["may"], None, "ms"),
        (["msa"], None, "ms"),
        (["zsm"], None, "ms"),
        (["tha"], None, "th"),
        (["eng"], "PHL", "en"),
        (["lo", "th"], None, "th"),
        (["lo"], "LAO", "en"),
        ([], "LAO", "en"),
        ([], "PHL", "tl"),
        ([], "IDN", "id"),
        ([], "THA", "th"),
        ([], "MMR", "my"),
        ([], "KHM", "km"),
        ([], "VNM", "vi"),
        ([], "NPL", "ne"),
        ([], "BGD", "bn"),
        ([], "MYS", "ms"),
        ([], " phl ", "tl"),
        (["hi"], "IND", "en"),
        ([], None, "en"),
        ([""], "", "en"),
    ],
)
def test_choose_language(languages: list[str], nationality: str | None, expected: str) -> None:
    assert choose_language(languages, nationality) == expected
