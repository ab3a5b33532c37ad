"""The emulators' HTTP server: what it does with a request whose client went away."""

from __future__ import annotations

import socket

import httpx

from emulators.networks.vk import VKEmulator
from filial.networks.tests.helpers import served


def test_a_request_cut_short_is_neither_executed_nor_recorded() -> None:
    """A worker killed while its request was on the wire leaves a body shorter than its Content-Length: a real
    API server acts on nothing, and so does the emulator (it neither sends the message nor records the call)."""
    app = VKEmulator(rate_limits=False)
    seed = app.seed(group_id=4242)
    body = f"peer_id=5&random_id=1&message=hi&access_token={seed['credentials']['community_token']}&v=5.199"
    with served(app) as server:
        with socket.create_connection(("127.0.0.1", server.port)) as sock:
            sock.sendall(("POST /method/messages.send HTTP/1.1\r\nHost: x\r\n"
                          "Content-Type: application/x-www-form-urlencoded\r\n"
                          f"Content-Length: {len(body)}\r\n\r\n{body[:20]}").encode())
            sock.shutdown(socket.SHUT_WR)
            answer = sock.recv(4096)
        assert answer.startswith(b"HTTP/1.1 400")
        # The whole request on a kept-alive connection is still served.
        ok = httpx.post(server.url + "/method/groups.getById", data={
            "group_id": "4242", "access_token": seed["credentials"]["community_token"], "v": "5.199"})
        assert ok.status_code == 200 and "response" in ok.json()
    assert [r for r in app.requests if r.get("method") == "messages.send"] == []
    assert app.state["groups"]["4242"]["messages"] == []
