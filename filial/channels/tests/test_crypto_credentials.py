from __future__ import annotations

from typing import Any

from filial.channels.models import Channel
from filial.conftest import Net


def test_credentials_are_decrypted_once_and_handed_out_as_copies(net: Net, monkeypatch: Any) -> None:
    from filial.channels import models

    channel = Channel.objects.get(pk=net.channels["central_vk"].pk)
    channel.set_credentials({"access_token": "vk1.a.token", "scopes": ["wall"]})
    calls: list[str] = []
    real = models.decrypt_json

    def counting(token: str) -> dict[str, Any]:
        calls.append(token)
        return real(token)

    monkeypatch.setattr(models, "decrypt_json", counting)
    first = channel.credentials
    first["scopes"].append("messages")  # a caller changing its copy changes nothing stored
    assert channel.credentials == {"access_token": "vk1.a.token", "scopes": ["wall"]}
    assert len(calls) == 1
    channel.set_credentials({"access_token": "vk1.a.new"})  # a new value is read anew
    assert channel.credentials == {"access_token": "vk1.a.new"} and len(calls) == 2
