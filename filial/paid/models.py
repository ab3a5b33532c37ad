"""Paid services, their customers and orders, and the links and codes that attribute an order to a page."""

from __future__ import annotations

from decimal import Decimal

from django.conf import settings
from django.core.validators import MinValueValidator
from django.db import models
from django.utils.translation import gettext_lazy as _


class CustomerCategory(models.Model):
    """A kind of customer (educational institution, council of deputies, MFC, individual …): an editable list."""

    system = models.ForeignKey("libraries.LibrarySystem", on_delete=models.CASCADE, related_name="customer_categories")
    name = models.CharField(_("name"), max_length=120)
    code = models.SlugField(_("code"), max_length=40, help_text=_("A short Latin name for exports and the API."))
    is_individual = models.BooleanField(
        _("individuals"), default=False,
        help_text=_("Customers of this kind are people: no name is kept unless they agree."),
    )
    position = models.PositiveIntegerField(_("order"), default=0)

    class Meta:
        verbose_name = _("customer category")
        verbose_name_plural = _("customer categories")
        ordering = ["system", "position", "name"]
        constraints = [models.UniqueConstraint(fields=["system", "code"], name="paid_category_unique_code")]

    def __str__(self) -> str:
        return self.name


class Service(models.Model):
    """A paid service a unit offers, with its current price."""

    unit = models.ForeignKey("libraries.Unit", on_delete=models.PROTECT, related_name="paid_services",
                             verbose_name=_("unit"))
    name = models.CharField(_("name"), max_length=200)
    measure = models.CharField(_("unit of measure"), max_length=40, default="шт.")
    price = models.DecimalField(_("price"), max_digits=10, decimal_places=2,
                                validators=[MinValueValidator(Decimal("0"))])
    active = models.BooleanField(_("offered"), default=True)

    class Meta:
        verbose_name = _("paid service")
        verbose_name_plural = _("paid services")
        ordering = ["unit", "name"]
        constraints = [models.UniqueConstraint(fields=["unit", "name"], name="paid_service_unique_name")]

    def __str__(self) -> str:
        return self.name


class Customer(models.Model):
    """Who bought a service: an organisation by name (and INN), or an individual (a name only with consent)."""

    system = models.ForeignKey("libraries.LibrarySystem", on_delete=models.CASCADE, related_name="customers")
    category = models.ForeignKey(CustomerCategory, on_delete=models.PROTECT, related_name="customers",
                                 verbose_name=_("category"))
    name = models.CharField(_("name"), max_length=300, blank=True)
    inn = models.CharField(_("INN"), max_length=12, blank=True)
    contact = models.CharField(_("contact"), max_length=200, blank=True)
    consent_at = models.DateTimeField(_("consent to keep personal data"), null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("customer")
        verbose_name_plural = _("customers")
        ordering = ["system", "name", "id"]

    def __str__(self) -> str:
        return self.name or f"#{self.pk}"


class ShortLink(models.Model):
    """A tracked short link (``/go/<code>``) published on a page or in a publication; each visit is counted."""

    system = models.ForeignKey("libraries.LibrarySystem", on_delete=models.CASCADE, related_name="short_links")
    code = models.SlugField(_("code"), max_length=32, unique=True)
    target = models.URLField(_("address"), max_length=500)
    channel = models.ForeignKey("channels.Channel", null=True, blank=True, on_delete=models.SET_NULL,
                                related_name="short_links", verbose_name=_("page"))
    post = models.ForeignKey("publishing.Post", null=True, blank=True, on_delete=models.SET_NULL,
                             related_name="short_links", verbose_name=_("publication"))
    visits = models.PositiveIntegerField(_("visits"), default=0, editable=False)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("short link")
        verbose_name_plural = _("short links")
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return self.code


class PromoCode(models.Model):
    """A code a customer names at the desk, given out on a page or in a publication."""

    system = models.ForeignKey("libraries.LibrarySystem", on_delete=models.CASCADE, related_name="promo_codes")
    code = models.CharField(_("code"), max_length=32)
    channel = models.ForeignKey("channels.Channel", null=True, blank=True, on_delete=models.SET_NULL,
                                related_name="promo_codes", verbose_name=_("page"))
    post = models.ForeignKey("publishing.Post", null=True, blank=True, on_delete=models.SET_NULL,
                             related_name="promo_codes", verbose_name=_("publication"))
    active = models.BooleanField(_("active"), default=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("promo code")
        verbose_name_plural = _("promo codes")
        ordering = ["system", "code"]
        constraints = [models.UniqueConstraint(fields=["system", "code"], name="paid_promo_unique_code")]

    def __str__(self) -> str:
        return self.code


class Order(models.Model):
    """One sale at the desk: a service, its quantity and sum, the customer, and what brought them."""

    unit = models.ForeignKey("libraries.Unit", on_delete=models.PROTECT, related_name="paid_orders",
                             verbose_name=_("unit"))
    service = models.ForeignKey(Service, on_delete=models.PROTECT, related_name="orders", verbose_name=_("service"))
    customer = models.ForeignKey(Customer, on_delete=models.PROTECT, related_name="orders",
                                 verbose_name=_("customer"))
    date = models.DateField(_("date"))
    quantity = models.DecimalField(_("quantity"), max_digits=10, decimal_places=2, default=Decimal("1"),
                                   validators=[MinValueValidator(Decimal("0.01"))])
    total = models.DecimalField(_("sum"), max_digits=12, decimal_places=2,
                                validators=[MinValueValidator(Decimal("0"))])
    promo_code = models.ForeignKey(PromoCode, null=True, blank=True, on_delete=models.SET_NULL,
                                   related_name="orders", verbose_name=_("promo code"))
    source_channel = models.ForeignKey("channels.Channel", null=True, blank=True, on_delete=models.SET_NULL,
                                       related_name="paid_orders", verbose_name=_("how they learned about us"))
    note = models.CharField(_("note"), max_length=300, blank=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("order")
        verbose_name_plural = _("orders")
        ordering = ["-date", "-id"]
        indexes = [models.Index(fields=["unit", "date"], name="paid_order_unit_date_idx")]

    def __str__(self) -> str:
        return f"{self.date} {self.service_id} × {self.quantity}"
