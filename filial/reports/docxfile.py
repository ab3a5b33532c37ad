"""The report as a DOCX (python-docx), laid out by ГОСТ Р 7.0.97-2016 conventions for an organisation's document:

- margins: left 20 mm, right 10 mm, top 20 mm, bottom 20 mm (the standard's minimums, п. 6.2);
- Times New Roman, 14 pt for the text, 12 pt in tables; the text justified with a 1.25 cm first-line indent;
- the organisation's requisites (its name, the unit's) at the top, then the document's kind and title;
- numbered headings (1, 1.1 …) in Word's heading styles (the navigation pane and a table of contents see them);
- tables with a caption above, whose header row repeats on every page (``w:tblHeader``);
- page numbers: a PAGE field in the middle of the top margin, not on the first page (п. 6.5 of the standard);
- charts embedded as PNG (``charts.py``).
"""

from __future__ import annotations

import io
from datetime import datetime

from docx import Document as new_document
from docx.enum.section import WD_ORIENT
from docx.enum.table import WD_TABLE_ALIGNMENT
from docx.enum.text import WD_ALIGN_PARAGRAPH
from docx.oxml import OxmlElement
from docx.oxml.ns import qn
from docx.shared import Cm, Mm, Pt, RGBColor
from docx.table import Table
from docx.text.paragraph import Paragraph

from filial.reports import charts
from filial.reports.prose import Block, Document

FONT = "Times New Roman"
TEXT_PT, TABLE_PT = 14, 12


def render(doc: Document, *, generated: datetime | None = None) -> bytes:
    """The DOCX file of ``doc``."""
    word = new_document()
    _page_setup(word)
    _styles(word)
    _page_numbers(word)
    props = word.core_properties
    props.title = f"{doc.title} {doc.subtitle}"
    props.author = doc.requisites[0] if doc.requisites else ""
    props.language = "ru-RU"
    if generated is not None:
        props.created = generated.replace(tzinfo=None)
        props.modified = generated.replace(tzinfo=None)
    for line in doc.requisites:
        p = word.add_paragraph(style="Requisite")
        p.add_run(line).bold = True
    word.add_paragraph(style="Requisite")
    title = word.add_paragraph(style="Requisite")
    title.add_run("ОТЧЁТ").bold = True
    word.add_paragraph(f"{doc.title} {doc.subtitle}", style="Requisite")
    if doc.generated:
        word.add_paragraph(doc.generated, style="Requisite")
    word.add_paragraph(style="Requisite")
    for block in doc.blocks:
        _block(word, block)
    out = io.BytesIO()
    word.save(out)
    return out.getvalue()


def _page_setup(word: object) -> None:
    for section in word.sections:  # type: ignore[attr-defined]
        section.orientation = WD_ORIENT.PORTRAIT
        section.page_width, section.page_height = Mm(210), Mm(297)
        section.left_margin, section.right_margin = Mm(20), Mm(10)
        section.top_margin, section.bottom_margin = Mm(20), Mm(20)
        section.header_distance = Mm(10)
        section.footer_distance = Mm(10)
        section.different_first_page_header_footer = True


def _font(style: object, size: int, *, bold: bool = False) -> None:
    font = style.font  # type: ignore[attr-defined]
    font.name = FONT
    font.size = Pt(size)
    font.bold = bold
    font.color.rgb = RGBColor(0, 0, 0)
    rpr = style.element.get_or_add_rPr()  # type: ignore[attr-defined]
    fonts = rpr.find(qn("w:rFonts"))
    if fonts is None:
        fonts = OxmlElement("w:rFonts")
        rpr.append(fonts)
    for attr in ("w:ascii", "w:hAnsi", "w:cs", "w:eastAsia"):
        fonts.set(qn(attr), FONT)
    for theme in ("w:asciiTheme", "w:hAnsiTheme", "w:cstheme", "w:eastAsiaTheme"):
        fonts.attrib.pop(qn(theme), None)


def _styles(word: object) -> None:
    styles = word.styles  # type: ignore[attr-defined]
    normal = styles["Normal"]
    _font(normal, TEXT_PT)
    fmt = normal.paragraph_format
    fmt.alignment = WD_ALIGN_PARAGRAPH.JUSTIFY
    fmt.first_line_indent = Cm(1.25)
    fmt.space_after = Pt(0)
    fmt.space_before = Pt(0)
    fmt.line_spacing = 1.15
    requisite = styles.add_style("Requisite", 1)  # WD_STYLE_TYPE.PARAGRAPH
    requisite.base_style = normal
    requisite.paragraph_format.alignment = WD_ALIGN_PARAGRAPH.CENTER
    requisite.paragraph_format.first_line_indent = Cm(0)
    for level in (1, 2):
        heading = styles[f"Heading {level}"]
        _font(heading, TEXT_PT, bold=True)
        heading.font.italic = False
        hf = heading.paragraph_format
        hf.alignment = WD_ALIGN_PARAGRAPH.LEFT
        hf.first_line_indent = Cm(1.25)
        hf.space_before = Pt(12)
        hf.space_after = Pt(6)
        hf.keep_with_next = True
    caption = styles["Caption"]
    _font(caption, TABLE_PT)
    caption.font.italic = False
    caption.paragraph_format.first_line_indent = Cm(0)
    caption.paragraph_format.alignment = WD_ALIGN_PARAGRAPH.LEFT
    caption.paragraph_format.keep_with_next = True
    caption.paragraph_format.space_before = Pt(6)
    listing = styles["List Bullet"]
    _font(listing, TEXT_PT)
    listing.paragraph_format.first_line_indent = Cm(0)


def _field(paragraph: Paragraph, instruction: str) -> None:
    """A Word field (``PAGE``) with its cached result, so a reader that does not update fields shows a number."""
    run = paragraph.add_run()
    begin = OxmlElement("w:fldChar")
    begin.set(qn("w:fldCharType"), "begin")
    instr = OxmlElement("w:instrText")
    instr.set(qn("xml:space"), "preserve")
    instr.text = f" {instruction} "
    separate = OxmlElement("w:fldChar")
    separate.set(qn("w:fldCharType"), "separate")
    cached = OxmlElement("w:t")
    cached.text = "2"
    end = OxmlElement("w:fldChar")
    end.set(qn("w:fldCharType"), "end")
    for element in (begin, instr, separate, cached, end):
        run._r.append(element)


def _page_numbers(word: object) -> None:
    for section in word.sections:  # type: ignore[attr-defined]
        header = section.header
        header.is_linked_to_previous = False
        p = header.paragraphs[0]
        p.alignment = WD_ALIGN_PARAGRAPH.CENTER
        p.paragraph_format.first_line_indent = Cm(0)
        _field(p, "PAGE")


def _block(word: object, block: Block) -> None:
    add = word.add_paragraph  # type: ignore[attr-defined]
    if block.kind == "heading":
        text = f"{block.number} {block.text}" if block.number else block.text
        word.add_heading(text, level=block.level)  # type: ignore[attr-defined]
    elif block.kind == "para":
        add(block.text)
    elif block.kind == "list":
        for item in block.items:
            add(item, style="List Bullet")
    elif block.kind == "table":
        add(block.caption, style="Caption")
        _table(word, block)
    elif block.kind == "chart":
        picture = add(style="Requisite")
        picture.add_run().add_picture(io.BytesIO(charts.audience_png(block.points)), width=Mm(170))
        add(block.caption, style="Requisite")


def _repeat_header(table: Table) -> None:
    row = table.rows[0]._tr
    props = row.get_or_add_trPr()
    flag = OxmlElement("w:tblHeader")
    flag.set(qn("w:val"), "true")
    props.append(flag)


def _table(word: object, block: Block) -> None:
    table = word.add_table(rows=1, cols=len(block.headers))  # type: ignore[attr-defined]
    table.style = "Table Grid"
    table.alignment = WD_TABLE_ALIGNMENT.CENTER
    for cell, text in zip(table.rows[0].cells, block.headers, strict=True):
        _cell(cell, text, bold=True)
    for row in block.rows:
        cells = table.add_row().cells
        for cell, text in zip(cells, row, strict=True):
            _cell(cell, text)
    _repeat_header(table)


def _cell(cell: object, text: str, *, bold: bool = False) -> None:
    p = cell.paragraphs[0]  # type: ignore[attr-defined]
    p.paragraph_format.first_line_indent = Cm(0)
    p.paragraph_format.alignment = WD_ALIGN_PARAGRAPH.LEFT
    run = p.add_run(text)
    run.bold = bold
    run.font.size = Pt(TABLE_PT)
    run.font.name = FONT
