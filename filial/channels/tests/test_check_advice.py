"""A page check refused by the network says what to do, in Filial's words chosen by the network's rule."""

from __future__ import annotations

from django.utils import translation

from filial.channels.services import network_error_message
from filial.networks.base import NetworkError


def test_a_known_refusal_gets_its_advice_and_never_the_networks_words() -> None:
    error = NetworkError("Chat -100 not found <b>anything a server says</b>", network="max", code="chat.not.found",
                         permanent=True)
    with translation.override("ru"):
        message = network_error_message("max", error)
    assert message.startswith("MAX")
    assert "Проверьте номер страницы в её настройках" in message
    assert "anything a server says" not in message


def test_an_unknown_refusal_keeps_the_general_sentence() -> None:
    error = NetworkError("whatever", network="vk", code=100, permanent=True)
    assert "Check the page's id and its secrets" in network_error_message("vk", error)
