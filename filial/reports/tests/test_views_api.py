"""The report pages and the reports API: who may do what, the flow (make → preview → conclusions → publish →
download), the API's answer, and the list's query count."""

from __future__ import annotations

import io
from datetime import date
from typing import Any

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from docx import Document

from filial.conftest import PASSWORD
from filial.core.tests.test_api_support import client_for
from filial.reports import services
from filial.reports.models import Report
from filial.reports.tests.fixtures import YEAR, fill


def _login(net: Any, role: str) -> Client:
    client = Client()
    if role != "anonymous":
        assert client.login(username=net.users[role].username, password=PASSWORD)
    return client


def test_make_preview_conclude_publish_download(net: Any) -> None:
    fill(net)
    client = _login(net, "methodologist")
    page = client.get("/reports/new/")
    assert page.status_code == 200 and 'name="period_from"' in page.content.decode()
    response = client.post("/reports/new/", {"scope": f"system:{net.system.pk}", "kind": "annual",
                                             "period_from": f"{YEAR}-01-01", "period_to": f"{YEAR}-12-31"})
    assert response.status_code == 302
    report = Report.objects.get()
    html = client.get(f"/reports/{report.pk}/").content.decode()
    assert "более 600 друзей" in html and "data:image/png;base64," in html and "<caption>" in html
    saved = client.post(f"/reports/{report.pk}/conclusions/", {"conclusions": "Страница — это филиал."})
    assert saved.status_code == 302
    assert client.post(f"/reports/{report.pk}/publish/").status_code == 302
    report.refresh_from_db()
    assert report.is_published and report.conclusions == "Страница — это филиал."
    download = client.get(f"/reports/{report.pk}/docx/")
    assert download.status_code == 200 and download["Content-Type"].startswith("application/vnd.openxmlformats")
    text = "\n".join(p.text for p in Document(io.BytesIO(download.content)).paragraphs)
    assert "Страница — это филиал." in text
    # published: frozen
    client.post(f"/reports/{report.pk}/conclusions/", {"conclusions": "другое"})
    report.refresh_from_db()
    assert report.conclusions == "Страница — это филиал."


def test_wrong_period_is_a_form_error(net: Any) -> None:
    client = _login(net, "admin")
    response = client.post("/reports/new/", {"scope": f"system:{net.system.pk}", "kind": "monthly",
                                             "period_from": f"{YEAR}-01-01", "period_to": f"{YEAR}-12-31"})
    assert response.status_code == 200 and "errorlist" in response.content.decode()
    assert not Report.objects.exists()


@pytest.mark.parametrize(("role", "expected"), [
    ("admin", 200), ("methodologist", 200), ("editor_children", 403), ("viewer", 403), ("outsider", 403),
])
def test_who_sees_the_reports(net: Any, role: str, expected: int) -> None:
    assert _login(net, role).get("/reports/").status_code == expected


def test_list_query_count_does_not_grow(net: Any) -> None:
    fill(net)
    for _ in range(2):
        services.report_create(actor=None, system=net.system, scope=net.children, kind="annual",
                               start=date(YEAR, 1, 1), end=date(YEAR, 12, 31))
    client = _login(net, "methodologist")
    with CaptureQueriesContext(connection) as few:
        assert client.get("/reports/").status_code == 200
    for _ in range(5):
        services.report_create(actor=None, system=net.system, scope=None, kind="annual",
                               start=date(YEAR, 1, 1), end=date(YEAR, 12, 31))
    with CaptureQueriesContext(connection) as many:
        assert client.get("/reports/").status_code == 200
    assert len(many.captured_queries) == len(few.captured_queries)


def test_api_create_and_docx(net: Any) -> None:
    fill(net)
    client = client_for(net, "methodologist")
    response = client.post("/api/v1/reports/", {"scope": net.children.pk, "from": f"{YEAR}-01-01",
                                                "to": f"{YEAR}-12-31", "kind": "annual"}, format="json")
    assert response.status_code == 201, response.content
    body = response.json()
    assert [p["name"] for p in body["figures"]["pages"]] == ["Детская библиотека"]
    assert body["figures"]["pages"][0]["audience_end"] == 1432
    assert body["docx_url"].endswith(f"/api/v1/reports/{body['id']}/docx/")
    assert body["html_url"].endswith(f"/reports/{body['id']}/")
    docx = client.get(f"/api/v1/reports/{body['id']}/docx/")
    assert docx.status_code == 200 and docx.content[:2] == b"PK"
    refused = client_for(net, "editor_children").post(
        "/api/v1/reports/", {"scope": net.children.pk, "from": f"{YEAR}-01-01", "to": f"{YEAR}-12-31",
                             "kind": "annual"}, format="json")
    assert refused.status_code == 403
    bad = client.post("/api/v1/reports/", {"scope": None, "from": f"{YEAR}-12-31", "to": f"{YEAR}-01-01",
                                           "kind": "annual"}, format="json")
    assert bad.status_code == 400 and "to" in bad.json().get("fields", bad.json())
    assert client_for(net, "editor_children").get(f"/api/v1/reports/{body['id']}/docx/").status_code == 404
