"""The ``filial`` console command: passthrough, demo, createadmin, worker --burst, and a real ``filial run``."""

from __future__ import annotations

import io
import os
import re
import signal
import socket
import sqlite3
import subprocess
import sys
import time
import urllib.error
import urllib.request
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.utils import timezone
from huey.storage import MemoryStorage

from filial import cli
from filial.accounts.models import AuditEntry, Membership, User
from filial.channels.models import Channel
from filial.demo.build import load_demo
from filial.demo.data import DEMO_PASSWORD
from filial.libraries.models import LibrarySystem, Unit
from filial.networks import hosting
from filial.networks.tests.helpers import free_port_block
from filial.publishing.media import media_upload
from filial.publishing.models import Event, Media, Post

REPO = Path(__file__).resolve().parents[3]
TZ = ZoneInfo("Asia/Yekaterinburg")


# --- passthrough and usage -----------------------------------------------------------------------------


def test_usage_lists_the_commands(capsys: Any) -> None:
    assert cli.main([]) == 0
    out = capsys.readouterr().out
    for word in ("run", "web", "worker [--burst]", "demo [--force]", "createadmin"):
        assert word in out


def test_passthrough_runs_django_check(capsys: Any, settings: Any) -> None:
    settings.FILIAL_ENCRYPTION_KEYS = "cw_0x689RpI-jtRR7oE8h_eQsKImvJapLeSbXpwF4e4="  # else warning filial.W001
    assert cli.main(["check"]) == 0
    assert "System check identified no issues" in capsys.readouterr().out


def test_passthrough_unknown_command_fails(capsys: Any) -> None:
    with pytest.raises(SystemExit) as exit_info:
        cli.main(["no-such-command"])
    assert exit_info.value.code == 1
    assert "Unknown command" in capsys.readouterr().err


def test_run_rejects_arguments(capsys: Any) -> None:
    assert cli.main(["run", "--what"]) == 2
    assert "usage: filial run" in capsys.readouterr().err


# --- filial demo ---------------------------------------------------------------------------------------


def test_demo_command_loads_then_refuses_a_second_load_unless_forced(db: Any) -> None:
    out = io.StringIO()
    started = time.monotonic()
    call_command("demo", stdout=out)
    assert time.monotonic() - started < 10
    assert DEMO_PASSWORD in out.getvalue() and "metodist" in out.getvalue()
    counts = (Unit.objects.count(), Channel.objects.count(), Post.objects.count(), User.objects.count())
    assert counts[:2] == (4, 12)
    with pytest.raises(CommandError, match="--force"):
        call_command("demo", stdout=io.StringIO())
    assert (Unit.objects.count(), Channel.objects.count(), Post.objects.count(), User.objects.count()) == counts
    call_command("demo", "--force", stdout=io.StringIO())
    assert LibrarySystem.objects.count() == 1
    assert (Unit.objects.count(), Channel.objects.count(), Post.objects.count(), User.objects.count()) == counts


def test_demo_command_refuses_a_database_with_another_system(db: Any) -> None:
    LibrarySystem.objects.create(name="Другая ЦБС")
    with pytest.raises(CommandError):
        call_command("demo", stdout=io.StringIO())
    assert not Unit.objects.exists()
    assert not User.objects.exists()


def test_demo_is_anchored_to_now(db: Any) -> None:
    # A future anchor (the services accept only future times), in late May: library and city holidays near it.
    year = timezone.now().year + 1
    now = datetime(year, 5, 20, 9, 0, tzinfo=TZ)
    load_demo(now=now)
    holidays = set(Event.objects.filter(scope="city", starts_at__year=year).values_list("title", flat=True))
    assert {"Общероссийский день библиотек", "Пушкинский день России", "День Победы"} <= holidays
    assert "День знаний" not in holidays
    scheduled = Post.objects.filter(state="scheduled")
    assert scheduled.count() >= 4
    assert not scheduled.filter(publish_at__lte=now).exists()
    assert Post.objects.filter(state="published", publish_at__year=year, publish_at__lt=now).count() >= 5


# --- filial createadmin --------------------------------------------------------------------------------


def test_createadmin_on_an_empty_database_creates_system_unit_and_admin(db: Any) -> None:
    out = io.StringIO()
    call_command("createadmin", "--username", "boss", "--password", "a-long-secret-2024", "--system",
                 "ЦБС г. Энска", "--noinput", stdout=out)
    user = User.objects.get(username="boss")
    assert user.check_password("a-long-secret-2024")
    assert not user.is_superuser and not user.is_staff
    system = LibrarySystem.objects.get()
    assert system.name == "ЦБС г. Энска"
    unit = Unit.objects.get()
    assert unit.system == system and unit.parent is None and unit.kind == "central"
    assert list(Membership.objects.values_list("user__username", "unit", "role")) == [("boss", unit.pk, "admin")]
    assert AuditEntry.objects.filter(action="user.create", object_id=str(user.pk)).exists()
    assert "boss" in out.getvalue()


def test_createadmin_joins_the_first_unit_of_the_existing_system(net: Any) -> None:
    call_command("createadmin", "--username", "boss", "--password", "a-long-secret-2024", "--noinput",
                 stdout=io.StringIO())
    membership = Membership.objects.get(user__username="boss")
    assert membership.role == "admin" and membership.unit == net.central
    assert LibrarySystem.objects.count() == 1


def test_createadmin_refuses_weak_passwords_and_existing_users(net: Any) -> None:
    with pytest.raises(CommandError):
        call_command("createadmin", "--username", "boss", "--password", "12345678", "--noinput",
                     stdout=io.StringIO())
    with pytest.raises(CommandError, match="already exists"):
        call_command("createadmin", "--username", "admin", "--password", "a-long-secret-2024", "--noinput",
                     stdout=io.StringIO())
    with pytest.raises(CommandError):
        call_command("createadmin", "--username", "boss", "--noinput", stdout=io.StringIO())
    assert not User.objects.filter(username="boss").exists()


def test_createadmin_interactive(db: Any, monkeypatch: Any) -> None:
    answers = iter(["chief", "ЦБС г. Энска"])
    monkeypatch.setattr("builtins.input", lambda _prompt="": next(answers))
    passwords = iter(["a-long-secret-2024", "a-long-secret-2024"])
    monkeypatch.setattr("getpass.getpass", lambda _prompt="": next(passwords))
    call_command("createadmin", stdout=io.StringIO())
    assert Membership.objects.get(user__username="chief").role == "admin"
    assert LibrarySystem.objects.get().name == "ЦБС г. Энска"


# --- filial worker --burst ------------------------------------------------------------------------------


@pytest.fixture
def queue(monkeypatch: Any) -> Any:
    """A real (non-immediate) queue, in memory so that tests do not share one."""
    from huey.contrib.djhuey import HUEY

    monkeypatch.setattr(HUEY, "_immediate", False)
    monkeypatch.setattr(HUEY, "storage", MemoryStorage("filial-test-queue"))
    return HUEY


def _jpeg() -> bytes:
    from filial.demo.images import draw_photo

    return draw_photo(7, "books", size=(400, 300))


@pytest.mark.django_db(transaction=True)
def test_worker_burst_executes_queued_tasks_and_exits(net: Any, queue: Any, capsys: Any) -> None:
    content = _jpeg()
    media = media_upload(actor=net.users["editor_central"], unit=net.central, fh=io.BytesIO(content),
                         size=len(content), name="shelf.jpg")
    # The upload queued its resized copies for the worker; nothing has run yet.
    assert queue.pending_count() == 1
    assert Media.objects.get(pk=media.pk).renditions == {}

    assert cli.main(["worker", "--burst"]) == 0

    assert "executed 1 task(s), 0 failed" in capsys.readouterr().out
    assert queue.pending_count() == 0
    renditions = Media.objects.get(pk=media.pk).renditions
    assert set(renditions) == {"thumb", "web"}


def test_worker_burst_on_an_empty_queue(queue: Any, capsys: Any) -> None:
    assert cli.main(["worker", "--burst"]) == 0
    assert "executed 0 task(s)" in capsys.readouterr().out


# --- filial run ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("has_system", [False, True])
def test_run_loads_the_demo_only_into_an_empty_database(db: Any, monkeypatch: Any, has_system: bool) -> None:
    """``filial run`` prepares the database each start: migrate, collect static files, and the demo only
    when there is no library system yet (a restart, or a network made with createadmin, keeps its data)."""
    import django.core.management
    import django.db

    import filial.demo.build

    if has_system:
        call_command("createadmin", "--username", "director", "--password", "Lilac-Reading-Room-42", "--noinput",
                     stdout=io.StringIO())
    commands: list[str] = []
    loads: list[bool] = []
    monkeypatch.setattr(django.core.management, "call_command", lambda name, **kw: commands.append(name))
    monkeypatch.setattr(filial.demo.build, "load_demo", lambda: loads.append(True))
    monkeypatch.setattr(django.db.connections, "close_all", lambda: None)  # the test's transaction stays open
    assert cli.prepare() is (not has_system)
    assert commands == ["migrate", "collectstatic"]
    assert loads == ([] if has_system else [True])



def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _get(url: str) -> tuple[int, bytes]:
    try:
        with urllib.request.urlopen(url, timeout=5) as response:  # noqa: S310 - a local test server
            return response.status, response.read()
    except urllib.error.HTTPError as exc:
        return exc.code, b""


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def _start_run(tmp_path: Path, port: int, emulator_ports: int = 0) -> tuple[subprocess.Popen[bytes], Path]:
    env = {k: v for k, v in os.environ.items()
           if k not in {"FILIAL_DATABASE_URL", "FILIAL_REDIS_URL", "FILIAL_HUEY_IMMEDIATE",
                        *hosting.BASE_URL_SETTINGS.values()}}
    env.update(FILIAL_DATA_DIR=str(tmp_path / "data"), FILIAL_HOST="127.0.0.1", FILIAL_PORT=str(port),
               FILIAL_EMULATOR_PORT_BASE=str(emulator_ports or free_port_block()),
               DJANGO_SETTINGS_MODULE="filial.settings")
    log_path = tmp_path / "run.log"
    with log_path.open("wb") as log:
        proc = subprocess.Popen([sys.executable, "-m", "filial.cli", "run"], cwd=REPO, env=env,
                                stdout=log, stderr=subprocess.STDOUT)
    return proc, log_path


def _children(output: str) -> list[int]:
    return [int(pid) for pid in re.findall(r"started (?:emulators|web|worker) \(pid (\d+)\)", output)]


def _cleanup(proc: subprocess.Popen[bytes], children: list[int]) -> None:
    if proc.poll() is None:
        proc.kill()
        proc.wait()
    for pid in children:
        if _alive(pid):
            os.kill(pid, signal.SIGKILL)


def test_filial_run_serves_and_stops_cleanly_on_ctrl_c(tmp_path: Path) -> None:
    port = _free_port()
    emulator_ports = free_port_block()
    proc, log_path = _start_run(tmp_path, port, emulator_ports)
    base = f"http://127.0.0.1:{port}"
    children: list[int] = []
    try:
        deadline = time.monotonic() + 120
        status = 0
        while time.monotonic() < deadline:
            assert proc.poll() is None, f"filial run exited early:\n{log_path.read_text()}"
            try:
                status, _body = _get(f"{base}/login/")
            except OSError:
                status = 0
            if status == 200:
                break
            time.sleep(0.25)
        assert status == 200, log_path.read_text()

        css_status, css = _get(f"{base}/static/filial/filial.css")
        assert css_status == 200 and len(css) > 100

        output = log_path.read_text()
        assert f"http://127.0.0.1:{port}/" in output
        assert DEMO_PASSWORD in output and "metodist" in output
        children = _children(output)
        assert len(children) == 3 and all(_alive(pid) for pid in children)
        # The emulators serve the demo's pages: the VK page of the central library is there.
        emulators = hosting.emulator_url("vk", emulator_ports)
        deadline = time.monotonic() + 30
        while "state in" not in log_path.read_text() and time.monotonic() < deadline:
            time.sleep(0.2)
        status, page = _get(f"{emulators}/club218450101")
        assert status == 200 and "Центральная городская библиотека Медногорска" in page.decode()

        proc.send_signal(signal.SIGINT)
        assert proc.wait(timeout=15) == 0, log_path.read_text()
        assert not [pid for pid in children if _alive(pid)], "children survived filial run"
    finally:
        _cleanup(proc, children)

    # Its own SQLite database in the data folder, with the demo loaded once.
    with sqlite3.connect(tmp_path / "data" / "filial.sqlite3") as db:
        assert db.execute("SELECT COUNT(*) FROM libraries_librarysystem").fetchone() == (1,)
    assert (tmp_path / "data" / "static" / "filial" / "filial.css").exists()


def test_filial_run_stops_everything_when_a_child_dies(tmp_path: Path) -> None:
    # The port is taken, so the web server dies at start: the worker is stopped and run exits non-zero.
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        proc, log_path = _start_run(tmp_path, int(busy.getsockname()[1]))
        children: list[int] = []
        try:
            code = proc.wait(timeout=120)
            output = log_path.read_text()
            children = _children(output)
            assert code == 1, output
            assert "web exited unexpectedly" in output
            assert len(children) == 3 and not [pid for pid in children if _alive(pid)]
        finally:
            _cleanup(proc, children)


def test_filial_run_goes_on_without_the_emulators(tmp_path: Path) -> None:
    # Every emulator port is taken: the emulators exit, and the application still serves (they are optional).
    port, emulator_ports = _free_port(), free_port_block()
    taken = []
    try:
        for offset in range(4):
            sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            taken.append(sock)
            sock.bind(("127.0.0.1", emulator_ports + offset))
            sock.listen()
        proc, log_path = _start_run(tmp_path, port, emulator_ports)
        children: list[int] = []
        try:
            deadline = time.monotonic() + 120
            while "emulators exited" not in log_path.read_text() and time.monotonic() < deadline:
                assert proc.poll() is None, log_path.read_text()
                time.sleep(0.25)
            output = log_path.read_text()
            assert "emulators exited (code 1); the rest go on." in output and "VK not started" in output
            status = 0
            while time.monotonic() < deadline and status != 200:
                try:
                    status, _body = _get(f"http://127.0.0.1:{port}/login/")
                except OSError:
                    time.sleep(0.25)
            assert status == 200 and proc.poll() is None
            children = _children(log_path.read_text())
            proc.send_signal(signal.SIGINT)
            assert proc.wait(timeout=15) == 0, log_path.read_text()
            assert not [pid for pid in children if _alive(pid)]
        finally:
            _cleanup(proc, children)
    finally:
        for sock in taken:
            sock.close()
