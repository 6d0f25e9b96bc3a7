"""Words no advisory may carry: an advisory is read by anyone, on a screen shown to an
employer or at a checkpoint, and it never asks a person to say who they are or what their
status is (MICIC guideline 6: information people can use without identifying themselves).
The message templates' list (tests/integrations/messaging/test_templates.py), and three English
phrases that ask a person who they are."""

from __future__ import annotations

import re
import unicodedata

FORBIDDEN: tuple[str, ...] = (
    # en
    "document",
    "undocumented",
    "visa",
    "immigration",
    "police",
    "illegal",
    "overstay",
    "permit",
    "passport",
    # tl
    "dokumento",
    "imigrasyon",
    "pulis",
    "ilegal",
    "pasaporte",
    # id, ms
    "dokumen",
    "imigrasi",
    "polisi",
    "polis",
    "izin tinggal",
    "paspor",
    "pasport",
    # th
    "วีซ่า",
    "ตำรวจ",
    "ตรวจคนเข้าเมือง",
    "ผิดกฎหมาย",
    "เอกสาร",
    "หนังสือเดินทาง",
    # my
    "ဗီဇာ",
    "ရဲတပ်",
    "လူဝင်မှုကြီးကြပ်",
    "တရားမဝင်",
    "စာရွက်စာတမ်း",
    "နိုင်ငံကူးလက်မှတ်",
    # km
    "ទិដ្ឋាការ",
    "ប៉ូលីស",
    "អន្តោប្រវេសន៍",
    "ខុសច្បាប់",
    "ឯកសារ",
    "លិខិតឆ្លងដែន",
    # vi
    "thị thực",
    "công an",
    "cảnh sát",
    "nhập cư",
    "giấy tờ",
    "bất hợp pháp",
    "hộ chiếu",
    # ne
    "भिसा",
    "प्रहरी",
    "पुलिस",
    "अध्यागमन",
    "कागजात",
    "अवैध",
    "राहदानी",
    # bn
    "ভিসা",
    "পুলিশ",
    "অভিবাসন",
    "কাগজপত্র",
    "অবৈধ",
    "পাসপোর্ট",
    # asking a person to identify themselves, in English
    "identify yourself",
    "your name and",
    "id card",
)


def fold(text: str) -> str:
    return unicodedata.normalize("NFC", text).casefold()


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
