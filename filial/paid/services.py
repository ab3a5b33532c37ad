"""Writes for paid services: the catalogue, customers (an individual's name only with consent), orders, tracked
short links and promo codes, the advertiser's requisites. Views, the API, the import and the demo call these."""

from __future__ import annotations

import re
import secrets
from dataclasses import dataclass
from datetime import date
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import F
from django.utils import timezone
from django.utils.translation import gettext as _

from filial.accounts.selectors import access_for
from filial.accounts.services import audit_record
from filial.channels.models import Channel
from filial.core.params import in_range
from filial.libraries.models import LibrarySystem, Unit
from filial.paid.models import Customer, CustomerCategory, Order, PromoCode, Service, ShortLink
from filial.publishing.models import Post, PostChannel

CENT = Decimal("0.01")
MAX_QUANTITY = Decimal("100000")
MAX_TOTAL = Decimal("9999999999.99")
CODE_RE = re.compile(r"^[A-Za-z0-9_-]{3,32}$")
INN_RE = re.compile(r"^(\d{10}|\d{12})$")

# The categories every library system starts with (an editable list): code, name, individuals.
DEFAULT_CATEGORIES: tuple[tuple[str, str, bool], ...] = (
    ("education", "Учреждение образования", False),
    ("culture", "Учреждение культуры", False),
    ("council", "Совет депутатов", False),
    ("mfc", "МФЦ", False),
    ("organisation", "Другая организация", False),
    ("individual", "Физическое лицо", True),
)


def categories_seed(system: LibrarySystem) -> int:
    """Create the default customer categories the system lacks (by code); the number created."""
    existing = set(CustomerCategory.objects.filter(system=system).values_list("code", flat=True))
    rows = [CustomerCategory(system=system, code=code, name=name, is_individual=individual, position=i)
            for i, (code, name, individual) in enumerate(DEFAULT_CATEGORIES) if code not in existing]
    CustomerCategory.objects.bulk_create(rows)
    return len(rows)


def _money(value: Decimal) -> Decimal:
    return value.quantize(CENT, rounding=ROUND_HALF_UP)


def _require_price(actor: Any, unit: Unit) -> None:
    if not access_for(actor).may_price(unit.pk):
        raise PermissionDenied(_("Only the unit's methodologist or an administrator changes its paid services."))


def _require_sell(actor: Any, unit_id: int) -> None:
    if not access_for(actor).may_sell(unit_id):
        raise PermissionDenied(_("You do not record orders for this unit."))


def _require_system(actor: Any, system_id: int) -> None:
    access = access_for(actor)
    if system_id not in access.systems or not any(
            u in access.paid_units for u in Unit.objects.filter(system_id=system_id).values_list("id", flat=True)):
        raise PermissionDenied(_("You do not work with paid services in this library system."))


# --- catalogue --------------------------------------------------------------------------------------------


@transaction.atomic
def service_save(*, actor: Any, unit: Unit, name: str, price: Decimal, measure: str = "шт.", active: bool = True,
                 service: Service | None = None) -> Service:
    """Create a service of ``unit`` or change ``service`` (its unit stays)."""
    if service is not None:
        unit = service.unit
    _require_price(actor, unit)
    name, measure = name.strip(), (measure or "").strip() or "шт."
    errors: dict[str, list[str]] = {}
    if not name:
        errors["name"] = [_("Name the service.")]
    if price is None or price < 0 or price > MAX_TOTAL:
        errors["price"] = [_("Give a price from 0 to %(max)s roubles.") % {"max": MAX_TOTAL}]
    others = Service.objects.filter(unit=unit)
    if service is not None:
        others = others.exclude(pk=service.pk)
    # Compared in Python: SQLite folds the case of Latin letters only.
    if name and name.casefold() in {n.casefold() for n in others.values_list("name", flat=True)}:
        errors["name"] = [_("The unit already has a service with this name.")]
    if errors:
        raise ValidationError(errors)
    if service is None:
        service = Service.objects.create(unit=unit, name=name, price=_money(price), measure=measure, active=active)
        audit_record(actor, "paid.service_create", service, {"price": str(service.price)}, system_id=unit.system_id)
        return service
    before = {"name": service.name, "price": str(service.price), "measure": service.measure, "active": service.active}
    service.name, service.price, service.measure, service.active = name, _money(price), measure, active
    service.save(update_fields=["name", "price", "measure", "active"])
    after = {"name": service.name, "price": str(service.price), "measure": service.measure, "active": service.active}
    audit_record(actor, "paid.service_update", service,
                 {k: [before[k], after[k]] for k in after if before[k] != after[k]}, system_id=unit.system_id)
    return service


@transaction.atomic
def category_save(*, actor: Any, system: LibrarySystem, name: str, code: str, is_individual: bool = False,
                  category: CustomerCategory | None = None) -> CustomerCategory:
    """Add a customer category to the system's list or rename one (administrators)."""
    if not access_for(actor).is_admin_of(system.pk):
        raise PermissionDenied(_("Only an administrator changes the list of customer categories."))
    name, code = name.strip(), code.strip().lower()
    errors: dict[str, list[str]] = {}
    if not name:
        errors["name"] = [_("Name the category.")]
    if not re.match(r"^[a-z0-9_-]{1,40}$", code):
        errors["code"] = [_("A code is 1 to 40 Latin letters, digits, «-» or «_».")]
    clash = CustomerCategory.objects.filter(system=system, code=code)
    if category is not None:
        clash = clash.exclude(pk=category.pk)
    if clash.exists():
        errors["code"] = [_("Another category has this code.")]
    if errors:
        raise ValidationError(errors)
    if category is None:
        position = CustomerCategory.objects.filter(system=system).count()
        category = CustomerCategory.objects.create(system=system, name=name, code=code, is_individual=is_individual,
                                                   position=position)
    else:
        category.name, category.code, category.is_individual = name, code, is_individual
        category.save(update_fields=["name", "code", "is_individual"])
    audit_record(actor, "paid.category_save", category, {"name": name, "code": code}, system_id=system.pk)
    return category


# --- customers --------------------------------------------------------------------------------------------


@dataclass
class CustomerData:
    category: CustomerCategory
    name: str = ""
    inn: str = ""
    contact: str = ""
    consent: bool = False  # an individual agreed that their name and contact are kept


def _customer_errors(data: CustomerData) -> dict[str, list[str]]:
    errors: dict[str, list[str]] = {}
    name, inn, contact = data.name.strip(), data.inn.strip(), data.contact.strip()
    if data.category.is_individual:
        if (name or contact) and not data.consent:
            errors["consent"] = [_("A person's name and contact are kept only with their consent. Tick «agreed» "
                                   "or leave the name and contact empty: the order is recorded for an anonymous "
                                   "individual.")]
    elif not name:
        errors["name"] = [_("Name the organisation.")]
    if inn and not INN_RE.match(inn):
        errors["inn"] = [_("An INN is 10 digits (an organisation) or 12 digits (a person).")]
    if len(name) > 300 or len(contact) > 200:
        errors["name"] = [_("The name or contact is too long.")]
    return errors


def _new_customer(system_id: int, data: CustomerData) -> Customer:
    keep = not data.category.is_individual or data.consent
    return Customer.objects.create(
        system_id=system_id, category=data.category, name=data.name.strip() if keep else "",
        inn=data.inn.strip() if keep else "", contact=data.contact.strip() if keep else "",
        consent_at=timezone.now() if data.category.is_individual and data.consent and
        (data.name.strip() or data.contact.strip()) else None,
    )


@transaction.atomic
def customer_create(*, actor: Any, system: LibrarySystem, data: CustomerData) -> Customer:
    _require_system(actor, system.pk)
    if data.category.system_id != system.pk:
        raise ValidationError({"category": [_("The category belongs to another library system.")]})
    errors = _customer_errors(data)
    if errors:
        raise ValidationError(errors)
    customer = _new_customer(system.pk, data)
    audit_record(actor, "paid.customer_create", customer, {"category": data.category.code}, system_id=system.pk)
    return customer


@transaction.atomic
def customer_update(*, actor: Any, customer: Customer, data: CustomerData) -> Customer:
    _require_system(actor, customer.system_id)
    if data.category.system_id != customer.system_id:
        raise ValidationError({"category": [_("The category belongs to another library system.")]})
    errors = _customer_errors(data)
    if errors:
        raise ValidationError(errors)
    keep = not data.category.is_individual or data.consent
    customer.category = data.category
    customer.name = data.name.strip() if keep else ""
    customer.inn = data.inn.strip() if keep else ""
    customer.contact = data.contact.strip() if keep else ""
    if data.category.is_individual:
        if not (data.consent and (customer.name or customer.contact)):
            customer.consent_at = None
        elif customer.consent_at is None:
            customer.consent_at = timezone.now()
    else:
        customer.consent_at = None
    customer.save(update_fields=["category", "name", "inn", "contact", "consent_at"])
    audit_record(actor, "paid.customer_update", customer, {"category": data.category.code},
                 system_id=customer.system_id)
    return customer


@transaction.atomic
def customer_erase(*, actor: Any, customer: Customer) -> bool:
    """Forget a customer (as a reader's data is erased): a customer without orders is deleted; one with orders
    keeps them (the sums stay in the reports) as an anonymous customer of the same category. True if deleted."""
    access = access_for(actor)
    units = set(Unit.objects.filter(system_id=customer.system_id).values_list("id", flat=True))
    if not (access.is_admin_of(customer.system_id) or units & access.approve_units):
        raise PermissionDenied(_("Only a methodologist or an administrator erases a customer's data."))
    customer = Customer.objects.select_for_update().get(pk=customer.pk)
    audit_record(actor, "paid.customer_erase", customer, {"category": customer.category_id},
                 system_id=customer.system_id)
    if not customer.orders.exists():
        customer.delete()
        return True
    customer.name = customer.inn = customer.contact = ""
    customer.consent_at = None
    customer.save(update_fields=["name", "inn", "contact", "consent_at"])
    return False


# --- orders -----------------------------------------------------------------------------------------------


@dataclass
class OrderData:
    unit: Unit
    service: Service
    date: date
    quantity: Decimal = Decimal("1")
    total: Decimal | None = None  # None: price × quantity
    customer: Customer | None = None  # an existing customer, or ``new_customer``
    new_customer: CustomerData | None = None
    promo_code: PromoCode | None = None
    source_channel: Channel | None = None
    note: str = ""


def _order_errors(data: OrderData) -> dict[str, list[str]]:
    errors: dict[str, list[str]] = {}
    system_id = data.unit.system_id
    if data.service.unit_id != data.unit.pk:
        errors["service"] = [_("This service is offered by another unit.")]
    if data.quantity is None or not Decimal("0.01") <= data.quantity <= MAX_QUANTITY:
        errors["quantity"] = [_("Give a quantity from 0.01 to %(max)s.") % {"max": MAX_QUANTITY}]
    if data.total is not None and not Decimal("0") <= data.total <= MAX_TOTAL:
        errors["total"] = [_("Give a sum from 0 to %(max)s roubles.") % {"max": MAX_TOTAL}]
    if not in_range(data.date):
        errors["date"] = [_("Give a date between 1970 and 2100.")]
    elif data.date > timezone.now().astimezone(data.unit.tz).date():
        errors["date"] = [_("The order's date is in the future. Give the day the service was done.")]
    if data.customer is None and data.new_customer is None:
        errors["customer"] = [_("Choose the customer or their category.")]
    if data.customer is not None and data.customer.system_id != system_id:
        errors["customer"] = [_("The customer belongs to another library system.")]
    if data.new_customer is not None:
        if data.new_customer.category.system_id != system_id:
            errors["category"] = [_("The category belongs to another library system.")]
        for name, messages in _customer_errors(data.new_customer).items():
            errors.setdefault(name, []).extend(messages)
    if data.promo_code is not None and data.promo_code.system_id != system_id:
        errors["promo_code"] = [_("The promo code belongs to another library system.")]
    if data.source_channel is not None and data.source_channel.unit.system_id != system_id:
        errors["source_channel"] = [_("The page belongs to another library system.")]
    if len(data.note) > 300:
        errors["note"] = [_("The note is longer than 300 characters.")]
    return errors


def _write_order(order: Order, data: OrderData) -> Order:
    order.unit, order.service, order.date, order.quantity = data.unit, data.service, data.date, data.quantity
    order.total = _money(data.total if data.total is not None else data.service.price * data.quantity)
    order.promo_code = data.promo_code
    source = data.source_channel
    if source is None and data.promo_code is not None:  # a code given out on a page brings its page
        post_id = data.promo_code.post_id
        source = data.promo_code.channel or (
            Channel.objects.filter(pk__in=PostChannel.objects.filter(post_id=post_id).values("channel_id"))
            .order_by("pk").first() if post_id else None)
    order.source_channel = source
    order.note = data.note.strip()
    return order


@transaction.atomic
def order_create(*, actor: Any, data: OrderData) -> Order:
    """Record one sale: the sum is price × quantity unless given; a new customer is created with it."""
    _require_sell(actor, data.unit.pk)
    errors = _order_errors(data)
    if errors:
        raise ValidationError(errors)
    customer = data.customer or _new_customer(data.unit.system_id, data.new_customer)  # type: ignore[arg-type]
    order = _write_order(Order(customer=customer, created_by=actor if getattr(actor, "pk", None) else None), data)
    order.save()
    audit_record(actor, "paid.order_create", order, {"total": str(order.total), "service": order.service_id},
                 system_id=data.unit.system_id)
    return order


@transaction.atomic
def order_update(*, actor: Any, order: Order, data: OrderData) -> Order:
    order = Order.objects.select_for_update().get(pk=order.pk)
    _require_sell(actor, order.unit_id)
    _require_sell(actor, data.unit.pk)
    errors = _order_errors(data)
    if errors:
        raise ValidationError(errors)
    before = str(order.total)
    if data.customer is not None:
        order.customer = data.customer
    elif data.new_customer is not None:
        order.customer = _new_customer(data.unit.system_id, data.new_customer)
    _write_order(order, data)
    order.save(update_fields=["unit", "service", "customer", "date", "quantity", "total", "promo_code",
                              "source_channel", "note"])
    audit_record(actor, "paid.order_update", order, {"total": [before, str(order.total)]},
                 system_id=data.unit.system_id)
    return order


@transaction.atomic
def order_delete(*, actor: Any, order: Order) -> None:
    _require_sell(actor, order.unit_id)
    audit_record(actor, "paid.order_delete", order, {"total": str(order.total), "date": order.date.isoformat()},
                 system_id=order.unit.system_id)
    order.delete()


@transaction.atomic
def orders_import(*, actor: Any, unit: Unit, rows: list[OrderData]) -> list[Order]:
    """Record every row or none (the import has checked them; a refusal here rolls all of them back)."""
    _require_sell(actor, unit.pk)
    orders = []
    made: dict[int, Customer] = {}  # an organisation new to the system, named on several rows: one customer
    for data in rows:
        errors = _order_errors(data)
        if errors:
            raise ValidationError(errors)
        customer = data.customer
        if customer is None:
            assert data.new_customer is not None
            key = id(data.new_customer)
            if key not in made or data.new_customer.category.is_individual:
                made[key] = _new_customer(unit.system_id, data.new_customer)
            customer = made[key]
        orders.append(_write_order(Order(customer=customer, created_by=actor), data))
    Order.objects.bulk_create(orders)
    audit_record(actor, "paid.orders_import", unit, {"orders": len(orders),
                                                     "total": str(sum((o.total for o in orders), Decimal(0)))},
                 system_id=unit.system_id)
    return orders


# --- attribution ------------------------------------------------------------------------------------------


def _attribution_unit(actor: Any, channel: Channel | None, post: Post | None) -> int:
    """The system of a link's or code's page or publication, after checking the actor writes for it."""
    access = access_for(actor)
    if channel is None and post is None:
        raise ValidationError({"channel": [_("Choose the page or the publication the link is for.")]})
    if channel is not None and not access.can_write(channel.unit_id):
        raise PermissionDenied(_("You do not write for this page."))
    if post is not None and not access.can_write(post.unit_id):
        raise PermissionDenied(_("You do not write for this publication's unit."))
    system_id = (channel.unit.system_id if channel is not None else post.unit.system_id)  # type: ignore[union-attr]
    if channel is not None and post is not None and post.unit.system_id != system_id:
        raise ValidationError({"post": [_("The publication belongs to another library system.")]})
    return system_id


def new_link_code() -> str:
    return secrets.token_urlsafe(6).replace("-", "x").replace("_", "y")


@transaction.atomic
def link_create(*, actor: Any, target: str, channel: Channel | None = None, post: Post | None = None,
                code: str = "") -> ShortLink:
    """A tracked link ``/go/<code>`` to ``target`` (an http(s) address a staff member gives: the public route
    only ever redirects to a stored target, so it is no open redirect)."""
    system_id = _attribution_unit(actor, channel, post)
    target = target.strip()
    if not re.match(r"^https?://[^\s/]+", target, re.IGNORECASE) or len(target) > 500:
        raise ValidationError({"target": [_("Give the full address, beginning with https:// or http://.")]})
    code = code.strip() or new_link_code()
    if not CODE_RE.match(code):
        raise ValidationError({"code": [_("A code is 3 to 32 Latin letters, digits, «-» or «_».")]})
    if ShortLink.objects.filter(code=code).exists():
        raise ValidationError({"code": [_("This code is taken. Choose another one or leave it empty.")]})
    link = ShortLink.objects.create(system_id=system_id, code=code, target=target, channel=channel, post=post,
                                    created_by=actor)
    audit_record(actor, "paid.link_create", link, {"target": target}, system_id=system_id)
    return link


def link_visit(code: str) -> str | None:
    """Count one visit of ``/go/<code>`` and return its stored target (None: no such link). One UPDATE."""
    if not CODE_RE.match(code):
        return None
    link = ShortLink.objects.filter(code=code).values_list("pk", "target").first()
    if link is None:
        return None
    ShortLink.objects.filter(pk=link[0]).update(visits=F("visits") + 1)
    return link[1]


@transaction.atomic
def promo_create(*, actor: Any, code: str, channel: Channel | None = None, post: Post | None = None) -> PromoCode:
    system_id = _attribution_unit(actor, channel, post)
    code = code.strip().upper()
    if not CODE_RE.match(code):
        raise ValidationError({"code": [_("A code is 3 to 32 Latin letters, digits, «-» or «_».")]})
    if PromoCode.objects.filter(system_id=system_id, code=code).exists():
        raise ValidationError({"code": [_("This promo code already exists.")]})
    promo = PromoCode.objects.create(system_id=system_id, code=code, channel=channel, post=post)
    audit_record(actor, "paid.promo_create", promo, {"code": code}, system_id=system_id)
    return promo


# --- the advertiser ---------------------------------------------------------------------------------------


@transaction.atomic
def advertiser_update(*, actor: Any, system: LibrarySystem, legal_name: str, inn: str) -> LibrarySystem:
    """The library's requisites that marked advertising names (administrators)."""
    if not access_for(actor).is_admin_of(system.pk):
        raise PermissionDenied(_("Only an administrator sets the library's requisites."))
    legal_name, inn = legal_name.strip(), inn.strip()
    errors: dict[str, list[str]] = {}
    if inn and not re.match(r"^\d{10}$", inn):
        errors["inn"] = [_("An organisation's INN is 10 digits.")]
    if len(legal_name) > 300:
        errors["legal_name"] = [_("The name is longer than 300 characters.")]
    if errors:
        raise ValidationError(errors)
    before = {"legal_name": system.legal_name, "inn": system.inn}
    system.legal_name, system.inn = legal_name, inn
    system.save(update_fields=["legal_name", "inn"])
    audit_record(actor, "paid.advertiser_update", system,
                 {k: [before[k], getattr(system, k)] for k in before if before[k] != getattr(system, k)},
                 system_id=system.pk)
    return system
