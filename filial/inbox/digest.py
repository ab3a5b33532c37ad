"""The daily digest: each methodologist gets, per unit of their subtree, how many conversations are new, open
and overdue, with the oldest deadline (plain-text e-mail through Django's ``send_mail``)."""

from __future__ import annotations

import logging
from collections import defaultdict
from typing import Any

from django.conf import settings
from django.core.mail import send_mail
from django.db.models import Count, Min, Q
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from filial.accounts.models import Membership, Role
from filial.inbox.models import Conversation, InboxSettings
from filial.libraries.models import Unit

log = logging.getLogger("filial.inbox")


def unit_counts(unit_ids: list[int]) -> dict[int, dict[str, Any]]:
    now = timezone.now()
    rows = (Conversation.objects.filter(unit_id__in=unit_ids, state__in=Conversation.OPEN_STATES)
            .values("unit_id").annotate(new=Count("id", filter=Q(state=Conversation.State.NEW)),
                                        open=Count("id"), late=Count("id", filter=Q(due_at__lt=now)),
                                        oldest=Min("due_at")))
    return {row["unit_id"]: dict(row) for row in rows}


def send_digests() -> int:
    """One e-mail per methodologist with an address whose units have open conversations. Returns how many."""
    disabled = set(InboxSettings.objects.filter(digest_enabled=False).values_list("system_id", flat=True))
    memberships = (Membership.objects.filter(role=Role.METHODOLOGIST, user__is_active=True)
                   .exclude(user__email="").exclude(unit__system_id__in=disabled)
                   .select_related("user", "unit"))
    subtrees: dict[int, set[int]] = defaultdict(set)
    users = {}
    units = {u.pk: u for u in Unit.objects.filter(system_id__in={m.unit.system_id for m in memberships})
             .select_related("system")}
    for membership in memberships:
        users[membership.user_id] = membership.user
        subtrees[membership.user_id] |= {pk for pk, unit in units.items()
                                         if unit.system_id == membership.unit.system_id
                                         and unit.path.startswith(membership.unit.path)}
    counts = unit_counts(sorted({pk for ids in subtrees.values() for pk in ids}))
    sent = 0
    for user_id, unit_ids in subtrees.items():
        lines = []
        for pk in sorted(unit_ids, key=lambda pk: units[pk].path):
            row = counts.get(pk)
            if not row:
                continue
            unit = units[pk]
            oldest = row["oldest"]
            due = timezone.localtime(oldest, unit.tz).strftime("%d.%m.%Y %H:%M") if oldest else "—"  # type: ignore[arg-type]
            lines.append(_("%(unit)s: %(open)d open, %(new)d new, %(overdue)d overdue; the next deadline %(due)s")
                         % {"unit": unit, "open": row["open"], "new": row["new"], "overdue": row["late"],
                            "due": due})
        if not lines:
            continue
        user = users[user_id]
        with translation.override(settings.LANGUAGE_CODE):
            subject = _("Inbox: conversations waiting for an answer")
            body = "\n".join([_("Conversations of your units that wait for an answer:"), "", *lines])
        try:
            send_mail(subject, body, settings.DEFAULT_FROM_EMAIL, [user.email])
            sent += 1
        except OSError:
            log.warning("the inbox digest to %s could not be sent", user.email, exc_info=True)
    return sent
