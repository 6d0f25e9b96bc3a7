"""The situation report's fixed words, in each language it is written in: every label, heading
and sentence of the report, a dict per language, placeholders in braces.

Numbers and dates stay as the English report writes them (ISO 8601, digits grouped by commas);
what the domains record (a hazard, a phase, a status, an event's kind, an organisation's name)
is printed as recorded. Only languages in Latin script that the shipped DejaVu fonts draw are
offered: the PDF embeds those fonts and nothing else.

The texts other than English were written by the project and await review by native speakers
(Indonesian, Malay, Tagalog, Vietnamese) before a report in them is shared beyond a drill.
"""

from __future__ import annotations

from collections.abc import Mapping

from service.errors import InvalidInput

EN: Mapping[str, str] = {
    "title": "Situation report: {title}",
    "exercise": "EXERCISE: a drill, not a real crisis",
    "footer": "Crisis {crisis}, {day}",
    "page_of": "page {page} of {pages}",
    "withheld": "withheld",
    "not_yet": "not yet",
    "no_zone": "no zone",
    "map_title": "Map of the zone and the provinces hit",
    "not_shown": "Not shown: your role does not read them.",
    "no_holder": "no organisation (with the coordinators)",
    "workers_exposed": "Workers exposed",
    "tasks_open": "Tasks open",
    "tasks_overdue": "Tasks overdue",
    "coverage_gaps": "Coverage gaps",
    "welfare_recorded": "Welfare statuses recorded",
    "reported_safe": "Reported safe",
    "needing_help": "Needing help",
    "repatriation_cases": "Repatriation cases",
    "timeline_events": "Timeline events in the 24 hours",
    "exact": "These counts are exact.",
    "rounded": (
        "These counts are rounded to 5 and a count under {below} is withheld, as for everyone "
        "outside the need-to-know."
    ),
    "intro": ("Situation report of {day}, as of {as_of}. Counts only: no person is named in it."),
    "what_happened": "What happened",
    "happened": (
        "{hazard}, {severity}; phase {phase}{stood_down}; alert level {level} of 4; opened "
        "{opened}; {zone}."
    ),
    "stood_down": " (stood down)",
    "zone_version": "zone version {version} of {at}",
    "no_zone_yet": "no zone yet",
    "key_figures": "Key figures",
    "who_exposed": "Who is exposed",
    "exposed": ("Accompanying family {family}; vulnerable people {vulnerable}; counted on {at}."),
    "by_nationality": "By nationality",
    "nationality": "Nationality",
    "workers": "Workers",
    "none_shown": "None shown.",
    "by_province": "By province",
    "province": "Province",
    "own_nationals": "Your own nationals, exactly",
    "none": "None.",
    "no_exposure": "No exposure yet: the crisis has no zone.",
    "map_caption": (
        "Map: the current zone (blue outline) over the provinces hit, darker for more exposed "
        "workers as counted for you (a province withheld is not drawn)."
    ),
    "being_done": "What is being done",
    "tasks": "Tasks",
    "tasks_line": (
        "{total} tasks you may read: {open} open, {overdue} overdue, {gaps} coverage gaps "
        "(nobody fills the role)."
    ),
    "tasks_by_holder": "Tasks by organisation and status",
    "organisation": "Organisation",
    "status": "Status",
    "no_tasks": "No tasks.",
    "welfare": "Welfare",
    "welfare_line": "{total} statuses recorded, {reached} people reached.",
    "by_status": "By status",
    "people": "People",
    "movements_returns": "Movements and returns",
    "repatriation": "Repatriation",
    "movements": "Movements",
    "movement": "Movement",
    "legs": "Legs",
    "booked": "Booked",
    "arrived": "Arrived",
    "missing": "Missing",
    "no_movement": "No movement.",
    "what_changed": "What changed",
    "changed_line": "Timeline events from {since} to {until}.",
    "events_by_kind": "Events by kind",
    "kind": "Kind",
    "events": "Events",
    "nothing_changed": "Nothing changed.",
    "as_pdf": "The same report as a PDF",
}

# Awaiting native review (see the module's docstring).
ID: Mapping[str, str] = {
    "title": "Laporan situasi: {title}",
    "exercise": "EXERCISE (LATIHAN): simulasi, bukan krisis nyata",
    "footer": "Krisis {crisis}, {day}",
    "page_of": "halaman {page} dari {pages}",
    "withheld": "dirahasiakan",
    "not_yet": "belum ada",
    "no_zone": "tanpa zona",
    "map_title": "Peta zona dan provinsi yang terdampak",
    "not_shown": "Tidak ditampilkan: peran Anda tidak membacanya.",
    "no_holder": "tanpa organisasi (pada koordinator)",
    "workers_exposed": "Pekerja terdampak",
    "tasks_open": "Tugas terbuka",
    "tasks_overdue": "Tugas terlambat",
    "coverage_gaps": "Kekosongan peran",
    "welfare_recorded": "Status kesejahteraan tercatat",
    "reported_safe": "Dilaporkan selamat",
    "needing_help": "Membutuhkan bantuan",
    "repatriation_cases": "Kasus pemulangan",
    "timeline_events": "Peristiwa dalam 24 jam",
    "exact": "Angka-angka ini tepat.",
    "rounded": (
        "Angka-angka ini dibulatkan ke kelipatan 5 dan angka di bawah {below} dirahasiakan, "
        "seperti bagi semua pihak di luar yang perlu tahu."
    ),
    "intro": (
        "Laporan situasi tanggal {day}, per {as_of}. Hanya angka: tidak ada orang yang disebut "
        "namanya."
    ),
    "what_happened": "Apa yang terjadi",
    "happened": (
        "{hazard}, {severity}; fase {phase}{stood_down}; tingkat siaga {level} dari 4; dibuka "
        "{opened}; {zone}."
    ),
    "stood_down": " (dinonaktifkan)",
    "zone_version": "zona versi {version} dari {at}",
    "no_zone_yet": "belum ada zona",
    "key_figures": "Angka utama",
    "who_exposed": "Siapa yang terdampak",
    "exposed": "Keluarga pendamping {family}; orang rentan {vulnerable}; dihitung pada {at}.",
    "by_nationality": "Menurut kewarganegaraan",
    "nationality": "Kewarganegaraan",
    "workers": "Pekerja",
    "none_shown": "Tidak ada yang ditampilkan.",
    "by_province": "Menurut provinsi",
    "province": "Provinsi",
    "own_nationals": "Warga negara Anda sendiri, angka tepat",
    "none": "Tidak ada.",
    "no_exposure": "Belum ada paparan: krisis ini belum memiliki zona.",
    "map_caption": (
        "Peta: zona saat ini (garis biru) di atas provinsi yang terdampak, makin gelap makin "
        "banyak pekerja terdampak menurut hitungan untuk Anda (provinsi yang dirahasiakan tidak "
        "digambar)."
    ),
    "being_done": "Apa yang sedang dilakukan",
    "tasks": "Tugas",
    "tasks_line": (
        "{total} tugas yang dapat Anda baca: {open} terbuka, {overdue} terlambat, {gaps} "
        "kekosongan peran (tidak ada yang mengisi peran)."
    ),
    "tasks_by_holder": "Tugas menurut organisasi dan status",
    "organisation": "Organisasi",
    "status": "Status",
    "no_tasks": "Tidak ada tugas.",
    "welfare": "Kesejahteraan",
    "welfare_line": "{total} status tercatat, {reached} orang terjangkau.",
    "by_status": "Menurut status",
    "people": "Orang",
    "movements_returns": "Perjalanan dan pemulangan",
    "repatriation": "Pemulangan",
    "movements": "Perjalanan",
    "movement": "Perjalanan",
    "legs": "Tahap",
    "booked": "Dipesan",
    "arrived": "Tiba",
    "missing": "Tidak hadir",
    "no_movement": "Tidak ada perjalanan.",
    "what_changed": "Apa yang berubah",
    "changed_line": "Peristiwa dari {since} sampai {until}.",
    "events_by_kind": "Peristiwa menurut jenis",
    "kind": "Jenis",
    "events": "Peristiwa",
    "nothing_changed": "Tidak ada perubahan.",
    "as_pdf": "Laporan yang sama dalam PDF",
}

# Awaiting native review (see the module's docstring).
MS: Mapping[str, str] = {
    "title": "Laporan situasi: {title}",
    "exercise": "EXERCISE (LATIHAN): latihan, bukan krisis sebenar",
    "footer": "Krisis {crisis}, {day}",
    "page_of": "halaman {page} daripada {pages}",
    "withheld": "dirahsiakan",
    "not_yet": "belum ada",
    "no_zone": "tiada zon",
    "map_title": "Peta zon dan negeri yang terjejas",
    "not_shown": "Tidak ditunjukkan: peranan anda tidak membacanya.",
    "no_holder": "tiada organisasi (bersama penyelaras)",
    "workers_exposed": "Pekerja terjejas",
    "tasks_open": "Tugasan terbuka",
    "tasks_overdue": "Tugasan lewat",
    "coverage_gaps": "Jurang liputan",
    "welfare_recorded": "Status kebajikan direkodkan",
    "reported_safe": "Dilaporkan selamat",
    "needing_help": "Memerlukan bantuan",
    "repatriation_cases": "Kes penghantaran pulang",
    "timeline_events": "Peristiwa dalam 24 jam",
    "exact": "Angka-angka ini tepat.",
    "rounded": (
        "Angka-angka ini dibundarkan kepada gandaan 5 dan angka di bawah {below} dirahsiakan, "
        "seperti bagi semua pihak di luar keperluan untuk tahu."
    ),
    "intro": (
        "Laporan situasi bagi {day}, setakat {as_of}. Angka sahaja: tiada sesiapa dinamakan."
    ),
    "what_happened": "Apa yang berlaku",
    "happened": (
        "{hazard}, {severity}; fasa {phase}{stood_down}; tahap amaran {level} daripada 4; "
        "dibuka {opened}; {zone}."
    ),
    "stood_down": " (dihentikan)",
    "zone_version": "zon versi {version} pada {at}",
    "no_zone_yet": "belum ada zon",
    "key_figures": "Angka utama",
    "who_exposed": "Siapa yang terjejas",
    "exposed": "Keluarga pengiring {family}; orang rentan {vulnerable}; dikira pada {at}.",
    "by_nationality": "Mengikut kewarganegaraan",
    "nationality": "Kewarganegaraan",
    "workers": "Pekerja",
    "none_shown": "Tiada yang ditunjukkan.",
    "by_province": "Mengikut negeri",
    "province": "Negeri",
    "own_nationals": "Warganegara anda sendiri, angka tepat",
    "none": "Tiada.",
    "no_exposure": "Belum ada pendedahan: krisis ini belum mempunyai zon.",
    "map_caption": (
        "Peta: zon semasa (garis biru) di atas negeri yang terjejas, lebih gelap bagi lebih "
        "ramai pekerja terjejas seperti dikira untuk anda (negeri yang dirahsiakan tidak "
        "dilukis)."
    ),
    "being_done": "Apa yang sedang dilakukan",
    "tasks": "Tugasan",
    "tasks_line": (
        "{total} tugasan yang boleh anda baca: {open} terbuka, {overdue} lewat, {gaps} jurang "
        "liputan (tiada sesiapa mengisi peranan)."
    ),
    "tasks_by_holder": "Tugasan mengikut organisasi dan status",
    "organisation": "Organisasi",
    "status": "Status",
    "no_tasks": "Tiada tugasan.",
    "welfare": "Kebajikan",
    "welfare_line": "{total} status direkodkan, {reached} orang dihubungi.",
    "by_status": "Mengikut status",
    "people": "Orang",
    "movements_returns": "Perjalanan dan kepulangan",
    "repatriation": "Penghantaran pulang",
    "movements": "Perjalanan",
    "movement": "Perjalanan",
    "legs": "Peringkat",
    "booked": "Ditempah",
    "arrived": "Tiba",
    "missing": "Tidak hadir",
    "no_movement": "Tiada perjalanan.",
    "what_changed": "Apa yang berubah",
    "changed_line": "Peristiwa dari {since} hingga {until}.",
    "events_by_kind": "Peristiwa mengikut jenis",
    "kind": "Jenis",
    "events": "Peristiwa",
    "nothing_changed": "Tiada perubahan.",
    "as_pdf": "Laporan yang sama dalam PDF",
}

# Awaiting native review (see the module's docstring).
TL: Mapping[str, str] = {
    "title": "Ulat ng sitwasyon: {title}",
    "exercise": "EXERCISE (PAGSASANAY): isang drill, hindi tunay na krisis",
    "footer": "Krisis {crisis}, {day}",
    "page_of": "pahina {page} ng {pages}",
    "withheld": "hindi ipinakita",
    "not_yet": "wala pa",
    "no_zone": "walang sona",
    "map_title": "Mapa ng sona at ng mga lalawigang tinamaan",
    "not_shown": "Hindi ipinakita: hindi ito binabasa ng iyong tungkulin.",
    "no_holder": "walang organisasyon (nasa mga coordinator)",
    "workers_exposed": "Mga manggagawang apektado",
    "tasks_open": "Bukas na gawain",
    "tasks_overdue": "Lampas-takdang gawain",
    "coverage_gaps": "Mga puwang sa saklaw",
    "welfare_recorded": "Naitalang kalagayan",
    "reported_safe": "Iniulat na ligtas",
    "needing_help": "Nangangailangan ng tulong",
    "repatriation_cases": "Mga kaso ng repatriation",
    "timeline_events": "Mga pangyayari sa loob ng 24 oras",
    "exact": "Eksakto ang mga bilang na ito.",
    "rounded": (
        "Ang mga bilang na ito ay inikot sa 5 at ang bilang na mas mababa sa {below} ay hindi "
        "ipinakita, gaya ng para sa lahat ng nasa labas ng need-to-know."
    ),
    "intro": (
        "Ulat ng sitwasyon ng {day}, hanggang {as_of}. Mga bilang lamang: walang taong "
        "pinangalanan dito."
    ),
    "what_happened": "Ano ang nangyari",
    "happened": (
        "{hazard}, {severity}; yugto {phase}{stood_down}; antas ng alerto {level} sa 4; "
        "binuksan {opened}; {zone}."
    ),
    "stood_down": " (itinigil)",
    "zone_version": "bersyon {version} ng sona noong {at}",
    "no_zone_yet": "wala pang sona",
    "key_figures": "Pangunahing bilang",
    "who_exposed": "Sino ang apektado",
    "exposed": "Kasamang pamilya {family}; mga mahina {vulnerable}; binilang noong {at}.",
    "by_nationality": "Ayon sa nasyonalidad",
    "nationality": "Nasyonalidad",
    "workers": "Manggagawa",
    "none_shown": "Walang ipinakita.",
    "by_province": "Ayon sa lalawigan",
    "province": "Lalawigan",
    "own_nationals": "Ang sarili ninyong mamamayan, eksakto",
    "none": "Wala.",
    "no_exposure": "Wala pang apektado: wala pang sona ang krisis.",
    "map_caption": (
        "Mapa: ang kasalukuyang sona (asul na balangkas) sa ibabaw ng mga lalawigang tinamaan, "
        "mas madilim kung mas maraming apektadong manggagawa ayon sa bilang para sa iyo (hindi "
        "iginuhit ang lalawigang hindi ipinakita)."
    ),
    "being_done": "Ano ang ginagawa",
    "tasks": "Mga gawain",
    "tasks_line": (
        "{total} gawaing mababasa mo: {open} bukas, {overdue} lampas sa takda, {gaps} puwang sa "
        "saklaw (walang gumaganap sa tungkulin)."
    ),
    "tasks_by_holder": "Mga gawain ayon sa organisasyon at katayuan",
    "organisation": "Organisasyon",
    "status": "Katayuan",
    "no_tasks": "Walang gawain.",
    "welfare": "Kalagayan",
    "welfare_line": "{total} kalagayang naitala, {reached} taong naabot.",
    "by_status": "Ayon sa katayuan",
    "people": "Tao",
    "movements_returns": "Mga biyahe at pag-uwi",
    "repatriation": "Repatriation",
    "movements": "Mga biyahe",
    "movement": "Biyahe",
    "legs": "Bahagi",
    "booked": "Naka-book",
    "arrived": "Dumating",
    "missing": "Nawawala",
    "no_movement": "Walang biyahe.",
    "what_changed": "Ano ang nagbago",
    "changed_line": "Mga pangyayari mula {since} hanggang {until}.",
    "events_by_kind": "Mga pangyayari ayon sa uri",
    "kind": "Uri",
    "events": "Pangyayari",
    "nothing_changed": "Walang nagbago.",
    "as_pdf": "Ang parehong ulat bilang PDF",
}

# Awaiting native review (see the module's docstring).
VI: Mapping[str, str] = {
    "title": "Báo cáo tình hình: {title}",
    "exercise": "EXERCISE (DIỄN TẬP): một cuộc diễn tập, không phải khủng hoảng thật",
    "footer": "Khủng hoảng {crisis}, {day}",
    "page_of": "trang {page} / {pages}",
    "withheld": "không công bố",
    "not_yet": "chưa có",
    "no_zone": "chưa có vùng",
    "map_title": "Bản đồ vùng và các tỉnh bị ảnh hưởng",
    "not_shown": "Không hiển thị: vai trò của bạn không đọc các số liệu này.",
    "no_holder": "không có tổ chức (do điều phối viên giữ)",
    "workers_exposed": "Người lao động bị ảnh hưởng",
    "tasks_open": "Nhiệm vụ đang mở",
    "tasks_overdue": "Nhiệm vụ quá hạn",
    "coverage_gaps": "Vai trò còn trống",
    "welfare_recorded": "Tình trạng đã ghi nhận",
    "reported_safe": "Báo an toàn",
    "needing_help": "Cần giúp đỡ",
    "repatriation_cases": "Hồ sơ hồi hương",
    "timeline_events": "Sự kiện trong 24 giờ",
    "exact": "Các số liệu này là chính xác.",
    "rounded": (
        "Các số liệu này được làm tròn đến bội số của 5 và số dưới {below} không được công bố, "
        "như đối với mọi người ngoài phạm vi cần biết."
    ),
    "intro": ("Báo cáo tình hình ngày {day}, tính đến {as_of}. Chỉ có số liệu: không nêu tên ai."),
    "what_happened": "Điều gì đã xảy ra",
    "happened": (
        "{hazard}, {severity}; giai đoạn {phase}{stood_down}; mức cảnh báo {level} trên 4; mở "
        "ngày {opened}; {zone}."
    ),
    "stood_down": " (đã dừng)",
    "zone_version": "vùng phiên bản {version} lúc {at}",
    "no_zone_yet": "chưa có vùng",
    "key_figures": "Số liệu chính",
    "who_exposed": "Ai bị ảnh hưởng",
    "exposed": "Gia đình đi cùng {family}; người dễ bị tổn thương {vulnerable}; đếm lúc {at}.",
    "by_nationality": "Theo quốc tịch",
    "nationality": "Quốc tịch",
    "workers": "Người lao động",
    "none_shown": "Không có số liệu hiển thị.",
    "by_province": "Theo tỉnh",
    "province": "Tỉnh",
    "own_nationals": "Công dân của bạn, số chính xác",
    "none": "Không có.",
    "no_exposure": "Chưa có số liệu ảnh hưởng: khủng hoảng chưa có vùng.",
    "map_caption": (
        "Bản đồ: vùng hiện tại (viền xanh) trên các tỉnh bị ảnh hưởng, càng đậm càng nhiều "
        "người lao động bị ảnh hưởng theo số đếm dành cho bạn (tỉnh không công bố thì không vẽ)."
    ),
    "being_done": "Những gì đang được thực hiện",
    "tasks": "Nhiệm vụ",
    "tasks_line": (
        "{total} nhiệm vụ bạn có thể đọc: {open} đang mở, {overdue} quá hạn, {gaps} vai trò còn "
        "trống (không ai đảm nhận)."
    ),
    "tasks_by_holder": "Nhiệm vụ theo tổ chức và trạng thái",
    "organisation": "Tổ chức",
    "status": "Trạng thái",
    "no_tasks": "Không có nhiệm vụ.",
    "welfare": "Tình trạng an sinh",
    "welfare_line": "{total} tình trạng đã ghi nhận, đã liên lạc được {reached} người.",
    "by_status": "Theo trạng thái",
    "people": "Người",
    "movements_returns": "Di chuyển và hồi hương",
    "repatriation": "Hồi hương",
    "movements": "Chuyến di chuyển",
    "movement": "Chuyến",
    "legs": "Chặng",
    "booked": "Đã đặt",
    "arrived": "Đã đến",
    "missing": "Vắng mặt",
    "no_movement": "Không có chuyến nào.",
    "what_changed": "Điều gì đã thay đổi",
    "changed_line": "Sự kiện từ {since} đến {until}.",
    "events_by_kind": "Sự kiện theo loại",
    "kind": "Loại",
    "events": "Sự kiện",
    "nothing_changed": "Không có thay đổi.",
    "as_pdf": "Cùng báo cáo này dưới dạng PDF",
}

#: Each language the report is written in (ISO 639-1), English first.
TEXTS: Mapping[str, Mapping[str, str]] = {"en": EN, "id": ID, "ms": MS, "tl": TL, "vi": VI}
LANGUAGES: tuple[str, ...] = tuple(TEXTS)
assert all(set(t) == set(EN) for t in TEXTS.values()), "every language has every text"


def texts(language: str) -> Mapping[str, str]:
    """The report's words in ``language``; a 422 naming the languages offered for another."""
    found = TEXTS.get(language)
    if found is None:
        raise InvalidInput(
            f"There is no situation report in {language!r}: the languages offered are "
            f"{', '.join(LANGUAGES)}",
            errors=[{"loc": ["query", "language"], "msg": f"one of {', '.join(LANGUAGES)}"}],
        )
    return found
