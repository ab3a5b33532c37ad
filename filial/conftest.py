"""Shared fixtures: a small library network with one user per role and pages on every network."""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

import pytest
from django.db import connection
from django.utils import timezone

from filial.accounts.models import Role, User
from filial.accounts.services import membership_set
from filial.channels.models import Channel, Network
from filial.libraries.models import LibrarySystem, Unit
from filial.libraries.services import system_create, unit_create

PASSWORD = "test-pass-123"


def race(worker: Callable[[int], object], count: int, *, timeout: float = 60) -> None:
    """Run ``worker(0)`` … ``worker(count - 1)`` in threads released together (a barrier), each with its own
    database connection, closed when it ends; then re-raise the first error a thread raised."""
    barrier = threading.Barrier(count)
    errors: list[BaseException] = []

    def run(n: int) -> None:
        try:
            barrier.wait()
            worker(n)
        except BaseException as exc:  # pragma: no cover - re-raised below
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(n,)) for n in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout)
    if errors:
        raise errors[0]
    assert not any(thread.is_alive() for thread in threads), "a thread did not finish in time"


@pytest.fixture(autouse=True)
def _fast_and_isolated(settings: Any, tmp_path: Any) -> None:
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    # Tests read English messages; the Russian default is checked in core/tests/test_i18n.py.
    settings.LANGUAGE_CODE = "en"
    settings.MEDIA_ROOT = tmp_path / "media"
    # The demo writes its pages' seed for the network emulators here, never into the real data folder.
    settings.FILIAL_EMULATOR_DIR = tmp_path / "emulators"
    # The tests serve the network emulators on loopback at random ports, as an installation allows a host.
    settings.FILIAL_EXTRA_API_HOSTS = ["127.0.0.1", "localhost"]
    from huey.contrib.djhuey import HUEY

    HUEY.immediate = True


@pytest.fixture
def own_encryption_key(settings: Any) -> str:
    """A fresh Fernet key for this test (crypto forgets cached keys when the setting changes)."""
    from cryptography.fernet import Fernet

    key = Fernet.generate_key().decode()
    settings.FILIAL_ENCRYPTION_KEYS = key
    return key


@dataclass
class Net:
    system: LibrarySystem
    central: Unit
    automation: Unit
    children: Unit
    branch4: Unit
    users: dict[str, User] = field(default_factory=dict)
    channels: dict[str, Channel] = field(default_factory=dict)

    def soon(self, hours: int = 24) -> Any:
        return timezone.now() + timedelta(hours=hours)


def make_user(username: str, memberships: list[tuple[Unit, str]]) -> User:
    user = User.objects.create_user(username=username, password=PASSWORD)
    for unit, role in memberships:
        membership_set(actor=None, user=user, unit=unit, role=role)
    return user


@pytest.fixture
def net(db: Any) -> Net:
    system = system_create(actor=None, name="ЦБС г. Медногорска", timezone="Asia/Yekaterinburg")
    central = unit_create(actor=None, system=system, name="Центральная городская библиотека", kind="central")
    automation = unit_create(actor=None, system=system, name="Отдел автоматизации ЦГБ", kind="department",
                             parent=central)
    children = unit_create(actor=None, system=system, name="Центральная городская детская библиотека",
                           kind="children")
    branch4 = unit_create(actor=None, system=system, name="Библиотека-филиал № 4", kind="branch")
    n = Net(system, central, automation, children, branch4)
    n.users = {
        "admin": make_user("admin", [(central, Role.ADMIN)]),
        "methodologist": make_user("metodist", [(central, Role.METHODOLOGIST), (children, Role.METHODOLOGIST),
                                                (branch4, Role.METHODOLOGIST)]),
        "editor_central": make_user("ed_central", [(central, Role.EDITOR)]),
        "editor_children": make_user("ed_children", [(children, Role.EDITOR)]),
        "editor_branch4": make_user("ed_branch4", [(branch4, Role.EDITOR)]),
        "viewer": make_user("viewer", [(central, Role.VIEWER)]),
        "outsider": User.objects.create_user(username="outsider", password=PASSWORD),
    }
    specs = [
        ("central_ok", central, Network.OK, "Центральная библиотека Медногорска", "561588730013"),
        ("central_vk", central, Network.VK, "ЦГБ Медногорска ВКонтакте", "100001"),
        ("central_max", central, Network.MAX, "ЦГБ Медногорска в MAX", "-700001"),
        ("automation_vk", automation, Network.VK, "Медногорский винил", "100002"),
        ("children_ok", children, Network.OK, "Детская библиотека", "561588730099"),
        ("children_tg", children, Network.TELEGRAM, "Детская библиотека Медногорска", "-1001000000002"),
        ("branch4_ok", branch4, Network.OK, "Библиотека-филиал № 4", "569188750053"),
    ]
    for key, unit, network, name, ext in specs:
        n.channels[key] = Channel.objects.create(unit=unit, network=network, name=name, external_id=ext)
    return n


# --- Real browser (Playwright driving Debian's Chromium) -------------------------------------------------
CHROMIUM_CANDIDATES = ("/usr/bin/chromium", "/usr/bin/chromium-browser", "/usr/bin/google-chrome")
ARTIFACTS = __import__("pathlib").Path(__file__).resolve().parent.parent / "test-artifacts"
_browser_skips: list[str] = []


def _chromium_path() -> str | None:
    import os
    import shutil

    explicit = os.environ.get("FILIAL_CHROMIUM")
    if explicit:
        return explicit
    for candidate in CHROMIUM_CANDIDATES:
        if shutil.which(candidate):
            return candidate
    return None


@pytest.fixture(scope="session")
def chromium() -> Any:
    import os

    path = _chromium_path()
    if path is None:
        message = "BROWSER TESTS SKIPPED: no Chromium found (apt-get install chromium, or set FILIAL_CHROMIUM)"
        if os.environ.get("FILIAL_REQUIRE_BROWSER"):
            pytest.fail(message)
        _browser_skips.append(message)
        pytest.skip(message)
    os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")  # Playwright's sync API runs an event loop
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        browser = pw.chromium.launch(
            executable_path=path,
            args=["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                  "--disable-background-networking", "--disable-component-update", "--disable-sync"],
        )
        yield browser
        browser.close()


@pytest.fixture
def page(chromium: Any, request: Any) -> Any:
    """A fresh browser context per test; a screenshot of the last state is kept in test-artifacts/."""
    context = chromium.new_context(locale="ru-RU", viewport={"width": 1280, "height": 900})
    context.set_default_timeout(15_000)
    pg = context.new_page()
    yield pg
    ARTIFACTS.mkdir(exist_ok=True)
    try:
        pg.screenshot(path=str(ARTIFACTS / f"{request.node.name}-final.png"), full_page=True)
    finally:
        context.close()


def pytest_terminal_summary(terminalreporter: Any) -> None:
    if _browser_skips:
        terminalreporter.write_sep("!", _browser_skips[0], red=True, bold=True)
