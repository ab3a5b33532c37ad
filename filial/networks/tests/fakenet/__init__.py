"""A fifth network that exists only in the test suite: the proof that a network is one package.

Nothing outside this package names it: the suite registers ``SPEC`` (``registry.register``) and pages on "fakenet"
publish, receive comments and show in the composer's previews through the same code as the four real networks.
"""

from filial.networks.spec import NetworkSpec, budgets

SPEC = NetworkSpec(
    name="fakenet", label="FakeNet", short="FN", colour="#2e7d32",
    url_setting="FILIAL_FAKENET_API_URL", real_api_url="https://api.fakenet.invalid",
    connector="filial.networks.tests.fakenet.connector.FakeConnector",
    hosts="filial.networks.tests.fakenet.hosts",
    budgets=budgets(**{"fakenet.token": "50/second"}),
    credential_keys=("token",), required_credentials=("token",),
)
