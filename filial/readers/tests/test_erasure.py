"""Erasure erases: no row (and on SQLite no byte of the database file or its WAL) keeps a string of the erased
reader; the consent stays provable without the person; the retention job erases readers nobody needs."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from django.apps import apps
from django.db import models
from django.db.models import Q
from django.utils import timezone

from filial.readers.tests import erasure_scenario as scenario

pytestmark = pytest.mark.django_db


def leftovers(strings: list[str]) -> list[str]:
    """``model.field: string`` for every text, character or JSON column of every model that holds a string."""
    found: list[str] = []
    for model in apps.get_models():
        if model._meta.proxy or not model._meta.managed:
            continue
        query = Q()
        fields = []
        for field in model._meta.concrete_fields:
            if isinstance(field, models.JSONField):
                fields.append(field.name)
                for s in strings:
                    query |= Q(**{f"{field.name}__icontains": s}) | Q(
                        **{f"{field.name}__icontains": json.dumps(s)[1:-1]})
            elif isinstance(field, models.CharField | models.TextField):
                fields.append(field.name)
                for s in strings:
                    query |= Q(**{f"{field.name}__contains": s})
        if not fields:
            continue
        for row in model._default_manager.filter(query).values(*fields):
            for name, value in row.items():
                text = json.dumps(value, ensure_ascii=False) if not isinstance(value, str) else value
                found += [f"{model._meta.label}.{name}: {s}" for s in strings if s in text]
    return sorted(set(found))


def test_erasure_leaves_no_string_of_the_reader_in_any_row() -> None:
    state = scenario.build()
    assert leftovers(scenario.STRINGS), "the scenario stores the strings first"
    scenario.erase(state)
    assert leftovers(scenario.STRINGS) == []


@pytest.mark.skipif(bool(os.environ.get("FILIAL_DATABASE_URL")), reason="the SQLite file; PostgreSQL: rows above")
def test_erasure_leaves_no_byte_of_the_reader_in_the_sqlite_files(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("FILIAL_")}
    env.update(FILIAL_DATA_DIR=str(tmp_path), DJANGO_SETTINGS_MODULE="filial.settings")
    subprocess.run([sys.executable, "-m", "django", "migrate", "-v", "0"], env=env, check=True, timeout=300)
    done = subprocess.run([sys.executable, "-m", "filial.readers.tests.erasure_scenario"], env=env,
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    files = [tmp_path / "filial.sqlite3", tmp_path / "filial.sqlite3-wal"]
    data = {f.name: f.read_bytes() for f in files if f.exists()}
    assert data["filial.sqlite3"] and len(data.get("filial.sqlite3-wal", b"")) == 0  # checkpointed, truncated
    found = [f"{name}: {s}" for name, blob in data.items() for s in scenario.STRINGS
             for form in scenario.encodings(s) if form in blob]
    assert found == []


def test_erasure_keeps_a_proof_of_consent_without_the_person() -> None:
    from filial.core.privacy import pseudonym
    from filial.readers import linking
    from filial.readers.models import ReaderConsent

    state = scenario.build()
    given = ReaderConsent.objects.get()
    scenario.erase(state)
    proof = ReaderConsent.objects.get()
    assert proof.pk == given.pk and proof.reader is None
    assert proof.given_at == given.given_at and proof.withdrawn_at is not None and proof.erased_at is not None
    assert proof.version == given.version == proof.consent_text.version and proof.channel == state["channel"]
    assert proof.person_id == pseudonym("vk", scenario.PERSON) != scenario.PERSON
    assert linking.consent_proof(network="vk", person_id=scenario.PERSON) == [proof]
    assert linking.consent_proof(network="ok", person_id=scenario.PERSON) == []


def test_pseudonyms_are_keyed_stable_and_per_network(settings: Any) -> None:
    from filial.core.privacy import pseudonym

    first = pseudonym("vk", "501")
    assert first == pseudonym("vk", "501") and first.startswith("p:") and "501" not in first[2:6]
    assert pseudonym("ok", "501") != first and pseudonym(first[:2] and "vk", first) == first
    settings.SECRET_KEY = "another-installation-key-0123456789"
    assert pseudonym("vk", "501") != first


# --- retention ------------------------------------------------------------------------------------------------
def _readers(net: Any) -> dict[str, Any]:
    from filial.circulation.models import Loan, Reader
    from filial.readers.models import DialogueAction

    today = timezone.now().date()
    old = timezone.now() - timedelta(days=400)
    made = {
        "idle": Reader.objects.create(system=net.system, unit=net.central, card="R-IDLE", name="Давний Читатель"),
        "on_loan": Reader.objects.create(system=net.system, unit=net.central, card="R-LOAN", name="С Книгой"),
        "returned_lately": Reader.objects.create(system=net.system, unit=net.central, card="R-BACK", name="Вернул"),
        "talked_lately": Reader.objects.create(system=net.system, unit=net.central, card="R-TALK", name="Писал"),
    }
    Reader.objects.filter(pk__in=[r.pk for r in made.values()]).update(created_at=old)
    Loan.objects.create(reader=made["idle"], unit=net.central, barcode="I1", issued=today - timedelta(days=500),
                        due=today - timedelta(days=470), returned=today - timedelta(days=469))
    Loan.objects.create(reader=made["on_loan"], unit=net.central, barcode="L1", issued=today - timedelta(days=500),
                        due=today - timedelta(days=470))
    Loan.objects.create(reader=made["returned_lately"], unit=net.central, barcode="B1",
                        issued=today - timedelta(days=60), due=today - timedelta(days=30),
                        returned=today - timedelta(days=20))
    DialogueAction.objects.create(channel=net.channels["central_vk"], person_id="777", reader=made["talked_lately"],
                                  kind=DialogueAction.Kind.LOANS, heard="мои книги")
    DialogueAction.objects.create(channel=net.channels["central_vk"], person_id="778", kind="reply",
                                  heard="старое слово без читателя")
    DialogueAction.objects.filter(reader__isnull=True).update(created_at=old)
    return made


def test_retention_erases_idle_readers_without_loans_after_the_period(net: Any, settings: Any) -> None:
    from filial.accounts.models import AuditEntry
    from filial.circulation.models import Reader
    from filial.readers import linking
    from filial.readers.models import DialogueAction
    from filial.readers.tasks import erase_expired_readers

    settings.FILIAL_READER_RETENTION_DAYS = 365
    made = _readers(net)
    erase_expired_readers.call_local()  # the periodic task, today
    assert set(Reader.objects.values_list("card", flat=True)) == {"R-LOAN", "R-BACK", "R-TALK"}
    assert not AuditEntry.objects.filter(object_repr__contains="Давний").exists()
    entry = AuditEntry.objects.get(action="circulation.reader.retention")
    assert entry.changes["reader"] == made["idle"].pk and "R-IDLE" not in json.dumps(entry.changes)
    assert DialogueAction.objects.get(person_id="778").heard == ""
    assert DialogueAction.objects.get(reader=made["talked_lately"]).heard == "мои книги"
    # A year and a half later nobody has done anything: the readers without a loan on hand go too.
    later = timezone.now() + timedelta(days=550)
    assert linking.retention_run(later)["readers"] == 2
    assert set(Reader.objects.values_list("card", flat=True)) == {"R-LOAN"}
    settings.FILIAL_READER_RETENTION_DAYS = 0  # off
    Reader.objects.create(system=net.system, unit=net.central, card="R-NEW")
    assert linking.retention_run(timezone.now() + timedelta(days=5000))["readers"] == 0


def test_retention_is_a_daily_periodic_task() -> None:
    from filial.readers.tasks import erase_expired_readers

    assert erase_expired_readers.task_class().validate_datetime(timezone.now().replace(hour=2, minute=40))
    assert not erase_expired_readers.task_class().validate_datetime(timezone.now().replace(hour=3, minute=40))
