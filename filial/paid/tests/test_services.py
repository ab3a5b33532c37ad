"""Paid services: permissions, sums, consent, erasure, the summaries and the demo's 2014 facts."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal
from typing import Any

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.utils import timezone

from filial.accounts.models import AuditEntry, Role
from filial.conftest import Net, make_user
from filial.libraries.models import Unit
from filial.libraries.services import system_create
from filial.paid import selectors, services
from filial.paid.models import Customer, CustomerCategory, Order
from filial.paid.services import CustomerData, OrderData


@pytest.fixture
def shop(net: Net) -> Any:
    net.users["editor_automation"] = make_user("ed_automation", [(net.automation, Role.EDITOR)])
    cats = {c.code: c for c in CustomerCategory.objects.filter(system=net.system)}
    scan = services.service_save(actor=net.users["admin"], unit=net.automation, name="Сканирование",
                                 price=Decimal("10.00"), measure="стр.")
    vinyl = services.service_save(actor=net.users["methodologist"], unit=net.automation,
                                  name="Резка на виниловом плоттере", price=Decimal("150"))
    return net, cats, scan, vinyl


def test_new_system_gets_the_default_categories(db: Any) -> None:
    system = system_create(actor=None, name="Другая ЦБС")
    cats = list(CustomerCategory.objects.filter(system=system).order_by("position"))
    assert [c.name for c in cats] == ["Учреждение образования", "Учреждение культуры", "Совет депутатов", "МФЦ",
                                      "Другая организация", "Физическое лицо"]
    assert [c.code for c in cats if c.is_individual] == ["individual"]
    assert services.categories_seed(system) == 0  # idempotent


def test_only_methodologist_or_admin_prices(shop: Any) -> None:
    net, _cats, scan, _vinyl = shop
    for who in ("editor_automation", "viewer", "editor_branch4", "outsider"):
        with pytest.raises(PermissionDenied):
            services.service_save(actor=net.users[who], unit=net.automation, name="Печать", price=Decimal(5))
    with pytest.raises(ValidationError) as exc:
        services.service_save(actor=net.users["admin"], unit=net.automation, name="сканирование", price=Decimal(1))
    assert "name" in exc.value.message_dict
    services.service_save(actor=net.users["admin"], unit=net.automation, name="Сканирование", price=Decimal("12.5"),
                          service=scan)
    scan.refresh_from_db()
    assert scan.price == Decimal("12.50")
    assert AuditEntry.objects.filter(action="paid.service_update", object_id=str(scan.pk)).exists()


def test_order_sum_is_price_times_quantity_unless_given(shop: Any) -> None:
    net, cats, scan, _vinyl = shop
    ed = net.users["editor_automation"]
    today = timezone.localdate()
    order = services.order_create(actor=ed, data=OrderData(
        unit=net.automation, service=scan, date=today, quantity=Decimal("7"),
        new_customer=CustomerData(category=cats["individual"])))
    assert order.total == Decimal("70.00")
    assert order.customer.name == "" and order.customer.consent_at is None
    order2 = services.order_create(actor=ed, data=OrderData(
        unit=net.automation, service=scan, date=today, quantity=Decimal("7"), total=Decimal("60"),
        customer=order.customer))
    assert order2.total == Decimal("60.00")


def test_order_permissions_and_refusals_change_nothing(shop: Any) -> None:
    net, cats, scan, _vinyl = shop
    data = OrderData(unit=net.automation, service=scan, date=timezone.localdate(),
                     new_customer=CustomerData(category=cats["individual"]))
    for who in ("editor_branch4", "editor_children", "viewer", "outsider"):
        with pytest.raises(PermissionDenied):
            services.order_create(actor=net.users[who], data=data)
    future = OrderData(unit=net.automation, service=scan, date=timezone.localdate() + timedelta(days=3),
                       new_customer=CustomerData(category=cats["individual"]))
    with pytest.raises(ValidationError) as exc:
        services.order_create(actor=net.users["editor_automation"], data=future)
    assert "date" in exc.value.message_dict
    wrong_unit = OrderData(unit=net.branch4, service=scan, date=timezone.localdate(),
                           new_customer=CustomerData(category=cats["individual"]))
    with pytest.raises(ValidationError):
        services.order_create(actor=net.users["admin"], data=wrong_unit)
    assert Order.objects.count() == 0 and Customer.objects.count() == 0


def test_individual_name_only_with_consent(shop: Any) -> None:
    net, cats, scan, _vinyl = shop
    ed = net.users["editor_automation"]
    named = OrderData(unit=net.automation, service=scan, date=timezone.localdate(),
                      new_customer=CustomerData(category=cats["individual"], name="Иванова Мария", contact="+7 900"))
    with pytest.raises(ValidationError) as exc:
        services.order_create(actor=ed, data=named)
    assert "consent" in exc.value.message_dict
    assert not Customer.objects.exists()
    named.new_customer.consent = True  # type: ignore[union-attr]
    order = services.order_create(actor=ed, data=named)
    assert order.customer.name == "Иванова Мария" and order.customer.consent_at is not None
    # An organisation needs a name, needs no consent.
    with pytest.raises(ValidationError):
        services.customer_create(actor=ed, system=net.system, data=CustomerData(category=cats["school"]
                                                                                if "school" in cats else
                                                                                cats["education"]))


def test_customer_erase(shop: Any) -> None:
    net, cats, scan, _vinyl = shop
    ed = net.users["editor_automation"]
    order = services.order_create(actor=ed, data=OrderData(
        unit=net.automation, service=scan, date=timezone.localdate(),
        new_customer=CustomerData(category=cats["individual"], name="Петров", consent=True)))
    lonely = services.customer_create(actor=ed, system=net.system,
                                      data=CustomerData(category=cats["individual"], name="Сидоров", consent=True))
    with pytest.raises(PermissionDenied):
        services.customer_erase(actor=ed, customer=order.customer)
    assert services.customer_erase(actor=net.users["methodologist"], customer=order.customer) is False
    order.customer.refresh_from_db()
    assert order.customer.name == "" and order.customer.consent_at is None
    assert Order.objects.filter(pk=order.pk).exists()  # the sum stays in the reports
    assert services.customer_erase(actor=net.users["admin"], customer=lonely) is True
    assert not Customer.objects.filter(pk=lonely.pk).exists()


def test_promo_code_brings_its_page(shop: Any) -> None:
    net, cats, scan, _vinyl = shop
    ed = net.users["editor_automation"]
    promo = services.promo_create(actor=ed, code="vinyl10", channel=net.channels["automation_vk"])
    assert promo.code == "VINYL10"
    with pytest.raises(PermissionDenied):
        services.promo_create(actor=ed, code="other", channel=net.channels["children_ok"])
    order = services.order_create(actor=ed, data=OrderData(
        unit=net.automation, service=scan, date=timezone.localdate(), promo_code=promo,
        new_customer=CustomerData(category=cats["individual"])))
    assert order.source_channel == net.channels["automation_vk"]


def test_summaries(shop: Any) -> None:
    net, cats, scan, vinyl = shop
    ed = net.users["editor_automation"]
    day = date(2014, 7, 1)
    school = services.customer_create(actor=ed, system=net.system,
                                      data=CustomerData(category=cats["education"], name="СОШ № 1"))
    vk = net.channels["automation_vk"]
    for _ in range(3):  # one school, three orders
        services.order_create(actor=ed, data=OrderData(unit=net.automation, service=scan, date=day,
                                                       quantity=Decimal(10), customer=school, source_channel=vk))
    for _ in range(2):  # two anonymous individuals
        services.order_create(actor=ed, data=OrderData(unit=net.automation, service=vinyl, date=day,
                                                       new_customer=CustomerData(category=cats["individual"])))
    services.order_create(actor=ed, data=OrderData(unit=net.automation, service=vinyl, date=date(2015, 1, 1),
                                                   new_customer=CustomerData(category=cats["individual"])))
    rows = {r.code: r for r in selectors.customer_summary(None, date(2014, 1, 1), date(2014, 12, 31))}
    assert (rows["education"].customers, rows["education"].orders, rows["education"].total) == (1, 3, Decimal(300))
    assert (rows["individual"].customers, rows["individual"].orders, rows["individual"].total) == (2, 2, Decimal(300))
    assert rows["individual"].is_individual and rows["education"].category == "Учреждение образования"
    assert rows["mfc"].customers == 0 and rows["mfc"].total == Decimal(0)
    scoped = selectors.customer_summary(Unit.objects.filter(pk=net.branch4.pk), date(2014, 1, 1),
                                        date(2014, 12, 31))
    assert sum(r.orders for r in scoped) == 0
    sources = selectors.source_summary(None, date(2014, 1, 1), date(2014, 12, 31))
    assert [(s.channel, s.customers, s.orders, s.total) for s in sources] == [
        ("Медногорский винил", 1, 3, Decimal(300)), ("", 2, 2, Decimal(300))]


@pytest.mark.django_db
def test_demo_2014_customers() -> None:
    from filial.demo.build import load_demo

    load_demo()
    rows = {r.code: r for r in selectors.customer_summary(None, date(2014, 1, 1), date(2014, 12, 31))}
    assert rows["education"].customers >= 2 and rows["culture"].customers >= 1
    assert rows["council"].customers == 1 and rows["mfc"].customers == 1
    assert rows["individual"].customers == 117 and rows["individual"].is_individual
    assert all(r.total > 0 for r in rows.values() if r.customers)
    recent = selectors.source_summary(None, timezone.localdate() - timedelta(days=60), timezone.localdate())
    assert any(r.channel == "Медногорский винил" and r.orders >= 4 for r in recent)
    from filial.publishing.models import Post

    marked = Post.objects.filter(advertises=True)
    assert marked.count() == 2 and all(p.ad_marked for p in marked)
    from filial.demo.build import remove_demo

    remove_demo()  # `filial demo --force` starts again: nothing of the paid services is left behind
    assert not Order.objects.exists() and not Customer.objects.exists() and not CustomerCategory.objects.exists()
