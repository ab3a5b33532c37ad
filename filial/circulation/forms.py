from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from filial.accounts.forms import UnitChoiceField
from filial.circulation.models import CirculationLink, ImportJob
from filial.circulation.parsers.tabular import FIELDS
from filial.circulation.services import ENCODINGS
from filial.core.params import DayField


class LinkForm(forms.Form):
    adapter = forms.ChoiceField(label=_("Loans come from"), choices=CirculationLink.Adapter.choices,
                                widget=forms.RadioSelect)
    host = forms.CharField(label=_("SIP2 host"), required=False, max_length=255)
    port = forms.IntegerField(label=_("SIP2 port"), required=False, min_value=1, max_value=65535, initial=6001)
    login = forms.CharField(label=_("SIP2 login"), required=False, max_length=100)
    password = forms.CharField(label=_("SIP2 password"), required=False, widget=forms.PasswordInput,
                               help_text=_("Leave empty to keep the stored password."))
    location = forms.CharField(label=_("SIP2 location code"), required=False, max_length=100)
    institution = forms.CharField(label=_("SIP2 institution id"), required=False, max_length=100)
    encoding = forms.ChoiceField(label=_("SIP2 encoding"), required=False, choices=[(e, e) for e in ENCODINGS])
    base_url = forms.URLField(label=_("Koha address"), required=False, assume_scheme="https")
    client_id = forms.CharField(label=_("Koha client id"), required=False, max_length=200)
    client_secret = forms.CharField(label=_("Koha client secret"), required=False, widget=forms.PasswordInput,
                                    help_text=_("Leave empty to keep the stored secret."))

    SIP2 = ("host", "port", "login", "password", "location", "institution", "encoding")
    KOHA = ("base_url", "client_id", "client_secret")

    def link_data(self) -> dict[str, Any]:
        data = self.cleaned_data
        adapter = data["adapter"]
        names = self.SIP2 if adapter == "sip2" else self.KOHA if adapter == "koha" else ()
        out: dict[str, Any] = {"adapter": adapter}
        for name in names:
            if data.get(name) not in (None, ""):
                out[name] = data[name]
        return out


class UploadForm(forms.Form):
    unit = UnitChoiceField(label=_("Unit"), queryset=None)
    file = forms.FileField(label=_("Export file"),
                           help_text=_("CSV or XLSX with a header row, or IRBIS64 reader records (ISO 2709)."))
    format = forms.ChoiceField(label=_("Format"), required=False,
                               choices=[("", _("Recognise by the file name")), *ImportJob.Format.choices])

    def __init__(self, *args: Any, units: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        field: Any = self.fields["unit"]
        field.queryset = units


class MappingForm(forms.Form):
    import_valid_rows = forms.BooleanField(
        label=_("Import the valid rows"), required=False,
        help_text=_("Without this, a file with any bad row changes nothing."))
    full = forms.BooleanField(
        label=_("This is the unit's full list of loans"), required=False,
        help_text=_("Loans imported earlier that are missing from this file will be marked returned."))

    def __init__(self, *args: Any, headers: list[str], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        choices = [("", _("— not in the file —")), *((str(i), h or f"#{i + 1}") for i, h in enumerate(headers))]
        for name, label in FIELDS.items():
            # only the card always: without loan columns the file lists readers (check_mapping decides the rest)
            self.fields[f"col_{name}"] = forms.ChoiceField(label=label, choices=choices, required=name == "card")

    def mapping(self) -> dict[str, int]:
        return {name: int(self.cleaned_data[f"col_{name}"]) for name in FIELDS
                if self.cleaned_data.get(f"col_{name}") not in (None, "")}

    def mapping_fields(self) -> list[Any]:
        return [self[f"col_{name}"] for name in FIELDS]


class DecideForm(forms.Form):
    decision = forms.ChoiceField(choices=[("grant", _("Renew")), ("refuse", _("Refuse"))])
    new_due = DayField(label=_("New due date"), required=False, widget=forms.DateInput(attrs={"type": "date"}))
    reason = forms.CharField(label=_("Reason for the reader"), required=False, max_length=500)
