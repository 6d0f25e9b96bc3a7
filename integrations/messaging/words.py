"""Words no text Lifeline sends or publishes to workers may carry, in English and as translated
into the template languages: a message is read on a phone an employer may hold, an advisory on
a screen at a checkpoint, and neither ever speaks of papers, status or the police (MICIC
guideline 6: information people can use without identifying themselves). The message templates
are tested against them (tests/integrations/messaging/test_templates.py); the advisories refuse
them (service/advisories/words.py)."""

from __future__ import annotations

#: Words no text to workers may carry.
THIRD_PERSON_WORDS: tuple[str, ...] = (
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
)
