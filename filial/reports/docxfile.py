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
from typing import Any

from docx import Document as new_document
from docx.enum.section import WD_ORIENT
from docx.enum.table import WD_TABLE_ALIGNMENT
from docx.enum.text import WD_ALIGN_PARAGRAPH
from docx.image.image import Image
from docx.opc.constants import RELATIONSHIP_TYPE as RT
from docx.opc.packuri import PackURI
from docx.oxml import OxmlElement
from docx.oxml.ns import qn
from docx.oxml.shape import CT_Inline
from docx.oxml.table import CT_Tbl
from docx.parts.image import ImagePart
from docx.shared import Cm, Length, Mm, Pt, RGBColor
from docx.table import Table
from docx.text.paragraph import Paragraph
from lxml import etree

from filial.reports import charts
from filial.reports.prose import Block, Document

FONT = "Times New Roman"
STYLE_NAMES = ("Normal", "Requisite", "Heading 1", "Heading 2", "Caption", "List Bullet", "Table Text", "Table Grid")
TEXT_PT, TABLE_PT = 14, 12


def render(doc: Document, *, generated: datetime | None = None) -> bytes:
    """The DOCX file of ``doc``."""
    word = new_document()
    _page_setup(word)
    _styles(word)
    ids = {name: word.styles[name].style_id for name in STYLE_NAMES}
    _page_numbers(word)
    props = word.core_properties
    props.title = f"{doc.title} {doc.subtitle}"
    props.author = doc.requisites[0] if doc.requisites else ""
    props.language = "ru-RU"
    if generated is not None:
        props.created = generated.replace(tzinfo=None)
        props.modified = generated.replace(tzinfo=None)
    body = _Body(word, ids)
    for line in doc.requisites:
        body.add("", "Requisite").add_run(line).bold = True
    body.add("", "Requisite")
    body.add("", "Requisite").add_run("ОТЧЁТ").bold = True
    body.add(f"{doc.title} {doc.subtitle}", "Requisite")
    if doc.generated:
        body.add(doc.generated, "Requisite")
    body.add("", "Requisite")
    for block in doc.blocks:
        _block(body, block)
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
    cell = styles.add_style("Table Text", 1)
    cell.base_style = normal
    _font(cell, TABLE_PT)
    cell.paragraph_format.first_line_indent = Cm(0)
    cell.paragraph_format.alignment = WD_ALIGN_PARAGRAPH.LEFT
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


class _Body:
    """Adds paragraphs with a style given by its id (python-docx's look-up of a style by name scans every style:
    far too slow for a network's report of a thousand pages)."""

    def __init__(self, word: object, ids: dict[str, str]) -> None:
        self.word = word
        self.ids = ids
        self.parent = word._body  # type: ignore[attr-defined]
        self.end = self.parent._body.sectPr  # new content goes before the section's properties
        self.shape_id = 1000
        self.width = word._block_width  # type: ignore[attr-defined]  # (it searches the body: read once)
        self.part = word.part  # type: ignore[attr-defined]
        self.image_rids: dict[str, str] = {}  # an image's SHA-1 → its relationship: identical charts share a part
        self.image_count = len(self.part.package.image_parts)
        self.next_rid = len(self.part.rels) + 1

    def add(self, text: str, style: str = "Normal") -> Paragraph:
        # Built as plain elements: python-docx's own insertion searches the body each time (quadratic).
        element = OxmlElement("w:p")
        if style != "Normal":
            pstyle = etree.SubElement(etree.SubElement(element, qn("w:pPr")), qn("w:pStyle"))
            pstyle.set(qn("w:val"), self.ids[style])
        if text:
            _text_run(element, text)
        self.end.addprevious(element)
        return Paragraph(element, self.parent)

    def add_picture(self, png: bytes, width: Length) -> None:
        """A centred picture paragraph. Shape ids are counted here: python-docx finds the next one by reading
        every id in the document (quadratic over a report with a chart per page)."""
        image = Image.from_blob(png)
        digest = image.sha1
        rid = self.image_rids.get(digest)
        if rid is None:
            rid = self.image_rids[digest] = self._add_image(image)
        cx, cy = image.scaled_dimensions(width, None)
        self.shape_id += 1
        inline = CT_Inline.new_pic_inline(self.shape_id, rid, image.filename, cx, cy)
        p = self.add("", "Requisite")
        etree.SubElement(etree.SubElement(p._p, qn("w:r")), qn("w:drawing")).append(inline)

    def _add_image(self, image: Image) -> str:
        """The image's part and relationship, named and numbered here: python-docx's ``get_or_add_image`` hashes
        every image already in the document, reads every part name and every relationship id to find the next
        (quadratic: most of the time of a report with 1,500 charts)."""
        self.image_count += 1
        part = ImagePart.from_image(image, PackURI(f"/word/media/image{self.image_count}.{image.ext}"))
        self.part.package.image_parts.append(part)
        while f"rId{self.next_rid}" in self.part.rels:
            self.next_rid += 1
        rid = f"rId{self.next_rid}"
        self.part.rels.add_relationship(RT.IMAGE, part, rid)
        return rid

    def add_table(self, rows: int, cols: int) -> Table:
        tbl = CT_Tbl.new_tbl(rows, cols, self.width)
        self.end.addprevious(tbl)
        tbl.tblPr.style = self.ids["Table Grid"]
        return Table(tbl, self.parent)


def _text_run(parent: Any, text: str, *, bold: bool = False) -> None:
    run = etree.SubElement(parent, qn("w:r"))
    if bold:
        etree.SubElement(etree.SubElement(run, qn("w:rPr")), qn("w:b"))
    t = etree.SubElement(run, qn("w:t"))
    t.text = text
    if text != text.strip():
        t.set("{http://www.w3.org/XML/1998/namespace}space", "preserve")


def _block(body: _Body, block: Block) -> None:
    if block.kind == "heading":
        body.add(f"{block.number} {block.text}" if block.number else block.text, f"Heading {block.level}")
    elif block.kind == "para":
        body.add(block.text)
    elif block.kind == "list":
        for item in block.items:
            body.add(item, "List Bullet")
    elif block.kind == "table":
        body.add(block.caption, "Caption")
        _table(body, block)
    elif block.kind == "chart":
        body.add_picture(charts.audience_png(block.points), Mm(170))
        body.add(block.caption, "Requisite")


def _pstyle(p: Any, style_id: str) -> None:
    """Gives the empty paragraph ``p`` its style (plain lxml: ``OxmlElement`` parses a string per element)."""
    etree.SubElement(etree.SubElement(p, qn("w:pPr")), qn("w:pStyle")).set(qn("w:val"), style_id)


def _repeat_header(table: Table) -> None:
    row = table.rows[0]._tr
    props = row.get_or_add_trPr()
    flag = OxmlElement("w:tblHeader")
    flag.set(qn("w:val"), "true")
    props.append(flag)


def _table(body: _Body, block: Block) -> None:
    table = body.add_table(1 + len(block.rows), len(block.headers))
    table.alignment = WD_TABLE_ALIGNMENT.CENTER
    style = body.ids["Table Text"]
    for r, (tr, row) in enumerate(zip(table._tbl.tr_lst, [block.headers, *block.rows], strict=True)):
        for tc, text in zip(tr.tc_lst, row, strict=True):
            p = tc.p_lst[0]
            _pstyle(p, style)
            _text_run(p, text, bold=r == 0)
    _repeat_header(table)
