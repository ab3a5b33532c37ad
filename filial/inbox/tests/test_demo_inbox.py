"""The demo's inbox: a few dozen conversations through the real pipeline, some answered, some overdue."""

from __future__ import annotations

from typing import Any

import pytest
from django.urls import reverse
from django.utils import timezone

from filial.conftest import ARTIFACTS
from filial.demo.build import load_demo
from filial.inbox.models import Conversation, InboxItem, ReplyTemplate


@pytest.mark.django_db
def test_demo_has_a_working_inbox() -> None:
    load_demo()
    assert Conversation.objects.count() >= 25 and InboxItem.objects.filter(direction="in").count() >= 34
    states = set(Conversation.objects.values_list("state", flat=True))
    assert {"new", "in_progress", "answered", "closed"} <= states
    assert Conversation.objects.filter(state__in=["new", "in_progress"], due_at__lt=timezone.now()).exists()
    assert Conversation.objects.filter(kind="comments", post__isnull=False).count() >= 10  # under our posts
    assert InboxItem.objects.filter(direction="out").exists() and ReplyTemplate.objects.exists()


@pytest.mark.browser
def test_demo_inbox_screens(live_server: Any, transactional_db: Any, page: Any) -> None:
    from filial.demo import data
    load_demo()
    base = live_server.url
    page.context.add_cookies([{"name": "django_language", "value": "ru", "url": base}])
    page.goto(f"{base}/login/")
    page.locator("#id_username").fill("metodist")
    page.locator("#id_password").fill(data.DEMO_PASSWORD)
    page.locator("form button[type=submit]").last.click()
    page.wait_for_url(f"{base}/")
    page.goto(f"{base}{reverse('inbox:inbox')}")
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "inbox-demo-list.png"), full_page=True)
    assert page.locator("tr.overdue").count() >= 1
    page.set_viewport_size({"width": 390, "height": 844})
    page.locator("table a").first.click()
    page.locator(".thread").wait_for()
    page.screenshot(path=str(ARTIFACTS / "inbox-demo-conversation-phone.png"), full_page=True)
