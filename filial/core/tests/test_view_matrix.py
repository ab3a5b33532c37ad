"""Role × action matrix for the server-rendered UI (the API has its own in test_api_matrix.py).

Every page and form of the network, the staff, the pages, the posts, the calendar and the events is asked by
every role: the expected status per role is in one table, a refused request changes nothing (no row, no audit
entry) and an allowed write does change something. ``test_every_view_is_in_the_matrix`` fails when a view is
added to those apps without a row here (or a named exception with the test that covers it).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver, reverse

from filial.accounts.models import AuditEntry, Membership, User
from filial.conftest import PASSWORD
from filial.core.tests.test_api_support import World, fingerprint, world
from filial.paid.models import Customer, Order, Service
from filial.paid.tests.support import paid_world
from filial.reports.tests.fixtures import matrix_report

ROLES = ["admin", "methodologist", "editor_branch4", "editor_children", "viewer", "outsider", "anonymous"]
LOGIN = 302  # an anonymous visitor is sent to the login page
BOT_TOKEN = "7012345678:AAH-secret-bot-token-QRST"  # stored for the children's Telegram page: never shown back
NAMESPACES = ("libraries", "accounts", "channels", "publishing", "stats", "paid", "reports")

# Views of these apps that later issues added, each covered by its own per-role tests.
ELSEWHERE = {
    "publishing:post_preview": "publishing/tests/test_previews.py",
    "publishing:post_preview_edit": "publishing/tests/test_previews.py",
    "publishing:post_next_slot": "publishing/tests/test_slots.py",
    "publishing:post_next_slot_edit": "publishing/tests/test_slots.py",
    "publishing:channel_slots": "publishing/tests/test_slots.py",
    "publishing:series_stop": "publishing/tests/test_views_series_edits.py",
    "publishing:delivery_retry": "publishing/tests/test_engine_ops.py",
    "publishing:delivery_confirm": "publishing/tests/test_engine_ops.py",
    "publishing:delivery_resend": "publishing/tests/test_engine_ops.py",
    "publishing:message_list": "publishing/tests/test_messages_views.py",
    "publishing:message_retry": "publishing/tests/test_messages_views.py",
    "publishing:message_confirm": "publishing/tests/test_messages_views.py",
    "publishing:message_resend": "publishing/tests/test_messages_views.py",
    "publishing:message_cancel": "publishing/tests/test_messages_views.py",
    "accounts:password_change_done": "a confirmation page after accounts:password_change (test_views.py)",
}


@dataclass
class Case:
    name: str  # URL name
    method: str
    args: Callable[[Any, World], list[Any]]
    expected: dict[str, int | None]  # None: left out (talks to the network; channels/tests/test_connect.py)
    data: Callable[[Any, World], dict[str, Any]] | None = None


def _roles(admin: int | None, methodologist: int, editor_branch4: int, editor_children: int, viewer: int,
           outsider: int, anonymous: int = LOGIN) -> dict[str, int | None]:
    return dict(zip(ROLES, [admin, methodologist, editor_branch4, editor_children, viewer, outsider, anonymous],
                    strict=True))


def _none(n: Any, w: World) -> list[Any]:
    return []


def _post_form(channel: str, unit: str) -> Callable[[Any, World], dict[str, Any]]:
    def data(n: Any, w: World) -> dict[str, Any]:
        when = n.soon(48).astimezone(getattr(n, unit).tz).strftime("%Y-%m-%dT%H:%M")
        return {"unit": getattr(n, unit).pk, "kind": "afisha", "title": "Вечер поэзии",
                "text": "Приглашаем на вечер поэзии!", "link": "", "event": "",
                "channels": [n.channels[channel].pk], "publish_at": when, "poll_question": "",
                "poll_answers": "", "poll_ends_at": "", "poll_anonymous": "on", "action": "draft"}
    return data


def _event_form(n: Any, w: World) -> dict[str, Any]:
    return {"unit": n.children.pk, "title": "Библионочь", "scope": "library", "starts_at": "2031-04-18T18:00",
            "ends_at": "2031-04-18T21:30", "place": "Читальный зал", "description": "Приходите всей семьёй"}


def _unit_form(**over: Any) -> Callable[[Any, World], dict[str, Any]]:
    def data(n: Any, w: World) -> dict[str, Any]:
        base = {"name": "Библиотека-филиал № 7", "short_name": "", "kind": "branch", "parent": "",
                "timezone": "", "address": "ул. Советская, 7", "approval_required": "on", "position": "7"}
        return base | {k: (v(n) if callable(v) else v) for k, v in over.items()}
    return data


def _channel_form(n: Any, w: World) -> dict[str, Any]:
    return {"unit": n.children.pk, "network": "ok", "kind": "community", "name": "ЦДБ в Одноклассниках",
            "url": "", "external_id": "561588730099", "started_on": "", "api_base_url": "", "status": "active"}


def _order_form(n: Any, w: World) -> dict[str, Any]:
    cats = {c.code: c.pk for c in n.system.customer_categories.all()}
    return {"unit": n.branch4.pk, "service": Service.objects.get(unit=n.branch4).pk, "quantity": "3", "total": "",
            "category": cats["individual"], "customer": "", "name": "", "date": n.soon(-24).date().isoformat(),
            "source_channel": n.channels["branch4_ok"].pk, "promo_code": "", "note": ""}


def _journal(n: Any, w: World) -> dict[str, Any]:
    from django.core.files.uploadedfile import SimpleUploadedFile

    body = "Дата;Услуга;Количество;Сумма;Заказчик;Категория\n03.03.2014;Печать А4;10;50;;Физическое лицо\n"
    return {"unit": n.branch4.pk, "action": "check",
            "file": SimpleUploadedFile("journal.csv", body.encode(), content_type="text/csv")}


def _b4_order(n: Any, w: World) -> list[Any]:
    return [Order.objects.filter(unit=n.branch4).order_by("pk").first().pk]  # type: ignore[union-attr]


def _b4_service(n: Any, w: World) -> list[Any]:
    return [Service.objects.get(unit=n.branch4).pk]


def _school(n: Any, w: World) -> list[Any]:
    return [Customer.objects.get(name="СОШ № 7").pk]


def _membership(n: Any) -> int:
    return Membership.objects.get(user=n.users["editor_branch4"]).pk


CASES: dict[str, Case] = {
    # --- the network overview and units
    "dashboard": Case("libraries:dashboard", "get", _none, _roles(200, 200, 200, 200, 200, 200)),
    "unit list": Case("libraries:unit_list", "get", _none, _roles(200, 403, 403, 403, 403, 403)),
    "unit create form": Case("libraries:unit_create", "get", _none, _roles(200, 403, 403, 403, 403, 403)),
    "unit create": Case("libraries:unit_create", "post", _none, _roles(302, 403, 403, 403, 403, 403),
                        data=_unit_form()),
    "unit edit form": Case("libraries:unit_edit", "get", lambda n, w: [n.children.pk],
                           _roles(200, 403, 403, 403, 403, 404)),
    "unit edit": Case("libraries:unit_edit", "post", lambda n, w: [n.children.pk],
                      _roles(302, 403, 403, 403, 403, 404),
                      data=_unit_form(name="Детская библиотека", kind="children")),
    # --- staff, roles, the audit log, one's own password
    "staff list": Case("accounts:user_list", "get", _none, _roles(200, 403, 403, 403, 403, 403)),
    "staff create form": Case("accounts:user_create", "get", _none, _roles(200, 403, 403, 403, 403, 403)),
    "staff create": Case("accounts:user_create", "post", _none, _roles(302, 403, 403, 403, 403, 403),
                         data=lambda n, w: {"username": "ivanova", "display_name": "Иванова Мария",
                                            "email": "", "password": "Lilac-Reading-Room-42",
                                            "password_confirm": "Lilac-Reading-Room-42",
                                            "unit": n.branch4.pk, "role": "editor"}),
    "staff edit form": Case("accounts:user_edit", "get", lambda n, w: [n.users["editor_branch4"].pk],
                            _roles(200, 403, 403, 403, 403, 403)),
    "staff edit": Case("accounts:user_edit", "post", lambda n, w: [n.users["editor_branch4"].pk],
                       _roles(302, 403, 403, 403, 403, 403),
                       data=lambda n, w: {"display_name": "Петрова", "email": "", "is_active": "on"}),
    "role add": Case("accounts:membership_add", "post", lambda n, w: [n.users["editor_branch4"].pk],
                     _roles(302, 403, 403, 403, 403, 403),
                     data=lambda n, w: {"m-unit": n.children.pk, "m-role": "viewer"}),
    "role change": Case("accounts:membership_update", "post", lambda n, w: [_membership(n)],
                        _roles(302, 403, 403, 403, 403, 403),
                        data=lambda n, w: {f"r{_membership(n)}-role": "viewer"}),
    "role remove": Case("accounts:membership_remove", "post", lambda n, w: [_membership(n)],
                        _roles(302, 403, 403, 403, 403, 403)),
    "audit log": Case("accounts:audit_log", "get", _none, _roles(200, 200, 403, 403, 403, 403)),
    "my password form": Case("accounts:password_change", "get", _none, _roles(200, 200, 200, 200, 200, 200)),
    "my password": Case("accounts:password_change", "post", _none, _roles(302, 302, 302, 302, 302, 302),
                        data=lambda n, w: {"old_password": PASSWORD, "new_password1": "Lilac-Reading-Room-42",
                                           "new_password2": "Lilac-Reading-Room-42"}),
    # --- pages (channels); creating one and "check" talk to the network: channels/tests/test_connect.py
    "page list": Case("channels:channel_list", "get", _none, _roles(200, 200, 200, 200, 200, 403)),
    "page create form": Case("channels:channel_create", "get", _none, _roles(200, 403, 403, 403, 403, 403)),
    "page create": Case("channels:channel_create", "post", _none, _roles(None, 403, 403, 403, 403, 403),
                        data=_channel_form),
    "page edit form": Case("channels:channel_edit", "get", lambda n, w: [n.channels["children_ok"].pk],
                           _roles(200, 403, 403, 403, 403, 404)),
    "page edit": Case("channels:channel_edit", "post", lambda n, w: [n.channels["children_ok"].pk],
                      _roles(302, 403, 403, 403, 403, 404), data=_channel_form),
    "page check": Case("channels:channel_check", "post", lambda n, w: [n.channels["children_ok"].pk],
                       _roles(None, 403, 403, 403, 403, 404)),
    "page secrets remove": Case("channels:channel_credentials_remove", "post",
                                lambda n, w: [n.channels["children_tg"].pk], _roles(302, 403, 403, 403, 403, 404)),
    # (the page has a stored bot token in every case: see test_role_view_matrix)
    # --- posts
    "calendar": Case("publishing:calendar", "get", _none, _roles(200, 200, 200, 200, 200, 200)),
    "post list": Case("publishing:post_list", "get", _none, _roles(200, 200, 200, 200, 200, 200)),
    "compose form": Case("publishing:post_create", "get", _none, _roles(200, 200, 200, 200, 403, 403)),
    "compose for the children's page": Case("publishing:post_create", "post", _none,
                                            _roles(302, 302, 400, 302, 403, 403),
                                            data=_post_form("children_ok", "children")),
    "compose for the branch 4 page": Case("publishing:post_create", "post", _none,
                                          _roles(302, 302, 302, 400, 403, 403),
                                          data=_post_form("branch4_ok", "branch4")),
    "post detail (children draft)": Case("publishing:post_detail", "get", lambda n, w: [w.draft_ch.pk],
                                         _roles(200, 200, 404, 200, 404, 404)),
    "post detail (children scheduled)": Case("publishing:post_detail", "get", lambda n, w: [w.scheduled_ch.pk],
                                             _roles(200, 200, 200, 200, 200, 404)),
    "post edit form (children draft)": Case("publishing:post_edit", "get", lambda n, w: [w.draft_ch.pk],
                                            _roles(200, 200, 404, 200, 404, 404)),
    "post edit (children draft)": Case("publishing:post_edit", "post", lambda n, w: [w.draft_ch.pk],
                                       _roles(302, 302, 404, 302, 404, 404),
                                       data=_post_form("children_ok", "children")),
    "post edit (children scheduled)": Case("publishing:post_edit", "post", lambda n, w: [w.scheduled_ch.pk],
                                           _roles(302, 302, 403, 302, 403, 404),
                                           data=_post_form("children_ok", "children")),
    "submit (children draft)": Case("publishing:post_submit", "post", lambda n, w: [w.draft_ch.pk],
                                    _roles(302, 302, 404, 302, 404, 404)),
    "approve (branch 4 pending)": Case("publishing:post_approve", "post", lambda n, w: [w.pending_b4.pk],
                                       _roles(302, 302, 403, 404, 404, 404)),
    "return (branch 4 pending)": Case("publishing:post_return", "post", lambda n, w: [w.pending_b4.pk],
                                      _roles(302, 302, 403, 404, 404, 404),
                                      data=lambda n, w: {"comment": "Добавьте фото"}),
    "cancel (children scheduled)": Case("publishing:post_cancel", "post", lambda n, w: [w.scheduled_ch.pk],
                                        _roles(302, 302, 403, 302, 403, 404)),
    "delete (children draft)": Case("publishing:post_delete", "post", lambda n, w: [w.draft_ch.pk],
                                    _roles(302, 302, 404, 302, 404, 404)),
    "approvals queue": Case("publishing:approvals", "get", _none, _roles(200, 200, 403, 403, 403, 403)),
    "photo of a children draft": Case("publishing:media_file", "get",
                                      lambda n, w: [w.photo_ch.key, "original"],
                                      _roles(200, 200, 404, 200, 404, 404)),
    # --- events
    # An outsider gets the empty list and an empty calendar file (nothing of the network: _leaks).
    "event list": Case("publishing:event_list", "get", _none, _roles(200, 200, 200, 200, 200, 200)),
    "event create form": Case("publishing:event_create", "get", _none, _roles(200, 200, 200, 200, 403, 403)),
    "event create (children)": Case("publishing:event_create", "post", _none, _roles(302, 302, 200, 302, 403, 403),
                                    data=_event_form),
    "event detail": Case("publishing:event_detail", "get", lambda n, w: [w.event_ch.pk],
                         _roles(200, 200, 200, 200, 200, 404)),
    "event edit form": Case("publishing:event_edit", "get", lambda n, w: [w.event_ch.pk],
                            _roles(200, 200, 403, 200, 403, 404)),
    "event edit": Case("publishing:event_edit", "post", lambda n, w: [w.event_ch.pk],
                       _roles(302, 302, 403, 302, 403, 404), data=_event_form),
    "event delete": Case("publishing:event_delete", "post", lambda n, w: [w.event_ch.pk],
                         _roles(302, 302, 403, 302, 403, 404)),
    "events iCal": Case("publishing:event_ical", "get", _none, _roles(200, 200, 200, 200, 200, 200)),
    # --- statistics (scoped by the units a person reads; someone with no role gets a 403)
    "statistics": Case("stats:dashboard", "get", _none, _roles(200, 200, 200, 200, 200, 403)),
    "statistics CSV": Case("stats:export_csv", "get", _none, _roles(200, 200, 200, 200, 200, 403)),
    "statistics XLSX": Case("stats:export_xlsx", "get", _none, _roles(200, 200, 200, 200, 200, 403)),
    "statistics of a unit (children)": Case("stats:dashboard", "get", _none, _roles(200, 200, 404, 200, 404, 403),
                                            data=lambda n, w: {"unit": n.children.pk}),
    "page statistics (children OK)": Case("stats:page", "get", lambda n, w: [n.channels["children_ok"].pk],
                                          _roles(200, 200, 404, 200, 404, 403)),
    "page statistics CSV": Case("stats:page_export_csv", "get", lambda n, w: [n.channels["children_ok"].pk],
                                _roles(200, 200, 404, 200, 404, 403)),
    "page statistics XLSX": Case("stats:page_export_xlsx", "get", lambda n, w: [n.channels["children_ok"].pk],
                                 _roles(200, 200, 404, 200, 404, 403)),
    # --- paid services (a service, an order and a school in branch No. 4: filial/paid/tests/support.py)
    "orders": Case("paid:order_list", "get", _none, _roles(200, 200, 200, 200, 403, 403)),
    "order form": Case("paid:order_new", "get", _none, _roles(200, 200, 200, 200, 403, 403)),
    "order (branch 4)": Case("paid:order_new", "post", _none, _roles(302, 302, 302, 200, 403, 403),
                             data=_order_form),
    "order edit form": Case("paid:order_edit", "get", _b4_order, _roles(200, 200, 200, 404, 404, 404)),
    "order edit": Case("paid:order_edit", "post", _b4_order, _roles(302, 302, 302, 404, 404, 404),
                       data=_order_form),
    "order delete": Case("paid:order_delete", "post", _b4_order, _roles(302, 302, 302, 404, 404, 404)),
    "journal import form": Case("paid:order_import", "get", _none, _roles(200, 200, 200, 200, 403, 403)),
    "journal check (preview, no write)": Case("paid:order_import", "post", _none,
                                              _roles(200, 200, 200, 200, 403, 403), data=_journal),
    "services": Case("paid:service_list", "get", _none, _roles(200, 200, 200, 200, 403, 403)),
    "service form": Case("paid:service_new", "get", _none, _roles(200, 200, 403, 403, 403, 403)),
    "service add": Case("paid:service_new", "post", _none, _roles(302, 302, 403, 403, 403, 403),
                        data=lambda n, w: {"unit": n.branch4.pk, "name": "Ламинирование", "measure": "лист",
                                           "price": "30", "active": "on"}),
    "service edit form": Case("paid:service_edit", "get", _b4_service, _roles(200, 200, 403, 404, 403, 403)),
    "service edit": Case("paid:service_edit", "post", _b4_service, _roles(302, 302, 403, 404, 403, 403),
                         data=lambda n, w: {"name": "Печать А4", "measure": "стр.", "price": "6", "active": "on"}),
    "customers": Case("paid:customer_list", "get", _none, _roles(200, 200, 200, 200, 403, 403)),
    "customer erase": Case("paid:customer_erase", "post", _school, _roles(302, 302, 403, 403, 403, 403)),
    "customer categories": Case("paid:category_list", "get", _none, _roles(200, 200, 200, 200, 403, 403)),
    "customer category add": Case("paid:category_list", "post", _none, _roles(302, 403, 403, 403, 403, 403),
                                  data=lambda n, w: {"name": "ИП", "code": "ip", "is_individual": ""}),
    "links and codes": Case("paid:attribution", "get", _none, _roles(200, 200, 200, 200, 403, 403)),
    "link form": Case("paid:link_new", "get", _none, _roles(200, 200, 200, 200, 403, 403)),
    "link (branch 4 page)": Case("paid:link_new", "post", _none, _roles(302, 302, 302, 200, 403, 403),
                                 data=lambda n, w: {"target": "https://example.org/print",
                                                    "channel": n.channels["branch4_ok"].pk, "code": ""}),
    "promo code form": Case("paid:promo_new", "get", _none, _roles(200, 200, 200, 200, 403, 403)),
    "promo code (branch 4 page)": Case("paid:promo_new", "post", _none, _roles(302, 302, 302, 200, 403, 403),
                                       data=lambda n, w: {"code": "PRINT5", "channel": n.channels["branch4_ok"].pk}),
    "paid report": Case("paid:report", "get", _none, _roles(200, 200, 200, 200, 403, 403)),
    "advertiser form": Case("paid:advertiser", "get", _none, _roles(200, 403, 403, 403, 403, 403)),
    "advertiser save": Case("paid:advertiser", "post", _none, _roles(302, 403, 403, 403, 403, 403),
                            data=lambda n, w: {"legal_name": "МБУК «ЦБС»", "inn": "5606012345"}),
    "advertising export": Case("paid:marked_export", "get", _none, _roles(200, 200, 403, 403, 403, 403)),
    # --- reports: the network's administrator and the methodologists of the units (Access.may_report)
    "reports": Case("reports:report_list", "get", _none, _roles(200, 200, 403, 403, 403, 403)),
    "report form": Case("reports:report_create", "get", _none, _roles(200, 200, 403, 403, 403, 403)),
    "report make (children, a month)": Case(
        "reports:report_create", "post", _none, _roles(302, 302, 403, 403, 403, 403),
        data=lambda n, w: {"scope": str(n.children.pk), "kind": "monthly", "period_from": "2024-02-01",
                           "period_to": "2024-02-29"}),
    "report preview": Case("reports:report_detail", "get", lambda n, w: [matrix_report(n).pk],
                           _roles(200, 200, 404, 404, 404, 404)),
    "report conclusions": Case("reports:report_conclusions", "post", lambda n, w: [matrix_report(n).pk],
                               _roles(302, 302, 404, 404, 404, 404),
                               data=lambda n, w: {"conclusions": "Страница — это филиал библиотеки."}),
    "report compute again": Case("reports:report_regenerate", "post", lambda n, w: [matrix_report(n).pk],
                                 _roles(302, 302, 404, 404, 404, 404)),
    "report publish": Case("reports:report_publish", "post", lambda n, w: [matrix_report(n).pk],
                           _roles(302, 302, 404, 404, 404, 404)),
    "report DOCX": Case("reports:report_docx", "get", lambda n, w: [matrix_report(n).pk],
                        _roles(200, 200, 404, 404, 404, 404)),
}


def _state() -> tuple[Any, ...]:
    """Everything a UI write may change: a refused request must leave all of it as it was."""
    return (
        fingerprint(),
        sorted(Membership.objects.values_list("id", "user_id", "unit_id", "role")),
        sorted(User.objects.values_list("id", "username", "display_name", "is_active", "password")),
    )


def _body(response: Any) -> str:
    body = response.getvalue() if response.streaming else response.content
    return str(body.decode(errors="replace"))


def _leaks(net: Any, w: World, text: str) -> list[str]:
    names = [u.name for u in (net.central, net.children, net.branch4)] + [c.name for c in net.channels.values()]
    names += [w.event_ch.title, w.scheduled_ch.text, "VEVENT"]
    return [name for name in names if name in text]


def _client(net: Any, role: str) -> Client:
    client = Client(headers={"accept-language": "en"})
    if role != "anonymous":
        client.force_login(net.users[role])
    return client


@pytest.mark.parametrize(("case_name", "role"), [
    (name, role) for name, case in CASES.items() for role in ROLES if case.expected[role] is not None
])
def test_role_view_matrix(net: Any, case_name: str, role: str) -> None:
    case = CASES[case_name]
    expected = case.expected[role]
    w = world(net)
    paid_world(net)
    secrets_page = net.channels["children_tg"]
    secrets_page.set_credentials({"bot_token": BOT_TOKEN})
    secrets_page.save(update_fields=["credentials_encrypted"])
    client = _client(net, role)
    before = _state()
    last_audit = AuditEntry.objects.order_by("-pk").values_list("pk", flat=True).first() or 0
    url = reverse(case.name, args=case.args(net, w))
    kwargs = {"data": case.data(net, w)} if case.data is not None else {}
    response = getattr(client, case.method)(url, **kwargs)
    assert response.status_code == expected, (case_name, role, response.status_code, response.content[:400])
    if expected == LOGIN and role == "anonymous":
        assert response["Location"].startswith(reverse("login"))
    text = _body(response)
    assert BOT_TOKEN[:-4] not in text, "a stored secret was shown back"
    if role == "outsider" and response.status_code == 200:
        assert _leaks(net, w, text) == [], "an outsider was shown something of the network"
    if case.method == "post":
        if expected in (301, 302, 303) and role != "anonymous":
            assert _state() != before, "an allowed write changed nothing"
            # Every change is in the audit log: who, what, when.
            entry = AuditEntry.objects.filter(pk__gt=last_audit).order_by("-pk").first()
            assert entry is not None, "an allowed write left no audit entry"
            assert entry.actor == net.users[role] and entry.action and entry.at is not None
        else:
            assert _state() == before, "a refused write changed something"


def _names(patterns: list[Any], namespace: str = "") -> set[str]:
    names: set[str] = set()
    for p in patterns:
        if isinstance(p, URLResolver):
            names |= _names(p.url_patterns, p.namespace or namespace)
        elif isinstance(p, URLPattern) and p.name and namespace in NAMESPACES:
            names.add(f"{namespace}:{p.name}")
    return names


def test_every_view_is_in_the_matrix() -> None:
    covered = {case.name for case in CASES.values()} | set(ELSEWHERE)
    names = _names(get_resolver().url_patterns)
    assert {"libraries:dashboard", "accounts:audit_log", "channels:channel_list", "publishing:calendar"} <= names
    assert names - covered == set()
