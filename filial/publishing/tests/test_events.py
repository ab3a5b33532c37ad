"""Events UI: list and month navigation, CRUD per role, time zones, the posts of an event, iCal export."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import icalendar
import pytest
from django.conf import settings
from django.urls import reverse
from django.utils import timezone

from filial.accounts.models import AuditEntry
from filial.conftest import PASSWORD
from filial.libraries.services import unit_create
from filial.publishing import events as event_writes
from filial.publishing import services
from filial.publishing.models import Event
from filial.publishing.services import PostData

LIST = "/events/"
NEW = "/events/new/"
ICS = "/events.ics"


def login(client, net, role):
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    assert client.login(username=net.users[role].username, password=PASSWORD)
    return client


def text_of(response) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", response.content.decode()))


def make_event(net, unit=None, *, title="Литературная гостиная", starts_at=None, **fields):
    unit = unit or net.branch4
    return event_writes.event_create(actor=net.users["admin"], unit=unit, title=title,
                                       starts_at=starts_at or net.soon(48), **fields)


def form_data(unit, **over):
    data = {"unit": unit.pk, "title": "Библионочь", "scope": "library", "starts_at": "2031-04-18T18:00",
            "ends_at": "2031-04-18T21:30", "place": "Читальный зал", "description": "Приходите всей семьёй"}
    data.update(over)
    return data


# --- URLs --------------------------------------------------------------------------------------------------


def test_url_names():
    assert reverse("publishing:event_list") == LIST
    assert reverse("publishing:event_create") == NEW
    assert reverse("publishing:event_detail", args=[5]) == "/events/5/"
    assert reverse("publishing:event_edit", args=[5]) == "/events/5/edit/"
    assert reverse("publishing:event_delete", args=[5]) == "/events/5/delete/"
    assert reverse("publishing:event_ical") == ICS


@pytest.mark.parametrize("url", [LIST, NEW, "/events/1/", "/events/1/edit/", ICS])
def test_login_required(client, net, url):
    make_event(net)
    response = client.get(url)
    assert response.status_code == 302 and response["Location"].startswith("/login/")


# --- List --------------------------------------------------------------------------------------------------


def test_list_shows_upcoming_events_to_every_member(client, net):
    make_event(net, net.children, title="Неделя детской книги", place="Детская библиотека")
    make_event(net, net.branch4, title="Старое событие", starts_at=timezone.now() - timedelta(days=3))
    text = text_of(login(client, net, "viewer").get(LIST))
    assert "Неделя детской книги" in text and "Детская библиотека" in text
    assert "Старое событие" not in text  # over: not upcoming
    assert "New event" not in text  # a viewer creates nothing


def test_month_navigation_and_filters(client, net):
    start = datetime(2031, 5, 10, 12, 0, tzinfo=UTC)
    make_event(net, net.children, title="Майское событие", starts_at=start)
    make_event(net, net.central, title="Городской праздник", starts_at=start + timedelta(days=1), scope="city")
    make_event(net, net.automation, title="Винил в отделе", starts_at=start + timedelta(days=2))
    make_event(net, net.branch4, title="Июньское событие", starts_at=start + timedelta(days=31))
    login(client, net, "editor_branch4")

    may = text_of(client.get(LIST, {"month": "2031-05"}))
    assert "Майское событие" in may and "Городской праздник" in may and "Июньское событие" not in may
    assert "April 2031" in may and "June 2031" in may  # prev / next links
    june = text_of(client.get(LIST, {"month": "2031-06"}))
    assert "Июньское событие" in june and "Майское событие" not in june

    city = text_of(client.get(LIST, {"month": "2031-05", "scope": "city"}))
    assert "Городской праздник" in city and "Майское событие" not in city
    # A unit filter includes its sub-units (the automation department is inside the central library).
    central = text_of(client.get(LIST, {"month": "2031-05", "unit": net.central.pk}))
    assert "Городской праздник" in central and "Винил в отделе" in central and "Майское событие" not in central
    # Months are the system's calendar months: 31 May 20:00 UTC is already 1 June in Yekaterinburg.
    make_event(net, net.branch4, title="Полночь по-уральски", starts_at=datetime(2031, 5, 31, 20, 0, tzinfo=UTC))
    assert "Полночь по-уральски" not in text_of(client.get(LIST, {"month": "2031-05"}))
    june = text_of(client.get(LIST, {"month": "2031-06"}))
    assert "Полночь по-уральски" in june and "1 June 2031" in june

    assert client.get(LIST, {"month": "garbage"}).status_code == 200  # falls back to upcoming


def test_list_query_count_is_bounded(client, net, django_assert_max_num_queries):
    for i in range(30):
        unit = [net.central, net.children, net.branch4, net.automation][i % 4]
        event = make_event(net, unit, title=f"Событие {i}", starts_at=net.soon(24 + i))
        services.post_create(actor=net.users["admin"], data=PostData(
            unit=unit, kind="afisha", text="Афиша", channels=[], event=event, publish_at=net.soon(12)))
    login(client, net, "viewer")
    with django_assert_max_num_queries(8):
        response = client.get(LIST)
    assert response.status_code == 200
    assert "Событие 29" in response.content.decode()


# --- Create ------------------------------------------------------------------------------------------------


def test_editor_creates_event_in_unit_time_zone(client, net):
    login(client, net, "editor_branch4")
    assert client.get(NEW).status_code == 200
    response = client.post(NEW, form_data(net.branch4))
    event = Event.objects.get()
    assert response.status_code == 302 and response["Location"] == f"/events/{event.pk}/"
    # Asia/Yekaterinburg is UTC+5: 18:00 local is 13:00 UTC.
    assert event.starts_at == datetime(2031, 4, 18, 13, 0, tzinfo=UTC)
    assert event.ends_at == datetime(2031, 4, 18, 16, 30, tzinfo=UTC)
    assert (event.unit, event.place, event.created_by) == (net.branch4, "Читальный зал",
                                                           net.users["editor_branch4"])
    assert AuditEntry.objects.filter(action="event.create", object_id=str(event.pk),
                                     actor=net.users["editor_branch4"]).exists()


def test_unit_with_its_own_time_zone(client, net):
    net.branch4.timezone = "Europe/Moscow"
    net.branch4.save()
    login(client, net, "editor_branch4")
    client.post(NEW, form_data(net.branch4, ends_at=""))
    event = Event.objects.get()
    assert event.starts_at == datetime(2031, 4, 18, 15, 0, tzinfo=UTC)  # Moscow is UTC+3
    assert event.ends_at is None
    # The edit form shows the time back in the unit's zone, and the detail page says which zone.
    html = client.get(f"/events/{event.pk}/edit/").content.decode()
    assert 'value="2031-04-18T18:00"' in html
    assert "Europe/Moscow" in client.get(f"/events/{event.pk}/").content.decode()


def test_time_that_does_not_exist_is_a_form_error(client, net):
    net.branch4.timezone = "Europe/Berlin"
    net.branch4.save()
    login(client, net, "editor_branch4")
    response = client.post(NEW, form_data(net.branch4, starts_at="2031-03-30T02:30", ends_at=""))
    assert response.status_code == 200
    assert "does not exist in the time zone Europe/Berlin" in response.content.decode()
    assert not Event.objects.exists()


@pytest.mark.parametrize(("over", "message"), [
    ({"ends_at": "2031-04-18T17:00"}, "The event must end after it starts."),
    ({"starts_at": "18.04.2031 25:00"}, "Enter a valid date and time."),
    ({"title": ""}, "This field is required."),
    ({"starts_at": ""}, "This field is required."),
])
def test_bad_input_is_shown_and_changes_nothing(client, net, over, message):
    login(client, net, "editor_branch4")
    response = client.post(NEW, form_data(net.branch4, **over))
    assert response.status_code == 200
    assert message in response.content.decode()
    assert not Event.objects.exists()


def test_viewer_cannot_create(client, net):
    login(client, net, "viewer")
    assert client.get(NEW).status_code == 403
    assert client.post(NEW, form_data(net.central)).status_code == 403
    assert not Event.objects.exists()


def test_outsider_cannot_create(client, net):
    client.login(username="outsider", password=PASSWORD)
    assert client.post(NEW, form_data(net.central)).status_code == 403
    assert not Event.objects.exists()


def test_branch_editor_cannot_create_for_childrens_library(client, net):
    login(client, net, "editor_branch4")
    form_html = client.get(NEW).content.decode()
    assert net.children.name not in form_html  # only units the editor may write are offered
    response = client.post(NEW, form_data(net.children))
    assert response.status_code == 200
    assert "Select a valid choice" in response.content.decode()
    assert not Event.objects.exists()


def test_csrf_is_enforced(net):
    from django.test import Client

    client = Client(enforce_csrf_checks=True)
    login(client, net, "editor_branch4")
    assert client.post(NEW, form_data(net.branch4)).status_code == 403
    assert not Event.objects.exists()


# --- Detail, edit, delete -----------------------------------------------------------------------------------


def test_detail_shows_attached_posts_and_write_links(client, net):
    event = make_event(net, net.children, title="Неделя детской книги")
    metodist = net.users["methodologist"]
    published = services.post_create(actor=metodist, data=PostData(
        unit=net.children, kind="afisha", text="Афиша недели", title="Афиша: неделя книги",
        channels=[net.channels["children_ok"]], event=event, publish_at=net.soon(12)))
    services.post_submit(actor=metodist, post=published)
    services.post_create(actor=net.users["editor_children"], data=PostData(
        unit=net.children, kind="photo_report", text="Черновик фотоотчёта", title="Черновик отчёта",
        channels=[], event=event))

    own = text_of(login(client, net, "editor_children").get(f"/events/{event.pk}/"))
    assert "Афиша: неделя книги" in own and "Черновик отчёта" in own
    html = client.get(f"/events/{event.pk}/").content.decode()
    assert f'href="/posts/new/?event={event.pk}&amp;kind=afisha"' in html
    assert f'href="/posts/new/?event={event.pk}&amp;kind=photo_report"' in html
    assert "Write a poster" in html and "Write a photo report" in html
    assert "Edit" in html

    client.logout()
    other = text_of(login(client, net, "editor_branch4").get(f"/events/{event.pk}/"))
    assert "Афиша: неделя книги" in other  # scheduled posts are visible network-wide
    assert "Черновик отчёта" not in other  # another unit's draft is not
    assert "Delete" not in other

    client.logout()
    viewer = login(client, net, "viewer").get(f"/events/{event.pk}/").content.decode()
    assert "Write a poster" not in viewer


def test_detail_query_count_is_bounded(client, net, django_assert_max_num_queries):
    event = make_event(net, net.central)
    for i in range(12):
        services.post_create(actor=net.users["admin"], data=PostData(
            unit=net.central, kind="afisha", text=f"Афиша {i}", event=event, publish_at=net.soon(10 + i),
            channels=[net.channels["central_ok"], net.channels["central_vk"]]))
    login(client, net, "admin")
    with django_assert_max_num_queries(10):
        response = client.get(f"/events/{event.pk}/")
    assert "Афиша 11" in response.content.decode()


def test_other_systems_event_is_not_found(client, net):
    from filial.libraries.services import system_create

    other = system_create(actor=None, name="Другая ЦБС")
    unit = unit_create(actor=None, system=other, name="Чужая библиотека", kind="central")
    event = Event.objects.create(unit=unit, title="Чужое", starts_at=net.soon())
    login(client, net, "admin")
    for url in (f"/events/{event.pk}/", f"/events/{event.pk}/edit/"):
        assert client.get(url).status_code == 404
    assert client.post(f"/events/{event.pk}/delete/").status_code == 404
    assert "Чужое" not in client.get(LIST).content.decode()
    assert Event.objects.filter(pk=event.pk).exists()


def test_edit_per_role(client, net):
    event = make_event(net, net.branch4, title="Старое название")
    login(client, net, "editor_children")
    assert client.get(f"/events/{event.pk}/edit/").status_code == 403
    assert client.post(f"/events/{event.pk}/edit/", form_data(net.branch4)).status_code == 403
    client.logout()
    login(client, net, "editor_branch4")
    response = client.post(f"/events/{event.pk}/edit/", form_data(net.branch4, title="Новое название"))
    assert response.status_code == 302
    event.refresh_from_db()
    assert event.title == "Новое название"
    assert AuditEntry.objects.filter(action="event.update", object_id=str(event.pk)).exists()
    # Moving it to a unit the editor does not write for is refused and changes nothing.
    response = client.post(f"/events/{event.pk}/edit/", form_data(net.children, title="Украдено"))
    assert response.status_code == 200
    event.refresh_from_db()
    assert (event.unit, event.title) == (net.branch4, "Новое название")


def test_delete_per_role(client, net):
    event = make_event(net, net.branch4)
    url = f"/events/{event.pk}/delete/"
    login(client, net, "editor_branch4")
    assert client.get(url).status_code == 405
    client.logout()
    login(client, net, "viewer")
    assert client.post(url).status_code == 403
    client.logout()
    login(client, net, "editor_children")
    assert client.post(url).status_code == 403
    assert Event.objects.filter(pk=event.pk).exists()
    client.logout()
    login(client, net, "editor_branch4")
    response = client.post(url)
    assert response.status_code == 302 and response["Location"] == LIST
    assert not Event.objects.filter(pk=event.pk).exists()
    assert AuditEntry.objects.filter(action="event.delete", object_id=str(event.pk)).exists()


def test_title_is_escaped(client, net):
    event = make_event(net, net.branch4, title="<script>alert('x')</script>",
                       place='"><img src=x onerror=alert(1)>', description="<b>жирный</b>")
    login(client, net, "viewer")
    for url in (LIST, f"/events/{event.pk}/"):
        html = client.get(url).content.decode()
        assert "<script>alert" not in html
        assert "&lt;script&gt;alert(&#x27;x&#x27;)&lt;/script&gt;" in html
        assert "<img src=x" not in html
    assert "<b>жирный</b>" not in html


# --- iCal ---------------------------------------------------------------------------------------------------


def test_ical_export(client, net):
    start = datetime(2031, 4, 18, 13, 0, tzinfo=UTC)
    children = make_event(net, net.children, title="Неделя детской книги", starts_at=start,
                          ends_at=start + timedelta(hours=2), place="Детская библиотека",
                          description="Чтения; игры, призы")
    make_event(net, net.branch4, title="Встреча в филиале", starts_at=start + timedelta(days=1))
    response = login(client, net, "viewer").get(ICS)
    assert response.status_code == 200
    assert response["Content-Type"] == "text/calendar; charset=utf-8"
    cal = icalendar.Calendar.from_ical(response.content)
    assert cal["PRODID"]
    assert str(cal["VERSION"]) == "2.0"
    events = {str(e["SUMMARY"]): e for e in cal.walk("VEVENT")}
    assert set(events) == {"Неделя детской книги", "Встреча в филиале"}
    vevent = events["Неделя детской книги"]
    assert str(vevent["UID"]) == f"{children.uid}@filial"
    assert vevent.decoded("DTSTART") == start
    assert vevent.decoded("DTSTART").utcoffset() == timedelta(0)
    assert vevent.decoded("DTEND") == start + timedelta(hours=2)
    assert "DTSTART:20310418T130000Z" in response.content.decode()
    assert str(vevent["LOCATION"]) == "Детская библиотека"
    assert str(vevent["DESCRIPTION"]) == "Чтения; игры, призы"
    assert str(vevent["URL"]) == f"http://testserver/events/{children.pk}/"
    assert "DTSTAMP" in vevent


def test_ical_filters_by_unit(client, net):
    make_event(net, net.children, title="Детское")
    make_event(net, net.automation, title="Отдел автоматизации")
    make_event(net, net.central, title="Центральное", scope="city")
    login(client, net, "editor_branch4")
    cal = icalendar.Calendar.from_ical(client.get(ICS, {"unit": net.central.pk}).content)
    assert sorted(str(e["SUMMARY"]) for e in cal.walk("VEVENT")) == ["Отдел автоматизации", "Центральное"]
    cal = icalendar.Calendar.from_ical(client.get(ICS, {"scope": "city"}).content)
    assert [str(e["SUMMARY"]) for e in cal.walk("VEVENT")] == ["Центральное"]
    assert client.get(ICS, {"unit": 999999}).status_code == 400
    # The list links to the feed with the same filter.
    html = client.get(LIST, {"unit": net.central.pk}).content.decode()
    assert f'href="/events.ics?unit={net.central.pk}"' in html
