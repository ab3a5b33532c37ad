"""The built-in network emulators run only for the demo (``filial run`` starts them when the installation has the
demo network) and only for this machine: never on a non-loopback address, and their state and control endpoints
refuse any other host."""

from __future__ import annotations

import io
from typing import Any

import httpx
import pytest

from emulators.base import ServedEmulator, is_loopback
from emulators.networks.vk import VKEmulator
from filial import cli
from filial.demo.build import demo_installed, load_demo


def _call(app: Any, path: str, remote: str | None) -> tuple[str, bytes]:
    environ: dict[str, Any] = {"REQUEST_METHOD": "GET", "PATH_INFO": path, "QUERY_STRING": "",
                               "wsgi.input": io.BytesIO(b"")}
    if remote is not None:
        environ["REMOTE_ADDR"] = remote
    status: list[str] = []
    body = b"".join(app(environ, lambda s, headers: status.append(s)))
    return status[0], body


@pytest.mark.parametrize("remote", ["192.0.2.10", "10.0.0.5", "::ffff:192.0.2.10", "2001:db8::1"])
def test_other_hosts_are_refused(remote: str) -> None:
    app = VKEmulator()
    for path in ("/_emulator/state", "/_emulator/", "/method/groups.getById"):
        status, body = _call(app, path, remote)
        assert status.startswith("403"), (path, status)
        assert b"pages" not in body and b"token" not in body


@pytest.mark.parametrize("remote", ["127.0.0.1", "127.0.0.9", "::1", "::ffff:127.0.0.1", None])
def test_this_machine_is_served(remote: str | None) -> None:
    status, _body = _call(VKEmulator(), "/_emulator/state", remote)
    assert status.startswith("200")


@pytest.mark.parametrize("host", ["0.0.0.0", "::", "192.0.2.1", "example.org"])  # noqa: S104
def test_an_emulator_never_listens_beyond_loopback(host: str) -> None:
    with pytest.raises(ValueError, match="loopback"):
        ServedEmulator(VKEmulator(), host, 0)
    assert not is_loopback(host)


def test_served_on_loopback_it_answers() -> None:
    server = ServedEmulator(VKEmulator()).start()
    try:
        assert httpx.get(f"{server.url}/_emulator/state", timeout=5).status_code == 200
    finally:
        server.stop()


def test_filial_run_starts_the_emulators_only_for_the_demo(net: Any) -> None:
    assert not demo_installed()  # a network of its own (the test network) has no use for them
    assert "emulators" not in [c.name for c in cli.child_processes(emulators=demo_installed())]


def test_the_demo_network_gets_them(db: Any) -> None:
    load_demo()
    assert demo_installed()
    assert cli.child_processes(emulators=demo_installed())[0].name == "emulators"
