"""What Filial knows about one network, in one place: its ``NetworkSpec``.

Each network is one package, ``filial/networks/<net>/``; its ``__init__.py`` exports ``SPEC``, a
:class:`NetworkSpec`. ``networks/registry.py`` lists the packages and reads everything else from their specs:
the connector class, where the API is (the URL setting, the real address, the hosts), the rate budgets, the
emulator, the label and colour a person sees. Classes are named by dotted path and imported only
when used, so a spec costs nothing to load and the emulators can move out of the package.

Domain code (publishing, the inbox, polls, previews, edits, page connections) never compares a network's name:
it asks the spec or the connector class (``Connector.publish_claims``, ``attachments``, ``preview_text``…).
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import TYPE_CHECKING, Any

from filial.networks.base import Connector

if TYPE_CHECKING:
    from filial.networks.base import Capabilities


def import_dotted(path: str) -> Any:
    module_name, _, attr = path.rpartition(".")
    return getattr(importlib.import_module(module_name), attr)


@dataclass(frozen=True)
class SecretGroup:
    """The secrets a page of the network stores, as the page form shows them: one fieldset (networks whose specs
    give the same ``slug`` share it, as Telegram and MAX share the bot token)."""

    slug: str
    legend: Any  # translated (``gettext_lazy``)
    fields: tuple[tuple[str, Any], ...]  # (credentials key, translated label)
    plain: tuple[str, ...] = ()  # keys that are not secret (shown as ordinary text inputs)


@dataclass(frozen=True)
class NetworkSpec:
    name: str  # the value stored in ``Channel.network`` and used in URLs (``/hooks/<name>/…``)
    label: str  # how a person names it ("VK", "OK", "Telegram")
    short: str  # the badge in lists ("TG")
    colour: str  # its colour in charts (WCAG AA on white)
    url_setting: str  # the setting holding its API base URL (``FILIAL_VK_API_URL``)
    real_api_url: str  # that setting's default: the network's own API
    connector: str  # dotted path of its ``Connector`` class
    hosts: str  # dotted path of its ``hosts.py`` module (``networks/egress.py``)
    webhook: str = ""  # dotted path of its ``WebhookParser`` ("" = no push updates: its pages are polled)
    emulator: str = ""  # dotted path of its emulator class ("" = none)
    emulator_api_path: str = ""  # the API's path under the emulator's address (VK ``/method/``)
    budgets: MappingProxyType[str, str] = field(default_factory=lambda: MappingProxyType({}))
    polled: bool = True  # pages without a webhook fetch updates (``Connector.fetch_updates``)
    credential_keys: tuple[str, ...] = ()  # the secrets a page of this network may store
    required_credentials: tuple[str, ...] = ()  # those it cannot work without
    secrets: SecretGroup | None = None  # how the page form asks for them (the webhook secret aside: every network
    # with a ``webhook`` shares the form's "push updates" fieldset)

    def connector_class(self) -> type[Connector]:
        cls = import_dotted(self.connector)
        assert isinstance(cls, type) and issubclass(cls, Connector)
        return cls

    @property
    def capabilities(self) -> Capabilities:
        return self.connector_class().capabilities

    def webhook_parser(self) -> Any:
        return import_dotted(self.webhook) if self.webhook else None

    def emulator_class(self) -> Any:
        return import_dotted(self.emulator) if self.emulator else None

    def hosts_module(self) -> Any:
        return importlib.import_module(self.hosts)


def budgets(**values: str) -> MappingProxyType[str, str]:
    return MappingProxyType(dict(values))
