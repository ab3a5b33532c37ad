"""``filial emulators``: the four network emulators on loopback, their state kept in FILIAL_DATA_DIR/emulators/,
the pages of the seed file put into them, a configured API address preferred; and the demo pointing at them."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from emulators import hosting as emulated
from filial.channels.models import Channel
from filial.demo.build import load_demo
from filial.networks import hosting
from filial.networks.base import PostPayload
from filial.networks.connect import base_url, connector_for
from filial.networks.tests.helpers import free_port_block

REPO = Path(__file__).resolve().parents[3]
pytestmark = pytest.mark.filterwarnings("ignore::ResourceWarning")

VK_TOKEN = "vk1.a.emulators-test-user-token-000000000001"
TG_TOKEN = "7184509001:AAemulatorsTestBotTokenValue0000001"
MAX_TOKEN = "max-emulators-test-bot-token-0000001"
SEED: dict[str, list[dict[str, Any]]] = {
    "vk": [{"group_id": 218450101, "name": "ЦГБ Медногорска", "screen_name": "mednogorsk_cgb", "members": 99,
            "user_token": VK_TOKEN, "expires_in": None}],
    "telegram": [{"token": TG_TOKEN, "title": "Библиотека Медногорска", "username": "mednogorsk_library",
                  "members": 640, "chat_id": -1002218450101}],
}


class Emulators:
    """``python -m filial.cli emulators`` in a child process, its output in a log file."""

    def __init__(self, data_dir: Path, port_base: int, *args: str, env: dict[str, str] | None = None) -> None:
        self.data_dir, self.port_base = data_dir, port_base
        self.log = data_dir.parent / f"emulators-{time.monotonic_ns()}.log"
        environment = {**os.environ, "FILIAL_DATA_DIR": str(data_dir), "FILIAL_EMULATOR_PORT_BASE": str(port_base),
                       "DJANGO_SETTINGS_MODULE": "filial.settings", **(env or {})}
        for name in hosting.BASE_URL_SETTINGS.values():
            if name not in (env or {}):
                environment.pop(name, None)
        with self.log.open("wb") as log:
            self.process = subprocess.Popen([sys.executable, "-m", "filial.cli", "emulators", *args], cwd=REPO,
                                            env=environment, stdout=log, stderr=subprocess.STDOUT)

    def output(self) -> str:
        return self.log.read_text("utf-8")

    def wait_ready(self) -> str:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            text = self.output()
            if "state in" in text or self.process.poll() is not None:
                return text
            time.sleep(0.1)
        raise AssertionError(f"emulators did not start:\n{self.output()}")

    def url(self, network: str) -> str:
        return hosting.emulator_url(network, self.port_base)

    def api(self, network: str) -> str:
        return hosting.emulator_api_url(network, self.port_base)

    def stop(self) -> int:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
        return self.process.wait(timeout=15)

    def kill(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait()


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    path = tmp_path / "data"
    hosting.write_seed(SEED, path / "emulators")
    return path


@pytest.fixture
def running(data_dir: Path) -> Iterator[Emulators]:
    emulators = Emulators(data_dir, free_port_block())
    try:
        emulators.wait_ready()
        yield emulators
    finally:
        emulators.kill()


def _get(url: str) -> tuple[int, str]:
    with urllib.request.urlopen(url, timeout=5) as response:  # noqa: S310 - a local test server
        return response.status, response.read().decode("utf-8")


def test_serves_the_four_networks_on_their_ports(running: Emulators) -> None:
    output = running.output()
    for network, label in hosting.LABELS.items():
        line = next(line for line in output.splitlines() if f" {label} " in line)
        assert running.api(network) in line and f"{running.url(network)}/_emulator/" in line
        status, html = _get(f"{running.url(network)}/_emulator/")
        assert status == 200 and "emulator" in html.lower()
    assert str(running.data_dir / "emulators") in output
    assert [running.url(n) for n in hosting.NETWORKS] == [
        f"http://127.0.0.1:{running.port_base + i}" for i in range(4)]


def test_seeded_pages_answer_the_real_connectors(running: Emulators) -> None:
    vk = connector_for("vk", external_id="218450101", credentials={"access_token": VK_TOKEN},
                       api_base_url=running.api("vk")).verify()
    assert (vk.name, vk.audience) == ("ЦГБ Медногорска", 100)
    tg = connector_for("telegram", external_id="-1002218450101", credentials={"bot_token": TG_TOKEN},
                       api_base_url=running.api("telegram")).verify()
    assert (tg.name, tg.audience, tg.url) == ("Библиотека Медногорска", 640, "https://t.me/mednogorsk_library")
    unknown = connector_for("max", external_id="-70000000000001", credentials={"bot_token": MAX_TOKEN},
                            api_base_url=running.api("max"))
    with pytest.raises(Exception, match=r"verify\.token"):
        unknown.verify()

    # A seed written while they run is applied on the next request (a reloaded demo needs no restart).
    hosting.write_seed({**SEED, "max": [{"token": MAX_TOKEN, "chat_id": -70000000000001, "title": "ЦГБ в MAX",
                                         "members": 8}]}, running.data_dir / "emulators")
    info = connector_for("max", external_id="-70000000000001", credentials={"bot_token": MAX_TOKEN},
                         api_base_url=running.api("max")).verify()
    assert (info.name, info.audience) == ("ЦГБ в MAX", 10)


def test_state_survives_a_restart_and_seeds_are_applied_once(data_dir: Path) -> None:
    port_base = free_port_block()
    first = Emulators(data_dir, port_base)
    try:
        first.wait_ready()
        connector = connector_for("telegram", external_id="-1002218450101", credentials={"bot_token": TG_TOKEN},
                                  api_base_url=first.api("telegram"))
        published = connector.publish(PostPayload(text="Выставка «Медногорск в книгах»", key="delivery-1"))
        assert first.stop() == 0 and "stopped" in first.output()
    finally:
        first.kill()
    folder = data_dir / "emulators"
    assert {p.name for p in folder.iterdir()} >= {"vk.json", "ok.json", "telegram.json", "max.json", "seed.json"}
    assert all(p.stat().st_mode & 0o077 == 0 for p in folder.iterdir())  # they hold tokens
    state = json.loads((folder / "telegram.json").read_text("utf-8"))
    assert len(state[emulated.SEEDED_KEY]) == 1

    second = Emulators(data_dir, port_base)
    try:
        second.wait_ready()
        _status, html = _get(f"{second.url('telegram')}/_emulator/")
        assert "Выставка «Медногорск в книгах»" in html  # the seed was not applied again over the channel
        connector = connector_for("telegram", external_id="-1002218450101", credentials={"bot_token": TG_TOKEN},
                                  api_base_url=second.api("telegram"))
        connector.edit(published.external_id, PostPayload(text="Выставка продлена", key="delivery-1"))
        assert second.stop() == 0
    finally:
        second.kill()


def test_a_reset_emulator_gets_its_seeded_pages_back(tmp_path: Path) -> None:
    folder = tmp_path / "emulators"
    hosting.write_seed(SEED, folder)
    host = emulated.EmulatorHost(directory=folder, port_base=free_port_block(), networks=("vk",)).start()
    try:
        url = host.hosted[0].server.url
        assert httpx.post(f"{url}/_emulator/reset").json() == {"ok": True}
        info = connector_for("vk", external_id="218450101", credentials={"access_token": VK_TOKEN},
                             api_base_url=host.hosted[0].api_url).verify()
        assert info.audience == 100
    finally:
        host.stop()


def test_a_configured_network_is_not_emulated_and_a_busy_port_is_reported(data_dir: Path) -> None:
    port_base = free_port_block()
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as busy:
        busy.bind(("127.0.0.1", hosting.emulator_port("ok", port_base)))
        busy.listen()
        emulators = Emulators(data_dir, port_base, "--skip-configured",
                              env={"FILIAL_VK_API_URL": "http://127.0.0.1:9/method/"})
        try:
            output = emulators.wait_ready()
            assert "VK is configured (FILIAL_VK_API_URL=http://127.0.0.1:9/method/)" in output
            assert "OK not started: 127.0.0.1:" in output
            assert f" Telegram  API {emulators.api('telegram')}" in output
            assert f" MAX       API {emulators.api('max')}" in output
            with pytest.raises(OSError):
                _get(f"{emulators.url('vk')}/_emulator/")
            assert emulators.stop() == 0
        finally:
            emulators.kill()


# --- the demo's pages ------------------------------------------------------------------------------------
def test_a_base_url_set_in_the_environment_wins_over_the_demos_emulator(db: Any, settings: Any, monkeypatch: Any,
                                                                        tmp_path: Path) -> None:
    monkeypatch.setenv("FILIAL_VK_API_URL", "http://127.0.0.1:9/method/")
    settings.FILIAL_VK_API_URL = "http://127.0.0.1:9/method/"
    settings.MEDIA_ROOT = tmp_path / "media"
    load_demo()
    vk = Channel.objects.filter(network="vk")
    assert vk.count() == 4 and set(vk.values_list("api_base_url", flat=True)) == {""}
    assert all(page.has_credentials for page in vk)
    for page in Channel.objects.exclude(network="vk"):
        assert page.api_base_url == hosting.emulator_api_url(page.network), page
    assert base_url("vk", "") == "http://127.0.0.1:9/method/"
    # A page that still points at the built-in emulator (a demo loaded before) follows the configured address.
    assert base_url("vk", hosting.emulator_api_url("vk")) == "http://127.0.0.1:9/method/"
    assert len(hosting.read_seed(hosting.seed_path())["vk"]) == 4  # the emulator still knows the pages
