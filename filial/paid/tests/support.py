"""Paid-services rows the permission matrices ask about: a service, an order and an organisation in branch No. 4."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from filial.paid import services
from filial.paid.models import Customer, CustomerCategory, Order, Service
from filial.paid.services import CustomerData, OrderData


@dataclass
class PaidWorld:
    service: Service
    order: Order
    school: Customer
    categories: dict[str, CustomerCategory]


def paid_world(net: Any) -> PaidWorld:
    cats = {c.code: c for c in CustomerCategory.objects.filter(system=net.system)}
    service = services.service_save(actor=net.users["methodologist"], unit=net.branch4, name="Печать А4",
                                    price=Decimal("5"), measure="стр.")
    school = services.customer_create(actor=net.users["editor_branch4"], system=net.system,
                                      data=CustomerData(category=cats["education"], name="СОШ № 7"))
    order = services.order_create(actor=net.users["editor_branch4"], data=OrderData(
        unit=net.branch4, service=service, date=net.soon(-48).date(), quantity=Decimal(4), customer=school))
    return PaidWorld(service, order, school, cats)
