"""/api/v1/events/: create, edit and delete through publishing.events; local times in the unit's zone."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from filial.accounts.models import AuditEntry
from filial.core.tests.test_api_support import client_for, fingerprint, world
from filial.publishing.models import Event, Post


def test_create_edit_delete_event(net: Any) -> None:
    client = client_for(net, "editor_children")
    response = client.post("/api/v1/events/", {
        "title": "Библионочь", "description": "Ночь в библиотеке", "scope": "library",
        "starts_at": "2031-04-25T18:00", "ends_at": "2031-04-25T23:00", "place": "Детская библиотека",
    }, format="json")
    assert response.status_code == 201, response.content
    body = response.json()
    event = Event.objects.get(pk=body["id"])
    assert event.unit == net.children and event.created_by == net.users["editor_children"]
    assert event.starts_at == datetime(2031, 4, 25, 13, 0, tzinfo=UTC)
    assert body["starts_at"] == "2031-04-25T18:00:00+05:00" and body["ends_at"] == "2031-04-25T23:00:00+05:00"

    changed = client.patch(f"/api/v1/events/{event.pk}/", {"starts_at": "2031-04-25T19:00", "place": "Абонемент"},
                           format="json")
    assert changed.status_code == 200, changed.content
    assert changed.json()["starts_at"] == "2031-04-25T19:00:00+05:00" and changed.json()["place"] == "Абонемент"
    assert AuditEntry.objects.filter(action="event.update", object_id=str(event.pk)).count() == 1

    post = client.post("/api/v1/posts/", {"kind": "afisha", "text": "Приходите на Библионочь!", "event": event.pk,
                                          "channels": [net.channels["children_ok"].pk]}, format="json")
    assert post.status_code == 201 and post.json()["event"] == event.pk

    assert client.delete(f"/api/v1/events/{event.pk}/").status_code == 204
    assert not Event.objects.filter(pk=event.pk).exists()
    assert Post.objects.get(pk=post.json()["id"]).event is None


def test_event_errors_write_nothing(net: Any) -> None:
    client = client_for(net, "editor_children")
    for body, field in [
        ({"title": "Утренник", "starts_at": "2031-04-25T18:00", "ends_at": "2031-04-25T17:00"}, "ends_at"),
        ({"title": "Утренник", "starts_at": "завтра"}, "starts_at"),
        ({"title": "", "starts_at": "2031-04-25T18:00"}, "title"),
        ({"title": "Утренник", "starts_at": "2031-04-25T18:00", "scope": "world"}, "scope"),
        ({"title": "Утренник"}, "starts_at"),
    ]:
        before = fingerprint()
        response = client.post("/api/v1/events/", body, format="json")
        assert response.status_code == 400, (body, response.content)
        assert field in response.json(), (body, response.json())
        assert fingerprint() == before
    # An event for a unit one does not write for is refused, not created elsewhere.
    response = client.post("/api/v1/events/", {"title": "Чужое", "starts_at": "2031-04-25T18:00",
                                               "unit": net.branch4.pk}, format="json")
    assert response.status_code == 403
    assert not Event.objects.exists()


def test_event_list_filters(net: Any) -> None:
    w = world(net)
    client = client_for(net, "viewer")
    other = client_for(net, "editor_branch4").post(
        "/api/v1/events/", {"title": "Встреча клуба", "starts_at": "2031-02-01T15:00"}, format="json").json()
    ids = {e["id"] for e in client.get(f"/api/v1/events/?unit={net.branch4.pk}").json()["results"]}
    assert ids == {other["id"]}
    ids = {e["id"] for e in client.get("/api/v1/events/?from=2031-02-01&to=2031-02-01").json()["results"]}
    assert ids == {other["id"]}
    ids = {e["id"] for e in client.get("/api/v1/events/?to=2030-12-31").json()["results"]}
    assert ids == {w.event_ch.pk}
    assert client.get("/api/v1/events/?from=someday").status_code == 400
