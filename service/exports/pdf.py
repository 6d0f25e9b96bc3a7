"""PDF for printed exports: a title, a few lines under it, then sections of a heading and a table
(``table_pdf``, A4 landscape); or a report (``report_pdf``, A4 portrait) of blocks: headings,
paragraphs, key figures, tables and a map drawn with the page's own vector paths (no image, no
tile server), its banner (an exercise's) at the top of every page.

A table's header row is repeated on each page, "page X of Y" at the foot of each.
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

from service.exports.maps import Shape, projection

FONTS = Path(__file__).parent / "fonts"
FAMILY = "DejaVu"
#: The footer's page number.
PAGE_OF = "page {page} of {pages}"
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


@dataclass(frozen=True, slots=True)
class Heading:
    text: str


@dataclass(frozen=True, slots=True)
class Paragraph:
    text: str
    bold: bool = False


@dataclass(frozen=True, slots=True)
class KeyFigures:
    """A two-column table of a figure's name and its value, under a heading."""

    heading: str
    figures: Sequence[tuple[str, str]]


@dataclass(frozen=True, slots=True)
class MapFigure:
    """Shapes drawn in a box the width of the page and ``height`` mm high, framed, with a caption
    under it (the legend in words)."""

    shapes: Sequence[Shape]
    caption: str = ""
    height: float = 110.0


Block = Heading | Paragraph | KeyFigures | Section | MapFigure


class _Document(FPDF):
    def __init__(
        self,
        footer_text: str,
        *,
        orientation: str = "landscape",
        banner: str | None = None,
        page_of: str = PAGE_OF,
    ) -> None:
        super().__init__(orientation=orientation, unit="mm", format="A4")
        self.footer_text = footer_text
        self.banner = banner
        self.page_of = page_of

    def header(self) -> None:
        if self.banner:
            self.set_font(FAMILY, "B", 12)
            self.set_fill_color(255, 230, 150)
            self.multi_cell(0, 7, self.banner, align="C", fill=True, new_x="LMARGIN", new_y="NEXT")
            self.ln(2)

    def footer(self) -> None:
        self.set_y(-MARGIN)
        self.set_font(FAMILY, size=8)
        self.cell(0, 5, self.footer_text, align="L")
        self.set_x(self.l_margin)
        # "{nb}" is the pages' count, filled in when the document is written.
        self.cell(0, 5, self.page_of.format(page=self.page_no(), pages="{nb}"), align="R")


def _start(pdf: FPDF, title: str, created_at: datetime, compress: bool) -> None:
    pdf.set_compression(compress)
    pdf.set_creation_date(created_at)
    pdf.set_title(title)
    pdf.add_font(FAMILY, "", str(FONTS / "DejaVuSans.ttf"))
    pdf.add_font(FAMILY, "B", str(FONTS / "DejaVuSans-Bold.ttf"))
    pdf.set_margins(MARGIN, MARGIN, MARGIN)
    pdf.set_auto_page_break(auto=True, margin=MARGIN + 5)


def _section(pdf: FPDF, section: Section) -> None:
    pdf.ln(4)
    pdf.set_font(FAMILY, "B", 11)
    pdf.multi_cell(0, 6, section.heading, new_x="LMARGIN", new_y="NEXT")
    pdf.set_font(FAMILY, size=9)
    if not section.rows:
        pdf.multi_cell(0, 5, section.empty, new_x="LMARGIN", new_y="NEXT")
        return
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


def _key_figures(pdf: FPDF, block: KeyFigures) -> None:
    pdf.ln(3)
    pdf.set_font(FAMILY, "B", 11)
    pdf.multi_cell(0, 6, block.heading, new_x="LMARGIN", new_y="NEXT")
    pdf.set_font(FAMILY, size=10)
    with pdf.table(col_widths=(3, 1), line_height=6, text_align=("LEFT", "RIGHT"),
                   first_row_as_headings=False) as table:  # fmt: skip
        for name, value in block.figures:
            table.row([name, value])


def _map(pdf: FPDF, block: MapFigure) -> None:
    """The shapes in page coordinates, each ring a closed polygon (filled, then outlined)."""
    pdf.ln(3)
    if pdf.will_page_break(block.height + 12):
        pdf.add_page()
    x, y, width = pdf.l_margin, pdf.get_y(), pdf.epw
    pdf.set_draw_color(120, 120, 120)
    pdf.set_line_width(0.3)
    pdf.rect(x, y, width, block.height)
    project = projection(block.shapes, x + 2, y + 2, width - 4, block.height - 4)
    for s in block.shapes if project else ():
        assert project is not None
        pdf.set_line_width(0.2 * s.stroke_width)
        pdf.set_draw_color(*s.stroke)
        if s.fill:
            pdf.set_fill_color(*s.fill)
        for ring in s.rings:
            if len(ring) >= 3:
                pdf.polygon([project(*p) for p in ring], style="DF" if s.fill else "D")
    pdf.set_draw_color(0, 0, 0)
    pdf.set_y(y + block.height + 1)
    if block.caption:
        pdf.set_font(FAMILY, size=8)
        pdf.multi_cell(0, 4, block.caption, align="L", new_x="LMARGIN", new_y="NEXT")


def report_pdf(
    title: str,
    blocks: Sequence[Block],
    *,
    created_at: datetime,
    banner: str | None = None,
    footer: str = "",
    page_of: str = PAGE_OF,
    compress: bool = True,
) -> bytes:
    """A report, A4 portrait: ``banner`` (an exercise's, say) at the top of every page, the title,
    then each block in order; ``page_of`` the footer's page number (``{page}``, ``{pages}``) in
    the report's language. ``created_at`` and ``compress`` as for ``table_pdf``."""
    pdf = _Document(footer, orientation="portrait", banner=banner, page_of=page_of)
    _start(pdf, title, created_at, compress)
    pdf.add_page()
    pdf.set_font(FAMILY, "B", 16)
    pdf.multi_cell(0, 8, title, new_x="LMARGIN", new_y="NEXT")
    for block in blocks:
        pdf.set_text_color(0, 0, 0)
        if isinstance(block, Heading):
            pdf.ln(4)
            pdf.set_font(FAMILY, "B", 12)
            pdf.multi_cell(0, 6, block.text, new_x="LMARGIN", new_y="NEXT")
        elif isinstance(block, Paragraph):
            pdf.set_font(FAMILY, "B" if block.bold else "", 10)
            pdf.multi_cell(0, 5, block.text, align="L", new_x="LMARGIN", new_y="NEXT")
            pdf.ln(1)
        elif isinstance(block, KeyFigures):
            _key_figures(pdf, block)
        elif isinstance(block, MapFigure):
            _map(pdf, block)
        else:
            _section(pdf, block)
    return bytes(pdf.output())


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
    _start(pdf, title, created_at, compress)
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
        _section(pdf, section)
    return bytes(pdf.output())
