"""Conformance: every request the OK connector makes in a full scenario, and every emulator answer, checked
against OK's documented methods (see ok_conformance.py: OK has no machine-readable spec in ../shared/specs)."""

from __future__ import annotations

import copy
import hashlib

from filial.networks.base import PollSpec, PostPayload
from filial.networks.ok.client import sign
from filial.networks.tests.helpers import spec_path
from filial.networks.tests.ok_conformance import check_requests, check_responses, image, ok_world


def _scenario() -> list[dict]:
    with ok_world() as world:
        connector = world.connector()
        connector.verify()
        post = PostPayload(text="Неделя детской книги", key="k1", photos=[image(), image("JPEG")],
                           link="https://library.example/week", poll=PollSpec("Придёте?", ["Да", "Нет"]))
        published = connector.publish(post)
        world.app.simulate("vote", {"topic_id": published.external_id, "answer": 0})
        world.app.simulate("comment", {"topic_id": published.external_id, "text": "Ура!"})
        world.app.simulate("message", {"uid": "691", "text": "Вопрос"})
        world.app.simulate("allow_messages", {"uid": "692"})
        connector.post_stats([published.external_id])
        assert connector.poll_results(published) is not None
        connector.edit(published.external_id, PostPayload(text="Неделя детской книги: программа", key="k1",
                                                          photos=[image()]))
        page = connector.fetch_updates(None)
        for item in page.items:
            connector.reply(item, "Спасибо!", key=f"r-{item.external_id}")
        connector.fetch_updates(page.cursor)
        connector.send_message("692", "Ваша книга готова", key="dm")
        connector.subscribe_webhook("https://filial.example/hooks/ok?secret=abc")
        connector.webhook_subscriptions()
        connector.find_published(post)
        connector.fetch_updates(None)
        connector.delete(published.external_id)
        connector.delete(published.external_id)  # NOT_FOUND envelope, also checked
        return copy.deepcopy(world.app.requests)


def test_every_request_and_answer_conforms() -> None:
    requests = _scenario()
    methods = {entry["method"] for entry in requests}
    assert {"mediatopic.post", "mediatopic.edit", "mediatopic.deleteTopic", "photosV2.getUploadUrl", "uploadImage",
            "mediatopic.getByIds", "mediatopic.getTopics", "discussions.getComments",
            "discussions.addDiscussionComment", "group.getInfo", "users.getCurrentUser", "group.getUserGroupsByIds",
            "GET graph.user.chats", "GET graph.user.messages", "POST graph.user.messages",
            "POST graph.user.subscribe"} <= methods
    assert all(entry["status"] == 200 for entry in requests)
    assert check_requests(requests) == []
    assert check_responses(requests) == []


def test_the_checker_catches_bad_requests() -> None:
    bad = [
        {"api": "rest", "method": "mediatopic.post", "http": "POST", "content_type": "",
         "params": {"method": "mediatopic.post", "application_key": "K", "format": "json", "sig": "x",
                    "gid": "12", "type": "GROUP_POST"}},
        {"api": "rest", "method": "wall.post", "http": "POST", "content_type": "", "params": {}},
        {"api": "graph", "method": "POST graph.user.messages", "http": "POST", "content_type": "text/plain",
         "params": {"access_token": "leak"}},
    ]
    problems = check_requests(bad)
    assert any("attachment is missing" in p for p in problems)
    assert any("GROUP_POST" in p for p in problems)
    assert any("unknown OK method 'wall.post'" in p for p in problems)
    assert any("token was recorded" in p for p in problems)
    assert any("without a JSON object body" in p for p in problems)
    assert check_responses([{"method": "mediatopic.post", "status": 200, "response": {"id": 1}}])


def test_signature_formula_of_the_shared_notes() -> None:
    notes = spec_path("README.md").read_text("utf-8")
    assert "md5(access_token + application_secret_key)" in notes
    params = {"method": "users.getCurrentUser", "application_key": "K", "format": "json"}
    expected = hashlib.md5(("application_key=Kformat=jsonmethod=users.getCurrentUser"
                            + hashlib.md5(b"TS", usedforsecurity=False).hexdigest()).encode(),
                           usedforsecurity=False).hexdigest()
    assert sign(params, "T", "S") == expected
