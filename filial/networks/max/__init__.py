"""MAX: channels through a bot (MAX Bot API)."""

from django.utils.translation import gettext_lazy as _

from filial.networks.spec import NetworkSpec, SecretGroup, budgets

SPEC = NetworkSpec(
    name="max", label="MAX", short="MAX", colour="#6a3de8",
    url_setting="FILIAL_MAX_API_URL", real_api_url="https://platform-api2.max.ru",
    connector="filial.networks.max.connector.MaxConnector",
    hosts="filial.networks.max.hosts",
    webhook="filial.networks.max.webhooks.MaxWebhookParser",
    emulator="emulators.networks.max.MaxEmulator",
    budgets=budgets(**{"max.bot": "30/second"}),
    credential_keys=("bot_token", "webhook_secret"),
    required_credentials=("bot_token",),
    secrets=SecretGroup("bot", _("Telegram and MAX secrets"), (("bot_token", _("Bot token")),)),
)
