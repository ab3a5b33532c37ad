"""``filial createadmin``: an administrator of a library system (a membership, not a Django superuser)."""

from __future__ import annotations

import getpass
from typing import Any

from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import transaction
from django.utils.translation import gettext as _

from filial.accounts.models import Role, User
from filial.accounts.services import user_create
from filial.libraries.models import LibrarySystem, Unit
from filial.libraries.services import system_create, unit_create


class Command(BaseCommand):
    help = ("Create a user with the 'admin' role in the first unit of a library system; the system and its "
            "first unit are created if there are none.")

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--username")
        parser.add_argument("--password", help="Asked for if not given (interactive).")
        parser.add_argument("--system", help="The library system's name (created if no system has it).")
        parser.add_argument("--email", default="")
        parser.add_argument("--noinput", "--no-input", action="store_false", dest="interactive",
                            help="Never ask; fail if something is missing.")

    def _ask(self, prompt: str, interactive: bool, default: str = "") -> str:
        if not interactive:
            if default:
                return default
            raise CommandError(_("%(what)s is required (run interactively or pass it as an option).")
                               % {"what": prompt})
        suffix = f" [{default}]" if default else ""
        value = input(f"{prompt}{suffix}: ").strip()
        return value or default

    def handle(self, *args: Any, **options: Any) -> None:
        interactive: bool = options["interactive"]
        username = (options["username"] or "").strip() or self._ask(_("Username"), interactive)
        if not username:
            raise CommandError(_("A username is required."))
        if User.objects.filter(username=username).exists():
            raise CommandError(_("The user %(name)s already exists.") % {"name": username})

        system = self._system(options["system"], interactive)
        password = options["password"] or self._password(interactive)
        try:
            validate_password(password, User(username=username, email=options["email"]))
        except ValidationError as exc:
            raise CommandError(" ".join(exc.messages)) from exc

        with transaction.atomic():
            if system is None:
                name = options["system"] or self._ask(_("Library system name"), interactive,
                                                      default=_("Library system"))
                system = system_create(actor=None, name=name)
            unit = Unit.objects.filter(system=system, parent=None).order_by("path", "pk").first()
            if unit is None:
                unit = unit_create(actor=None, system=system, name=_("Central library"), kind=Unit.Kind.CENTRAL)
            user = user_create(actor=None, username=username, password=password, email=options["email"],
                               memberships=[(unit, Role.ADMIN)])
        self.stdout.write(_("Created %(user)s: administrator of %(system)s (unit: %(unit)s).")
                          % {"user": user.username, "system": system.name, "unit": unit.name})

    def _system(self, name: str | None, interactive: bool) -> LibrarySystem | None:
        if name:
            return LibrarySystem.objects.filter(name=name).order_by("pk").first()
        return LibrarySystem.objects.order_by("pk").first()

    def _password(self, interactive: bool) -> str:
        if not interactive:
            raise CommandError(_("A password is required (--password)."))
        for _attempt in range(3):
            first = getpass.getpass(_("Password: "))
            second = getpass.getpass(_("Password (again): "))
            if first and first == second:
                return first
            self.stderr.write(_("The passwords are empty or do not match."))
        raise CommandError(_("No password given."))
