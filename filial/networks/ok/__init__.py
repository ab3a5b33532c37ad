"""Odnoklassniki (OK): groups' topics, comments and the Bot API's chats."""

from django.utils.translation import gettext_lazy as _

from filial.networks.spec import NetworkSpec, SecretGroup, budgets

SPEC = NetworkSpec(
    name="ok", label="OK", short="OK", colour="#b35f00",
    url_setting="FILIAL_OK_API_URL", real_api_url="https://api.ok.ru/fb.do",
    connector="filial.networks.ok.connector.OKConnector",
    hosts="filial.networks.ok.hosts",
    webhook="filial.networks.ok.webhooks.OKWebhookParser",
    emulator="emulators.networks.ok.OKEmulator", emulator_api_path="/fb.do",
    budgets=budgets(**{"ok.token": "5/second"}),  # OK publishes no numbers: conservative and configurable
    # The application's keys, the admin's token and the group's messages key (Bot API).
    credential_keys=("application_key", "application_secret_key", "access_token", "bot_token", "webhook_secret"),
    required_credentials=("application_key", "application_secret_key", "access_token"),
    secrets=SecretGroup("ok", _("Odnoklassniki secrets"), (
        ("application_key", _("Application public key")),
        ("application_secret_key", _("Application secret key")),
        ("access_token", _("Access token")),
        ("bot_token", _("Group messages key (Bot API)")),
    )),
)
