"""Demo readers and loans of the children's library (file adapter): a few dozen readers, some loans overdue, one
import in the history and two renewals waiting for a librarian."""

from __future__ import annotations

import random
from datetime import date, datetime, timedelta
from typing import Any

from django.utils import timezone

from filial.circulation.cards import card_key
from filial.circulation.models import CirculationLink, ImportJob, Loan, Reader, Renewal, Source
from filial.libraries.models import Unit

FAMILIES = ["Иванов", "Смирнов", "Кузнецов", "Попов", "Васильев", "Петров", "Соколов", "Михайлов", "Новиков",
            "Фёдоров", "Морозов", "Волков", "Алексеев", "Лебедев", "Семёнов", "Егоров", "Павлов", "Козлов"]
GIRLS = ["Анна", "Мария", "Софья", "Алиса", "Варвара", "Полина", "Виктория", "Ева"]
BOYS = ["Артём", "Михаил", "Максим", "Иван", "Лев", "Матвей", "Тимофей", "Марк"]
BOOKS = ["Носов Н. Приключения Незнайки и его друзей", "Успенский Э. Дядя Фёдор, пёс и кот",
         "Линдгрен А. Малыш и Карлсон", "Драгунский В. Денискины рассказы", "Бианки В. Лесная газета",
         "Пушкин А. Сказки", "Волков А. Волшебник Изумрудного города", "Толстой А. Золотой ключик",
         "Булычёв К. Приключения Алисы", "Кэрролл Л. Алиса в Стране чудес", "Роулинг Дж. Гарри Поттер",
         "Твен М. Приключения Тома Сойера", "Житков Б. Что я видел", "Остер Г. Вредные советы"]


def build(*, units: dict[str, Unit], now: datetime) -> dict[str, int]:
    unit = units["children"]
    today = timezone.localtime(now, unit.tz).date()
    rnd = random.Random(2026)
    CirculationLink.objects.create(unit=unit, adapter=CirculationLink.Adapter.FILE,
                                   sync_state=CirculationLink.SyncState.OK, last_sync_at=now - timedelta(hours=3))
    readers = []
    for i in range(36):
        girl = i % 2 == 0
        family = FAMILIES[i % len(FAMILIES)] + ("а" if girl else "")
        first = (GIRLS if girl else BOYS)[(i // 2) % 8]
        readers.append(Reader(system_id=unit.system_id, unit=unit, card=f"Д-{1001 + i}",
                              card_key=card_key(f"Д-{1001 + i}"), name=f"{family} {first}",
                              contact_preferences={"messages": i % 3 != 0}))
    readers = Reader.objects.bulk_create(readers)
    job = ImportJob.objects.create(unit=unit, format=ImportJob.Format.CSV, original_name="выдачи-ЦГДБ.csv",
                                   state=ImportJob.State.DONE, full=True, started_at=now - timedelta(hours=3),
                                   finished_at=now - timedelta(hours=3))
    loans: list[Loan] = []
    for n, reader in enumerate(readers):
        for k in range(1 + rnd.randrange(3)):
            issued = today - timedelta(days=rnd.randrange(3, 45))
            due = issued + timedelta(days=14)
            returned: date | None = None
            if rnd.random() < 0.25:
                returned = min(due, today - timedelta(days=1))
            loans.append(Loan(reader=reader, unit=unit, barcode=f"02{n:03d}{k:02d}{rnd.randrange(1000):03d}",
                              title=rnd.choice(BOOKS), issued=issued, due=due, returned=returned,
                              renewals=rnd.choice([0, 0, 0, 1]), source=Source.FILE, last_import=job))
    loans = Loan.objects.bulk_create(loans)
    ImportJob.objects.filter(pk=job.pk).update(total=len(loans), processed=len(loans), created_count=len(loans),
                                               readers_count=len(readers))
    waiting = [loan for loan in loans if loan.returned is None and loan.due < today][:2]
    for loan in waiting:
        Renewal.objects.create(loan=loan, source=Renewal.Channel.READER, state=Renewal.State.QUEUED)
    open_loans = [loan for loan in loans if loan.returned is None]
    return {"readers": len(readers), "loans": len(loans),
            "overdue": sum(1 for loan in open_loans if loan.due < today)}


def remove(unit_ids: list[Any]) -> None:
    """Readers and loans hold on to their units: delete them before the units go."""
    Loan.objects.filter(unit_id__in=unit_ids).delete()
    Reader.objects.filter(unit_id__in=unit_ids).delete()
