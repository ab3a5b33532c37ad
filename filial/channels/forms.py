"""The page (channel) form. Secrets are password inputs that are never pre-filled: a blank one keeps the
stored secret (channel_update merges them); only the chosen network's secrets are accepted. Secrets are
checked against the network when the page is saved (channel_connect / channel_update)."""

from __future__ import annotations

from typing import Any

from django import forms
from django.db.models import QuerySet
from django.utils.translation import gettext_lazy as _

from filial.accounts.forms import unit_choice_field
from filial.channels.models import Channel, Network
from filial.channels.services import address_problem
from filial.core.params import DayField
from filial.libraries.models import Unit
from filial.networks import registry
from filial.networks.base import WEBHOOK_SECRET_KEY


class CredentialGroup:
    """One fieldset of secrets and the networks whose pages use it (Telegram and MAX both use one bot token)."""

    def __init__(self, slug: str, legend: Any, networks: tuple[str, ...],
                 keys: tuple[tuple[str, Any], ...], plain: tuple[str, ...] = ()) -> None:
        self.slug, self.legend, self.networks, self.keys = slug, legend, networks, keys
        self.plain = plain  # keys that are not secret (shown as ordinary text inputs)

    def field_name(self, key: str) -> str:
        return f"{self.slug}_{key}"


def _credential_groups() -> tuple[CredentialGroup, ...]:
    """The fieldsets of secrets, read from the networks' specs (``NetworkSpec.secrets``; specs that give the same
    slug share one), then the webhook secret of every network with push updates."""
    groups: dict[str, CredentialGroup] = {}
    for spec in registry.specs():
        if spec.secrets is None:
            continue
        known = groups.get(spec.secrets.slug)
        if known is None:
            groups[spec.secrets.slug] = CredentialGroup(spec.secrets.slug, spec.secrets.legend, (spec.name,),
                                                        spec.secrets.fields, plain=spec.secrets.plain)
        else:
            known.networks = (*known.networks, spec.name)
    hooks = tuple(spec.name for spec in registry.specs() if spec.webhook)
    return (*groups.values(),
            CredentialGroup("hooks", _("Push updates (webhooks)"), hooks, ((WEBHOOK_SECRET_KEY, _("Webhook secret")),)))


CREDENTIAL_GROUPS = _credential_groups()


class ChannelForm(forms.Form):
    unit = forms.ModelChoiceField(queryset=Unit.objects.none(), label=_("Unit"))
    network = forms.ChoiceField(label=_("Network"), choices=[("", "—"), *Network.choices])
    kind = forms.ChoiceField(label=_("Page type"), choices=Channel.Kind.choices, initial=Channel.Kind.COMMUNITY)
    name = forms.CharField(label=_("Name"), max_length=200, required=False,
                           help_text=_("Leave empty to take the name from the network when the secrets are "
                                       "checked."))
    url = forms.URLField(label=_("Link"), max_length=300, required=False, assume_scheme="https",
                         help_text=_("The page's address, e.g. https://ok.ru/group/561588730013"))
    external_id = forms.CharField(
        label=_("External id"), max_length=100, required=False,
        help_text=_("The group, community or chat id on the network."),
    )
    started_on = DayField(label=_("On the network since"), required=False,
                                 widget=forms.DateInput(attrs={"type": "date"}))
    api_base_url = forms.URLField(
        label=_("API address"), max_length=300, required=False, assume_scheme="https",
        help_text=_("Leave empty for the network's own address (or the configured one)."),
    )
    status = forms.ChoiceField(label=_("Status"), choices=Channel.Status.choices, initial=Channel.Status.ACTIVE)

    def __init__(self, *args: Any, units: QuerySet[Unit], channel: Channel | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.channel = channel
        self.fields["unit"] = unit_choice_field(units, label=_("Unit"))
        for group in CREDENTIAL_GROUPS:
            for key, label in group.keys:
                widget: forms.Widget = (
                    forms.TextInput(attrs={"autocomplete": "off", "spellcheck": "false"}) if key in group.plain
                    else forms.PasswordInput(attrs={"autocomplete": "new-password", "spellcheck": "false"}))
                self.fields[group.field_name(key)] = forms.CharField(
                    label=label, required=False, strip=True, max_length=2000, widget=widget)

    def credential_fieldsets(self) -> list[dict[str, Any]]:
        groups = []
        for group in CREDENTIAL_GROUPS:
            fields = [self[group.field_name(key)] for key, _label in group.keys]
            groups.append({"slug": group.slug, "legend": group.legend, "fields": fields,
                           "has_errors": any(f.errors for f in fields)})
        return groups

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        network = data.get("network")
        credentials: dict[str, str] = {}
        for group in CREDENTIAL_GROUPS:
            for key, _label in group.keys:
                value = data.get(group.field_name(key)) or ""
                if not value:
                    continue
                if network and network not in group.networks:
                    self.add_error(group.field_name(key), _("This secret belongs to another network."))
                else:
                    credentials[key] = value
        data["credentials"] = credentials
        problem = address_problem(self.channel, network or "", data.get("api_base_url") or "", credentials)
        if problem and "api_base_url" in data:
            self.add_error("api_base_url", problem)
        external_id = data.get("external_id")
        if network and external_id:
            clash = Channel.objects.filter(network=network, external_id=external_id)
            if self.channel is not None:
                clash = clash.exclude(pk=self.channel.pk)
            if clash.exists():
                self.add_error("external_id", _("Another page on this network already has this external id."))
        return data

    def channel_fields(self) -> dict[str, Any]:
        """The cleaned values as keyword arguments for channel_create / channel_update."""
        names = ("unit", "network", "kind", "name", "url", "external_id", "started_on", "api_base_url", "status")
        return {name: self.cleaned_data[name] for name in names}

    @staticmethod
    def initial_for(channel: Channel) -> dict[str, Any]:
        return {
            "unit": channel.unit_id, "network": channel.network, "kind": channel.kind, "name": channel.name,
            "url": channel.url, "external_id": channel.external_id, "started_on": channel.started_on,
            "api_base_url": channel.api_base_url, "status": channel.status,
        }


class ChannelFilterForm(forms.Form):
    q = forms.CharField(label=_("Name"), required=False, max_length=100,
                        widget=forms.TextInput(attrs={"type": "search"}))
    unit = forms.ModelChoiceField(queryset=Unit.objects.none(), required=False, label=_("Unit"))
    network = forms.ChoiceField(label=_("Network"), required=False, choices=[("", _("All")), *Network.choices])
    status = forms.ChoiceField(label=_("Status"), required=False,
                               choices=[("", _("All")), *Channel.Status.choices])

    def __init__(self, *args: Any, units: QuerySet[Unit], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["unit"] = unit_choice_field(
            units, label=_("Unit"), required=False, empty_label=_("All"),
            help_text=_("Includes its sub-units."),
        )
