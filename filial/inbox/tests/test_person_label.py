"""A reader the network gave no name for is «Читатель VK 990011», in the network's words — not a bare id."""

from __future__ import annotations

from django.utils import translation

from filial.inbox.models import Conversation, InboxItem


def test_a_nameless_reader_is_called_by_the_networks_label(net) -> None:
    vk, tg = net.channels["central_vk"], net.channels["children_tg"]
    with translation.override("ru"):
        assert Conversation(channel=vk, person_id="990011", person_name="").person_label == "Читатель VK 990011"
        assert InboxItem(channel=tg, author_id="4242", author_name="").author_label == "Читатель TG 4242"
        assert Conversation(channel=vk, person_id="990011", person_name="Анна Кравец").person_label == "Анна Кравец"
        assert Conversation(channel=vk, person_id="p:abc", person_name="").person_label == "стёртый человек"
        assert InboxItem(channel=vk, author_id="", author_name="").author_label == ""
