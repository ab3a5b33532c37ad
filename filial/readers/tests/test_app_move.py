"""The readers' models moved from ``circulation`` to this app with their tables: an installation migrated from the
schema before the move keeps every row, its content types (same ids, new label), its audit entries' types, and the
database does not change; the move migrates back and forth. Tasks queued under the old module's names still run."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.contrib.contenttypes.models import ContentType
from django.db import connection
from django.db.migrations.executor import MigrationExecutor
from django.utils import timezone

from filial.accounts.models import AuditEntry
from filial.circulation.models import Reader
from filial.readers.models import ConsentText, LinkCode, ReaderConsent, ReaderIdentity

BEFORE = [("circulation", "0004_reader_card_key"), ("readers", None)]


def _schema() -> dict[str, list[tuple[str, str]]]:
    """Every table's columns and types (and its constraints' and indexes' names), as the database has them."""
    out: dict[str, list[tuple[str, str]]] = {}
    with connection.cursor() as cursor:
        for table in sorted(connection.introspection.table_names(cursor)):
            described = connection.introspection.get_table_description(cursor, table)
            columns = [(c.name, str(c.type_code)) for c in described]
            constraints = sorted(connection.introspection.get_constraints(cursor, table))
            out[table] = columns + [(name, "") for name in constraints]
    return out


def _migrate(targets: list[tuple[str, str | None]] | None = None) -> MigrationExecutor:
    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate(targets or executor.loader.graph.leaf_nodes())
    return executor


@pytest.mark.django_db(transaction=True)
def test_an_installation_from_before_the_move_keeps_its_readers_data(net: Any) -> None:
    page = net.channels["central_vk"].pk
    reader = Reader.objects.create(system=net.system, unit=net.central, card="Д-1013", card_key="д1013", name="Р")
    after = _schema()
    moved_type = ContentType.objects.get(app_label="readers", model="readeridentity")
    executor = _migrate(BEFORE)
    try:
        assert _schema() == after  # the move back changed no table either
        old = executor.loader.project_state(("circulation", "0004_reader_card_key")).apps
        assert ContentType.objects.get(pk=moved_type.pk).app_label == "circulation"
        text = old.get_model("circulation", "ConsentText").objects.create(
            system_id=net.system.pk, version=1, purpose="Напоминания", text="Согласен")
        consent = old.get_model("circulation", "ReaderConsent").objects.create(
            reader_id=reader.pk, system_id=net.system.pk, channel_id=page, person_id="42", consent_text=text,
            version=1, given_at=timezone.now())
        old.get_model("circulation", "ReaderIdentity").objects.create(
            reader_id=reader.pk, channel_id=page, person_id="42", consent=consent, linked_at=timezone.now())
        old.get_model("circulation", "LinkCode").objects.create(
            reader_id=reader.pk, code_hash="x" * 64, expires_at=timezone.now() + timedelta(hours=1))
        AuditEntry.objects.create(action="reader.link", object_type="circulation.readeridentity", object_id="1",
                                  system=net.system)
    finally:
        _migrate()
    assert _schema() == after
    identity = ReaderIdentity.objects.select_related("consent__consent_text").get()
    assert identity.reader_id == reader.pk and identity.consent is not None
    assert identity.consent.consent_text.text == "Согласен"
    assert ReaderConsent.objects.count() == ConsentText.objects.count() == LinkCode.objects.count() == 1
    assert ContentType.objects.get(pk=moved_type.pk).app_label == "readers"
    assert ContentType.objects.get_for_model(ReaderIdentity).pk == moved_type.pk
    assert AuditEntry.objects.get(action="reader.link").object_type == "readers.readeridentity"


def test_tasks_queued_under_the_old_module_run_the_readers_tasks(net: Any, monkeypatch: Any) -> None:
    from huey.contrib.djhuey import HUEY

    from filial.readers import reminders, tasks

    ran: list[Any] = []

    def plan(**kwargs: Any) -> reminders.PlanReport:
        ran.append(kwargs["unit_ids"])
        return reminders.PlanReport()

    monkeypatch.setattr(reminders, "plan", plan)
    task_class = HUEY._registry.string_to_task("filial.circulation.tasks_debtors.plan_reminders")
    task_class(([net.central.pk],), {}).execute()
    assert ran == [[net.central.pk]]
    for name in ("dialogue_run", "plan_reminders_hourly", "sync_reminder_states", "erase_expired_readers"):
        assert HUEY._registry.string_to_task(f"filial.circulation.tasks_debtors.{name}")
        assert getattr(tasks, name)


def test_the_dialogue_registers_from_the_apps_ready_not_on_import() -> None:
    import importlib

    from django.apps import apps
    from django.db.models.signals import post_save

    from filial.circulation.models import Renewal
    from filial.inbox import handlers
    from filial.readers import dialogue

    assert dialogue.HANDLER_NAME in handlers.registered()  # registered at start (ReadersConfig.ready)
    handlers.unregister(dialogue.HANDLER_NAME)
    post_save.disconnect(sender=Renewal, dispatch_uid="readers.dialogue.relay")
    try:
        importlib.reload(dialogue)  # importing the module registers nothing
        assert dialogue.HANDLER_NAME not in handlers.registered()
    finally:
        apps.get_app_config("readers").ready()
    assert dialogue.HANDLER_NAME in handlers.registered()
