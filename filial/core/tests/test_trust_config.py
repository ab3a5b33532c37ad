"""Safe defaults of an installation (issue 10, "Trust"): private data files, a loud warning when the encryption key
lies beside the data, request bodies capped at the web server, passwords of 12+ characters, an idle session
timeout, secure cookies and HSTS on request, the schema and the admin closed to strangers in production."""

from __future__ import annotations

import io
import json
import os
import stat
import subprocess
import sys
import threading
import urllib.error
import urllib.request
from datetime import timedelta
from pathlib import Path
from typing import Any
from unittest import mock

import pytest
from django.contrib.auth import password_validation
from django.core.checks import run_checks
from django.core.exceptions import ValidationError
from django.core.management import call_command
from django.test import Client
from django.utils import timezone

from filial import cli
from filial.core.startup import ENCRYPTION_KEY_CHECK_ID

REPO = Path(__file__).resolve().parents[3]
KEY_WARNING = "FILIAL_ENCRYPTION_KEYS is not set"
FERNET_KEY = "cw_0x689RpI-jtRR7oE8h_eQsKImvJapLeSbXpwF4e4="


def _python(script: str, tmp_path: Path, **env: str) -> Any:
    environment = {k: v for k, v in os.environ.items()
                   if not k.startswith("FILIAL_") or k in {"FILIAL_SPECS_DIR"}}
    environment.update(DJANGO_SETTINGS_MODULE="filial.settings", **env)
    environment.setdefault("FILIAL_DATA_DIR", str(tmp_path / "data"))
    out = subprocess.run([sys.executable, "-c", script], cwd=REPO, env=environment, capture_output=True, text=True,
                         timeout=180, check=False)
    assert out.returncode == 0, out.stderr
    return json.loads(out.stdout.strip().splitlines()[-1])


# --- the data folder and the database files ---------------------------------------------------------------
MODES = """
import json, os, stat
os.umask(0o022)
import django
django.setup()
from django.conf import settings
from django.core.management import call_command
from django.db import connection
call_command("migrate", verbosity=0)
with connection.cursor() as cursor:
    cursor.execute("INSERT INTO django_session (session_key, session_data, expire_date) "
                   "VALUES ('k', 'd', '2099-01-01')")
from huey.contrib.djhuey import HUEY
HUEY.storage.enqueue(b"task")
names = ["filial.sqlite3", "filial.sqlite3-wal", "filial.sqlite3-shm", "huey.sqlite3", "huey.sqlite3-wal"]
modes = {name: oct(stat.S_IMODE(os.stat(settings.DATA_DIR / name).st_mode))
         for name in names if (settings.DATA_DIR / name).exists()}
modes["."] = oct(stat.S_IMODE(os.stat(settings.DATA_DIR).st_mode))
print(json.dumps(modes))
"""


def test_the_data_folder_and_the_databases_are_private(tmp_path: Path) -> None:
    modes = _python(MODES, tmp_path)
    assert modes.pop(".") == "0o700"
    assert {"filial.sqlite3", "filial.sqlite3-wal", "filial.sqlite3-shm", "huey.sqlite3"} <= set(modes)
    assert set(modes.values()) == {"0o600"}, modes


def test_an_older_installation_s_database_is_made_private(tmp_path: Path) -> None:
    data = tmp_path / "data"
    data.mkdir(mode=0o755)
    for name in ("filial.sqlite3", "filial.sqlite3-wal", "huey.sqlite3"):
        (data / name).write_bytes(b"")
        (data / name).chmod(0o644)
    _python("import django, json\ndjango.setup()\nprint(json.dumps(1))", tmp_path)
    assert {oct(stat.S_IMODE((data / n).stat().st_mode)) for n in ("filial.sqlite3", "filial.sqlite3-wal",
                                                                    "huey.sqlite3")} == {"0o600"}
    assert stat.S_IMODE(data.stat().st_mode) == 0o755  # a folder made by the administrator stays as it is


# --- the encryption key ------------------------------------------------------------------------------------
def test_a_system_check_warns_without_encryption_keys(settings: Any) -> None:
    settings.FILIAL_ENCRYPTION_KEYS = ""
    warnings = [m for m in run_checks() if m.id == ENCRYPTION_KEY_CHECK_ID]
    assert len(warnings) == 1 and "encryption.key" in warnings[0].msg
    settings.FILIAL_ENCRYPTION_KEYS = FERNET_KEY
    assert not [m for m in run_checks() if m.id == ENCRYPTION_KEY_CHECK_ID]


def test_web_worker_and_run_warn_loudly_at_start(db: Any, settings: Any, monkeypatch: Any, capsys: Any) -> None:
    from huey.contrib.djhuey import HUEY
    from huey.storage import MemoryStorage

    monkeypatch.setattr(HUEY, "_immediate", False)
    monkeypatch.setattr(HUEY, "storage", MemoryStorage("filial-test-warning"))
    settings.FILIAL_ENCRYPTION_KEYS = ""
    served: list[dict[str, Any]] = []
    monkeypatch.setattr("waitress.serve", lambda app, **options: served.append(options))
    monkeypatch.setattr("signal.signal", lambda *args: None)
    err = io.StringIO()
    call_command("web", stdout=io.StringIO(), stderr=err)
    assert KEY_WARNING in err.getvalue() and served
    err = io.StringIO()
    call_command("worker", "--burst", stdout=io.StringIO(), stderr=err)
    assert KEY_WARNING in err.getvalue()

    def interrupted() -> bool:
        raise KeyboardInterrupt

    monkeypatch.setattr(cli, "prepare", interrupted)
    assert cli.run() == 130
    assert KEY_WARNING in capsys.readouterr().err
    settings.FILIAL_ENCRYPTION_KEYS = FERNET_KEY
    err = io.StringIO()
    call_command("web", stdout=io.StringIO(), stderr=err)
    assert KEY_WARNING not in err.getvalue()


# --- request bodies ----------------------------------------------------------------------------------------
def _post(url: str, size: int) -> int:
    request = urllib.request.Request(url, data=b"x" * size, method="POST")  # noqa: S310 - a local test server
    try:
        with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310
            return int(response.status)
    except urllib.error.HTTPError as exc:
        return int(exc.code)


def test_the_web_server_refuses_bodies_over_the_cap(settings: Any) -> None:
    from waitress.server import create_server

    from filial.core.management.commands.web import server_options

    settings.FILIAL_MAX_REQUEST_BYTES = 64 * 1024
    seen: list[int] = []

    def app(environ: dict[str, Any], start_response: Any) -> list[bytes]:
        seen.append(len(environ["wsgi.input"].read()))
        start_response("200 OK", [("Content-Type", "text/plain")])
        return [b"ok"]

    options = server_options("127.0.0.1", 0, threads=1)
    server = create_server(app, **options)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    try:
        url = f"http://127.0.0.1:{server.effective_port}/"
        assert _post(url, 60 * 1024) == 200
        assert _post(url, 65 * 1024) == 413
        assert seen == [60 * 1024]  # the large body never reached the application
    finally:
        server.close()
        thread.join(timeout=5)


def test_the_default_cap_is_a_little_above_the_largest_upload(settings: Any) -> None:
    from filial.circulation.imports import MAX_SIZE
    from filial.publishing.services import MAX_PHOTOS

    largest = max(MAX_PHOTOS * settings.FILIAL_MAX_PHOTO_BYTES, MAX_SIZE, settings.DATA_UPLOAD_MAX_MEMORY_SIZE)
    assert largest < settings.FILIAL_MAX_REQUEST_BYTES <= largest + 2 * 1024 * 1024


# --- passwords and sessions -------------------------------------------------------------------------------
def test_passwords_need_twelve_characters() -> None:
    with pytest.raises(ValidationError):
        password_validation.validate_password("Vb2!qP9zKx7")  # 11
    password_validation.validate_password("Vb2!qP9zKx7#")  # 12


def test_a_session_ends_after_the_idle_time_not_while_in_use(net: Any, settings: Any) -> None:
    assert settings.FILIAL_SESSION_IDLE_MINUTES == 60
    client = Client()
    client.force_login(net.users["editor_branch4"])
    start = timezone.now()
    assert client.get("/").status_code == 200
    for minutes in (50, 100, 150):  # in use every 50 minutes: still signed in after 2.5 hours
        with mock.patch("django.utils.timezone.now", return_value=start + timedelta(minutes=minutes)):
            assert client.get("/").status_code == 200, minutes
    with mock.patch("django.utils.timezone.now", return_value=start + timedelta(minutes=150 + 61)):
        response = client.get("/")
    assert response.status_code == 302 and response["Location"].startswith("/login/")


SECURE = """
import django, json
django.setup()
from django.conf import settings
from django.test import Client
response = Client().get("/login/", secure=True)
print(json.dumps({"hsts": response.headers.get("Strict-Transport-Security", ""),
                  "csrf_secure": bool(response.cookies["csrftoken"]["secure"]),
                  "session_secure": settings.SESSION_COOKIE_SECURE}))
"""


def test_secure_cookies_and_hsts_when_asked(tmp_path: Path) -> None:
    on = _python(SECURE, tmp_path, FILIAL_SECURE_COOKIES="on", FILIAL_ALLOWED_HOSTS="testserver")
    assert on == {"hsts": "max-age=31536000", "csrf_secure": True, "session_secure": True}
    off = _python(SECURE, tmp_path, FILIAL_ALLOWED_HOSTS="testserver")
    assert off == {"hsts": "", "csrf_secure": False, "session_secure": False}


def test_forwarding_headers_count_only_from_trusted_proxies(settings: Any) -> None:
    from filial.core.clientip import strip_untrusted_forwarding

    seen: list[dict[str, Any]] = []

    def inner(environ: dict[str, Any], start_response: Any) -> list[bytes]:
        seen.append(dict(environ))
        return []

    app = strip_untrusted_forwarding(inner)
    headers = {"HTTP_X_FORWARDED_FOR": "192.0.2.1", "HTTP_X_FORWARDED_PROTO": "https"}
    settings.FILIAL_TRUSTED_PROXIES = ["10.0.0.1"]
    app({"REMOTE_ADDR": "203.0.113.5", **headers}, None)
    app({"REMOTE_ADDR": "10.0.0.1", **headers}, None)
    assert "HTTP_X_FORWARDED_PROTO" not in seen[0] and "HTTP_X_FORWARDED_FOR" not in seen[0]
    assert seen[1]["HTTP_X_FORWARDED_PROTO"] == "https" and seen[1]["HTTP_X_FORWARDED_FOR"] == "192.0.2.1"


# --- the schema and the admin ------------------------------------------------------------------------------
@pytest.mark.django_db
def test_the_schema_needs_a_login_in_production(client: Any) -> None:
    assert client.get("/api/schema/").status_code in (401, 403)


def test_the_schema_can_be_made_public_and_is_with_debug(tmp_path: Path) -> None:
    script = ("import django, json\ndjango.setup()\nfrom django.conf import settings\n"
              "print(json.dumps(settings.SPECTACULAR_SETTINGS['SERVE_PERMISSIONS']))")
    closed = ["rest_framework.permissions.IsAuthenticated"]
    public = ["rest_framework.permissions.AllowAny"]
    assert _python(script, tmp_path) == closed
    assert _python(script, tmp_path, FILIAL_PUBLIC_API_SCHEMA="on") == public
    assert _python(script, tmp_path, FILIAL_DEBUG="on") == public


@pytest.mark.django_db
def test_the_admin_needs_a_login_and_can_be_switched_off(client: Any, settings: Any) -> None:
    response = client.get("/admin/")
    assert response.status_code == 302 and response["Location"].startswith("/admin/login/")
    from filial.urls import admin_urls

    assert admin_urls()
    settings.FILIAL_ADMIN = False
    assert admin_urls() == []
