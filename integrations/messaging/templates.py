"""The texts sent to workers, in their languages, with placeholders.

Every text other than English was written by the project and is marked ``needs_review``: it is to
be reviewed by a native speaker before it is relied on. The texts are short and plain (a worker
reads them on a basic phone, in a disaster), and each check and reminder names its reply words:
the digits 1 and 2, and the words of ``REPLY_WORDS`` in its own language, all of which
``replies.understand`` reads.

No text carries documentation status, or anything else a third person reading the phone should
not see: no visa, police, immigration or legal words, no employer, no place.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from integrations.messaging.replies import Outcome

#: The languages the templates are written in (ISO 639-1), English first.
LANGUAGES: tuple[str, ...] = ("en", "tl", "id", "th", "my", "km", "vi", "ne", "bn", "ms")


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
    #: To the family at home of a person leaving, where the person agreed: on a movement home,
    #: and arrived. ``{hotline}``; no name, no place (the number may not be the family's).
    FAMILY_ON_MOVEMENT = "family_on_movement"
    FAMILY_ARRIVED = "family_arrived"
    #: A Red Cross Message: family news carried once contact was restored. ``{text}``: the
    #: family's (or the person's) own words.
    RC_MESSAGE = "rc_message"


#: The placeholders each kind's text has, in every language.
PLACEHOLDERS: Mapping[Kind, frozenset[str]] = {
    Kind.CHECK: frozenset(("sender", "crisis")),
    Kind.REMINDER: frozenset(("sender", "crisis")),
    Kind.THANKS_SAFE: frozenset(),
    Kind.THANKS_HELP: frozenset(),
    Kind.STOPPED: frozenset(),
    Kind.UNKNOWN_SENDER: frozenset(("hotline",)),
    Kind.FAMILY_ON_MOVEMENT: frozenset(("hotline",)),
    Kind.FAMILY_ARRIVED: frozenset(("hotline",)),
    Kind.RC_MESSAGE: frozenset(("text",)),
}


@dataclass(frozen=True, slots=True)
class Text:
    language: str
    body: str
    #: Written by the project; not yet reviewed by a native speaker.
    needs_review: bool


#: The reply words the check and the reminder name in each language, besides the digits 1 and 2.
REPLY_WORDS: Mapping[str, Mapping[Outcome, str]] = {
    "en": {Outcome.SAFE: "SAFE", Outcome.NEEDS_HELP: "HELP"},
    "tl": {Outcome.SAFE: "LIGTAS", Outcome.NEEDS_HELP: "TULONG"},
    "id": {Outcome.SAFE: "AMAN", Outcome.NEEDS_HELP: "TOLONG"},
    "th": {Outcome.SAFE: "ปลอดภัย", Outcome.NEEDS_HELP: "ช่วยด้วย"},
    "my": {Outcome.SAFE: "လုံခြုံ", Outcome.NEEDS_HELP: "ကူညီ"},
    "km": {Outcome.SAFE: "សុវត្ថិភាព", Outcome.NEEDS_HELP: "ជួយ"},
    "vi": {Outcome.SAFE: "AN TOÀN", Outcome.NEEDS_HELP: "GIÚP"},
    "ne": {Outcome.SAFE: "सुरक्षित", Outcome.NEEDS_HELP: "मद्दत"},
    "bn": {Outcome.SAFE: "নিরাপদ", Outcome.NEEDS_HELP: "সাহায্য"},
    "ms": {Outcome.SAFE: "SELAMAT", Outcome.NEEDS_HELP: "TOLONG"},
}

_TEXTS: Mapping[str, Mapping[Kind, str]] = {
    "en": {
        Kind.CHECK: (
            "{sender}: {crisis}. Are you safe? Reply 1 or SAFE if you are safe, 2 or HELP if you "
            "need help, with a few words if you can."
        ),
        Kind.REMINDER: (
            "{sender}: {crisis}. We have not heard from you. Reply 1 or SAFE if safe, "
            "2 or HELP for help."
        ),
        Kind.THANKS_SAFE: "Thank you. We have recorded that you are safe.",
        Kind.THANKS_HELP: "Thank you. Someone will contact you as soon as possible.",
        Kind.STOPPED: "You will get no more messages from this service.",
        Kind.UNKNOWN_SENDER: "We do not know this number. Call {hotline} for help or to register.",
        Kind.FAMILY_ON_MOVEMENT: (
            "Your relative working abroad asked us to tell you: they are on an organised journey "
            "home. We will tell you when they arrive. Questions: {hotline}"
        ),
        Kind.FAMILY_ARRIVED: (
            "Your relative working abroad asked us to tell you: they have arrived home. "
            "Questions: {hotline}"
        ),
        Kind.RC_MESSAGE: "Red Cross message from your family: {text}",
    },
    "tl": {
        Kind.CHECK: (
            "{sender}: {crisis}. Ligtas ka ba? Sumagot ng 1 o LIGTAS kung ligtas ka, 2 o TULONG "
            "kung kailangan mo ng tulong. Magdagdag ng detalye kung kaya."
        ),
        Kind.REMINDER: (
            "{sender}: {crisis}. Wala pa kaming sagot mula sa iyo. Sumagot ng 1 o LIGTAS kung "
            "ligtas ka, 2 o TULONG kung kailangan mo ng tulong."
        ),
        Kind.THANKS_SAFE: "Salamat. Naitala namin na ligtas ka.",
        Kind.THANKS_HELP: "Salamat. May kokontak sa iyo sa lalong madaling panahon.",
        Kind.STOPPED: "Hindi ka na makakatanggap ng mensahe mula sa serbisyong ito.",
        Kind.UNKNOWN_SENDER: (
            "Hindi namin kilala ang numerong ito. Tumawag sa {hotline} para sa tulong o para "
            "magparehistro."
        ),
        Kind.FAMILY_ON_MOVEMENT: (
            "Hiniling ng kamag-anak mong nagtatrabaho sa ibang bansa na sabihin namin: pauwi na "
            "sila sa isang organisadong biyahe. Sasabihan ka namin pagdating nila. Mga tanong: "
            "{hotline}"
        ),
        Kind.FAMILY_ARRIVED: (
            "Hiniling ng kamag-anak mong nagtatrabaho sa ibang bansa na sabihin namin: nakarating "
            "na sila sa bansa. Mga tanong: {hotline}"
        ),
        Kind.RC_MESSAGE: "Mensahe ng Red Cross mula sa iyong pamilya: {text}",
    },
    "id": {
        Kind.CHECK: (
            "{sender}: {crisis}. Apakah Anda aman? Balas 1 atau AMAN jika Anda aman, 2 atau "
            "TOLONG jika butuh bantuan. Tambahkan beberapa kata jika bisa."
        ),
        Kind.REMINDER: (
            "{sender}: {crisis}. Kami belum menerima balasan Anda. Balas 1 atau AMAN jika aman, "
            "2 atau TOLONG jika butuh bantuan."
        ),
        Kind.THANKS_SAFE: "Terima kasih. Kami sudah mencatat bahwa Anda aman.",
        Kind.THANKS_HELP: "Terima kasih. Seseorang akan segera menghubungi Anda.",
        Kind.STOPPED: "Anda tidak akan menerima pesan lagi dari layanan ini.",
        Kind.UNKNOWN_SENDER: (
            "Kami tidak mengenal nomor ini. Hubungi {hotline} untuk bantuan atau untuk mendaftar."
        ),
        Kind.FAMILY_ON_MOVEMENT: (
            "Kerabat Anda yang bekerja di luar negeri meminta kami memberi tahu: mereka sedang "
            "dalam perjalanan pulang yang diatur. Kami akan memberi tahu saat mereka tiba. "
            "Pertanyaan: {hotline}"
        ),
        Kind.FAMILY_ARRIVED: (
            "Kerabat Anda yang bekerja di luar negeri meminta kami memberi tahu: mereka sudah "
            "tiba di tanah air. Pertanyaan: {hotline}"
        ),
        Kind.RC_MESSAGE: "Pesan Palang Merah dari keluarga Anda: {text}",
    },
    "th": {
        Kind.CHECK: (
            "{sender}: {crisis} คุณปลอดภัยไหม ตอบ 1 หรือ ปลอดภัย ถ้าคุณปลอดภัย ตอบ 2 หรือ "
            "ช่วยด้วย ถ้าต้องการความช่วยเหลือ"
        ),
        Kind.REMINDER: (
            "{sender}: {crisis} เรายังไม่ได้รับคำตอบจากคุณ ตอบ 1 หรือ ปลอดภัย ถ้าปลอดภัย "
            "ตอบ 2 หรือ ช่วยด้วย ถ้าต้องการความช่วยเหลือ"
        ),
        Kind.THANKS_SAFE: "ขอบคุณ เราบันทึกแล้วว่าคุณปลอดภัย",
        Kind.THANKS_HELP: "ขอบคุณ จะมีคนติดต่อคุณโดยเร็วที่สุด",
        Kind.STOPPED: "คุณจะไม่ได้รับข้อความจากบริการนี้อีก",
        Kind.UNKNOWN_SENDER: "เราไม่รู้จักหมายเลขนี้ โทร {hotline} เพื่อขอความช่วยเหลือหรือลงทะเบียน",
        Kind.FAMILY_ON_MOVEMENT: (
            "ญาติของคุณที่ทำงานต่างประเทศขอให้เราแจ้งว่า เขากำลังเดินทางกลับบ้านตามที่จัดไว้ "
            "เราจะแจ้งเมื่อเขามาถึง สอบถาม: {hotline}"
        ),
        Kind.FAMILY_ARRIVED: (
            "ญาติของคุณที่ทำงานต่างประเทศขอให้เราแจ้งว่า เขาเดินทางถึงบ้านแล้ว สอบถาม: {hotline}"
        ),
        Kind.RC_MESSAGE: "ข้อความกาชาดจากครอบครัวของคุณ: {text}",
    },
    "my": {
        Kind.CHECK: (
            "{sender}: {crisis}။ သင် လုံခြုံပါသလား။ လုံခြုံရင် 1 သို့မဟုတ် လုံခြုံ၊ အကူအညီလိုရင် 2 သို့မဟုတ် ကူညီ လို့ ပြန်ပို့ပါ။"
        ),
        Kind.REMINDER: (
            "{sender}: {crisis}။ အကြောင်းပြန်စာ မရသေးပါ။ လုံခြုံရင် 1 သို့မဟုတ် "
            "လုံခြုံ၊ အကူအညီလိုရင် 2 သို့မဟုတ် ကူညီ လို့ ပြန်ပို့ပါ။"
        ),
        Kind.THANKS_SAFE: "ကျေးဇူးတင်ပါတယ်။ သင် လုံခြုံကြောင်း မှတ်တမ်းတင်ပြီးပါပြီ။",
        Kind.THANKS_HELP: "ကျေးဇူးတင်ပါတယ်။ တစ်ယောက်ယောက်က သင့်ကို အမြန်ဆုံး ဆက်သွယ်ပါမယ်။",
        Kind.STOPPED: "ဤဝန်ဆောင်မှုမှ နောက်ထပ် စာများ ပို့တော့မည် မဟုတ်ပါ။",
        Kind.UNKNOWN_SENDER: ("ဤနံပါတ်ကို ကျွန်ုပ်တို့ မသိပါ။ အကူအညီအတွက် သို့မဟုတ် စာရင်းသွင်းရန် {hotline} ကို ဖုန်းဆက်ပါ။"),
        Kind.FAMILY_ON_MOVEMENT: (
            "နိုင်ငံခြားတွင် အလုပ်လုပ်နေသော သင့်ဆွေမျိုးက အသိပေးရန် တောင်းဆိုထားသည်- သူတို့သည် "
            "စီစဉ်ထားသော ခရီးဖြင့် အိမ်ပြန်လာနေသည်။ ရောက်ရှိသောအခါ အသိပေးပါမည်။ မေးမြန်းရန်- "
            "{hotline}"
        ),
        Kind.FAMILY_ARRIVED: (
            "နိုင်ငံခြားတွင် အလုပ်လုပ်နေသော သင့်ဆွေမျိုးက အသိပေးရန် တောင်းဆိုထားသည်- သူတို့ "
            "အိမ်ပြန်ရောက်ပါပြီ။ မေးမြန်းရန်- {hotline}"
        ),
        Kind.RC_MESSAGE: "သင့်မိသားစုထံမှ ကြက်ခြေနီ စာ- {text}",
    },
    "km": {
        Kind.CHECK: (
            "{sender}: {crisis}។ តើអ្នកមានសុវត្ថិភាពទេ? ឆ្លើយ 1 ឬ សុវត្ថិភាព បើអ្នកមានសុវត្ថិភាព "
            "2 ឬ ជួយ បើអ្នកត្រូវការជំនួយ។"
        ),
        Kind.REMINDER: (
            "{sender}: {crisis}។ យើងមិនទាន់ទទួលចម្លើយពីអ្នកទេ។ ឆ្លើយ 1 ឬ សុវត្ថិភាព "
            "បើមានសុវត្ថិភាព 2 ឬ ជួយ បើត្រូវការជំនួយ។"
        ),
        Kind.THANKS_SAFE: "សូមអរគុណ។ យើងបានកត់ត្រាថាអ្នកមានសុវត្ថិភាព។",
        Kind.THANKS_HELP: "សូមអរគុណ។ នឹងមានគេទាក់ទងអ្នកឱ្យបានឆាប់បំផុត។",
        Kind.STOPPED: "អ្នកនឹងមិនទទួលសារពីសេវានេះទៀតទេ។",
        Kind.UNKNOWN_SENDER: "យើងមិនស្គាល់លេខនេះទេ។ ហៅទៅ {hotline} ដើម្បីសុំជំនួយ ឬចុះឈ្មោះ។",
        Kind.FAMILY_ON_MOVEMENT: (
            "សាច់ញាតិរបស់អ្នកដែលធ្វើការនៅបរទេសបានស្នើឱ្យយើងប្រាប់អ្នកថា "
            "ពួកគេកំពុងធ្វើដំណើរត្រឡប់មកផ្ទះវិញតាមការរៀបចំ។ យើងនឹងប្រាប់អ្នកនៅពេលពួកគេមកដល់។ "
            "សំណួរ៖ {hotline}"
        ),
        Kind.FAMILY_ARRIVED: (
            "សាច់ញាតិរបស់អ្នកដែលធ្វើការនៅបរទេសបានស្នើឱ្យយើងប្រាប់អ្នកថា ពួកគេបានមកដល់ផ្ទះវិញហើយ។ សំណួរ៖ {hotline}"
        ),
        Kind.RC_MESSAGE: "សារកាកបាទក្រហមពីគ្រួសាររបស់អ្នក៖ {text}",
    },
    "vi": {
        Kind.CHECK: (
            "{sender}: {crisis}. Bạn có an toàn không? Trả lời 1 hoặc AN TOÀN nếu bạn an toàn, "
            "2 hoặc GIÚP nếu cần giúp đỡ."
        ),
        Kind.REMINDER: (
            "{sender}: {crisis}. Chúng tôi chưa nhận được tin của bạn. Trả lời 1 hoặc "
            "AN TOÀN nếu an toàn, 2 hoặc GIÚP nếu cần giúp đỡ."
        ),
        Kind.THANKS_SAFE: "Cảm ơn bạn. Chúng tôi đã ghi nhận bạn an toàn.",
        Kind.THANKS_HELP: "Cảm ơn bạn. Sẽ có người liên lạc với bạn sớm nhất có thể.",
        Kind.STOPPED: "Bạn sẽ không nhận thêm tin nhắn nào từ dịch vụ này.",
        Kind.UNKNOWN_SENDER: (
            "Chúng tôi không biết số này. Gọi {hotline} để được giúp đỡ hoặc để đăng ký."
        ),
        Kind.FAMILY_ON_MOVEMENT: (
            "Người thân của bạn đang làm việc ở nước ngoài nhờ chúng tôi báo: họ đang trên chuyến "
            "về nước được tổ chức. Chúng tôi sẽ báo khi họ đến nơi. Thắc mắc: {hotline}"
        ),
        Kind.FAMILY_ARRIVED: (
            "Người thân của bạn đang làm việc ở nước ngoài nhờ chúng tôi báo: họ đã về đến nước. "
            "Thắc mắc: {hotline}"
        ),
        Kind.RC_MESSAGE: "Tin nhắn Chữ thập đỏ từ gia đình bạn: {text}",
    },
    "ne": {
        Kind.CHECK: (
            "{sender}: {crisis}। के तपाईं सुरक्षित हुनुहुन्छ? सुरक्षित भए 1 वा सुरक्षित, "
            "मद्दत चाहिएमा 2 वा मद्दत लेखेर जवाफ दिनुहोस्।"
        ),
        Kind.REMINDER: (
            "{sender}: {crisis}। हामीले तपाईंको जवाफ पाएका छैनौं। सुरक्षित भए 1 वा सुरक्षित, "
            "मद्दत चाहिएमा 2 वा मद्दत लेखेर जवाफ दिनुहोस्।"
        ),
        Kind.THANKS_SAFE: "धन्यवाद। तपाईं सुरक्षित हुनुहुन्छ भनेर हामीले टिपेका छौं।",
        Kind.THANKS_HELP: "धन्यवाद। कसैले तपाईंलाई छिट्टै सम्पर्क गर्नेछ।",
        Kind.STOPPED: "अब तपाईंलाई यो सेवाबाट कुनै सन्देश आउने छैन।",
        Kind.UNKNOWN_SENDER: (
            "हामीलाई यो नम्बर थाहा छैन। मद्दत वा दर्ताका लागि {hotline} मा फोन गर्नुहोस्।"
        ),
        Kind.FAMILY_ON_MOVEMENT: (
            "विदेशमा काम गर्ने तपाईंको आफन्तले तपाईंलाई जानकारी दिन भन्नुभएको छ: उहाँ व्यवस्थित "
            "यात्रामा घर फर्किँदै हुनुहुन्छ। आइपुगेपछि हामी जानकारी दिनेछौं। प्रश्न: {hotline}"
        ),
        Kind.FAMILY_ARRIVED: (
            "विदेशमा काम गर्ने तपाईंको आफन्तले तपाईंलाई जानकारी दिन भन्नुभएको छ: उहाँ घर "
            "आइपुग्नुभयो। प्रश्न: {hotline}"
        ),
        Kind.RC_MESSAGE: "तपाईंको परिवारबाट रेडक्रस सन्देश: {text}",
    },
    "bn": {
        Kind.CHECK: (
            "{sender}: {crisis}। আপনি কি নিরাপদ? নিরাপদ থাকলে 1 বা নিরাপদ, সাহায্য লাগলে "
            "2 বা সাহায্য লিখে উত্তর দিন।"
        ),
        Kind.REMINDER: (
            "{sender}: {crisis}। আমরা এখনো আপনার উত্তর পাইনি। নিরাপদ থাকলে 1 বা নিরাপদ, "
            "সাহায্য লাগলে 2 বা সাহায্য লিখে উত্তর দিন।"
        ),
        Kind.THANKS_SAFE: "ধন্যবাদ। আপনি নিরাপদ আছেন, আমরা লিখে রেখেছি।",
        Kind.THANKS_HELP: "ধন্যবাদ। কেউ যত দ্রুত সম্ভব আপনার সাথে যোগাযোগ করবে।",
        Kind.STOPPED: "এই সেবা থেকে আপনি আর কোনো বার্তা পাবেন না।",
        Kind.UNKNOWN_SENDER: ("আমরা এই নম্বরটি চিনি না। সাহায্য বা নিবন্ধনের জন্য {hotline} নম্বরে ফোন করুন।"),
        Kind.FAMILY_ON_MOVEMENT: (
            "বিদেশে কর্মরত আপনার আত্মীয় আপনাকে জানাতে বলেছেন: তিনি একটি ব্যবস্থাকৃত যাত্রায় "
            "দেশে ফিরছেন। পৌঁছালে আমরা জানাব। প্রশ্ন: {hotline}"
        ),
        Kind.FAMILY_ARRIVED: (
            "বিদেশে কর্মরত আপনার আত্মীয় আপনাকে জানাতে বলেছেন: তিনি দেশে পৌঁছেছেন। প্রশ্ন: {hotline}"
        ),
        Kind.RC_MESSAGE: "আপনার পরিবারের কাছ থেকে রেড ক্রস বার্তা: {text}",
    },
    "ms": {
        Kind.CHECK: (
            "{sender}: {crisis}. Adakah anda selamat? Balas 1 atau SELAMAT jika selamat, "
            "2 atau TOLONG jika perlukan bantuan. Tambah beberapa perkataan jika boleh."
        ),
        Kind.REMINDER: (
            "{sender}: {crisis}. Kami belum menerima jawapan anda. Balas 1 atau SELAMAT jika "
            "selamat, 2 atau TOLONG jika perlukan bantuan."
        ),
        Kind.THANKS_SAFE: "Terima kasih. Kami telah merekodkan bahawa anda selamat.",
        Kind.THANKS_HELP: "Terima kasih. Seseorang akan menghubungi anda secepat mungkin.",
        Kind.STOPPED: "Anda tidak akan menerima mesej lagi daripada perkhidmatan ini.",
        Kind.UNKNOWN_SENDER: (
            "Kami tidak mengenali nombor ini. Hubungi {hotline} untuk bantuan atau untuk mendaftar."
        ),
        Kind.FAMILY_ON_MOVEMENT: (
            "Saudara anda yang bekerja di luar negara meminta kami memberitahu: mereka dalam "
            "perjalanan pulang yang diatur. Kami akan memberitahu apabila mereka tiba. "
            "Pertanyaan: {hotline}"
        ),
        Kind.FAMILY_ARRIVED: (
            "Saudara anda yang bekerja di luar negara meminta kami memberitahu: mereka telah tiba "
            "di tanah air. Pertanyaan: {hotline}"
        ),
        Kind.RC_MESSAGE: "Mesej Bulan Sabit Merah daripada keluarga anda: {text}",
    },
}

#: Language tags and codes other than ISO 639-1 that name a template language: ISO 639-2 (B and
#: T), ISO 639-3 individual languages, and the tags older systems send ("in" for Indonesian).
_ALIASES: Mapping[str, str] = {
    "eng": "en",
    "fil": "tl",
    "tgl": "tl",
    "in": "id",
    "ind": "id",
    "tha": "th",
    "bur": "my",
    "mya": "my",
    "khm": "km",
    "vie": "vi",
    "nep": "ne",
    "npi": "ne",
    "ben": "bn",
    "may": "ms",
    "msa": "ms",
    "zsm": "ms",
}

#: The usual language of each nationality (ISO 3166-1 alpha-3) among the template languages;
#: any other nationality gets English.
NATIONAL_LANGUAGES: Mapping[str, str] = {
    "PHL": "tl",
    "IDN": "id",
    "THA": "th",
    "MMR": "my",
    "KHM": "km",
    "VNM": "vi",
    "NPL": "ne",
    "BGD": "bn",
    "MYS": "ms",
    "BRN": "ms",
}


def canonical(language: str) -> str | None:
    """The template language a tag names (``tl-PH``, ``fil``, ``MY_mm``), None if none."""
    primary = language.strip().replace("_", "-").split("-", 1)[0].casefold()
    primary = _ALIASES.get(primary, primary)
    return primary if primary in _TEXTS else None


def choose_language(languages: Sequence[str], nationality: str | None) -> str:
    """The worker's first language we have texts in, else the nationality's usual language
    (``nationality`` is ISO 3166-1 alpha-3), else English."""
    for language in languages:
        found = canonical(language)
        if found is not None:
            return found
    if nationality:
        return NATIONAL_LANGUAGES.get(nationality.strip().upper(), "en")
    return "en"


def render(kind: Kind, language: str, values: Mapping[str, str]) -> Text:
    """The text of ``kind`` in ``language`` (English when there is none), placeholders filled.

    A placeholder without a value raises ``KeyError`` (a programming error, never a message with
    a hole in it); values the text has no placeholder for are ignored."""
    found = canonical(language) or "en"
    body = _TEXTS[found][kind].format_map(dict(values))
    return Text(language=found, body=body, needs_review=found != "en")


def catalogue() -> list[tuple[Kind, Text]]:
    """Every text of every kind in every language, placeholders unfilled: for the tests and the
    console's review of the texts."""
    return [
        (kind, Text(language=language, body=_TEXTS[language][kind], needs_review=language != "en"))
        for language in LANGUAGES
        for kind in Kind
    ]
