"""Forms of the paid-services pages: the desk's order form, the catalogue, categories, links, codes, the import, the
advertiser's requisites and the report's period."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

from django import forms
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from filial.channels.models import Channel
from filial.core.params import DayField
from filial.libraries.models import Unit
from filial.paid.models import Customer, CustomerCategory, PromoCode, Service
from filial.paid.services import MAX_QUANTITY, MAX_TOTAL, CustomerData, OrderData


class DateInput(forms.DateInput):
    input_type = "date"

    def __init__(self, attrs: dict[str, Any] | None = None) -> None:
        super().__init__(attrs, format="%Y-%m-%d")


class OrderForm(forms.Form):
    """The desk: a service, how many, who (a category, or a known customer), and what brought them."""

    unit = forms.ModelChoiceField(label=_("Unit"), queryset=Unit.objects.none(), empty_label=None)
    service = forms.ModelChoiceField(label=_("Service"), queryset=Service.objects.none(),
                                     empty_label=_("— choose —"))
    quantity = forms.DecimalField(label=_("Quantity"), min_value=Decimal("0.01"), max_value=MAX_QUANTITY,
                                  decimal_places=2, initial=1,
                                  widget=forms.NumberInput(attrs={"step": "any", "inputmode": "decimal"}))
    total = forms.DecimalField(label=_("Sum, roubles"), required=False, min_value=Decimal(0), max_value=MAX_TOTAL,
                               decimal_places=2,
                               widget=forms.NumberInput(attrs={"step": "0.01", "inputmode": "decimal"}),
                               help_text=_("Leave empty: price × quantity."))
    category = forms.ModelChoiceField(label=_("Customer"), queryset=CustomerCategory.objects.none(),
                                      empty_label=None)
    customer = forms.ModelChoiceField(label=_("Known customer"), queryset=Customer.objects.none(), required=False,
                                      empty_label=_("— a new one —"),
                                      help_text=_("An organisation that has ordered before."))
    name = forms.CharField(label=_("Name"), max_length=300, required=False,
                           help_text=_("An organisation's name; a person's only with their consent."))
    consent = forms.BooleanField(label=_("The person agreed that their name is kept"), required=False)
    date = DayField(label=_("Date"), widget=DateInput())
    source_channel = forms.ModelChoiceField(label=_("How they learned about us"), queryset=Channel.objects.none(),
                                            required=False, empty_label=_("— not said —"))
    promo_code = forms.CharField(label=_("Promo code"), max_length=32, required=False)
    note = forms.CharField(label=_("Note"), max_length=300, required=False)

    def __init__(self, *args: Any, units: Any, services: Any, categories: Any, customers: Any, channels: Any,
                 promos: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["unit"].queryset = units  # type: ignore[attr-defined]
        self.fields["service"].queryset = services  # type: ignore[attr-defined]
        self.fields["category"].queryset = categories  # type: ignore[attr-defined]
        self.fields["customer"].queryset = customers  # type: ignore[attr-defined]
        self.fields["source_channel"].queryset = channels  # type: ignore[attr-defined]
        self.promos = promos
        self.fields["service"].label_from_instance = (  # type: ignore[attr-defined]
            lambda s: f"{s.name} — {s.price} ₽/{s.measure}")
        if "date" not in self.initial:
            self.initial["date"] = timezone.localdate()

    def clean_promo_code(self) -> PromoCode | None:
        code = (self.cleaned_data.get("promo_code") or "").strip().upper()
        if not code:
            return None
        promo = self.promos.filter(code=code, active=True).first()
        if promo is None:
            raise forms.ValidationError(_("No such promo code. Check the spelling or leave it empty."))
        return promo  # type: ignore[no-any-return]

    def order_data(self) -> OrderData:
        c = self.cleaned_data
        data = OrderData(unit=c["unit"], service=c["service"], date=c["date"], quantity=c["quantity"],
                         total=c.get("total"), promo_code=c.get("promo_code"),
                         source_channel=c.get("source_channel"), note=c.get("note") or "")
        if c.get("customer") is not None:
            data.customer = c["customer"]
        else:
            data.new_customer = CustomerData(category=c["category"], name=c.get("name") or "",
                                             consent=bool(c.get("consent")))
        return data


class ServiceForm(forms.Form):
    unit = forms.ModelChoiceField(label=_("Unit"), queryset=Unit.objects.none(), empty_label=None)
    name = forms.CharField(label=_("Name"), max_length=200)
    measure = forms.CharField(label=_("Unit of measure"), max_length=40, initial="шт.")
    price = forms.DecimalField(label=_("Price, roubles"), min_value=Decimal(0), max_value=MAX_TOTAL,
                               decimal_places=2)
    active = forms.BooleanField(label=_("Offered"), required=False, initial=True)

    def __init__(self, *args: Any, units: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["unit"].queryset = units  # type: ignore[attr-defined]


class CategoryForm(forms.Form):
    name = forms.CharField(label=_("Name"), max_length=120)
    code = forms.SlugField(label=_("Code"), max_length=40, help_text=_("Latin letters, for exports and the API."))
    is_individual = forms.BooleanField(label=_("Individuals"), required=False)


class LinkForm(forms.Form):
    target = forms.URLField(label=_("Where the link leads"), max_length=500, assume_scheme="https")
    channel = forms.ModelChoiceField(label=_("Page"), queryset=Channel.objects.none(), required=False,
                                     empty_label=_("— the publication's pages —"))
    code = forms.CharField(label=_("Code"), max_length=32, required=False,
                           help_text=_("Leave empty for a random one."))

    def __init__(self, *args: Any, channels: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["channel"].queryset = channels  # type: ignore[attr-defined]


class PromoForm(forms.Form):
    code = forms.CharField(label=_("Promo code"), max_length=32)
    channel = forms.ModelChoiceField(label=_("Page"), queryset=Channel.objects.none(), required=False,
                                     empty_label=_("— the publication's pages —"))

    def __init__(self, *args: Any, channels: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["channel"].queryset = channels  # type: ignore[attr-defined]


class ImportForm(forms.Form):
    unit = forms.ModelChoiceField(label=_("Unit"), queryset=Unit.objects.none(), empty_label=None)
    file = forms.FileField(label=_("Journal (.xlsx or .csv)"), required=False)
    token = forms.CharField(required=False, widget=forms.HiddenInput)

    def __init__(self, *args: Any, units: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["unit"].queryset = units  # type: ignore[attr-defined]


class AdvertiserForm(forms.Form):
    legal_name = forms.CharField(label=_("Legal name"), max_length=300, required=False)
    inn = forms.CharField(label=_("INN"), max_length=12, required=False)


class PeriodForm(forms.Form):
    start = DayField(label=_("From"), required=False, widget=DateInput())
    end = DayField(label=_("To"), required=False, widget=DateInput())

    def period(self) -> tuple[date, date]:
        today = timezone.localdate()
        data = self.cleaned_data if self.is_valid() else {}
        start = data.get("start") or date(today.year, 1, 1)
        end = data.get("end") or today
        if end < start:
            start, end = end, start
        return start, end
