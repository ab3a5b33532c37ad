"""Telegram: channels through a bot (Bot API)."""

from django.utils.translation import gettext_lazy as _

from filial.networks.spec import NetworkSpec, SecretGroup, budgets

SPEC = NetworkSpec(
    name="telegram", label="Telegram", short="TG", colour="#12739f",
    url_setting="FILIAL_TELEGRAM_API_URL", real_api_url="https://api.telegram.org",
    connector="filial.networks.telegram.connector.TelegramConnector",
    hosts="filial.networks.telegram.hosts",
    webhook="filial.networks.telegram.webhooks.TelegramWebhookParser",
    emulator="emulators.networks.telegram.TelegramEmulator",
    # 30/s per bot, 1/s per chat, 20/min per channel (counted in messages: an album of 5 photos is 5)
    budgets=budgets(**{"telegram.bot": "30/second", "telegram.chat": "1/second", "telegram.channel": "20/minute"}),
    credential_keys=("bot_token", "webhook_secret"),
    required_credentials=("bot_token",),
    secrets=SecretGroup("bot", _("Telegram and MAX secrets"), (("bot_token", _("Bot token")),)),
)
