"""Forms of the staff management pages and the audit log filters. They only parse input: the rules
(permissions, password validators, the lock-out guard) live in filial/accounts/services.py."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib.admin.forms import AdminAuthenticationForm
from django.contrib.auth.forms import AuthenticationForm
from django.contrib.auth.validators import UnicodeUsernameValidator
from django.core.exceptions import ValidationError
from django.db.models import QuerySet
from django.utils.translation import gettext_lazy as _

from filial.accounts.models import Role
from filial.accounts.throttle import LOCKED_CODE, is_locked_out, lockout_message
from filial.core.params import DayField
from filial.libraries.models import Unit


def add_service_errors(form: forms.BaseForm, exc: ValidationError) -> None:
    """Show a service's ValidationError on the form: at its field if the form has one, else on top."""
    if hasattr(exc, "error_dict"):
        for field, errors in exc.error_dict.items():
            target = field if field in form.fields else None
            for error in errors:
                form.add_error(target, error)
    else:
        form.add_error(None, exc)


class ThrottledLoginMixin:
    """A login form that says so plainly when too many failures locked sign-in (filial/accounts/throttle.py)."""

    request: Any

    def clean(self) -> dict[str, Any]:
        try:
            return super().clean()  # type: ignore[misc,no-any-return]
        except ValidationError:
            if self.request is not None and is_locked_out(self.request):
                raise ValidationError(lockout_message(), code=LOCKED_CODE) from None
            raise


class LoginForm(ThrottledLoginMixin, AuthenticationForm):
    """The login page's form."""


class AdminLoginForm(ThrottledLoginMixin, AdminAuthenticationForm):
    """/admin/login/'s form."""


class UnitChoiceField(forms.ModelChoiceField):
    """Units as an indented tree; the system's name is added when there are several systems."""

    def __init__(self, *args: Any, show_system: bool = False, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.show_system = show_system

    def label_from_instance(self, obj: Any) -> str:
        label = "— " * obj.depth + obj.name
        return f"{obj.system}: {label}" if self.show_system else label


def unit_choice_field(units: QuerySet[Unit], **kwargs: Any) -> UnitChoiceField:
    units = units.select_related("system").order_by("system__name", "system_id", "path")
    several = len({u.system_id for u in units}) > 1
    return UnitChoiceField(queryset=units, show_system=several, **kwargs)


class PasswordPairMixin:
    """Two password inputs that must match (the validators run in the service)."""

    first_field = "password"
    second_field = "password_confirm"

    def clean(self) -> dict[str, Any]:
        data: dict[str, Any] = super().clean()  # type: ignore[misc]
        first, second = data.get(self.first_field), data.get(self.second_field)
        if (first or second) and first != second:
            self.add_error(self.second_field, _("The two passwords do not match."))  # type: ignore[attr-defined]
        return data


class StaffCreateForm(PasswordPairMixin, forms.Form):
    username = forms.CharField(
        label=_("Username"), max_length=150, validators=[UnicodeUsernameValidator()],
        help_text=_("Letters, digits and @ . + - _ only; used to log in."),
        widget=forms.TextInput(attrs={"autocomplete": "off", "autocapitalize": "none"}),
    )
    display_name = forms.CharField(label=_("Display name"), max_length=150, required=False,
                                   help_text=_("Shown in the menu and in the audit log, e.g. a full name."))
    email = forms.EmailField(label=_("E-mail"), required=False)
    password = forms.CharField(
        label=_("Initial password"), strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
        help_text=_("At least 8 characters, not too common, not only digits. Tell it to the person privately."),
    )
    password_confirm = forms.CharField(
        label=_("Password again"), strip=False, widget=forms.PasswordInput(attrs={"autocomplete": "new-password"})
    )
    unit = forms.ModelChoiceField(queryset=Unit.objects.none(), label=_("Unit"))
    role = forms.ChoiceField(label=_("Role"), choices=Role.choices, initial=Role.EDITOR)

    def __init__(self, *args: Any, units: QuerySet[Unit], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["unit"] = unit_choice_field(units, label=_("Unit"),
                                                help_text=_("The role covers this unit and its sub-units."))


class StaffEditForm(PasswordPairMixin, forms.Form):
    first_field = "new_password"
    second_field = "new_password_confirm"

    display_name = forms.CharField(label=_("Display name"), max_length=150, required=False)
    email = forms.EmailField(label=_("E-mail"), required=False)
    is_active = forms.BooleanField(
        label=_("Active"), required=False,
        help_text=_("An inactive user cannot log in. Users are never deleted: the audit log keeps their name."),
    )
    new_password = forms.CharField(
        label=_("New password"), required=False, strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
        help_text=_("Leave empty to keep the current password."),
    )
    new_password_confirm = forms.CharField(
        label=_("New password again"), required=False, strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
    )


class MembershipForm(forms.Form):
    unit = forms.ModelChoiceField(queryset=Unit.objects.none(), label=_("Unit"))
    role = forms.ChoiceField(label=_("Role"), choices=Role.choices, initial=Role.EDITOR)

    def __init__(self, *args: Any, units: QuerySet[Unit], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["unit"] = unit_choice_field(units, label=_("Unit"))


class MembershipRoleForm(forms.Form):
    role = forms.ChoiceField(label=_("Role"), choices=Role.choices)


class AuditFilterForm(forms.Form):
    action = forms.ChoiceField(label=_("Action"), required=False)
    object_type = forms.ChoiceField(label=_("Object type"), required=False)
    actor = forms.ChoiceField(label=_("User"), required=False)
    date_from = DayField(label=_("From"), required=False, widget=forms.DateInput(attrs={"type": "date"}))
    date_to = DayField(label=_("To"), required=False, widget=forms.DateInput(attrs={"type": "date"}))

    def __init__(self, *args: Any, actions: list[str], object_types: list[str], actors: list[str],
                 **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        everything = [("", _("All"))]
        self.fields["action"].choices = everything + [(a, a) for a in actions]  # type: ignore[attr-defined]
        self.fields["object_type"].choices = everything + [(t, t) for t in object_types]  # type: ignore[attr-defined]
        self.fields["actor"].choices = everything + [(a, a) for a in actors]  # type: ignore[attr-defined]

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        start, end = data.get("date_from"), data.get("date_to")
        if start and end and start > end:
            self.add_error("date_to", _("The end date is before the start date."))
        return data


class StaffFilterForm(forms.Form):
    q = forms.CharField(label=_("Search"), required=False, max_length=100,
                        widget=forms.TextInput(attrs={"type": "search"}))
    unit = forms.ModelChoiceField(queryset=Unit.objects.none(), required=False, label=_("Unit"))
    role = forms.ChoiceField(label=_("Role"), required=False, choices=[("", _("All")), *Role.choices])
    status = forms.ChoiceField(label=_("Status"), required=False, choices=[
        ("", _("All")), ("active", _("Active")), ("inactive", _("Inactive")),
    ])

    def __init__(self, *args: Any, units: QuerySet[Unit], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["unit"] = unit_choice_field(units, label=_("Unit"), required=False, empty_label=_("All"))
