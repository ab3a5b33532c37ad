"""VK (VKontakte): communities' walls, comments and messages."""

from django.utils.translation import gettext_lazy as _

from filial.networks.spec import NetworkSpec, SecretGroup, budgets

SPEC = NetworkSpec(
    name="vk", label="VK", short="VK", colour="#005fcc",
    url_setting="FILIAL_VK_API_URL", real_api_url="https://api.vk.ru/method/",
    connector="filial.networks.vk.connector.VKConnector",
    hosts="filial.networks.vk.hosts",
    webhook="filial.networks.vk.webhooks.VKWebhookParser",
    emulator="emulators.networks.vk.VKEmulator", emulator_api_path="/method/",
    # 3/s per user token (posting), 20/s per community token (messages). Not a network's limit: one token
    # refresh per page per minute, used as a lock across workers (the refresh token rotates).
    budgets=budgets(**{"vk.user": "3/second", "vk.community": "20/second", "vk.refresh": "1/minute"}),
    # The admin's user token (VK ID) and what refreshing it needs; the community's own token;
    # ``vk_confirmation_code`` and ``webhook_secret`` are for push updates (filial/channels/webhooks.py).
    credential_keys=("access_token", "refresh_token", "client_id", "device_id", "expires_at", "community_token",
                     "vk_confirmation_code", "webhook_secret"),
    required_credentials=("access_token",),
    secrets=SecretGroup("vk", _("VK secrets"), (
        ("access_token", _("User access token")),
        ("refresh_token", _("Refresh token")),
        ("client_id", _("Application (client) id")),
        ("device_id", _("Device id (VK ID)")),
        ("expires_at", _("User token expires at (Unix time or ISO 8601)")),
        ("community_token", _("Community token")),
        ("vk_confirmation_code", _("Callback API confirmation code")),
    ), plain=("client_id", "expires_at", "vk_confirmation_code")),
)
