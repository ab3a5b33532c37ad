from __future__ import annotations

from datetime import timedelta

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.utils import timezone

from filial.accounts.models import AuditEntry
from filial.publishing import services
from filial.publishing.models import Delivery, Post
from filial.publishing.services import PollData, PostData


def data(net, unit=None, channels=(), **kw):
    return PostData(unit=unit or net.branch4, kind=kw.pop("kind", "afisha"), text=kw.pop("text", "Приходите!"),
                    channels=list(channels), publish_at=kw.pop("publish_at", net.soon()), **kw)


def test_editor_submits_methodologist_approves_deliveries_scheduled(net):
    editor, metodist = net.users["editor_branch4"], net.users["methodologist"]
    post = services.post_create(actor=editor, data=data(net, channels=[net.channels["branch4_ok"]]))
    assert post.state == Post.State.DRAFT
    post = services.post_submit(actor=editor, post=post)
    assert post.state == Post.State.PENDING
    assert not Delivery.objects.filter(post=post).exists()
    post = services.post_approve(actor=metodist, post=post)
    assert post.state == Post.State.SCHEDULED
    deliveries = list(Delivery.objects.filter(post=post))
    assert [(d.channel_id, d.state, d.due_at) for d in deliveries] == [
        (net.channels["branch4_ok"].pk, Delivery.State.SCHEDULED, post.publish_at)
    ]
    entries = AuditEntry.objects.filter(object_type="publishing.post", object_id=str(post.pk))
    actions = list(entries.values_list("action", flat=True))
    assert set(actions) == {"post.create", "post.submit", "post.approve"}


def test_editor_cannot_publish_to_other_units_page(net):
    with pytest.raises(ValidationError) as err:
        services.post_create(actor=net.users["editor_branch4"],
                             data=data(net, channels=[net.channels["children_ok"]]))
    assert "channels" in err.value.error_dict
    assert not Post.objects.exists()


def test_editor_cannot_approve_and_viewer_cannot_write(net):
    post = services.post_create(actor=net.users["editor_branch4"],
                                data=data(net, channels=[net.channels["branch4_ok"]]))
    services.post_submit(actor=net.users["editor_branch4"], post=post)
    with pytest.raises(PermissionDenied):
        services.post_approve(actor=net.users["editor_branch4"], post=post)
    with pytest.raises(PermissionDenied):
        services.post_create(actor=net.users["viewer"], data=data(net, unit=net.central))


def test_unit_without_approval_schedules_at_once(net):
    net.branch4.approval_required = False
    net.branch4.save(update_fields=["approval_required"])
    post = services.post_create(actor=net.users["editor_branch4"],
                                data=data(net, channels=[net.channels["branch4_ok"]]))
    post = services.post_submit(actor=net.users["editor_branch4"], post=post)
    assert post.state == Post.State.SCHEDULED
    assert post.deliveries.filter(state=Delivery.State.SCHEDULED).count() == 1


def test_return_needs_comment_and_sets_state(net):
    post = services.post_create(actor=net.users["editor_branch4"],
                                data=data(net, channels=[net.channels["branch4_ok"]]))
    services.post_submit(actor=net.users["editor_branch4"], post=post)
    with pytest.raises(ValidationError):
        services.post_return(actor=net.users["methodologist"], post=post, comment="  ")
    post = services.post_return(actor=net.users["methodologist"], post=post, comment="Добавьте фото")
    assert (post.state, post.review_comment) == (Post.State.RETURNED, "Добавьте фото")


def test_past_time_and_bad_poll_rejected(net):
    editor = net.users["editor_branch4"]
    with pytest.raises(ValidationError) as err:
        services.post_create(actor=editor, data=data(net, publish_at=timezone.now() - timedelta(minutes=1)))
    assert "publish_at" in err.value.error_dict
    for answers in (["Да"], ["Да", " "], ["Да", "да"], [str(i) for i in range(11)]):
        with pytest.raises(ValidationError) as err:
            services.post_create(actor=editor, data=data(net, kind="poll",
                                                         poll=PollData(question="Вы за ЗОЖ?", answers=answers)))
        assert "poll" in err.value.error_dict
    assert not Post.objects.exists()


def test_edit_by_editor_sends_scheduled_post_back_for_approval(net):
    editor = net.users["editor_branch4"]
    post = services.post_create(actor=editor, data=data(net, channels=[net.channels["branch4_ok"]]))
    services.post_submit(actor=editor, post=post)
    services.post_approve(actor=net.users["methodologist"], post=post)
    post = services.post_update(actor=editor, post=post, data=data(net, text="Новый текст",
                                                                   channels=[net.channels["branch4_ok"]]))
    assert post.state == Post.State.PENDING
    assert list(post.deliveries.values_list("state", flat=True)) == [Delivery.State.CANCELLED]


def test_methodologist_reschedule_moves_deliveries(net):
    metodist = net.users["methodologist"]
    chans = [net.channels["children_ok"], net.channels["children_tg"]]
    post = services.post_create(actor=metodist, data=data(net, unit=net.children, channels=chans))
    services.post_submit(actor=metodist, post=post)
    later = net.soon(48)
    post = services.post_update(actor=metodist, post=post,
                                data=data(net, unit=net.children, channels=chans[:1], publish_at=later))
    assert post.state == Post.State.SCHEDULED
    live = post.deliveries.exclude(state=Delivery.State.CANCELLED)
    assert [(d.channel_id, d.due_at) for d in live] == [(chans[0].pk, later)]
    assert post.deliveries.filter(state=Delivery.State.CANCELLED, channel=chans[1]).count() == 1
