"""Composer previews: how a post will look on each selected page, and where it breaks a network's limit.

Pure computation from the composer's (possibly invalid, unsaved) input and the connector classes'
``Capabilities``; no network call and no database write. The text is composed the way each connector composes
it (``Connector.preview_text``: Telegram and MAX put the link into the text, VK and OK attach it), so the length
checked here is the length the network will receive; ``Connector.preview_warnings`` adds a network's own limits.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from django.utils.translation import gettext as _

from filial.networks import registry
from filial.networks.base import AdMarking, Capabilities, PostPayload, PreviewShape
from filial.networks.registry import connector_class
from filial.publishing.forms.posts import split_answers

if TYPE_CHECKING:
    from filial.channels.models import Channel
    from filial.publishing.forms.posts import PostForm

MAX_NEW_PHOTOS = 100  # a bound for the photo count a browser reports


@dataclass(frozen=True)
class PreviewInput:
    """The composer's input as far as previews care; texts are per page (``overrides``: page id → text)."""

    text: str = ""
    link: str = ""
    photos: int = 0
    poll_question: str = ""
    poll_answers: tuple[str, ...] = ()
    poll_multiple: bool = False
    poll_anonymous: bool = True
    overrides: dict[int, str] = field(default_factory=dict)
    ad_erid: str = ""  # the post goes out marked as advertising with this ERID (publishing/marking.py)

    @property
    def has_poll(self) -> bool:
        return bool(self.poll_question.strip() or self.poll_answers)


@dataclass
class PagePreview:
    channel: Channel
    capabilities: Capabilities
    own_text: bool
    text: str  # what the network receives: the page's text, with the link where the network puts it there
    limit: int
    link: str
    link_in_text: bool  # the link travels inside the text (Telegram, MAX)
    link_card: bool  # the network shows a preview card for the link
    photos: int
    poll_question: str = ""
    poll_answers: tuple[str, ...] = ()
    poll_multiple: bool = False
    warnings: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    @property
    def network_name(self) -> str:
        return registry.label(self.channel.network)

    @property
    def length(self) -> int:
        return len(self.text)

    @property
    def shown(self) -> str:
        """The part of the text within the limit."""
        return self.text[: self.limit]

    @property
    def overflow(self) -> str:
        """The part beyond the limit (empty when the text fits)."""
        return self.text[self.limit:]

    @property
    def cut(self) -> int:
        return max(0, self.length - self.limit)

    @property
    def max_photos(self) -> int:
        return self.capabilities.max_photos

    @property
    def photos_over(self) -> bool:
        return self.photos > self.capabilities.max_photos

    @property
    def has_poll(self) -> bool:
        return bool(self.poll_question.strip() or self.poll_answers)

    @property
    def polls_supported(self) -> bool:
        return self.capabilities.polls

    @property
    def ok(self) -> bool:
        return not self.warnings


def page_preview(channel: Channel, data: PreviewInput) -> PagePreview:
    network = channel.network
    cls = connector_class(network)
    caps = cls.capabilities
    override = (data.overrides.get(channel.pk) or "").strip()
    base_text = override or data.text
    if data.ad_erid:  # the marking in the network's form counts against its length limit
        system = channel.unit.system
        base_text = cls.ad_text(base_text, AdMarking(system.legal_name or system.name, system.inn, data.ad_erid))
    text = cls.preview_text(PostPayload(text=base_text, key="preview", link=data.link))
    name = registry.label(network)
    page = PagePreview(
        channel=channel, capabilities=caps, own_text=bool(override), text=text, limit=caps.text_limit,
        link=data.link, link_in_text=cls.link_in_text and bool(data.link), link_card=cls.link_card,
        photos=data.photos, poll_question=data.poll_question.strip(), poll_answers=data.poll_answers,
        poll_multiple=data.poll_multiple,
    )
    if page.cut:
        page.warnings.append(
            _("The text is %(n)d characters; %(network)s takes at most %(max)d. Shorten it or give this page its "
              "own text.") % {"n": page.length, "network": name, "max": page.limit})
    elif data.photos and caps.caption_limit and page.length > caps.caption_limit:
        page.notes.append(
            _("Longer than a photo caption (%(max)d characters): the text goes as its own message after the "
              "photos.") % {"max": caps.caption_limit})
    if page.photos_over:
        page.warnings.append(_("%(n)d photos; %(network)s takes at most %(max)d.")
                             % {"n": data.photos, "network": name, "max": caps.max_photos})
    if data.has_poll:
        if not caps.polls:
            page.warnings.append(_("%(network)s has no polls: this page cannot publish the post with a poll.")
                                 % {"network": name})
        elif not 2 <= len(data.poll_answers) <= caps.poll_max_answers:
            page.warnings.append(_("A poll on %(network)s needs from 2 to %(max)d answers.")
                                 % {"network": name, "max": caps.poll_max_answers})
    if data.link and not caps.links:
        page.warnings.append(_("%(network)s does not take links.") % {"network": name})
    if not text.strip() and not data.photos and not data.has_poll:
        page.warnings.append(_("The post is empty on this page."))
    # limits beyond ``Capabilities`` that the network's connector also refuses
    page.warnings.extend(cls.preview_warnings(PreviewShape(
        photos=page.photos, link=page.link, poll_question=page.poll_question, poll_answers=page.poll_answers,
        poll_anonymous=data.poll_anonymous)))
    return page


def previews(channels: Iterable[Channel], data: PreviewInput) -> list[PagePreview]:
    return [page_preview(channel, data) for channel in channels]


# --- from the composer ----------------------------------------------------------------------------------
def _text(value: Any) -> str:
    return "" if value is None else str(value)


def _answers(value: Any) -> tuple[str, ...]:
    return tuple(split_answers(_text(value)))


def _link(value: Any) -> str:
    link = _text(value).strip()
    if link and "://" not in link:
        link = "https://" + link  # what the composer's URL field makes of it (assume_scheme="https")
    return link


def input_from_form(form: PostForm, new_photos: int = 0) -> PreviewInput:
    """The composer's current values, valid or not (bound data, else the initial values)."""
    selected = {str(v) for v in (form["channels"].value() or [])}
    overrides = {}
    for channel in form.channel_list:
        if str(channel.pk) in selected:
            overrides[channel.pk] = _text(form[form.variant_name(channel.pk)].value())
    kept = len(form.existing_media)
    if "remove_media" in form.fields:
        removed = {str(v) for v in (form["remove_media"].value() or [])}
        kept = len([m for m in form.existing_media if str(m.pk) not in removed])
    return PreviewInput(
        text=_text(form["text"].value()).strip(), link=_link(form["link"].value()),
        photos=kept + max(0, min(new_photos, MAX_NEW_PHOTOS)),
        poll_question=_text(form["poll_question"].value()), poll_answers=_answers(form["poll_answers"].value()),
        poll_multiple=bool(form["poll_multiple"].value()), poll_anonymous=bool(form["poll_anonymous"].value()),
        overrides=overrides,
        ad_erid=_text(form["erid"].value()).strip() if form["advertises"].value()
        and not _text(form["not_ad_reason"].value()).strip() else "",
    )


def selected_channels(form: PostForm) -> list[Channel]:
    """The pages ticked in the composer, among those the user may choose."""
    selected = {str(v) for v in (form["channels"].value() or [])}
    return [channel for channel in form.channel_list if str(channel.pk) in selected]


def for_form(form: PostForm, new_photos: int = 0) -> list[PagePreview]:
    return previews(selected_channels(form), input_from_form(form, new_photos))
