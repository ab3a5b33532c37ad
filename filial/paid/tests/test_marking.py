"""Advertising marking: an advertising post is not approved without an ERID (unless marked as not advertising with a
reason), and its text carries «Реклама», the advertiser and the ERID in each network's form."""

from __future__ import annotations

from typing import Any

import pytest
from django.core.exceptions import ValidationError

from filial.conftest import Net
from filial.networks.base import AdMarking
from filial.networks.registry import connector_class, names
from filial.paid.services import advertiser_update
from filial.publishing import services
from filial.publishing.marking import marked_text
from filial.publishing.models import Delivery, Post
from filial.publishing.payloads import build_payload
from filial.publishing.services import PostData

MARK = AdMarking(advertiser="МБУК «ЦБС»", inn="5606012345", erid="2VtzqvXYZab")


def _pending(net: Net, **kw: Any) -> Post:
    channels = [net.channels["branch4_ok"]]
    post = services.post_create(actor=net.users["editor_branch4"], data=PostData(
        unit=net.branch4, kind="service_info", text="Ламинирование и печать в филиале!", channels=channels,
        publish_at=net.soon(), **kw))
    return services.post_submit(actor=net.users["editor_branch4"], post=post)


@pytest.fixture
def requisites(net: Net) -> Net:
    advertiser_update(actor=net.users["admin"], system=net.system, legal_name="МБУК «ЦБС» г. Медногорска",
                      inn="5606012345")
    return net


def test_advertising_post_without_erid_is_not_approved(requisites: Net) -> None:
    net = requisites
    post = _pending(net, advertises=True)
    assert post.state == Post.State.PENDING
    with pytest.raises(ValidationError) as exc:
        services.post_approve(actor=net.users["methodologist"], post=post)
    assert "erid" in exc.value.message_dict
    post.refresh_from_db()
    assert post.state == Post.State.PENDING and not Delivery.objects.filter(post=post).exists()


def test_with_erid_or_a_reason_it_is_approved(requisites: Net) -> None:
    net = requisites
    marked = _pending(net, advertises=True, erid="2VtzqvXYZab")
    assert services.post_approve(actor=net.users["methodologist"], post=marked).state == Post.State.SCHEDULED
    not_ad = _pending(net, advertises=True, not_ad_reason="Прайс-лист по просьбе читателей, без призыва")
    assert services.post_approve(actor=net.users["methodologist"], post=not_ad).state == Post.State.SCHEDULED
    assert not not_ad.ad_marked and marked.ad_marked


def test_marking_needs_the_library_inn(net: Net) -> None:
    post = _pending(net, advertises=True, erid="2VtzqvXYZab")
    with pytest.raises(ValidationError) as exc:
        services.post_approve(actor=net.users["methodologist"], post=post)
    assert "INN" in str(exc.value) or "ИНН" in str(exc.value)


@pytest.mark.parametrize("kw, field", [
    ({"erid": "abc 123"}, "erid"),  # not advertising, but an ERID given
    ({"advertises": True, "erid": "bad erid!"}, "erid"),
    ({"advertises": True, "erid": "2VtzqvXYZab", "not_ad_reason": "и то и другое"}, "not_ad_reason"),
])
def test_composer_refuses_inconsistent_marking(net: Net, kw: dict[str, Any], field: str) -> None:
    with pytest.raises(ValidationError) as exc:
        services.post_create(actor=net.users["editor_branch4"], data=PostData(
            unit=net.branch4, kind="note", text="Текст", channels=[net.channels["branch4_ok"]], **kw))
    assert field in exc.value.message_dict
    assert not Post.objects.exists()


@pytest.mark.parametrize("network", names())
def test_every_network_writes_the_marking(network: str) -> None:
    text = connector_class(network).ad_text("Печать и ламинирование.", MARK)
    assert "Печать и ламинирование." in text
    assert "Реклама" in text and "МБУК «ЦБС»" in text and "ИНН 5606012345" in text and "erid: 2VtzqvXYZab" in text


def test_forms_differ_per_network() -> None:
    forms = {n: connector_class(n).ad_text("T", MARK) for n in ("vk", "ok", "telegram", "max")}
    assert forms["ok"].startswith("Реклама\n")  # the label above the topic
    assert forms["vk"].endswith("\nerid: 2VtzqvXYZab")  # the token on its own line
    assert forms["telegram"].count("\n") == 2  # one compact last line
    assert len(set(forms.values())) == 4


def test_payload_carries_the_marking(requisites: Net) -> None:
    net = requisites
    post = _pending(net, advertises=True, erid="2VtzqvXYZab")
    services.post_approve(actor=net.users["methodologist"], post=post)
    delivery = Delivery.objects.get(post=post)
    payload = build_payload(delivery)
    assert payload.text == marked_text(post, "ok", "Ламинирование и печать в филиале!")
    assert payload.text.startswith("Реклама\n") and "erid: 2VtzqvXYZab" in payload.text
    assert "МБУК «ЦБС» г. Медногорска, ИНН 5606012345" in payload.text


def test_a_scheduled_post_cannot_drop_its_erid(requisites: Net) -> None:
    net = requisites
    post = _pending(net, advertises=True, erid="2VtzqvXYZab")
    services.post_approve(actor=net.users["methodologist"], post=post)
    with pytest.raises(ValidationError):
        services.post_update(actor=net.users["methodologist"], post=post, data=PostData(
            unit=net.branch4, kind="service_info", text="Другой текст", channels=[net.channels["branch4_ok"]],
            publish_at=post.publish_at, advertises=True))
    post.refresh_from_db()
    assert post.erid == "2VtzqvXYZab" and post.text == "Ламинирование и печать в филиале!"


def test_composer_preview_shows_the_marking(requisites: Net) -> None:
    from filial.publishing.previews import PreviewInput, page_preview

    page = page_preview(requisites.channels["branch4_ok"], PreviewInput(text="Печать.", ad_erid="2VtzqvXYZab"))
    assert page.text.startswith("Реклама\n") and "ИНН 5606012345" in page.text
    plain = page_preview(requisites.channels["branch4_ok"], PreviewInput(text="Печать."))
    assert plain.text == "Печать."


def test_export_for_the_advertising_data_operator(requisites: Net) -> None:
    from django.test import Client

    net = requisites
    post = _pending(net, advertises=True, erid="2VtzqvXYZab")
    services.post_approve(actor=net.users["methodologist"], post=post)
    _pending(net, advertises=False)  # not about paid services: not exported
    client = Client()
    client.force_login(net.users["methodologist"])
    day = post.publish_at.date().isoformat()  # type: ignore[union-attr]
    response = client.get("/paid/advertising/", {"start": day, "end": day, "format": "csv"})
    assert response.status_code == 200
    lines = response.content.decode("utf-8-sig").strip().splitlines()
    assert len(lines) == 2  # the header and one page of the one marked post
    assert lines[1].startswith("2VtzqvXYZab;МБУК «ЦБС» г. Медногорска;5606012345;")
    assert "Библиотека-филиал № 4" in lines[1]
    response = client.get("/paid/advertising/", {"start": day, "end": day, "format": "xlsx"})
    assert response.status_code == 200 and response.content[:2] == b"PK"


def test_a_published_advertisement_keeps_its_marking_and_a_new_erid_is_an_edit(requisites: Net) -> None:
    from filial.publishing import edits

    net = requisites
    post = _pending(net, advertises=True, erid="2VtzqvXYZab")
    services.post_approve(actor=net.users["methodologist"], post=post)
    Post.objects.filter(pk=post.pk).update(state=Post.State.PUBLISHED)
    post.refresh_from_db()
    base: dict[str, Any] = {"unit": net.branch4, "kind": "service_info", "text": post.text,
                            "channels": [net.channels["branch4_ok"]]}
    with pytest.raises(ValidationError):
        services.post_replace_content(actor=net.users["methodologist"], post=post,
                                      data=PostData(**base, advertises=True))
    post.refresh_from_db()
    assert post.erid == "2VtzqvXYZab"
    before = edits.content_of(post)
    services.post_replace_content(actor=net.users["methodologist"], post=post,
                                  data=PostData(**base, advertises=True, erid="3XtzqvXYZcd"))
    assert edits.changed_keys(before, edits.content_of(post)) == ["text"]
