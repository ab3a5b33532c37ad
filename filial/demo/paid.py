"""The demo's paid services: the automation department («Отдел автоматизации ЦГБ») prints, laminates, scans, cuts
vinyl on its plotter and binds. Its 2014 journal (what already happened, written as rows: schools and kindergartens,
cultural institutions, the Council of Deputies, the MFC and 117 individuals) and a few orders of the last weeks,
written as rows too (the demo may be anchored to another day), some brought by its VK page, a tracked link and a
promo code. The department's posts about its work are marked advertising."""

from __future__ import annotations

import random
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any

from django.utils import timezone

from filial.accounts.models import User
from filial.channels.models import Channel
from filial.libraries.models import Unit
from filial.paid.models import Customer, CustomerCategory, Order, Service, ShortLink
from filial.paid.services import advertiser_update, link_create, promo_create
from filial.publishing.models import Post

LEGAL_NAME = "Муниципальное бюджетное учреждение культуры «Централизованная библиотечная система» г. Медногорска"
DEMO_INN = "5606012345"  # a made-up number for the demo network

SERVICES: tuple[tuple[str, str, str], ...] = (  # name, measure, price
    ("Печать чёрно-белая А4", "стр.", "5.00"),
    ("Печать цветная А4", "стр.", "20.00"),
    ("Ламинирование А4", "лист", "30.00"),
    ("Сканирование", "стр.", "10.00"),
    ("Резка на виниловом плоттере", "изделие", "150.00"),
    ("Переплёт", "шт.", "100.00"),
)

# Organisations that bought services in 2014: category code → names.
ORGANISATIONS_2014: dict[str, tuple[str, ...]] = {
    "education": ("МОБУ «СОШ № 1» г. Медногорска", "МОБУ «СОШ № 3»", "МДОБУ «Детский сад № 5»",
                  "Медногорский индустриальный колледж"),
    "culture": ("МБУК «Дворец культуры „Металлург“»", "Медногорский городской музей"),
    "council": ("Совет депутатов муниципального образования г. Медногорск",),
    "mfc": ("МФЦ г. Медногорска",),
}
INDIVIDUALS_2014 = 117  # distinct anonymous individuals (no names kept without consent)


def build(*, units: dict[str, Unit], channels: dict[str, Channel], users: dict[str, User], now: datetime,
          admin: Any) -> dict[str, int]:
    unit = units["automation"]
    system = unit.system
    advertiser_update(actor=admin, system=system, legal_name=LEGAL_NAME, inn=DEMO_INN)
    services = [Service.objects.create(unit=unit, name=name, measure=measure, price=Decimal(price))
                for name, measure, price in SERVICES]
    categories = {c.code: c for c in CustomerCategory.objects.filter(system=system)}
    rnd = random.Random(2014)
    orders: list[Order] = []

    def order(customer: Customer, day: date, service: Service, quantity: int) -> None:
        orders.append(Order(unit=unit, service=service, customer=customer, date=day, quantity=Decimal(quantity),
                            total=service.price * quantity))

    first, last = date(2014, 6, 2), date(2014, 12, 26)
    span = (last - first).days
    for code, names in ORGANISATIONS_2014.items():
        for name in names:
            customer = Customer.objects.create(system=system, category=categories[code], name=name)
            for _ in range(rnd.randint(1, 4)):
                order(customer, first + timedelta(days=rnd.randint(0, span)), rnd.choice(services),
                      rnd.randint(5, 60))
    individuals = Customer.objects.bulk_create([
        Customer(system=system, category=categories["individual"]) for _ in range(INDIVIDUALS_2014)])
    for customer in individuals:
        service = rnd.choice(services)
        order(customer, first + timedelta(days=rnd.randint(0, span)), service,
              1 if service.price >= 100 else rnd.randint(1, 20))
    Order.objects.bulk_create(orders)

    # The last weeks, at the desk: the VK page's tracked link and promo code bring some customers.
    editor = users["ed_automation"]
    vk = channels["automation_vk"]
    link_create(actor=editor, target="https://vk.com/mednogorsk_vinyl?w=product", channel=vk, code="vinyl")
    ShortLink.objects.filter(code="vinyl").update(visits=46)
    promo = promo_create(actor=editor, code="VINYL10", channel=vk)
    # What already happened is written as rows (the services refuse dates after today, and the demo may be anchored
    # to another day): anonymous individuals, every third with the promo code, every third from the VK page.
    today = timezone.localtime(now, unit.tz).date()
    recent_orders = []
    for i in range(12):
        service = services[(i * 5) % len(services)]
        quantity = Decimal(1 + i)
        total = service.price * quantity
        customer = Customer.objects.create(system=system, category=categories["individual"])
        row = Order(unit=unit, service=service, customer=customer, date=today - timedelta(days=2 + i * 2),
                    quantity=quantity, total=total, created_by=editor)
        if i % 3 == 0:
            row.promo_code, row.source_channel = promo, vk
            row.total = (total * Decimal("0.9")).quantize(Decimal("0.01"))
        elif i % 3 == 1:
            row.source_channel = vk
        recent_orders.append(row)
    Order.objects.bulk_create(recent_orders)
    recent = len(recent_orders)
    # The department's posts about its work advertise paid services: marked, with the ERIDs the operator gave.
    for title, erid in (("Таблички для школы № 7", "2VtzqwFG8Ri"), ("Наклейки для окон и витрин", "2VtzqvkRn9a")):
        Post.objects.filter(unit=unit, title=title).update(advertises=True, erid=erid)
    sticker = Post.objects.filter(unit=unit, title="Наклейки для окон и витрин").first()
    if sticker is not None:
        link_create(actor=editor, target="https://vk.com/mednogorsk_vinyl?w=stickers", post=sticker,
                    channel=vk, code="stickers")
    return {"services": len(services), "orders_2014": len(orders), "recent_orders": recent}


def remove(unit_ids: list[Any]) -> None:
    """Orders and services hold on to their units, customers to their categories: delete them before the units and
    the system go."""
    systems = set(Unit.objects.filter(pk__in=unit_ids).values_list("system_id", flat=True))
    Order.objects.filter(unit_id__in=unit_ids).delete()
    Service.objects.filter(unit_id__in=unit_ids).delete()
    Customer.objects.filter(system_id__in=systems, orders__isnull=True).delete()
    CustomerCategory.objects.filter(system_id__in=systems, customers__isnull=True).delete()
