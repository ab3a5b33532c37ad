"""The DOCX: GOST R 7.0.97 layout (margins, font, numbered headings, repeated table headers, PAGE field), the
text read back, regenerate → same numbers, publish → a frozen file."""

from __future__ import annotations

import io
import os
import stat
from datetime import date
from typing import Any

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from docx import Document
from docx.oxml.ns import qn

from filial.accounts.models import AuditEntry
from filial.reports import services
from filial.reports.models import Report
from filial.reports.tests.fixtures import YEAR, fill


def _report(net: Any, scope: Any = None) -> Report:
    fill(net)
    return services.report_create(actor=net.users["admin"], system=net.system, scope=scope, kind="annual",
                                  start=date(YEAR, 1, 1), end=date(YEAR, 12, 31))


def _text(doc: Any) -> str:
    parts = [p.text for p in doc.paragraphs]
    for table in doc.tables:
        parts += [cell.text for row in table.rows for cell in row.cells]
    return "\n".join(parts)


def test_docx_layout(net: Any) -> None:
    report = _report(net)
    doc = Document(io.BytesIO(services.docx_bytes(report)))
    section = doc.sections[0]
    margins = [section.left_margin, section.right_margin, section.top_margin, section.bottom_margin]
    assert [round(m.mm) if m is not None else None for m in margins] == [20, 10, 20, 20]
    assert doc.styles["Normal"].font.name == "Times New Roman" and doc.styles["Normal"].font.size.pt == 14
    assert doc.paragraphs[0].text == "ЦБС г. Медногорска"  # the requisites first
    headings = [p.text for p in doc.paragraphs if p.style is not None and (p.style.name or "").startswith("Heading")]
    assert headings[0] == "1 Страницы в социальных сетях"
    assert "1.1 Страница «Центральная библиотека Медногорска» (Одноклассники)" in headings
    assert any(h.startswith("6 Выводы") for h in headings)
    assert doc.tables, "the report has tables"
    for table in doc.tables:
        props = table.rows[0]._tr.trPr
        flag = props.find(qn("w:tblHeader")) if props is not None else None
        assert flag is not None and flag.get(qn("w:val")) == "true"
    header_xml = section.header._element.xml
    assert "PAGE" in header_xml and "fldChar" in header_xml
    assert section.different_first_page_header_footer  # no number on the first page
    assert len(doc.inline_shapes) == 2  # the two pages' audience charts


def test_docx_states_the_figures(net: Any) -> None:
    report = _report(net)
    text = _text(Document(io.BytesIO(services.docx_bytes(report))))
    assert "собрала более 600 друзей и пополнилась 31 заметкой" in text
    assert "более 1400 друзей" in text
    assert "Как вы относитесь к здоровому образу жизни?" in text and "внесены вручную" in text
    assert "Стараюсь каждый день — 48 (56 %)" in text
    assert "Виртуальная выставка" in text
    assert "Учреждение образования (1), Совет депутатов (1), а также более 110 физических лиц" in text
    assert "Выводы ещё не написаны." in text
    assert "6-НК" in text


def test_regenerate_gives_the_same_numbers(net: Any) -> None:
    report = _report(net)
    before = report.figures
    report = services.report_regenerate(actor=net.users["methodologist"], report=report)
    report.refresh_from_db()
    assert report.figures == before
    first = services.docx_bytes(report)
    assert _text(Document(io.BytesIO(first))) == _text(Document(io.BytesIO(services.docx_bytes(report))))


def test_publish_freezes_the_file(net: Any) -> None:
    report = _report(net)
    report = services.report_conclusions(actor=net.users["methodologist"], report=report,
                                         text="1. Страница — это филиал библиотеки.")
    report = services.report_publish(actor=net.users["methodologist"], report=report)
    name = report.docx.name or ""
    assert report.state == Report.State.PUBLISHED and name.endswith(".docx")
    assert report.generated_at is not None and report.generated_at.date().isoformat() in name
    assert stat.S_IMODE(os.stat(report.docx.path).st_mode) == 0o600
    frozen = services.docx_bytes(report)
    with open(report.docx.path, "rb") as fh:
        assert fh.read() == frozen
    assert "Страница — это филиал библиотеки." in _text(Document(io.BytesIO(frozen)))
    with pytest.raises(ValidationError):
        services.report_regenerate(actor=net.users["admin"], report=report)
    with pytest.raises(ValidationError):
        services.report_conclusions(actor=net.users["admin"], report=report, text="другое")
    assert AuditEntry.objects.filter(action="report.publish").count() == 1


@pytest.mark.parametrize("role", ["editor_children", "viewer", "outsider"])
def test_only_methodologists_and_admins_report(net: Any, role: str) -> None:
    fill(net)
    with pytest.raises(PermissionDenied):
        services.report_create(actor=net.users[role], system=net.system, scope=net.children, kind="annual",
                               start=date(YEAR, 1, 1), end=date(YEAR, 12, 31))
    assert not Report.objects.exists()


def test_period_is_checked(net: Any) -> None:
    for kind, start, end in (("monthly", date(YEAR, 1, 1), date(YEAR, 3, 31)),
                             ("annual", date(YEAR, 12, 31), date(YEAR, 1, 1)),
                             ("weekly", date(YEAR, 1, 1), date(YEAR, 1, 7))):
        with pytest.raises(ValidationError):
            services.report_create(actor=net.users["admin"], system=net.system, scope=None, kind=kind,
                                   start=start, end=end)
    assert not Report.objects.exists()
