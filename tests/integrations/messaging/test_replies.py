"""Reading workers' replies in every template language and script."""

from __future__ import annotations

import pytest

from integrations.messaging.replies import KEYWORDS, STOP_WORDS, Outcome, Understood, understand

SAFE, HELP, STOP = Outcome.SAFE, Outcome.NEEDS_HELP, Outcome.STOP


@pytest.mark.parametrize(
    ("text", "outcome", "words"),
    [
        ("1", SAFE, ""),
        ("2", HELP, ""),
        (" 1. ", SAFE, ""),
        ("(2)", HELP, ""),
        ("1 we are at the school", SAFE, "we are at the school"),
        ("LIGTAS po kami", SAFE, "po kami"),
        ("ligtas, salamat!", SAFE, "salamat!"),
        ("TOLONG banjir", HELP, "banjir"),
        ("Tolong, banjir", HELP, "banjir"),
        ("tulong po", HELP, "po"),
        ("Aman!", SAFE, ""),
        ("selamat, semua ok", SAFE, "semua ok"),
        ("Bantuan diperlukan", HELP, "diperlukan"),
        ("SAFE", SAFE, ""),
        ("I'm safe, at my sister's", SAFE, "at my sister's"),
        ("HELP", HELP, ""),
        ("help water rising", HELP, "water rising"),
        ("an toàn", SAFE, ""),
        ("AN TOAN roi", SAFE, "roi"),
        ("An Toàn rồi", SAFE, "rồi"),
        ("Giúp tôi với", HELP, "tôi với"),
        ("cuu", HELP, ""),
        ("सुरक्षित छु", SAFE, "छु"),
        ("मद्दत चाहियो", HELP, "चाहियो"),
        ("सहायता", HELP, ""),
        ("নিরাপদ আছি", SAFE, "আছি"),
        ("সাহায্য দরকার", HELP, "দরকার"),
    ],
)
def test_replies_with_spaces(text: str, outcome: Outcome, words: str) -> None:
    assert understand(text) == Understood(outcome, words)


@pytest.mark.parametrize(
    ("text", "outcome", "words"),
    [
        ("ปลอดภัย", SAFE, ""),
        ("ปลอดภัยดีครับ", SAFE, "ครับ"),
        ("ปลอดภัยค่ะ อยู่บ้านเพื่อน", SAFE, "ค่ะ อยู่บ้านเพื่อน"),
        ("ช่วยด้วย น้ำท่วม", HELP, "น้ำท่วม"),
        ("ช่วยด้วยค่ะ", HELP, "ค่ะ"),
        ("လုံခြုံပါတယ်", SAFE, ""),
        ("လုံခြုံ ပါတယ်", SAFE, "ပါတယ်"),
        ("ကူညီပါ", HELP, ""),
        ("សុវត្ថិភាព", SAFE, ""),
        ("ជួយខ្ញុំផង", HELP, "ខ្ញុំផង"),
        ("๑ครับ", SAFE, "ครับ"),
    ],
)
def test_scripts_without_word_spaces_match_a_keyword_prefix(
    text: str, outcome: Outcome, words: str
) -> None:
    assert understand(text) == Understood(outcome, words)


def test_a_keyword_prefix_must_end_on_a_whole_character() -> None:
    # ช่วง (a period of time) shares ช่ว with ช่วย, and ไม่ปลอดภัย is "not safe".
    assert understand("ช่วง").outcome is None
    assert understand("ไม่ปลอดภัย").outcome is None


@pytest.mark.parametrize(
    ("digit", "outcome"),
    [
        ("๑", SAFE),
        ("๒", HELP),
        ("၁", SAFE),
        ("၂", HELP),
        ("១", SAFE),
        ("២", HELP),
        ("১", SAFE),
        ("২", HELP),
        ("१", SAFE),
        ("२", HELP),
        ("１", SAFE),
        ("２", HELP),
    ],
)
def test_digits_of_every_script(digit: str, outcome: Outcome) -> None:
    assert understand(digit) == Understood(outcome, "")
    assert understand(f"{digit} ok").outcome is outcome


@pytest.mark.parametrize("word", [*STOP_WORDS, "stop", "Stop.", " STOP "])
def test_stop_alone(word: str) -> None:
    assert understand(word) == Understood(STOP, "")


@pytest.mark.parametrize(
    "text",
    [
        "Sino ito?",
        "Who is this?",
        "ok lang",
        "ok",
        "👍",
        "🙏 ligtas",
        "1 2",
        "2 1",
        "1, 2",
        "1/2",
        "safe help",
        "safe, help my friend",
        "LIGTAS TULONG",
        "ปลอดภัยช่วยด้วย",
        "10",
        "1st floor",
        "stop sending me this",
        "please stop",
        "Selamat pagi",
        "selamat malam, siapa ini?",
        "tolong berhenti",
        "not safe",
    ],
)
def test_what_cannot_be_read_is_left_to_a_person(text: str) -> None:
    assert understand(text) == Understood(None, text.strip())


def test_empty_reply() -> None:
    assert understand("") == Understood(None, "")
    assert understand("   ") == Understood(None, "")


def test_every_keyword_reads_as_its_outcome_alone_and_before_words() -> None:
    for language, by_outcome in KEYWORDS.items():
        for outcome, keywords in by_outcome.items():
            for keyword in keywords:
                for form in (keyword, keyword.lower(), f"{keyword}!"):
                    assert understand(form) == Understood(outcome, ""), (language, form)
                assert understand(f"{keyword} 123") == Understood(outcome, "123"), language
