"""Role × endpoint matrix for /api/v1/: who gets 200/201/204/400/401/403/404, and a refused request
changes nothing (no row, no audit entry) while an allowed write does change something and is in the audit
log under its author."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from django.core.cache import cache
from django.urls import URLPattern, URLResolver, get_resolver, resolve

from filial.accounts.models import AuditEntry
from filial.channels.tests.emulated import Page, emulated
from filial.core.tests.test_api_support import ROLES, World, client_for, fingerprint, jpeg_upload, world
from filial.paid.models import Customer, CustomerCategory, Order, Service
from filial.paid.tests.support import paid_world
from filial.reports.tests.fixtures import matrix_report

# The page "channel create" connects: a Telegram channel in the emulator, served over HTTP for this module.
EMULATED: dict[str, Page] = {}


@pytest.fixture(scope="module", autouse=True)
def _telegram_page() -> Iterator[None]:
    with emulated("telegram") as page:
        EMULATED["telegram"] = page
        yield
    EMULATED.clear()


@pytest.fixture(autouse=True)
def _clear_throttles() -> None:
    cache.clear()


@dataclass
class Case:
    method: str
    path: Callable[[Any, World], str]
    expected: dict[str, int]
    body: Callable[[Any, World], Any] | None = None
    multipart: bool = False


def _roles(admin: int, methodologist: int, editor_branch4: int, editor_children: int, viewer: int,
           outsider: int, anonymous: int = 401) -> dict[str, int]:
    return dict(zip(ROLES, [admin, methodologist, editor_branch4, editor_children, viewer, outsider, anonymous],
                    strict=True))


def _b4_service(n: Any) -> int:
    return Service.objects.get(unit=n.branch4).pk


def _b4_order(n: Any) -> int:
    return Order.objects.filter(unit=n.branch4).order_by("pk").first().pk  # type: ignore[union-attr]


def _category(n: Any, code: str) -> int:
    return CustomerCategory.objects.get(system=n.system, code=code).pk


def _school(n: Any) -> int:
    return Customer.objects.get(name="СОШ № 7").pk


def _first_delivery(w: World) -> int:
    return w.scheduled_ch.deliveries.order_by("id")[0].pk


def _post_body(channel: str) -> Callable[[Any, World], dict[str, Any]]:
    return lambda net, w: {"kind": "note", "text": "Новые книги", "channels": [net.channels[channel].pk],
                           "publish_at": net.soon().isoformat()}


CASES: dict[str, Case] = {
    # --- reports (the network's administrator and the methodologists of the units; an unreadable unit: 400)
    "reports list": Case("get", lambda n, w: "/api/v1/reports/", _roles(200, 200, 200, 200, 200, 200)),
    "report create (children, a month)": Case(
        "post", lambda n, w: "/api/v1/reports/", _roles(201, 201, 400, 403, 400, 400),
        body=lambda n, w: {"scope": n.children.pk, "from": "2024-02-01", "to": "2024-02-29", "kind": "monthly"}),
    "report detail": Case("get", lambda n, w: f"/api/v1/reports/{matrix_report(n).pk}/",
                          _roles(200, 200, 404, 404, 404, 404)),
    "report docx": Case("get", lambda n, w: f"/api/v1/reports/{matrix_report(n).pk}/docx/",
                        _roles(200, 200, 404, 404, 404, 404)),
    # --- units
    "units list": Case("get", lambda n, w: "/api/v1/units/", _roles(200, 200, 200, 200, 200, 200)),
    "unit detail (children)": Case("get", lambda n, w: f"/api/v1/units/{n.children.pk}/",
                                   _roles(200, 200, 404, 200, 404, 404)),
    "unit create": Case("post", lambda n, w: "/api/v1/units/", _roles(201, 403, 403, 403, 403, 403),
                        body=lambda n, w: {"name": "Библиотека-филиал № 5", "kind": "branch"}),
    "unit update (branch 4)": Case("patch", lambda n, w: f"/api/v1/units/{n.branch4.pk}/",
                                   _roles(200, 403, 403, 404, 404, 404),
                                   body=lambda n, w: {"address": "ул. Советская, 1"}),
    # --- channels
    "channels list": Case("get", lambda n, w: "/api/v1/channels/", _roles(200, 200, 200, 200, 200, 200)),
    "channel detail (children OK)": Case("get", lambda n, w: f"/api/v1/channels/{n.channels['children_ok'].pk}/",
                                         _roles(200, 200, 200, 200, 200, 404)),
    "channel create": Case("post", lambda n, w: "/api/v1/channels/", _roles(201, 403, 403, 403, 403, 403),
                           body=lambda n, w: EMULATED["telegram"].body(n.branch4.pk, name="Филиал 4 в Telegram")),
    # Checking the secrets with the network (their success: channels/tests/test_connect.py); a page without
    # secrets is a 400 for the admin and nothing is written.
    "channel verify (children OK)": Case("post",
                                         lambda n, w: f"/api/v1/channels/{n.channels['children_ok'].pk}/verify/",
                                         _roles(400, 403, 403, 403, 403, 404)),
    "channel update (children OK)": Case("patch",
                                         lambda n, w: f"/api/v1/channels/{n.channels['children_ok'].pk}/",
                                         _roles(200, 403, 403, 403, 403, 404), body=lambda n, w: {"name": "ЦДБ"}),
    # --- media
    "media upload (own unit)": Case("post", lambda n, w: "/api/v1/media/", _roles(201, 201, 201, 201, 403, 403),
                                    body=lambda n, w: {"file": jpeg_upload()}, multipart=True),
    "media upload (children)": Case("post", lambda n, w: "/api/v1/media/", _roles(201, 201, 403, 201, 403, 403),
                                    body=lambda n, w: {"file": jpeg_upload(), "unit": n.children.pk},
                                    multipart=True),
    "photo (children draft)": Case("get", lambda n, w: f"/api/v1/media/{w.photo_ch.pk}/",
                                   _roles(200, 200, 404, 200, 404, 404)),
    "photo file (children draft)": Case("get", lambda n, w: f"/api/v1/media/{w.photo_ch.pk}/file/?size=thumb",
                                        _roles(200, 200, 404, 200, 404, 404)),
    # --- posts: reads
    "posts list": Case("get", lambda n, w: "/api/v1/posts/", _roles(200, 200, 200, 200, 200, 200)),
    "post detail (children draft)": Case("get", lambda n, w: f"/api/v1/posts/{w.draft_ch.pk}/",
                                         _roles(200, 200, 404, 200, 404, 404)),
    "post detail (children scheduled)": Case("get", lambda n, w: f"/api/v1/posts/{w.scheduled_ch.pk}/",
                                             _roles(200, 200, 200, 200, 200, 404)),
    # --- posts: writes
    "post create (children page)": Case("post", lambda n, w: "/api/v1/posts/",
                                        _roles(201, 201, 400, 201, 403, 403), body=_post_body("children_ok")),
    "post create (branch 4 page)": Case("post", lambda n, w: "/api/v1/posts/",
                                        _roles(201, 201, 201, 400, 403, 403), body=_post_body("branch4_ok")),
    "post update (children draft)": Case("patch", lambda n, w: f"/api/v1/posts/{w.draft_ch.pk}/",
                                         _roles(200, 200, 404, 200, 404, 404),
                                         body=lambda n, w: {"text": "Исправленный текст"}),
    "post update (children scheduled)": Case("patch", lambda n, w: f"/api/v1/posts/{w.scheduled_ch.pk}/",
                                             _roles(200, 200, 403, 200, 403, 404),
                                             body=lambda n, w: {"text": "Исправленный текст"}),
    "post delete (children draft)": Case("delete", lambda n, w: f"/api/v1/posts/{w.draft_ch.pk}/",
                                         _roles(204, 204, 404, 204, 404, 404)),
    "post delete (children scheduled)": Case("delete", lambda n, w: f"/api/v1/posts/{w.scheduled_ch.pk}/",
                                             _roles(204, 204, 403, 204, 403, 404)),
    "post submit (children draft)": Case("post", lambda n, w: f"/api/v1/posts/{w.draft_ch.pk}/submit/",
                                         _roles(200, 200, 404, 200, 404, 404)),
    "post approve (branch 4 pending)": Case("post", lambda n, w: f"/api/v1/posts/{w.pending_b4.pk}/approve/",
                                            _roles(200, 200, 403, 404, 404, 404), body=lambda n, w: {}),
    "post return (branch 4 pending)": Case("post", lambda n, w: f"/api/v1/posts/{w.pending_b4.pk}/return/",
                                           _roles(200, 200, 403, 404, 404, 404),
                                           body=lambda n, w: {"comment": "Добавьте фото"}),
    "post cancel (children scheduled)": Case("post", lambda n, w: f"/api/v1/posts/{w.scheduled_ch.pk}/cancel/",
                                             _roles(200, 200, 403, 200, 403, 404)),
    # --- deliveries (read-only)
    "deliveries of a post": Case("get", lambda n, w: f"/api/v1/deliveries/?post={w.scheduled_ch.pk}",
                                 _roles(200, 200, 200, 200, 200, 200)),
    "delivery detail": Case("get", lambda n, w: f"/api/v1/deliveries/{_first_delivery(w)}/",
                            _roles(200, 200, 200, 200, 200, 404)),
    "delivery write refused": Case("post", lambda n, w: "/api/v1/deliveries/", _roles(405, 405, 405, 405, 405, 405),
                                   body=lambda n, w: {"post": w.scheduled_ch.pk}),
    # --- statistics (filial/stats/api.py): a page's as its detail, a post's as the post
    "channel stats (children OK)": Case("get", lambda n, w: f"/api/v1/channels/{n.channels['children_ok'].pk}/stats/",
                                        _roles(200, 200, 200, 200, 200, 404)),
    "channel stats, a period (branch 4 OK)": Case(
        "get", lambda n, w: f"/api/v1/channels/{n.channels['branch4_ok'].pk}/stats/?from=2014-11-01&to=2014-12-31",
        _roles(200, 200, 200, 200, 200, 404)),
    "channel stats, a reversed period": Case(
        "get", lambda n, w: f"/api/v1/channels/{n.channels['branch4_ok'].pk}/stats/?from=2014-12-31&to=2014-11-01",
        _roles(400, 400, 400, 400, 400, 404)),
    "post stats (children draft)": Case("get", lambda n, w: f"/api/v1/posts/{w.draft_ch.pk}/stats/",
                                        _roles(200, 200, 404, 200, 404, 404)),
    "post stats (children scheduled)": Case("get", lambda n, w: f"/api/v1/posts/{w.scheduled_ch.pk}/stats/",
                                            _roles(200, 200, 200, 200, 200, 404)),
    # --- events
    "events list": Case("get", lambda n, w: "/api/v1/events/", _roles(200, 200, 200, 200, 200, 200)),
    "event detail": Case("get", lambda n, w: f"/api/v1/events/{w.event_ch.pk}/", _roles(200, 200, 200, 200, 200, 404)),
    "event create (children)": Case("post", lambda n, w: "/api/v1/events/", _roles(201, 201, 403, 201, 403, 403),
                                    body=lambda n, w: {"unit": n.children.pk, "title": "Утренник",
                                                       "starts_at": n.soon(72).isoformat()}),
    "event update": Case("patch", lambda n, w: f"/api/v1/events/{w.event_ch.pk}/",
                         _roles(200, 200, 403, 200, 403, 404), body=lambda n, w: {"place": "Абонемент"}),
    "event delete": Case("delete", lambda n, w: f"/api/v1/events/{w.event_ch.pk}/",
                         _roles(204, 204, 403, 204, 403, 404)),
    # --- paid services (a service, an order and a school in branch No. 4: filial/paid/tests/support.py)
    "services list": Case("get", lambda n, w: "/api/v1/services/", _roles(200, 200, 200, 200, 403, 403)),
    "service detail (branch 4)": Case("get", lambda n, w: f"/api/v1/services/{_b4_service(n)}/",
                                      _roles(200, 200, 200, 404, 403, 403)),
    "service create (branch 4)": Case("post", lambda n, w: "/api/v1/services/", _roles(201, 201, 403, 400, 403, 403),
                                      body=lambda n, w: {"unit": n.branch4.pk, "name": "Ламинирование",
                                                         "price": "30.00"}),
    "service update (branch 4)": Case("patch", lambda n, w: f"/api/v1/services/{_b4_service(n)}/",
                                      _roles(200, 200, 403, 404, 403, 403), body=lambda n, w: {"price": "6.50"}),
    "customers list": Case("get", lambda n, w: "/api/v1/customers/", _roles(200, 200, 200, 200, 403, 403)),
    "customer detail (school)": Case("get", lambda n, w: f"/api/v1/customers/{_school(n)}/",
                                     _roles(200, 200, 200, 200, 403, 403)),
    "customer create": Case("post", lambda n, w: "/api/v1/customers/", _roles(201, 201, 201, 201, 403, 403),
                            body=lambda n, w: {"category": _category(n, "mfc"), "name": "МФЦ г. Медногорска"}),
    "customer update (school)": Case("patch", lambda n, w: f"/api/v1/customers/{_school(n)}/",
                                     _roles(200, 200, 200, 200, 403, 403),
                                     body=lambda n, w: {"inn": "5606001234"}),
    "orders list": Case("get", lambda n, w: "/api/v1/orders/?from=2014-01-01", _roles(200, 200, 200, 200, 403, 403)),
    "order detail (branch 4)": Case("get", lambda n, w: f"/api/v1/orders/{_b4_order(n)}/",
                                    _roles(200, 200, 200, 404, 403, 403)),
    "order create (branch 4)": Case("post", lambda n, w: "/api/v1/orders/", _roles(201, 201, 201, 400, 403, 403),
                                    body=lambda n, w: {"service": _b4_service(n), "date": "2014-05-05",
                                                       "quantity": "3", "category": _category(n, "individual"),
                                                       "source_channel": n.channels["branch4_ok"].pk}),
    "order update (branch 4)": Case("patch", lambda n, w: f"/api/v1/orders/{_b4_order(n)}/",
                                    _roles(200, 200, 200, 404, 403, 403), body=lambda n, w: {"quantity": "5"}),
    "order delete (branch 4)": Case("delete", lambda n, w: f"/api/v1/orders/{_b4_order(n)}/",
                                    _roles(204, 204, 204, 404, 403, 403)),
}


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("case_name", list(CASES))
def test_role_endpoint_matrix(net: Any, case_name: str, role: str) -> None:
    case = CASES[case_name]
    w = world(net)
    paid_world(net)
    client = client_for(net, role)
    before = fingerprint()
    last_audit = AuditEntry.objects.order_by("-pk").values_list("pk", flat=True).first() or 0
    kwargs: dict[str, Any] = {}
    if case.body is not None:
        kwargs["data"] = case.body(net, w)
        kwargs["format"] = "multipart" if case.multipart else "json"
    response = getattr(client, case.method)(case.path(net, w), **kwargs)
    expected = case.expected[role]
    assert response.status_code == expected, (case_name, role, response.status_code, response.content[:300])
    if case.method != "get":
        if expected < 300:
            assert fingerprint() != before, "an allowed write changed nothing"
            entry = AuditEntry.objects.filter(pk__gt=last_audit).order_by("-pk").first()
            assert entry is not None and entry.actor == net.users[role], "an allowed write left no audit entry"
        else:
            assert fingerprint() == before, "a refused write changed something"


def _ids(response: Any) -> set[int]:
    body = response.json()
    rows = body["results"] if isinstance(body, dict) else body
    return {row["id"] for row in rows}


@pytest.mark.parametrize(
    ("role", "visible"),
    [
        ("admin", {"draft_b4", "pending_b4", "draft_ch", "scheduled_ch"}),
        ("methodologist", {"draft_b4", "pending_b4", "draft_ch", "scheduled_ch"}),
        # A branch-4 editor never sees the children's library's drafts, only what is scheduled there.
        ("editor_branch4", {"draft_b4", "pending_b4", "scheduled_ch"}),
        ("editor_children", {"draft_ch", "scheduled_ch"}),
        ("viewer", {"scheduled_ch"}),
        ("outsider", set()),
    ],
)
def test_posts_list_shows_only_visible_posts(net: Any, role: str, visible: set[str]) -> None:
    w = world(net)
    response = client_for(net, role).get("/api/v1/posts/")
    assert response.status_code == 200
    assert _ids(response) == {getattr(w, name).pk for name in visible}


@pytest.mark.parametrize(
    ("role", "visible"),
    [
        ("admin", {"central", "automation", "children", "branch4"}),
        ("methodologist", {"central", "automation", "children", "branch4"}),
        ("editor_branch4", {"branch4"}),
        ("editor_children", {"children"}),
        ("viewer", {"central", "automation"}),
        ("outsider", set()),
    ],
)
def test_units_list_shows_readable_units(net: Any, role: str, visible: set[str]) -> None:
    response = client_for(net, role).get("/api/v1/units/")
    assert response.status_code == 200
    assert _ids(response) == {getattr(net, name).pk for name in visible}


@pytest.mark.parametrize("role", ["admin", "editor_branch4", "viewer", "outsider"])
def test_channels_and_events_lists_are_per_system(net: Any, role: str) -> None:
    w = world(net)
    client = client_for(net, role)
    channels, events = client.get("/api/v1/channels/"), client.get("/api/v1/events/")
    member = role != "outsider"
    assert _ids(channels) == ({c.pk for c in net.channels.values()} if member else set())
    assert _ids(events) == ({w.event_ch.pk} if member else set())
    deliveries = client.get(f"/api/v1/deliveries/?post={w.scheduled_ch.pk}")
    assert deliveries.json()["count"] == (2 if member else 0)


# API routes of later issues, each with its own per-role tests; the token endpoint has no role.
ELSEWHERE = {
    "api-root": "a list of links", "auth-token": "accounts/tests/test_api_auth.py",
    "conversation-list": "inbox/tests", "conversation-detail": "inbox/tests", "conversation-assign": "inbox/tests",
    "conversation-reply": "inbox/tests", "conversation-state": "inbox/tests",
    "reader-list": "circulation/tests", "reader-detail": "circulation/tests", "loan-list": "circulation/tests",
    "loan-detail": "circulation/tests", "loan-renew": "circulation/tests", "import-list": "circulation/tests",
    "import-detail": "circulation/tests",
}


def test_every_endpoint_is_in_the_matrix(net: Any) -> None:
    w = world(net)
    paid_world(net)
    covered = {resolve(case.path(net, w).split("?")[0]).url_name for case in CASES.values()}
    api = _names(get_resolver("filial.api_urls").url_patterns)
    assert {"post-list", "media-file", "delivery-list"} <= api
    assert api - covered - set(ELSEWHERE) == set()


def _names(patterns: list[Any]) -> set[str]:
    names: set[str] = set()
    for p in patterns:
        if isinstance(p, URLResolver):
            names |= _names(p.url_patterns)
        elif isinstance(p, URLPattern) and p.name:
            names.add(p.name)
    return names

