"""Debtors' pages: the dashboard of a unit (debtors by days overdue, today's reminders with a progress bar,
renewals, returns after a reminder), a reader's social links (one-time code, identities, consents, reminders,
dialogue; export; erasure), the consent text, and the reminder rules with a live preview of the template."""

from __future__ import annotations

from datetime import timedelta

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_http_methods, require_POST

from filial.accounts.selectors import access_for
from filial.circulation import selectors
from filial.circulation.models import Loan, Reader
from filial.libraries.models import Unit
from filial.readers import debtors, linking, reminders
from filial.readers.models import DialogueAction, ReaderConsent, ReaderIdentity, Reminder, ReminderRule


def _errors(request: HttpRequest, exc: ValidationError) -> None:
    for text in exc.messages:
        messages.error(request, text)


# --- dashboard ------------------------------------------------------------------------------------------------
def _dashboard_unit(request: HttpRequest) -> tuple[list[Unit], Unit | None]:
    units = debtors.dashboard_units(request.user)
    if not units:
        raise PermissionDenied(_("You do not work with readers in any unit."))
    wanted = str(request.GET.get("unit") or request.POST.get("unit") or "")
    unit = next((u for u in units if str(u.pk) == wanted), None) if wanted else debtors.default_unit(units)
    if unit is None:
        raise Http404
    return units, unit


@login_required
def debtors_dashboard(request: HttpRequest) -> HttpResponse:
    units, unit = _dashboard_unit(request)
    assert unit is not None
    board = debtors.dashboard(request.user, unit)
    if board is None:
        raise Http404
    access = access_for(request.user)
    context = {"units": units, "unit": unit, "board": board,
               "can_plan": access.can_write(unit.pk) or access.is_admin_of(unit.system_id)}
    if request.headers.get("HX-Request") and request.GET.get("part") == "progress":
        return render(request, "readers/debtors_progress.html", context)
    return render(request, "readers/debtors_dashboard.html", context)


@login_required
@require_POST
def debtors_plan(request: HttpRequest) -> HttpResponse:
    _units, unit = _dashboard_unit(request)
    assert unit is not None
    access = access_for(request.user)
    if not (access.can_write(unit.pk) or access.is_admin_of(unit.system_id)):
        raise PermissionDenied
    report = reminders.plan(unit_ids=[u.pk for u in Unit.objects.filter(path__startswith=unit.path,
                                                                          system_id=unit.system_id)])
    messages.success(request, _("Reminders planned: %(n)d new, %(old)d already planned today.") % {
        "n": report.planned, "old": report.existing})
    return redirect(f"{request.path.rsplit('plan/', 1)[0]}?unit={unit.pk}")


# --- a reader's links -----------------------------------------------------------------------------------------
def _reader(request: HttpRequest, pk: int) -> Reader:
    reader = selectors.reader_get(request.user, pk)
    if reader is None:
        raise Http404
    return reader


@login_required
def reader_link(request: HttpRequest, pk: int) -> HttpResponse:
    reader = _reader(request, pk)
    access = access_for(request.user)
    context = {
        "reader": reader,
        "can_manage": access.can_write(reader.unit_id) or access.is_admin_of(reader.system_id),
        "can_erase": access.can_erase(reader.unit_id),
        "identities": ReaderIdentity.objects.filter(reader=reader).select_related("channel", "consent"),
        "consents": ReaderConsent.objects.filter(reader=reader).select_related("channel", "consent_text"),
        "reminders": Reminder.objects.filter(reader=reader).select_related("channel", "message")[:30],
        "dialogue": DialogueAction.objects.filter(reader=reader).select_related("channel").order_by("-id")[:50],
        "code": None,
    }
    return render(request, "readers/reader_link.html", context)


@login_required
@require_POST
def reader_link_code(request: HttpRequest, pk: int) -> HttpResponse:
    reader = _reader(request, pk)
    row, code = linking.code_generate(actor=request.user, reader=reader)
    loans = list(Loan.objects.filter(reader=reader, returned__isnull=True).order_by("due", "id"))
    return render(request, "readers/reader_link_code.html", {"reader": reader, "code": code, "row": row,
                                                                "loans": loans})


@login_required
@require_POST
def reader_link_unlink(request: HttpRequest, pk: int, identity_id: int) -> HttpResponse:
    reader = _reader(request, pk)
    identity = ReaderIdentity.objects.filter(pk=identity_id, reader=reader).first()
    if identity is None:
        raise Http404
    linking.identity_unlink(identity, actor=request.user)
    messages.success(request, _("The link was removed."))
    return redirect("readers:reader_link", pk=reader.pk)


@login_required
def reader_link_export(request: HttpRequest, pk: int) -> HttpResponse:
    reader = _reader(request, pk)
    fmt = "csv" if request.GET.get("format") == "csv" else "json"
    content_type, body = linking.reader_export(actor=request.user, reader=reader, fmt=fmt)
    response = HttpResponse(body, content_type=content_type)
    response["Content-Disposition"] = f'attachment; filename="reader-{reader.pk}.{fmt}"'
    return response


@login_required
@require_POST
def reader_link_erase(request: HttpRequest, pk: int) -> HttpResponse:
    reader = _reader(request, pk)
    if request.POST.get("confirm") != reader.card:
        messages.error(request, _("Type the card number to confirm the erasure."))
    else:
        counts = linking.reader_erase(actor=request.user, reader=reader)
        messages.success(request, _("The reader was erased: %(loans)d loans, %(identities)d links, %(messages)d "
                                    "messages and %(items)d inbox items. Consent records stay without the "
                                    "person.") % counts)
        return redirect("circulation:reader_list")
    return redirect("readers:reader_link", pk=reader.pk)


# --- consent text ---------------------------------------------------------------------------------------------
class ConsentForm(forms.Form):
    purpose = forms.CharField(label=gettext_lazy("Purpose"), widget=forms.Textarea(attrs={"rows": 2}))
    text = forms.CharField(label=gettext_lazy("Consent text"), widget=forms.Textarea(attrs={"rows": 6}))


@login_required
@require_http_methods(["GET", "POST"])
def consent_edit(request: HttpRequest) -> HttpResponse:
    access = access_for(request.user)
    units = debtors.dashboard_units(request.user)
    systems = {u.system_id: u.system for u in units if access.is_admin_of(u.system_id)}
    if not systems:
        raise PermissionDenied(_("Only administrators of the library system edit the consent text."))
    system = next(iter(systems.values()))
    current = linking.consent_text_current(system)
    form = ConsentForm(request.POST or None, initial={"purpose": current.purpose, "text": current.text})
    if request.method == "POST" and form.is_valid():
        try:
            row = linking.consent_text_set(actor=request.user, system=system, **form.cleaned_data)
        except ValidationError as exc:
            _errors(request, exc)
        else:
            messages.success(request, _("Consent text version %(v)d is in use.") % {"v": row.version})
            return redirect("readers:consent_edit")
    return render(request, "readers/reader_link_consent.html", {"form": form, "current": current,
                                                                    "system": system})


# --- reminder rules -------------------------------------------------------------------------------------------
class RuleForm(forms.ModelForm):
    class Meta:
        model = ReminderRule
        fields = ["enabled", "pre_due_days", "on_due", "overdue_steps", "quiet_start", "quiet_end",
                  "return_window_days", "template"]
        widgets = {"quiet_start": forms.TimeInput(attrs={"type": "time"}, format="%H:%M"),
                   "quiet_end": forms.TimeInput(attrs={"type": "time"}, format="%H:%M"),
                   "template": forms.Textarea(attrs={"rows": 6})}

    def clean_template(self) -> str:
        value = str(self.cleaned_data.get("template") or "")
        errors = reminders.template_errors(value)
        if errors:
            raise ValidationError(errors)
        return value


def _rule_scope(request: HttpRequest) -> tuple[Unit, bool]:
    """The unit whose rule is edited (``?unit=``) and whether its own override (``scope=unit``) or the
    system's."""
    units = debtors.dashboard_units(request.user)
    access = access_for(request.user)
    editable = [u for u in units if access.is_admin_of(u.system_id) or access.can_approve(u.pk)]
    if not editable:
        raise PermissionDenied(_("You cannot change the reminder rules here."))
    wanted = str(request.GET.get("unit") or request.POST.get("unit") or "")
    unit = next((u for u in editable if str(u.pk) == wanted), editable[0])
    own = (request.GET.get("scope") or request.POST.get("scope")) == "unit" or not access.is_admin_of(unit.system_id)
    return unit, own


def _preview(template: str, unit: Unit) -> str:
    today = timezone.localtime(timezone.now(), unit.tz).date()
    sample = [Loan(title=_("Tolstoy L. War and Peace"), barcode="0001", due=today + timedelta(days=3)),
              Loan(title=_("Pushkin A. Eugene Onegin"), barcode="0002", due=today - timedelta(days=7))]
    return reminders.render(template.strip() or reminders.default_template(), {
        "name": _("Anna"), "library": unit.short_name or unit.name, "books": reminders.books_phrase(len(sample)),
        "count": str(len(sample)), "loans": reminders.loans_text(sample, today)})


@login_required
@require_http_methods(["GET", "POST"])
def reminder_rules(request: HttpRequest) -> HttpResponse:
    unit, own = _rule_scope(request)
    rules = ReminderRule.objects.filter(system_id=unit.system_id)
    existing = rules.filter(unit=unit).first() if own else rules.filter(unit__isnull=True).first()
    base = existing or reminders.rule_for(unit)
    form = RuleForm(request.POST or None, instance=ReminderRule(**{
        f.attname: getattr(base, f.attname) for f in ReminderRule._meta.concrete_fields if f.attname != "id"}))
    if request.method == "POST" and form.is_valid():
        try:
            reminders.rule_save(actor=request.user, system=unit.system, unit=unit if own else None,
                                data=form.cleaned_data)
        except (ValidationError, PermissionDenied) as exc:
            _errors(request, exc if isinstance(exc, ValidationError) else ValidationError(str(exc)))
        else:
            messages.success(request, _("The reminder rules were saved."))
            return redirect(f"{request.path}?unit={unit.pk}&scope={'unit' if own else 'system'}")
    template = form["template"].value() or ""
    return render(request, "readers/reminder_rules.html", {
        "form": form, "unit": unit, "own": own, "preview": _preview(str(template), unit),
        "placeholders": ["{" + p + "}" for p in reminders.PLACEHOLDERS],
        "units": [u for u in debtors.dashboard_units(request.user)],
        "is_admin": access_for(request.user).is_admin_of(unit.system_id)})


@login_required
@require_POST
def reminder_preview(request: HttpRequest) -> HttpResponse:
    unit, _own = _rule_scope(request)
    template = str(request.POST.get("template") or "")
    return render(request, "readers/reminder_preview.html", {
        "preview": _preview(template, unit), "errors": reminders.template_errors(template)})
