"""PDF for printed exports: a title, a few lines under it, then sections of a heading and a table.

A4 landscape, the table's header row repeated on each page, "page X of Y" at the foot of each.
The font is DejaVu Sans, kept beside this module (``fonts/``, with its licence), so that the
output is the same on any host and covers the scripts of the names a manifest carries. The
document's dates are the time given, so the same content gives the same file.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from fpdf import FPDF
from fpdf.fonts import FontFace

FONTS = Path(__file__).parent / "fonts"
FAMILY = "DejaVu"
MEDIA_TYPE = "application/pdf"
#: A4 landscape, with a 10 mm margin.
MARGIN = 10.0


@dataclass(frozen=True, slots=True)
class Column:
    """A table column: its heading, and its width as a share of the page's (any unit: the
    widths of a table are scaled to fill the line)."""

    name: str
    width: float = 1.0


@dataclass(frozen=True, slots=True)
class Section:
    heading: str
    columns: Sequence[Column]
    rows: Sequence[Sequence[str]]
    #: Said instead of the table when there are no rows.
    empty: str = "Nobody."


class _Document(FPDF):
    def __init__(self, footer_text: str) -> None:
        super().__init__(orientation="landscape", unit="mm", format="A4")
        self.footer_text = footer_text

    def footer(self) -> None:
        self.set_y(-MARGIN)
        self.set_font(FAMILY, size=8)
        self.cell(0, 5, self.footer_text, align="L")
        self.set_x(self.l_margin)
        self.cell(0, 5, f"page {self.page_no()} of {{nb}}", align="R")


def table_pdf(
    title: str,
    lines: Sequence[str],
    sections: Sequence[Section],
    *,
    created_at: datetime,
    banner: str | None = None,
    footer: str = "",
    compress: bool = True,
) -> bytes:
    """The document: ``banner`` (an exercise's, say) in bold above the title, ``lines`` under
    it, then each section. ``created_at`` is its creation date; ``compress=False`` leaves the
    page streams readable as text (for tests)."""
    pdf = _Document(footer)
    pdf.set_compression(compress)
    pdf.set_creation_date(created_at)
    pdf.set_title(title)
    pdf.add_font(FAMILY, "", str(FONTS / "DejaVuSans.ttf"))
    pdf.add_font(FAMILY, "B", str(FONTS / "DejaVuSans-Bold.ttf"))
    pdf.set_margins(MARGIN, MARGIN, MARGIN)
    pdf.set_auto_page_break(auto=True, margin=MARGIN + 5)
    pdf.add_page()
    if banner:
        pdf.set_font(FAMILY, "B", 14)
        pdf.set_fill_color(255, 230, 150)
        pdf.multi_cell(0, 9, banner, align="C", fill=True, new_x="LMARGIN", new_y="NEXT")
        pdf.ln(2)
    pdf.set_font(FAMILY, "B", 16)
    pdf.multi_cell(0, 8, title, new_x="LMARGIN", new_y="NEXT")
    pdf.set_font(FAMILY, size=9)
    for line in lines:
        pdf.multi_cell(0, 5, line, new_x="LMARGIN", new_y="NEXT")
    for section in sections:
        pdf.ln(4)
        pdf.set_font(FAMILY, "B", 11)
        pdf.multi_cell(0, 6, section.heading, new_x="LMARGIN", new_y="NEXT")
        pdf.set_font(FAMILY, size=9)
        if not section.rows:
            pdf.multi_cell(0, 5, section.empty, new_x="LMARGIN", new_y="NEXT")
            continue
        with pdf.table(
            col_widths=tuple(c.width for c in section.columns),
            headings_style=FontFace(emphasis="BOLD", fill_color=(230, 230, 230)),
            line_height=5,
            text_align="LEFT",
            first_row_as_headings=True,
        ) as table:
            table.row([c.name for c in section.columns])
            for row in section.rows:
                table.row(list(row))
    return bytes(pdf.output())
