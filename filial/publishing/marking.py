"""Advertising marking of posts (Russian law on advertising, art. 18.1): a post that advertises a paid service goes
out with «Реклама», the advertiser's requisites (the library system's legal name and INN) and the ERID token, in the
form each network's pages use (``Connector.ad_text`` in ``networks/<net>/rules.py``). Without an ERID such a post
is not approved, unless it is marked as not advertising with a reason."""

from __future__ import annotations

import re

from django.utils.translation import gettext as _

from filial.networks.base import AdMarking
from filial.networks.registry import connector_class
from filial.publishing.models import Post

ERID_RE = re.compile(r"^[A-Za-z0-9]{4,64}$")


def ad_marking(post: Post) -> AdMarking | None:
    """The marking ``post`` carries, or None (not advertising, or marked as not advertising)."""
    if not post.ad_marked:
        return None
    system = post.unit.system
    return AdMarking(advertiser=system.legal_name or system.name, inn=system.inn, erid=post.erid)


def marked_text(post: Post, network: str, text: str) -> str:
    """``text`` as it goes to a page on ``network``: with the marking where the post carries one."""
    marking = ad_marking(post)
    if marking is None:
        return text
    return connector_class(network).ad_text(text, marking)


def marking_errors(advertises: bool, erid: str, not_ad_reason: str) -> dict[str, list[str]]:
    """What is wrong with a post's marking fields as written (the composer and the API check this)."""
    errors: dict[str, list[str]] = {}
    if erid and not ERID_RE.match(erid):
        errors["erid"] = [_("An ERID is 4 to 64 Latin letters and digits, as the advertising-data operator gave "
                            "it. Copy it again without spaces.")]
    if (erid or not_ad_reason) and not advertises:
        errors.setdefault("advertises", []).append(
            _("An ERID or a reason is given, but the post is not marked as being about a paid service. Tick "
              "«advertises a paid service» or clear those fields."))
    if erid and not_ad_reason:
        errors.setdefault("not_ad_reason", []).append(
            _("A post either carries an ERID or is marked as not advertising, not both. Clear one of them."))
    return errors


def approval_errors(post: Post) -> dict[str, list[str]]:
    """Why ``post`` cannot be approved (or scheduled) as it is marked: an advertisement without an ERID and without
    a reason why it is not advertising, or a library system without the advertiser's requisites."""
    if not post.advertises:
        return {}
    if post.not_ad_reason.strip():
        return {}
    if not post.erid:
        return {"erid": [_("This post advertises a paid service: give its ERID from the advertising-data operator, "
                           "or mark it as not advertising and say why.")]}
    system = post.unit.system
    if not system.inn:
        return {"erid": [_("The library's INN is not set, so the advertiser cannot be named in the marking. An "
                           "administrator sets it on the page «Advertiser's requisites» under Paid services.")]}
    return {}
