"""A draft's DOCX and preview charts are kept by a digest of what they are made of: a second download does not
build the file again, and computing the figures again, editing the conclusions or publishing forgets it."""

from __future__ import annotations

import io
from datetime import date
from typing import Any

import pytest
from django.core.files.storage import default_storage
from docx import Document

from filial.reports import charts, docxfile, services
from filial.reports.models import Report
from filial.reports.tests.fixtures import YEAR, fill


@pytest.fixture
def report(net: Any) -> Report:
    fill(net)
    return services.report_create(actor=None, system=net.system, scope=None, kind="annual",
                                  start=date(YEAR, 1, 1), end=date(YEAR, 12, 31))


@pytest.fixture
def renders(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    counted: list[int] = []
    real = docxfile.render

    def counting(*args: Any, **kwargs: Any) -> bytes:
        counted.append(1)
        return real(*args, **kwargs)

    monkeypatch.setattr(docxfile, "render", counting)
    return counted


def _text(content: bytes) -> str:
    return "\n".join(p.text for p in Document(io.BytesIO(content)).paragraphs)


def test_second_download_of_a_draft_is_the_kept_file(report: Report, renders: list[int]) -> None:
    first = services.docx_bytes(report)
    second = services.docx_bytes(Report.objects.get(pk=report.pk))
    assert len(renders) == 1 and first == second
    assert services._draft_files(report.pk) == [f"{services.DRAFTS}/{report.pk}-{services.draft_digest(report)}.docx"]


def test_conclusions_and_recompute_make_a_new_file(report: Report, renders: list[int],
                                                   django_capture_on_commit_callbacks: Any) -> None:
    services.docx_bytes(report)
    with django_capture_on_commit_callbacks(execute=True):
        edited = services.report_conclusions(actor=None, report=report, text="Новые выводы методиста.")
    assert services._draft_files(report.pk) == []  # forgotten on commit
    content = services.docx_bytes(edited)
    assert len(renders) == 2 and "Новые выводы методиста." in _text(content)
    kept = services._draft_files(report.pk)
    with django_capture_on_commit_callbacks(execute=True):
        again = services.report_regenerate(actor=None, report=edited)
    assert not any(default_storage.exists(name) for name in kept)
    services.docx_bytes(again)
    assert len(renders) == 3 and len(services._draft_files(report.pk)) == 1


def test_a_changed_digest_is_not_served_the_old_file(report: Report, renders: list[int]) -> None:
    services.docx_bytes(report)
    report.conclusions = "Изменено без сервиса."  # e.g. a commit callback not run yet
    assert "Изменено без сервиса." in _text(services.docx_bytes(report)) and len(renders) == 2


def test_published_report_serves_its_frozen_file(report: Report, renders: list[int],
                                                  django_capture_on_commit_callbacks: Any) -> None:
    services.docx_bytes(report)
    with django_capture_on_commit_callbacks(execute=True):
        published = services.report_publish(actor=None, report=report)
    assert services._draft_files(report.pk) == []
    with published.docx.open("rb") as fh:
        frozen = fh.read()
    assert services.docx_bytes(published) == frozen and len(renders) == 2


def test_preview_charts_are_drawn_once_per_digest(report: Report, monkeypatch: pytest.MonkeyPatch) -> None:
    drawn: list[int] = []
    real = charts.audience_png

    def counting(points: list[list[Any]]) -> bytes:
        drawn.append(1)
        return real(points)

    monkeypatch.setattr(charts, "audience_png", counting)
    services.forget_draft(report.pk)
    doc = services.document(report)
    expected = sum(1 for b in doc.blocks if b.kind == "chart")
    first = services.chart_sources(report, doc)
    assert expected > 0 and len(first) == expected and len(drawn) == expected
    assert all(src.startswith("data:image/png;base64,") for src in first)
    assert services.chart_sources(report, doc) == first and len(drawn) == expected
    report.conclusions = "другие выводы"
    services.chart_sources(report, services.document(report))
    assert len(drawn) == 2 * expected
