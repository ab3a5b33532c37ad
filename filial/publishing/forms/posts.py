"""Forms of the posts UI: the composer, the reviewer's comment and the list/calendar filters.

The composer is a plain form, not a ModelForm: it turns the request into ``services.PostData`` and the
services do the checks that matter (pages of the user's units, times in the future, polls).
"""

from __future__ import annotations

import zoneinfo
from collections.abc import Iterable, Sequence
from datetime import date, datetime, timedelta
from typing import Any

from django import forms
from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import UploadedFile
from django.db.models import Q, QuerySet
from django.utils import timezone
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from filial.accounts.selectors import Access, access_for
from filial.channels.models import Channel, Network
from filial.core.params import DayField, validate_day
from filial.core.timeutils import local_to_aware
from filial.libraries.models import Unit
from filial.publishing.models import (
    Event,
    Media,
    Poll,
    Post,
    PostChannel,
    PostMedia,
    PostSeries,
    SeriesOccurrence,
)
from filial.publishing.selectors import events_visible, posts_matching
from filial.publishing.series import Rule
from filial.publishing.services import MAX_PHOTOS, PollData, PostData

LOCAL_FORMAT = "%Y-%m-%dT%H:%M"
LOCAL_INPUT_FORMATS = [LOCAL_FORMAT, "%Y-%m-%dT%H:%M:%S", "%Y-%m-%d %H:%M", "%Y-%m-%d %H:%M:%S", "%d.%m.%Y %H:%M"]


class LocalDateTimeField(forms.DateTimeField):
    """A ``datetime-local`` input kept naive: the view/form decides the zone (the unit's), not Django."""

    default_validators = [validate_day]  # within the bounds of filial/core/params.py

    widget = forms.DateTimeInput(attrs={"type": "datetime-local"}, format=LOCAL_FORMAT)

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("input_formats", LOCAL_INPUT_FORMATS)
        super().__init__(**kwargs)

    def to_python(self, value: Any) -> datetime | None:  # type: ignore[override]
        if value in self.empty_values:
            return None
        if isinstance(value, datetime):
            return value
        text = str(value).strip()
        for fmt in self.input_formats or LOCAL_INPUT_FORMATS:
            try:
                return datetime.strptime(text, str(fmt))
            except (ValueError, TypeError):
                continue
        raise ValidationError(self.error_messages["invalid"], code="invalid")


class MultipleFileInput(forms.ClearableFileInput):
    allow_multiple_selected = True


class MultiplePhotoField(forms.FileField):
    """Several photos in one ``<input type=file multiple>``; content checks are done by media_upload."""

    widget = MultipleFileInput(attrs={"accept": "image/jpeg,image/png,image/webp"})

    def clean(self, data: Any, initial: Any = None) -> list[UploadedFile]:
        files = data if isinstance(data, list | tuple) else ([data] if data else [])
        cleaned: list[UploadedFile] = []
        for f in files:
            value = super().clean(f, initial) if f else None
            if value:
                cleaned.append(value)
        return cleaned


def split_answers(text: str) -> list[str]:
    """One answer per line; blank lines at the ends are ignored, blank lines in between are kept (errors)."""
    text = text.strip("\r\n\t ")
    if not text:
        return []
    return [line.strip() for line in text.splitlines()]


class UnitChoiceField(forms.ModelChoiceField):
    show_tz = False

    def label_from_instance(self, obj: Any) -> str:
        label = str(obj)
        if obj.depth:
            label = "— " * obj.depth + label
        if self.show_tz:
            label = f"{label} ({obj.tz_name})"
        return label


class PostForm(forms.Form):
    """The composer: create a post or edit one; pages, photos, poll and per-page texts in one form."""

    unit = UnitChoiceField(label=_("Unit"), queryset=Unit.objects.none(), empty_label=None)
    kind = forms.ChoiceField(label=_("Kind"), choices=Post.Kind.choices, initial=Post.Kind.NOTE)
    title = forms.CharField(label=_("Title"), max_length=200, required=False,
                            help_text=_("For the calendar and lists; not published."))
    text = forms.CharField(label=_("Text"), max_length=16000, widget=forms.Textarea(attrs={"rows": 10}))
    link = forms.URLField(label=_("Link"), max_length=500, required=False, assume_scheme="https")
    event = forms.ModelChoiceField(label=_("Event"), queryset=Event.objects.none(), required=False,
                                   empty_label=_("— no event —"))
    channels = forms.ModelMultipleChoiceField(
        label=_("Pages"), queryset=Channel.objects.none(), required=False,
        widget=forms.CheckboxSelectMultiple,
        error_messages={"invalid_choice": _("You cannot publish to one of the chosen pages."),
                        "invalid_pk_value": _("You cannot publish to one of the chosen pages.")},
    )
    publish_at = LocalDateTimeField(label=_("Publish at"), required=False)
    photos = MultiplePhotoField(label=_("Add photos"), required=False)
    remove_media = forms.ModelMultipleChoiceField(label=_("Remove photos"), queryset=Media.objects.none(),
                                                  required=False, widget=forms.CheckboxSelectMultiple)
    poll_question = forms.CharField(label=_("Question"), max_length=255, required=False)
    poll_answers = forms.CharField(label=_("Answers"), required=False,
                                   widget=forms.Textarea(attrs={"rows": 5}),
                                   help_text=_("One answer per line, from 2 to 10 answers."))
    poll_multiple = forms.BooleanField(label=_("Several answers allowed"), required=False)
    poll_anonymous = forms.BooleanField(label=_("Anonymous"), required=False, initial=True)
    poll_ends_at = LocalDateTimeField(label=_("Poll ends"), required=False)
    # Advertising marking (publishing/marking.py).
    advertises = forms.BooleanField(label=_("Advertises a paid service"), required=False,
                                    help_text=_("The post goes out marked «Реклама» with the library's requisites "
                                                "and the ERID."))
    erid = forms.CharField(label=_("ERID"), max_length=64, required=False,
                           help_text=_("The token the advertising-data operator gave for this advertisement."))
    not_ad_reason = forms.CharField(label=_("Not advertising, because"), max_length=500, required=False,
                                    help_text=_("Fill in only if the post is about a paid service but is not "
                                                "advertising (for example, a price list asked for by readers)."))
    # "Repeat" (filial/publishing/series.py): the post is the first of a series at the same local time.
    repeat = forms.ChoiceField(label=_("Repeat"), required=False,
                               choices=[("", _("Does not repeat")), *PostSeries.Frequency.choices])
    repeat_weekdays = forms.TypedMultipleChoiceField(
        label=_("Days of the week"), required=False, coerce=int, widget=forms.CheckboxSelectMultiple,
        choices=[(0, _("Mon")), (1, _("Tue")), (2, _("Wed")), (3, _("Thu")), (4, _("Fri")), (5, _("Sat")),
                 (6, _("Sun"))])
    repeat_month_day = forms.IntegerField(label=_("Day of the month"), required=False, min_value=1, max_value=31,
                                          help_text=_("In shorter months: their last day."))
    repeat_interval = forms.IntegerField(label=_("Every N days"), required=False, min_value=1, max_value=365)
    repeat_until = DayField(label=_("Until"), required=False, widget=forms.DateInput(attrs={"type": "date"}))
    repeat_count = forms.IntegerField(label=_("Number of posts"), required=False, min_value=2, max_value=1000,
                                      help_text=_("Or a date: whichever comes first ends the series."))

    def __init__(self, *args: Any, user: Any, post: Post | None = None, **kwargs: Any) -> None:
        self.user = user
        self.post = post
        self.access: Access = access_for(user)
        if post is not None and "initial" not in kwargs:
            kwargs["initial"] = self.initial_for(post)
        super().__init__(*args, **kwargs)
        access = self.access
        self.fields["photos"].help_text = gettext(
            "JPEG, PNG or WebP, up to %(n)d photos. Location data is removed."
        ) % {"n": MAX_PHOTOS}
        units = Unit.objects.filter(id__in=access.write_units).select_related("system").order_by("path")
        unit_field: UnitChoiceField = self.fields["unit"]  # type: ignore[assignment]
        unit_field.queryset = units
        self.units = list(units)
        unit_field.show_tz = len({u.tz_name for u in self.units}) > 1

        current_channels = set(post.targets.values_list("channel_id", flat=True)) if post else set()
        channels = (
            Channel.objects.filter(
                Q(unit_id__in=access.write_units) & ~Q(status=Channel.Status.ARCHIVED)
                | Q(pk__in=current_channels)
            )
            .select_related("unit")
            .order_by("unit__path", "network", "name")
        )
        channels_field: forms.ModelMultipleChoiceField = self.fields["channels"]  # type: ignore[assignment]
        channels_field.queryset = channels
        self.channel_list = list(channels)
        overrides = (
            dict(PostChannel.objects.filter(post=post).values_list("channel_id", "text_override")) if post else {}
        )
        for channel in self.channel_list:
            self.fields[self.variant_name(channel.pk)] = forms.CharField(
                label=gettext("Text for “%(page)s”") % {"page": channel.name}, required=False, max_length=16000,
                widget=forms.Textarea(attrs={"rows": 4}), initial=overrides.get(channel.pk, ""),
            )

        events = events_visible(user).select_related("unit__system")
        event_field: forms.ModelChoiceField = self.fields["event"]  # type: ignore[assignment]
        event_field.queryset = events
        event_field.choices = self._event_choices(events, post.event_id if post else None)

        if post is not None:
            media_field: forms.ModelMultipleChoiceField = self.fields["remove_media"]  # type: ignore[assignment]
            order = list(PostMedia.objects.filter(post=post).order_by("position").values_list("media_id", flat=True))
            media_field.queryset = Media.objects.filter(pk__in=order)
            by_id = {m.pk: m for m in media_field.queryset}
            self.existing_media = [by_id[pk] for pk in order if pk in by_id]
        else:
            del self.fields["remove_media"]
            self.existing_media = []

        # A post already on all its pages keeps its unit, pages and time (its content is edited on the networks);
        # an occurrence of a series does not repeat by itself.
        self.is_occurrence = post is not None and SeriesOccurrence.objects.filter(post=post, index__gt=0).exists()
        if post is not None and (post.state == Post.State.PUBLISHED or self.is_occurrence):
            for name in [n for n in self.fields if n.startswith("repeat")]:
                del self.fields[name]
        if post is not None and post.state == Post.State.PUBLISHED:
            for name in ("unit", "channels", "publish_at"):
                self.fields[name].disabled = True
        self.repeats = "repeat" in self.fields

    # --- building -----------------------------------------------------------------------------
    @staticmethod
    def variant_name(channel_id: int) -> str:
        return f"variant_{channel_id}"

    @staticmethod
    def initial_for(post: Post) -> dict[str, Any]:
        tz = post.unit.tz
        initial: dict[str, Any] = {
            "unit": post.unit_id, "kind": post.kind, "title": post.title, "text": post.text, "link": post.link,
            "event": post.event_id, "advertises": post.advertises, "erid": post.erid,
            "not_ad_reason": post.not_ad_reason,
            "channels": list(post.targets.values_list("channel_id", flat=True)),
            "publish_at": post.publish_at.astimezone(tz).replace(tzinfo=None) if post.publish_at else None,
        }
        series = PostSeries.objects.filter(template=post).exclude(state=PostSeries.State.STOPPED).first()
        if series is not None:
            initial.update({
                "repeat": series.frequency, "repeat_weekdays": list(series.weekdays or []),
                "repeat_month_day": series.month_day, "repeat_interval": series.interval,
                "repeat_until": series.until, "repeat_count": series.count,
            })
        poll = Poll.objects.filter(post=post).prefetch_related("answers").first()
        if poll is not None:
            initial.update({
                "poll_question": poll.question,
                "poll_answers": "\n".join(a.text for a in poll.answers.all()),
                "poll_multiple": poll.multiple, "poll_anonymous": poll.anonymous,
                "poll_ends_at": poll.ends_at.astimezone(tz).replace(tzinfo=None) if poll.ends_at else None,
            })
        return initial

    @staticmethod
    def _event_choices(events: QuerySet[Event], current_id: int | None) -> list[Any]:
        now = timezone.now()
        upcoming = list(events.filter(starts_at__gte=now - timedelta(hours=12)).order_by("starts_at")[:200])
        past = list(
            events.filter(Q(starts_at__lt=now - timedelta(hours=12), starts_at__gte=now - timedelta(days=120))
                          | Q(pk=current_id or 0))
            .exclude(pk__in=[e.pk for e in upcoming]).order_by("-starts_at")[:100]
        )

        def label(e: Event) -> str:
            when = timezone.localtime(e.starts_at, e.unit.tz).strftime("%d.%m.%Y %H:%M")
            return f"{when} · {e.title}"

        choices: list[Any] = [("", gettext("— no event —"))]
        if upcoming:
            choices.append((gettext("Upcoming"), [(e.pk, label(e)) for e in upcoming]))
        if past:
            choices.append((gettext("Past"), [(e.pk, label(e)) for e in past]))
        return choices

    def selected_unit(self) -> Unit | None:
        """The unit the form is about: the posted one if valid, else the initial one, else the first."""
        by_id = {u.pk: u for u in self.units}
        raw = self.data.get("unit") if self.is_bound else self.initial.get("unit")
        try:
            unit_id = int(raw) if raw not in (None, "") else None
        except (TypeError, ValueError):
            unit_id = None
        if unit_id in by_id:
            return by_id[unit_id]
        if self.post is not None:
            return self.post.unit
        return self.units[0] if self.units else None

    def channel_groups(self) -> list[dict[str, Any]]:
        """Pages grouped by unit for the template: each with its checkbox and its text-variant field."""
        selected = {str(v) for v in (self["channels"].value() or [])}
        groups: dict[int, dict[str, Any]] = {}
        for channel in self.channel_list:
            group = groups.setdefault(channel.unit_id, {"unit": channel.unit, "pages": []})
            variant = self[self.variant_name(channel.pk)]
            group["pages"].append({
                "channel": channel, "checked": str(channel.pk) in selected, "variant": variant,
                "input_id": f"id_channels_{channel.pk}",
            })
        return list(groups.values())

    # --- validation ---------------------------------------------------------------------------
    def clean_photos(self) -> list[UploadedFile]:
        files: list[UploadedFile] = self.cleaned_data.get("photos") or []
        limit = settings.FILIAL_MAX_PHOTO_BYTES
        errors = []
        for f in files:
            if f.size is not None and f.size > limit:
                errors.append(
                    gettext("%(name)s: the photo is too large: %(size)d MB, at most %(max)d MB.")
                    % {"name": f.name, "size": f.size // (1024 * 1024), "max": limit // (1024 * 1024)}
                )
        if errors:
            raise ValidationError(errors)
        return files

    def clean(self) -> dict[str, Any]:
        cleaned: dict[str, Any] = super().clean() or {}
        unit: Unit | None = cleaned.get("unit")
        tz = unit.tz if unit else zoneinfo.ZoneInfo(settings.TIME_ZONE)
        for name in ("publish_at", "poll_ends_at"):
            value = cleaned.get(name)
            if isinstance(value, datetime):
                try:
                    cleaned[name] = local_to_aware(value, tz)
                except ValidationError as exc:
                    self.add_error(name, exc)
        removed = {m.pk for m in cleaned.get("remove_media") or []}
        kept = [m for m in self.existing_media if m.pk not in removed]
        if len(kept) + len(cleaned.get("photos") or []) > MAX_PHOTOS:
            self.add_error("photos", gettext("At most %(n)d photos can go with one post.") % {"n": MAX_PHOTOS})
        question = (cleaned.get("poll_question") or "").strip()
        answers = split_answers(cleaned.get("poll_answers") or "")
        if answers and not question:
            self.add_error("poll_question", gettext("The poll has no question."))
        if question and not answers:
            self.add_error("poll_answers", gettext("A poll needs from %(min)d to %(max)d answers.")
                           % {"min": 2, "max": 10})
        return cleaned

    def repeat_rule(self) -> Rule | None:
        """The "Repeat" fieldset as a series rule (None: the post does not repeat); call after ``is_valid()``."""
        c = self.cleaned_data
        frequency = c.get("repeat") or "" if self.repeats else ""
        if not frequency:
            return None
        return Rule(frequency=frequency, weekdays=[int(d) for d in c.get("repeat_weekdays") or []],
                    month_day=c.get("repeat_month_day"), interval=c.get("repeat_interval") or 1,
                    until=c.get("repeat_until"), count=c.get("repeat_count"))

    def kept_media(self) -> list[Media]:
        removed = {m.pk for m in self.cleaned_data.get("remove_media") or []}
        return [m for m in self.existing_media if m.pk not in removed]

    def post_data(self, new_media: Sequence[Media] = ()) -> PostData:
        """The services' view of this form; call after ``is_valid()``."""
        c = self.cleaned_data
        channels: list[Channel] = list(c.get("channels") or [])
        question = (c.get("poll_question") or "").strip()
        answers = split_answers(c.get("poll_answers") or "")
        poll = None
        if question or answers:
            poll = PollData(question=question, answers=answers, multiple=bool(c.get("poll_multiple")),
                            anonymous=bool(c.get("poll_anonymous")), ends_at=c.get("poll_ends_at"))
        overrides = {}
        for channel in channels:
            text = (c.get(self.variant_name(channel.pk)) or "").strip()
            if text:
                overrides[channel.pk] = text
        return PostData(
            unit=c["unit"], kind=c["kind"], text=c["text"], channels=channels, title=c.get("title") or "",
            link=c.get("link") or "", event=c.get("event"), publish_at=c.get("publish_at"),
            media=[*self.kept_media(), *new_media], poll=poll, text_overrides=overrides,
            advertises=bool(c.get("advertises")), erid=c.get("erid") or "", not_ad_reason=c.get("not_ad_reason") or "",
        )

    def add_service_errors(self, exc: ValidationError) -> None:
        """Put a service's ValidationError on the matching fields (unknown keys become form errors)."""
        mapping = {"media": "photos", "file": "photos", "poll": "poll_answers", "comment": None}
        if hasattr(exc, "error_dict"):
            for key, errors in exc.error_dict.items():
                field = mapping.get(key, key)
                if field is not None and field not in self.fields:
                    field = None
                for error in errors:
                    self.add_error(field, error)
        else:
            self.add_error(None, exc)


class ReviewForm(forms.Form):
    comment = forms.CharField(label=_("Comment"), required=False, max_length=4000,
                              widget=forms.Textarea(attrs={"rows": 3}))


# --- filters --------------------------------------------------------------------------------------
class PostFilterForm(forms.Form):
    """Filters shared by the list and the calendar: unit, page, network, kind, state."""

    unit = UnitChoiceField(label=_("Unit"), queryset=Unit.objects.none(), required=False,
                           empty_label=_("All units"))
    channel = forms.ModelChoiceField(label=_("Page"), queryset=Channel.objects.none(), required=False,
                                     empty_label=_("All pages"))
    network = forms.ChoiceField(label=_("Network"), required=False,
                                choices=[("", _("All networks")), *Network.choices])
    kind = forms.ChoiceField(label=_("Kind"), required=False, choices=[("", _("All kinds")), *Post.Kind.choices])
    state = forms.ChoiceField(label=_("State"), required=False,
                              choices=[("", _("All states")), *Post.State.choices])

    def __init__(self, *args: Any, user: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        access = access_for(user)
        unit_field: UnitChoiceField = self.fields["unit"]  # type: ignore[assignment]
        unit_field.queryset = Unit.objects.filter(system_id__in=access.systems).order_by("path")
        channel_field: forms.ModelChoiceField = self.fields["channel"]  # type: ignore[assignment]
        channel_field.queryset = Channel.objects.filter(unit__system_id__in=access.systems).order_by(
            "unit__path", "network", "name")
        self.is_valid()

    def value(self, name: str) -> Any:
        return self.cleaned_data.get(name) if hasattr(self, "cleaned_data") else None

    def apply(self, qs: QuerySet[Post]) -> QuerySet[Post]:
        unit = self.value("unit")
        if unit is not None:
            qs = qs.filter(unit__path__startswith=unit.path)
        channel = self.value("channel")
        if channel is not None:
            qs = qs.filter(pk__in=PostChannel.objects.filter(channel=channel).values("post_id"))
        if network := self.value("network"):
            qs = qs.filter(pk__in=PostChannel.objects.filter(channel__network=network).values("post_id"))
        if kind := self.value("kind"):
            qs = qs.filter(kind=kind)
        if state := self.value("state"):
            qs = qs.filter(state=state)
        return qs

    def active_params(self) -> dict[str, str]:
        """The valid filters as GET parameters (to keep them across navigation)."""
        out: dict[str, str] = {}
        for name in ("unit", "channel", "network", "kind", "state"):
            value = self.value(name)
            if value not in (None, ""):
                out[name] = str(getattr(value, "pk", value))
        return out


class PostListFilterForm(PostFilterForm):
    q = forms.CharField(label=_("Search"), required=False, max_length=200,
                        widget=forms.TextInput(attrs={"type": "search"}))
    date_from = DayField(label=_("From"), required=False, widget=forms.DateInput(attrs={"type": "date"}))
    date_to = DayField(label=_("To"), required=False, widget=forms.DateInput(attrs={"type": "date"}))

    field_order: Iterable[str] | None = ["q", "unit", "channel", "network", "kind", "state", "date_from",
                                         "date_to"]

    def apply_all(self, qs: QuerySet[Post], tz: Any) -> QuerySet[Post]:
        qs = self.apply(qs)
        if q := (self.value("q") or "").strip():
            qs = posts_matching(qs, q)
        start: date | None = self.value("date_from")
        end: date | None = self.value("date_to")
        if start:
            qs = qs.filter(publish_at__gte=local_to_aware_day(start, tz))
        if end:
            qs = qs.filter(publish_at__lt=local_to_aware_day(end + timedelta(days=1), tz))
        return qs


def local_to_aware_day(day: date, tz: Any) -> datetime:
    """Midnight of ``day`` in ``tz`` (midnight always exists in the zones we serve; fall back one hour)."""
    naive = datetime(day.year, day.month, day.day)
    try:
        return local_to_aware(naive, tz)
    except ValidationError:
        return local_to_aware(naive + timedelta(hours=1), tz)
