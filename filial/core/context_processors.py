from __future__ import annotations

from typing import Any

from django.http import HttpRequest
from django.urls import NoReverseMatch, reverse
from django.utils.translation import gettext as _

from filial.accounts.selectors import access_for
from filial.inbox.selectors import nav_badge
from filial.publishing.models import Post


def _item(request: HttpRequest, name: str, label: str, badge: int = 0) -> dict[str, Any] | None:
    try:
        url = reverse(name)
    except NoReverseMatch:
        return None
    current = request.path == url or (url != "/" and request.path.startswith(url))
    return {"url": url, "label": label, "badge": badge, "current": current}


def navigation(request: HttpRequest) -> dict[str, Any]:
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {}
    access = access_for(user)
    pending = 0
    if access.approve_units:
        pending = Post.objects.filter(state=Post.State.PENDING, unit_id__in=access.approve_units).count()
    wanted = [
        ("publishing:calendar", _("Calendar"), 0),
        ("publishing:post_list", _("Posts"), 0),
    ]
    if access.approve_units:
        wanted.append(("publishing:approvals", _("Approvals"), pending))
    wanted.append(("inbox:inbox", _("Inbox"), nav_badge(access)))  # one COUNT: new, or in progress and overdue
    wanted.append(("circulation:index", _("Circulation"), 0))
    if access.paid_units:
        wanted.append(("paid:order_list", _("Paid services"), 0))
    wanted += [
        ("publishing:event_list", _("Events"), 0),
        ("channels:channel_list", _("Pages"), 0),
    ]
    if access.is_member:
        wanted.append(("stats:dashboard", _("Statistics"), 0))
    if access.approve_units or access.is_admin:
        wanted.append(("reports:report_list", _("Reports"), 0))
    if access.is_admin:
        wanted += [
            ("libraries:unit_list", _("Units"), 0),
            ("accounts:user_list", _("Staff"), 0),
            ("accounts:audit_log", _("Audit log"), 0),
        ]
    items = [i for i in (_item(request, *w) for w in wanted) if i]
    return {"access": access, "nav_pending_count": pending, "nav_items": items}
