"""The demo network's 2014 report, generated from the demo data and read back from the DOCX: each statement of
the network's own 2014 account (../shared/demo/README.md) must be there, computed from rows.

The audience statements read the demo's 2014 snapshots (``stats.PageDay`` rows written by ``stats.seed``) and the
paid-services statements the demo's 2014 orders (``demo/paid.py``)."""

from __future__ import annotations

import io
import re
from datetime import date
from typing import Any

import pytest
from docx import Document
from docx.oxml.ns import qn
from docx.table import Table
from docx.text.paragraph import Paragraph

from filial.core.tests.test_demo import _demo_loaded, demo  # noqa: F401 - the demo fixture, loaded once
from filial.libraries.models import LibrarySystem
from filial.paid.models import Order
from filial.reports import services
from filial.stats.models import PageDay

pytestmark = pytest.mark.usefixtures("demo")


@pytest.fixture
def text(demo: Any) -> str:  # noqa: F811 - the fixture imported above
    system = LibrarySystem.objects.get()
    report = services.report_create(actor=None, system=system, scope=None, kind="annual",
                                    start=date(2014, 1, 1), end=date(2014, 12, 31))
    return body_text(Document(io.BytesIO(services.docx_bytes(report))))


def body_text(doc: Any) -> str:
    """The document's paragraphs and table rows («cell | cell») in their order."""
    parts: list[str] = []
    for element in doc.element.body.iterchildren():
        if element.tag == qn("w:p"):
            parts.append(Paragraph(element, doc).text)
        elif element.tag == qn("w:tbl"):
            parts += [" | ".join(c.text for c in row.cells) for row in Table(element, doc).rows]
    return "\n".join(parts)


def _section(text: str, page: str) -> str:
    """The text of one page's subsection (from its heading to the next heading)."""
    match = re.search(rf"^\d+\.\d+ Страница «{re.escape(page)}».*?(?=^\d+(\.\d+)? )", text, re.S | re.M)
    assert match, f"no subsection for «{page}»"
    return match.group(0)


def test_the_2014_pages_and_what_they_published(text: str) -> None:
    assert "в 2 социальных сетях («VK», «Одноклассники») 4 страницами" in text
    central = _section(text, "Центральная библиотека Медногорска")
    assert "(https://ok.ru/profile/561588730013) в социальной сети «Одноклассники»" in central
    assert "существует с 2014 года" in central
    assert "пополнилась 32 заметками" in central
    assert "Опрос «Как вы относитесь к здоровому образу жизни?»" in central
    assert "внесены вручную" in central and "Стараюсь придерживаться каждый день — 57" in central
    assert "Фотоотчёт" in central and "Библионочь-2014" in central
    children = _section(text, "Детская библиотека")
    assert "Виртуальная выставка | 3" in children
    branch4 = _section(text, "Библиотека-филиал № 4")
    assert "(https://ok.ru/profile/569188750053)" in branch4
    assert "создана 20 ноября 2014 года, чуть более чем за месяц до конца периода" in branch4
    vinyl = _section(text, "Медногорский винил")
    assert "(https://vk.com/vinilius) в социальной сети «VK»" in vinyl and "существует с 2014 года" in vinyl


def test_the_2014_debtor_work(text: str) -> None:
    section = text.split("Работа с должниками", 1)[1].split("4 Платные услуги", 1)[0]
    assert "отправлено 6 напоминаний о сроке возврата книг (6 читателям)" in section
    assert "принято 6 просьб о продлении, продлено 6" in section
    # returned within 2014 after the reminder: 2 + 1 (May), 3 renewed and back in October + 1 (August), 1 (December)
    assert "После напоминания возвращено 8 книг" in section


def test_the_2014_audience(text: str) -> None:
    assert PageDay.objects.filter(day__year=2014).exists(), "the demo seeds its 2014 audience as stats.PageDay"
    assert "За период страница собрала более 600 друзей и пополнилась 32 заметками." in _section(
        text, "Центральная библиотека Медногорска")
    assert "собрала более 1400 друзей" in _section(text, "Детская библиотека")
    assert re.search(r"собрала более 40 (друзей|подписчиков)", _section(text, "Библиотека-филиал № 4"))
    assert "собрала более 150 участников" in _section(text, "Медногорский винил")


def test_the_2014_paid_services(text: str) -> None:
    assert Order.objects.filter(date__year=2014).exists(), "the demo has the 2014 paid-service orders"
    paid = text.split("Платные услуги", 1)[1]
    sentence = paid.split("Таблица", 1)[0]
    for who in ("образования", "культуры", "Совет депутатов"):
        assert who in sentence, who
    assert "Многофункциональный центр" in sentence or "МФЦ" in sentence
    assert "а также более 110 физических лиц" in paid
