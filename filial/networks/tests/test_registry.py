"""Where each network's API is: the documented defaults, the environment variables that replace them, and a page's
own address (the demo's emulators) giving way to an address configured explicitly."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from filial.networks import hosting
from filial.networks.connect import base_url, connector_for
from filial.networks.registry import BASE_URL_SETTINGS

REPO = Path(__file__).resolve().parents[3]
DEFAULTS = {
    "vk": ("FILIAL_VK_API_URL", "https://api.vk.ru/method/"),
    "ok": ("FILIAL_OK_API_URL", "https://api.ok.ru/fb.do"),
    "telegram": ("FILIAL_TELEGRAM_API_URL", "https://api.telegram.org"),
    "max": ("FILIAL_MAX_API_URL", "https://platform-api2.max.ru"),
}
READ_SETTINGS = ("import django, json; django.setup(); from django.conf import settings; "
                 f"print(json.dumps({{n: getattr(settings, n) for n in {sorted(BASE_URL_SETTINGS.values())!r}}}))")


def _settings_in_child(**environment: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in BASE_URL_SETTINGS.values()}
    env.update(environment, DJANGO_SETTINGS_MODULE="filial.settings")
    out = subprocess.run([sys.executable, "-c", READ_SETTINGS], cwd=REPO, env=env, capture_output=True, text=True,
                         check=True, timeout=60)
    return dict(json.loads(out.stdout.strip().splitlines()[-1]))


def test_defaults_and_environment_variables_are_the_documented_ones() -> None:
    assert {n: (BASE_URL_SETTINGS[n], hosting.REAL_API_URLS[n]) for n in hosting.NETWORKS} == DEFAULTS
    assert _settings_in_child() == {name: url for name, url in DEFAULTS.values()}
    chosen = {"FILIAL_VK_API_URL": "http://vk.test/method/", "FILIAL_OK_API_URL": "http://ok.test/fb.do",
              "FILIAL_TELEGRAM_API_URL": "http://bot-api.test", "FILIAL_MAX_API_URL": "http://max.test"}
    assert _settings_in_child(**chosen) == chosen


@pytest.mark.parametrize("network", hosting.NETWORKS)
def test_a_page_follows_its_own_address_unless_one_is_configured(network: str, settings: Any,
                                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    name, default = DEFAULTS[network]
    monkeypatch.delenv(name, raising=False)
    setattr(settings, name, default)
    emulator = hosting.emulator_api_url(network)
    assert base_url(network) == default
    assert base_url(network, emulator) == emulator  # the demo's page talks to the built-in emulator
    assert base_url(network, "http://self-hosted.test/api") == "http://self-hosted.test/api"

    monkeypatch.setenv(name, "http://configured.test/")  # e.g. a self-hosted Bot API server, a test double
    setattr(settings, name, "http://configured.test/")
    assert base_url(network) == "http://configured.test/"
    assert base_url(network, emulator) == "http://configured.test/"  # the configured address wins
    connector = connector_for(network, external_id="1", credentials={}, api_base_url=emulator)
    assert connector.base_url == "http://configured.test/"

    monkeypatch.delenv(name)  # set in settings only (not the default): it wins too
    assert base_url(network, emulator) == "http://configured.test/"


def test_the_page_form_asks_for_every_secret_a_spec_stores_and_no_other() -> None:
    from filial.channels.forms import CREDENTIAL_GROUPS
    from filial.networks import registry

    for spec in registry.specs():
        asked = {key for group in CREDENTIAL_GROUPS if spec.name in group.networks for key, _label in group.keys}
        assert asked == set(spec.credential_keys), spec.name
