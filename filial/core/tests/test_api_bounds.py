"""Every number and date a request carries is bounded (filial/core/params.py): out of range, malformed or
ill-typed, it is a 400 naming the parameter (or a 404 for a path id), never a 500 — in the API and the pages."""

from __future__ import annotations

import re
from datetime import date
from typing import Any

import pytest
from django.urls import get_resolver

from filial.core.params import BadParameter, IdConverter, parse_day, parse_id
from filial.core.tests.test_api_support import client_for, jpeg_upload
from filial.core.tests.test_url_security import _walk

BIG = "9" * 20  # more than 2^63 - 1: SQLite cannot even bind it (OverflowError), PostgreSQL's bigint neither


def _quiet(client: Any) -> Any:
    client.raise_request_exception = False  # a 500 must come back as a 500, not as the test's exception
    return client


@pytest.fixture
def admin_api(net: Any) -> Any:
    return _quiet(client_for(net, "admin"))


@pytest.mark.django_db
@pytest.mark.parametrize("url,param", [
    *[(f"/api/v1/{res}/?unit={BIG}", "unit")
      for res in ("channels", "conversations", "loans", "readers", "posts", "events")],
    (f"/api/v1/deliveries/?post={BIG}", "post"),
    (f"/api/v1/deliveries/?channel={BIG}", "channel"),
    (f"/api/v1/conversations/?channel={BIG}", "channel"),
    (f"/api/v1/posts/?channel={BIG}", "channel"),
    (f"/api/v1/loans/?reader={BIG}", "reader"),
    ("/api/v1/posts/?unit=-5", "unit"),
    ("/api/v1/posts/?unit=0", "unit"),
    ("/api/v1/posts/?unit=1.5", "unit"),
    ("/api/v1/posts/?from=0001-01-01", "from"),
    ("/api/v1/posts/?to=9999-12-31", "to"),
    ("/api/v1/posts/?from=0182-06-01T10:00:00", "from"),
    ("/api/v1/events/?from=0001-01-01", "from"),
    ("/api/v1/events/?to=9999-12-31T23:59:59%2B05:00", "to"),
])
def test_an_out_of_range_filter_is_a_400_on_its_name(admin_api: Any, url: str, param: str) -> None:
    response = admin_api.get(url)
    assert response.status_code == 400, (url, response.status_code)
    assert list(response.json()) == [param]
    assert response.json()[param][0].startswith("Give a ")


@pytest.mark.django_db
@pytest.mark.parametrize("url", [
    "/api/v1/loans/abc/", f"/api/v1/loans/{BIG}/", f"/api/v1/units/{BIG}/", f"/api/v1/posts/{BIG}/",
    "/api/v1/readers/x1/", "/api/v1/imports/%20/",
])
def test_a_bad_id_in_the_path_is_a_json_404(admin_api: Any, url: str) -> None:
    response = admin_api.get(url)
    assert response.status_code == 404
    assert response.json() == {"detail": "Not found."}


@pytest.mark.django_db
@pytest.mark.parametrize("pk", ["abc", BIG, "0"])
def test_renewing_a_loan_with_a_non_numeric_id_is_a_404(admin_api: Any, pk: str) -> None:
    response = admin_api.post(f"/api/v1/loans/{pk}/renew/")
    assert response.status_code == 404


@pytest.mark.django_db
def test_ill_typed_bodies_are_a_400(admin_api: Any, net: Any) -> None:
    cases = [
        ("/api/v1/units/", {"name": "X", "kind": "branch", "position": BIG}, "json", "position"),
        ("/api/v1/units/", {"name": "X", "kind": "branch", "parent": BIG}, "json", "parent"),
        ("/api/v1/units/", {"name": ["X"], "kind": "branch"}, "json", "name"),
        ("/api/v1/imports/", {"unit": BIG, "file": jpeg_upload("loans.csv")}, "multipart", "unit"),
        ("/api/v1/imports/", {"unit": "3.5", "file": jpeg_upload("loans.csv")}, "multipart", "unit"),
        ("/api/v1/events/", {"title": "x", "starts_at": "0182-01-01T10:00:00"}, "json", "starts_at"),
        ("/api/v1/events/", {"title": "x", "starts_at": "2031-01-01T10:00:00", "ends_at": "9999-12-31T10:00:00"},
         "json", "ends_at"),
        ("/api/v1/posts/", {"kind": "afisha", "text": "x", "publish_at": "0001-01-01T00:00:00"}, "json",
         "publish_at"),
        (f"/api/v1/conversations/{BIG}/assign/", {"assignee": BIG}, "json", None),
        # an id is a whole number: 1.5 is not truncated into another object's id
        ("/api/v1/units/", {"name": "X", "kind": "branch", "parent": 1.5}, "json", "parent"),
        ("/api/v1/units/", {"name": "X", "kind": "branch", "system": True}, "json", "system"),
        ("/api/v1/posts/", {"kind": "afisha", "text": "x", "channels": [net.channels["children_tg"].pk + 0.5]},
         "json", "channels"),
        ("/api/v1/events/", {"title": "x", "starts_at": "2031-01-01T10:00:00", "unit": 1.5}, "json", "unit"),
    ]
    for url, body, fmt, field in cases:
        response = admin_api.post(url, body, format=fmt)
        assert response.status_code in (400, 404), (url, body, response.status_code)
        if field:
            assert response.status_code == 400 and field in response.json(), (url, response.json())


@pytest.mark.django_db
def test_an_event_is_answered_with_the_units_real_offset(admin_api: Any, net: Any) -> None:
    response = admin_api.post("/api/v1/events/", {"title": "Ночь библиотек", "unit": net.central.pk,
                                                   "starts_at": "2031-04-19T18:00:00"}, format="json")
    assert response.status_code == 201
    assert re.fullmatch(r"2031-04-19T18:00:00[+-]\d\d:\d\d", response.json()["starts_at"])


@pytest.mark.django_db
@pytest.mark.parametrize("url", [
    "/calendar/?view=week&date=9999-12-31", "/calendar/?date=0001-01-01", "/calendar/?date=0001-01",
    f"/circulation/readers/?unit={BIG}", "/circulation/readers/?unit=-1",
])
def test_pages_answer_400_with_the_parameter_named(client: Any, net: Any, url: str) -> None:
    client.force_login(net.users["admin"])
    response = _quiet(client).get(url)
    assert response.status_code == 400, (url, response.status_code)
    assert re.search(r"<code>(date|unit)</code>: Give a ", response.content.decode())


@pytest.mark.django_db
@pytest.mark.parametrize("url", [
    "/calendar/?date=2031-06-15", "/calendar/?view=week&date=2100-12-31", "/calendar/?date=nonsense",
    f"/posts/new/?unit={BIG}&event={BIG}&date=9999-01-01", f"/posts/?unit={BIG}", f"/inbox/?channel={BIG}",
    "/posts/?date_from=0001-01-01", "/audit/?date_from=0001-01-01&date_to=9999-12-31",
    f"/circulation/readers/{BIG}/",
])
def test_pages_never_fail_on_bounds(client: Any, net: Any, url: str) -> None:
    client.force_login(net.users["admin"])
    response = _quiet(client).get(url)
    assert response.status_code in (200, 302, 400, 404), (url, response.status_code)


def test_the_helpers_bound_ids_and_dates() -> None:
    assert parse_id("42", "x") == 42 and parse_id(str(2**63 - 1), "x") == 2**63 - 1
    for bad in ("0", "-1", str(2**63), BIG, "1e3", "٣", " ", "1.0"):
        with pytest.raises(BadParameter):
            parse_id(bad, "x")
    assert parse_day("2031-06-01", "d") == date(2031, 6, 1)
    for bad in ("0001-01-01", "9999-12-31", "1969-12-31", "2101-01-01", "2031-02-30", "x"):
        with pytest.raises(BadParameter):
            parse_day(bad, "d")
    converter = IdConverter()
    assert converter.to_python("7") == 7
    with pytest.raises(ValueError):
        converter.to_python("9" * 19)


def test_every_id_in_a_path_uses_the_bounded_converter() -> None:
    routes = [r for r in _walk(get_resolver().url_patterns) if not r.startswith("admin/")]
    assert any("<id:pk>" in r for r in routes)
    assert [r for r in routes if "<int:" in r or "(?P<" in r] == []


@pytest.mark.django_db
@pytest.mark.parametrize("value", ["abc", BIG, "1.5"])
def test_deleting_a_quick_reply_by_a_bad_id_is_a_404(client: Any, net: Any, value: str) -> None:
    client.force_login(net.users["admin"])
    response = _quiet(client).post("/inbox/quick-replies/", {"delete": value})
    assert response.status_code == 404
