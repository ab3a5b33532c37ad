"""The ``filial`` console command.

``filial run`` prepares the installation and supervises the network emulators, the web server and the worker;
``web``, ``worker``, ``emulators``, ``demo`` and ``createadmin`` are Filial's management commands
(filial/core/management/commands/); any other word is handed to Django (``filial migrate``, ``filial shell``,
``filial check``...).
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass
from types import FrameType

USAGE = """\
usage: filial <command> [options]

  run                      migrate, collect static files, load the demo into an empty database,
                           then start the network emulators, the web server and the worker;
                           Ctrl-C stops everything
  web                      serve the web application (waitress) on FILIAL_HOST:FILIAL_PORT
  worker [--burst]         run the background worker (Huey); --burst: run the queued tasks and exit
  emulators                serve the VK, OK, Telegram and MAX emulators on loopback
                           (FILIAL_EMULATOR_PORT_BASE, 8801..8804)
  demo [--force]           load the demo network of the Mednogorsk libraries
  createadmin              create an administrator of a library system
  circulation sync [--unit ID]  pull loans from the units' library systems now (SIP2, Koha, drop folder)
  stats_backfill --from DAY [--to DAY] [--page ID]  past days of the pages' audience where the network keeps them (VK)
  <django command>         any Django management command: migrate, shell, check, ...
  help                     list every command
"""

STOP_TIMEOUT = 10.0
SUPERVISOR_ENV = "FILIAL_SUPERVISOR_PID"


def _setup_env() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "filial.settings")


def main(argv: Sequence[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    _setup_env()
    if not args or args[0] in {"-h", "--help"}:
        print(USAGE, end="")
        return 0
    if args[0] == "run":
        return run(args[1:])
    from django.core.management import execute_from_command_line

    execute_from_command_line(["filial", *args])
    return 0


# --- filial run ----------------------------------------------------------------------------------


@dataclass
class Child:
    name: str
    argv: list[str]
    process: subprocess.Popen[bytes] | None = None
    required: bool = True  # if it exits, everything stops; an optional child's exit is only reported


def child_processes(*, emulators: bool) -> list[Child]:
    """What ``filial run`` starts, in order (stopped in reverse order). The network emulators only for the demo."""
    from django.conf import settings

    python = [sys.executable, "-m", "filial.cli"]
    # The emulators are optional: the application works without them (a busy port only loses the demo's
    # local networks), and a network whose API address is configured explicitly is not emulated.
    children = [Child("emulators", [*python, "emulators", "--skip-configured"], required=False)] if emulators else []
    children.append(Child("web", [*python, "web"]))
    if not settings.HUEY_IMMEDIATE:  # in immediate mode the web process runs the tasks itself
        children.append(Child("worker", [*python, "worker"]))
    return children


def prepare() -> bool:
    """Migrate, collect static files and load the demo into an empty database. True if the demo was loaded."""
    import django
    from django.core.management import call_command
    from django.db import connections

    django.setup()
    from filial.libraries.models import LibrarySystem

    print("filial: preparing the database...", flush=True)
    call_command("migrate", interactive=False, verbosity=0)
    call_command("collectstatic", interactive=False, verbosity=0)
    loaded = False
    if not LibrarySystem.objects.exists():
        from filial.demo.build import load_demo

        print("filial: the database is empty, loading the demo network...", flush=True)
        load_demo()
        loaded = True
    connections.close_all()
    return loaded


def _banner() -> str:
    from django.conf import settings

    from filial.accounts.models import User
    from filial.demo.data import DEMO_PASSWORD, DEMO_USERS

    lines = [f"Filial is running at http://{_url_host(settings.FILIAL_HOST)}:{settings.FILIAL_PORT}/"]
    present = set(User.objects.filter(username__in=[u.username for u in DEMO_USERS])
                  .values_list("username", flat=True))
    if present:
        lines.append(f"Demo logins (password for all: {DEMO_PASSWORD}):")
        for user in DEMO_USERS:
            if user.username in present:
                lines.append(f"  {user.username:<14} {user.role_label}")
    lines.append("Press Ctrl-C to stop.")
    return "\n".join(lines)


def _url_host(host: str) -> str:
    if ":" in host and not host.startswith("["):
        return f"[{host}]"
    return "127.0.0.1" if host in {"0.0.0.0", ""} else host  # noqa: S104


def run(args: Sequence[str] = ()) -> int:
    """Prepare, start the children and supervise them until a signal or an unexpected exit."""
    if args:
        print("usage: filial run   (configure with FILIAL_HOST, FILIAL_PORT, FILIAL_DATA_DIR)", file=sys.stderr)
        return 2
    stop = threading.Event()
    received: list[int] = []

    def on_signal(signum: int, _frame: FrameType | None) -> None:
        received.append(signum)
        stop.set()

    import django

    django.setup()
    from filial.core.startup import warn_at_start

    warn_at_start(sys.stderr)
    try:
        prepare()
        banner = _banner()
        from django.db import connections

        from filial.demo.build import demo_installed
        from filial.networks import hosting

        emulators = demo_installed()
        connections.close_all()
    except KeyboardInterrupt:
        print("filial: interrupted.", file=sys.stderr)
        return 130

    for signum in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        signal.signal(signum, on_signal)

    if not emulators:
        print("filial: no demo network here, the network emulators are not started.", flush=True)
    elif not hosting.emulators_installed():
        emulators = False
        print(f"filial: {hosting.INSTALL_HINT}; the demo's pages cannot publish until they are.", flush=True)
    children = child_processes(emulators=emulators)
    failed: Child | None = None
    env = {**os.environ, SUPERVISOR_ENV: str(os.getpid())}
    try:
        for child in children:
            # Own process group: a Ctrl-C reaches only this supervisor, which then stops the children in order.
            child.process = subprocess.Popen(child.argv, env=env, process_group=0)  # noqa: S603
            print(f"filial: started {child.name} (pid {child.process.pid})", flush=True)
        print(banner, flush=True)
        reported: set[str] = set()
        while not stop.is_set() and failed is None:
            for child in children:
                if child.process is None or child.process.poll() is None or child.name in reported:
                    continue
                if child.required:
                    failed = child
                    break
                reported.add(child.name)
                print(f"filial: {child.name} exited (code {child.process.returncode}); the rest go on.",
                      file=sys.stderr, flush=True)
            stop.wait(0.3)
    finally:
        _stop_all(children)

    if failed is not None and not received:
        code = failed.process.returncode if failed.process else 1
        print(f"filial: {failed.name} exited unexpectedly (code {code}); stopped the rest.", file=sys.stderr)
        return 1
    print("filial: stopped.", flush=True)
    return 0


def _stop_all(children: list[Child]) -> None:
    alive = [c for c in children if c.process is not None and c.process.poll() is None]
    for child in reversed(alive):
        assert child.process is not None
        child.process.terminate()
    deadline = time.monotonic() + STOP_TIMEOUT
    for child in alive:
        assert child.process is not None
        try:
            child.process.wait(timeout=max(deadline - time.monotonic(), 0.1))
        except subprocess.TimeoutExpired:
            print(f"filial: {child.name} did not stop in time, killing it.", file=sys.stderr, flush=True)
            child.process.kill()
            child.process.wait()


def exit_with_supervisor() -> None:
    """In a child of ``filial run``: stop (SIGTERM to self) if the supervisor disappears."""
    expected = os.environ.get(SUPERVISOR_ENV)
    if not expected or not expected.isdigit():
        return

    def watch() -> None:
        while True:
            if os.getppid() != int(expected):
                os.kill(os.getpid(), signal.SIGTERM)
                return
            time.sleep(1.0)

    threading.Thread(target=watch, name="supervisor-watch", daemon=True).start()


if __name__ == "__main__":
    sys.exit(main())
