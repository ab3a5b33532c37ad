"""Reads for the statistics dashboards: the pages a person may read, their audience over time, what was published,
engagement, best hours and days, top publications, units compared.

Every figure is aggregated in the database (a few queries per dashboard whatever the number of rows): Python only
loops over one row per page, per unit or per chart bucket. A figure the network does not give stays unknown
(``None``) with its reason; a day without a measurement is a gap, never a zero.
"""

from __future__ import annotations

import zoneinfo
from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

from django.db import connection
from django.db.models import Count, OuterRef, QuerySet, Subquery
from django.utils import timezone
from django.utils.translation import get_language
from django.utils.translation import gettext as _

from filial.channels.models import Channel
from filial.networks import registry
from filial.networks.statistics import unknown_figures
from filial.publishing.models import Delivery, Post
from filial.stats.formulas import ERR_DAYS, Figure, er_post, er_view, err, no_audience
from filial.stats.models import PageDay
from filial.stats.scope import Bucket, Period, Scope

PAGES_SHOWN = 50  # rows of the pages' table on a dashboard (the exports carry every page)
TOP_SHOWN = 10
ENGAGEMENT_FIELDS = ("likes", "reposts", "comments")
GROUPING_SETS = True  # PostgreSQL: the publications grouped in one pass (False: the portable UNION, as SQLite)


_REASONS: dict[tuple[str | None, str], dict[str, str]] = {}


def network_reasons(network: str) -> dict[str, str]:
    """Why the network never gives each figure (its rules' answers), remembered per language and network;
    ``engagement``: the first reason among likes, reposts and comments."""
    key = (get_language(), network)
    found = _REASONS.get(key)
    if found is None:
        reasons = unknown_figures(network)
        found = {f: reasons.get(f, "") for f in ("views", "reach", *ENGAGEMENT_FIELDS)}
        found["engagement"] = next((found[f] for f in ENGAGEMENT_FIELDS if found[f]), "")
        _REASONS[key] = found
    return found


# --- rows -------------------------------------------------------------------------------------------------------
@dataclass
class PageRow:
    channel: Channel
    audience: Figure
    audience_start: Figure
    published: int = 0
    measured: int = 0
    engagement_sum: int | None = None
    engagement_posts: int = 0
    views_sum: int | None = None  # over publications whose reactions are known too (ERview)
    engagement_viewed: int | None = None
    reach_sum: int | None = None
    reach_posts: int = 0
    measured_at: datetime | None = None
    er_post: Figure = field(default_factory=lambda: Figure(None))
    er_view: Figure = field(default_factory=lambda: Figure(None))
    err: Figure = field(default_factory=lambda: Figure(None))

    @property
    def growth(self) -> int | None:
        if self.audience.value is None or self.audience_start.value is None:
            return None
        return int(self.audience.value) - int(self.audience_start.value)

    def reasons(self) -> dict[str, str]:
        return network_reasons(self.channel.network)

    def compute(self, reasons: dict[str, str] | None = None) -> None:
        """The rates; ``reasons``: the network's (:func:`network_reasons`), when the caller has them at hand."""
        reasons = reasons if reasons is not None else self.reasons()
        audience = self.audience.value
        aud = int(audience) if audience is not None else None
        self.er_post = er_post(self.engagement_sum, self.engagement_posts, aud, reason=reasons["engagement"],
                               measured_at=self.measured_at)
        self.er_view = er_view(self.engagement_viewed, self.views_sum,
                               reason=reasons["views"] or reasons["engagement"], measured_at=self.measured_at)
        self.err = err(self.reach_sum, self.reach_posts, aud, reason=reasons["reach"], measured_at=self.measured_at)


@dataclass
class GroupRow:
    """Several pages added up: a unit, a network, the whole scope."""

    label: str
    pages: int = 0
    unit_id: int | None = None
    audience: int | None = None
    audience_pages: int = 0
    growth: int | None = None
    published: int = 0
    measured: int = 0
    er_post: Figure = field(default_factory=lambda: Figure(None))
    er_view: Figure = field(default_factory=lambda: Figure(None))
    err: Figure = field(default_factory=lambda: Figure(None))
    measured_at: datetime | None = None


def group(label: str, rows: list[PageRow]) -> GroupRow:
    g = GroupRow(label=label, pages=len(rows))
    known = [r for r in rows if r.audience.value is not None]
    if known:
        g.audience = sum(int(r.audience.value or 0) for r in known)
        g.audience_pages = len(known)
    growths = [r.growth for r in rows if r.growth is not None]
    g.growth = sum(growths) if growths else None
    g.published = sum(r.published for r in rows)
    g.measured = sum(r.measured for r in rows)
    stamps = [r.measured_at for r in rows if r.measured_at]
    g.measured_at = max(stamps) if stamps else None
    g.er_post = _weighted(rows, "er_post", lambda r: (r.engagement_sum or 0) / r.engagement_posts)
    g.err = _weighted(rows, "err", lambda r: (r.reach_sum or 0) / r.reach_posts)
    viewed = [r for r in rows if r.er_view.known]
    if viewed:
        g.er_view = er_view(sum(r.engagement_viewed or 0 for r in viewed), sum(r.views_sum or 0 for r in viewed),
                            measured_at=g.measured_at)
    else:
        g.er_view = _first_reason(rows, "er_view")
    return g


def _weighted(rows: list[PageRow], name: str, per_post: Any) -> Figure:
    known = [r for r in rows if getattr(r, name).known]
    if not known:
        return _first_reason(rows, name)
    audience = sum(int(r.audience.value or 0) for r in known)
    stamps = [r.measured_at for r in known if r.measured_at]
    return Figure(round(sum(per_post(r) for r in known) / audience * 100, 2), measured_at=max(stamps, default=None))


def _first_reason(rows: list[PageRow], name: str) -> Figure:
    reasons = sorted({getattr(r, name).reason for r in rows if getattr(r, name).reason})
    if not rows:
        return Figure(None, _("No pages."))
    return Figure(None, " ".join(reasons) if len(reasons) <= 2 else _("Unknown for every page (see each page)."))


# --- SQL helpers ------------------------------------------------------------------------------------------------
def _sql(qs: QuerySet[Any]) -> tuple[str, tuple[Any, ...]]:
    sql, params = qs.query.sql_with_params()
    return sql, tuple(params)


def _latest_publications(scope_ids_sql: str, scope_params: tuple[Any, ...], since: datetime,
                         until: datetime) -> tuple[str, tuple[Any, ...]]:
    """SQL of each publication's latest figures (one row per delivery published in [since, until) on a page in
    scope): delivery_id, channel_id, published_at, views, likes, reposts, comments, reach, measured_at, eng
    (likes + reposts + comments, NULL when one is unknown). Read from ``PublicationLatest`` (one row per
    publication, kept by every writer of the measurements) through its (published_at, channel) index."""
    sql = ("SELECT l.delivery_id, l.channel_id, l.published_at, l.views, l.likes, l.reposts, l.comments, "  # noqa: S608 - fixed SQL; every value a parameter
           "l.reach, l.measured_at, (l.likes + l.reposts + l.comments) AS eng FROM stats_publicationlatest l "
           f"WHERE l.published_at >= %s AND l.published_at < %s AND l.channel_id IN ({scope_ids_sql})")
    return sql, (_dt(since), _dt(until), *scope_params)


def _dt(value: datetime) -> Any:
    """A time as the database takes it in raw SQL (SQLite: UTC text, as Django stores it)."""
    return connection.ops.adapt_datetimefield_value(value)


def _day_param(value: date) -> Any:
    return connection.ops.adapt_datefield_value(value)


def _rows(sql: str, params: tuple[Any, ...]) -> list[tuple[Any, ...]]:
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return list(cursor.fetchall())


def _aware(value: Any) -> datetime | None:
    """A timestamp from raw SQL (SQLite gives text or a naive UTC datetime)."""
    if value is None:
        return None
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    if timezone.is_naive(value):
        value = timezone.make_aware(value, UTC)
    return value


def _day(value: Any) -> date | None:
    if value is None or isinstance(value, date):
        return value
    return date.fromisoformat(str(value)[:10])


# --- the dashboard ----------------------------------------------------------------------------------------------
@dataclass
class AudiencePoint:
    bucket: Bucket
    value: int | None
    pages: int
    measured_at: datetime | None
    day: date | None


@dataclass
class Slot:
    """An hour of the day or a day of the week: publications and their mean engagement."""

    key: int
    label: str
    publications: int
    engagement: float | None


@dataclass
class TopRow:
    delivery: Delivery
    views: int | None
    likes: int | None
    reposts: int | None
    comments: int | None
    reach: int | None
    engagement: int | None
    measured_at: datetime | None


@dataclass
class Dashboard:
    scope: Scope
    period: Period
    tz: zoneinfo.ZoneInfo
    pages: list[PageRow]
    total: GroupRow
    audience: list[AudiencePoint]
    kinds: list[tuple[str, str, int]]
    hours: list[Slot]
    weekdays: list[Slot]
    top: list[TopRow]
    units: list[GroupRow]
    networks: list[GroupRow]
    reasons: list[tuple[str, str, str]]  # (network label, field label, reason) for the pages in scope

    @property
    def pages_shown(self) -> list[PageRow]:
        return self.pages[:PAGES_SHOWN]

    @property
    def best_hour(self) -> Slot | None:
        return _best(self.hours)

    @property
    def best_weekday(self) -> Slot | None:
        return _best(self.weekdays)


def _best(slots: list[Slot]) -> Slot | None:
    known = [s for s in slots if s.engagement is not None]
    return max(known, key=lambda s: (s.engagement, s.publications)) if known else None


def dashboard(scope: Scope, period: Period) -> Dashboard:
    """Everything a dashboard shows, every page's row included (the exports write them all; the page shows the
    first :data:`PAGES_SHOWN` by audience)."""
    tz = scope.tz()
    since, until = period.bounds(tz)
    channels_qs = scope.channels()
    ids_sql, ids_params = _sql(channels_qs.order_by().values("id"))
    figures = _publication_figures(ids_sql, ids_params, since, until, tz)
    counts = _published_counts(channels_qs, since, until)
    published: dict[int, int] = defaultdict(int)
    for (channel_id, _kind), n in counts.items():
        published[channel_id] += n
    pages = _page_rows(channels_qs, period, published, figures.per_page)
    pages.sort(key=lambda r: (-(r.audience.value or -1), r.channel.name))
    total = group(_("All pages"), pages)
    by_unit: dict[int, list[PageRow]] = defaultdict(list)
    by_network: dict[str, list[PageRow]] = defaultdict(list)
    for row in pages:
        by_unit[row.channel.unit_id].append(row)
        by_network[row.channel.network].append(row)
    units = [group(rows[0].channel.unit.name, rows) for rows in by_unit.values()]
    for g, unit_id in zip(units, by_unit, strict=True):
        g.unit_id = unit_id
    units.sort(key=lambda g: (-(g.audience or -1), g.label))
    networks = [group(registry.label(net), by_network[net]) for net in registry.names() if net in by_network]
    return Dashboard(
        scope=scope, period=period, tz=tz, pages=pages, total=total,
        audience=audience_series(ids_sql, ids_params, period),
        kinds=_kinds(counts),
        hours=_slots(figures.hours, "hour"),
        weekdays=_slots(figures.weekdays, "iso_week_day"),
        top=_top(figures.top),
        units=units, networks=networks, reasons=_reasons(by_network),
    )


def _page_rows(channels_qs: QuerySet[Channel], period: Period, published: Mapping[int, int],
               figures: dict[int, tuple[Any, ...]]) -> list[PageRow]:
    """One row per page: its first and last known audience in the period (two index look-ups per page, the two
    rows joined in the same query), its publications and their latest figures added up (grouped in the
    database)."""
    known = PageDay.objects.filter(channel=OuterRef("pk"), day__gte=period.start, day__lte=period.end,
                                   audience__isnull=False)
    ends_sql, ends_params = _sql(channels_qs.order_by().annotate(
        end_id=Subquery(known.order_by("-day").values("id")[:1]),
        start_id=Subquery(known.order_by("day").values("id")[:1]),
    ).values("id", "end_id", "start_id"))
    sql = ("SELECT x.id, e.audience, e.day, e.measured_at, s.audience, s.day, s.measured_at "  # noqa: S608 - fixed SQL; every value a parameter
           f"FROM ({ends_sql}) x JOIN stats_pageday e ON e.id = x.end_id JOIN stats_pageday s ON s.id = x.start_id")
    ends: dict[int, tuple[Figure, Figure]] = {}
    for ch_id, end_audience, end_day, end_at, start_audience, start_day, start_at in _rows(sql, ends_params):
        ends[ch_id] = (Figure(end_audience, "", _aware(end_at), _day(end_day)),
                       Figure(start_audience, "", _aware(start_at), _day(start_day)))
    channels = list(
        channels_qs.select_related("unit").only("id", "name", "network", "unit_id", "unit__id", "unit__name",
                                                 "unit__path", "unit__system_id", "unit__timezone")
    )
    no = no_audience()
    reasons_by_network: dict[str, dict[str, str]] = {}
    rows: list[PageRow] = []
    for ch in channels:
        end, start = ends.get(ch.pk, (Figure(None, no), Figure(None, no)))
        row = PageRow(channel=ch, audience=end, audience_start=start, published=published.get(ch.pk, 0))
        f = figures.get(ch.pk)
        if f is not None:
            (row.measured, row.engagement_sum, row.engagement_posts, row.views_sum, row.engagement_viewed,
             row.reach_sum, row.reach_posts, stamp) = f
            row.measured_at = _aware(stamp)
        net = ch.network
        if net not in reasons_by_network:
            reasons_by_network[net] = network_reasons(net)
        row.compute(reasons_by_network[net])
        rows.append(row)
    return rows


CANDIDATE_DAYS = 3  # a week's or a month's point: the last measurement within its last three days


def audience_series(ids_sql: str, ids_params: tuple[Any, ...], period: Period) -> list[AudiencePoint]:
    """The audience chart: per bucket (day, week or month), each page's last known audience within the bucket's
    last :data:`CANDIDATE_DAYS` days (its last day for a day), added up over the pages measured then. A bucket
    where no page was measured is a gap (``value`` None); ``pages`` says how many pages make the sum. Only those
    days' rows are read (through the (day, channel) index), whatever the period's length."""
    buckets = period.buckets()
    if period.grain == "day":  # one row per page and day: add them up, no row to choose
        sql = ("SELECT day, SUM(audience), COUNT(audience), "  # noqa: S608 - fixed SQL; every value a parameter
               "MAX(CASE WHEN audience IS NOT NULL THEN measured_at END) "
               f"FROM stats_pageday WHERE day >= %s AND day <= %s AND channel_id IN ({ids_sql}) GROUP BY day")
        rows = _rows(sql, (_day_param(period.start), _day_param(period.end), *ids_params))
        by_day = {_day(r[0]): r for r in rows}
        points = []
        for b in buckets:
            r = by_day.get(b.lo)
            known = r is not None and r[2]
            points.append(AudiencePoint(b, int(r[1]) if known and r else None, int(r[2]) if r else 0,
                                        _aware(r[3]) if known and r else None, b.lo if known else None))
        return points
    pairs: list[tuple[date, int]] = []
    for b in buckets:
        day = b.hi
        while day >= b.lo and (b.hi - day).days < CANDIDATE_DAYS:
            pairs.append((day, b.n))
            day -= timedelta(1)
    values = ", ".join(["(%s, %s)"] * len(pairs))
    params: list[Any] = []
    for day, n in pairs:
        params += [_day_param(day), n]
    if connection.vendor == "postgresql":  # VALUES takes its column types from the first row: say them
        values = values.replace("(%s, %s)", "(%s::date, %s::int)", 1)
        last = ("SELECT DISTINCT ON (c.n, d.channel_id) c.n AS n, d.audience AS audience, d.measured_at AS at, "  # noqa: S608 - fixed SQL; every value a parameter
                "d.day AS day FROM stats_pageday d JOIN c ON d.day = c.day "
                f"WHERE d.audience IS NOT NULL AND d.day >= %s AND d.day <= %s AND d.channel_id IN ({ids_sql}) "
                "ORDER BY c.n, d.channel_id, d.day DESC")
    else:  # SQLite: the bare columns of an aggregate query come from the row holding MAX()
        last = ("SELECT c.n AS n, d.audience AS audience, d.measured_at AS at, MAX(d.day) AS day "  # noqa: S608 - fixed SQL; every value a parameter
                "FROM stats_pageday d JOIN c ON d.day = c.day "
                f"WHERE d.audience IS NOT NULL AND d.day >= %s AND d.day <= %s AND d.channel_id IN ({ids_sql}) "
                "GROUP BY c.n, d.channel_id")
    sql = (f"WITH c(day, n) AS (VALUES {values}) "  # noqa: S608 - fixed SQL; every value a parameter
           f"SELECT n, SUM(audience), COUNT(*), MAX(at), MAX(day) FROM ({last}) x GROUP BY n")
    found = {r[0]: r for r in _rows(sql, (*params, _day_param(period.start), _day_param(period.end), *ids_params))}
    out = []
    for b in buckets:
        r = found.get(b.n)
        out.append(AudiencePoint(b, int(r[1]) if r else None, int(r[2]) if r else 0,
                                 _aware(r[3]) if r else None, _day(r[4]) if r else None))
    return out


def _published_counts(channels_qs: QuerySet[Channel], since: datetime,
                      until: datetime) -> dict[tuple[int, str], int]:
    """The period's publications per (page, kind), in one query: the pages' counts and the kinds' come from it."""
    rows = (Delivery.objects.filter(channel__in=channels_qs.order_by().values("id"), state=Delivery.State.PUBLISHED,
                                    published_at__gte=since, published_at__lt=until)
            .order_by().values_list("channel", "post__kind").annotate(n=Count("id"))
            .values_list("channel", "post__kind", "n"))
    return {(int(channel_id), kind): int(n) for channel_id, kind, n in rows}


def _kinds(counts: Mapping[tuple[int, str], int]) -> list[tuple[str, str, int]]:
    by_kind: dict[str, int] = defaultdict(int)
    for (_channel_id, kind), n in counts.items():
        by_kind[kind] += n
    return [(k.value, str(k.label), by_kind.get(k.value, 0)) for k in Post.Kind]


def weekday_label(n: int) -> str:
    labels = {1: _("Monday"), 2: _("Tuesday"), 3: _("Wednesday"), 4: _("Thursday"), 5: _("Friday"),
              6: _("Saturday"), 7: _("Sunday")}
    return labels[n]


@dataclass
class PublicationFigures:
    per_page: dict[int, tuple[Any, ...]]  # channel id → (measured, eng sum, eng n, views, eng viewed, reach, n, at)
    hours: dict[int, tuple[int, float | None]]
    weekdays: dict[int, tuple[int, float | None]]
    top: list[tuple[Any, ...]]


def _int(value: Any) -> int | None:
    return None if value is None else int(value)


def _publication_figures(ids_sql: str, ids_params: tuple[Any, ...], since: datetime, until: datetime,
                         tz: zoneinfo.ZoneInfo) -> PublicationFigures:
    """Every publication figure a dashboard shows, in ONE query: each publication's latest figures are read once
    (a CTE) and grouped per page, per local hour, per ISO weekday, and the top publications picked from them."""
    latest_sql, latest_params = _latest_publications(ids_sql, ids_params, since, until)
    hour, hour_params = connection.ops.datetime_extract_sql("hour", "l.published_at", (), str(tz))
    dow, dow_params = connection.ops.datetime_extract_sql("iso_week_day", "l.published_at", (), str(tz))
    err_since = _dt(max(since, until - timedelta(ERR_DAYS)))
    recent = "CASE WHEN published_at >= %s THEN reach END"
    top = ("UNION ALL SELECT * FROM (SELECT 't', delivery_id, views, likes, reposts, comments, reach, eng, "
           "CAST(NULL AS BIGINT), measured_at FROM x ORDER BY CASE WHEN eng IS NULL THEN 1 ELSE 0 END, eng DESC, "
           "CASE WHEN views IS NULL THEN 1 ELSE 0 END, views DESC, delivery_id LIMIT %s) t")
    if connection.vendor == "postgresql" and GROUPING_SETS:
        # One pass over the period's publications for two groupings: per page, and per (local hour, weekday) whose
        # 168 sums Python folds into the hours and the weekdays (two grouping sets instead of three: each set
        # computes every aggregate of every row). The local time is computed once a row, with date_part (a float:
        # EXTRACT's numeric is several times slower). The top publications read the rows again rather than the
        # CTE: a CTE read twice is materialised (10 MB for a year of 2,000 pages, written to disk past work_mem).
        top_pg = top.replace("FROM x ORDER BY", f"FROM ({latest_sql}) x ORDER BY").replace(
            "CAST(NULL AS BIGINT), measured_at", "CAST(NULL AS BIGINT), measured_at, CAST(NULL AS INTEGER)")
        sql = (
            "WITH x AS (SELECT l.*, CAST(date_part('hour', l.t) AS INTEGER) AS h, "  # noqa: S608 - fixed SQL; every value a parameter
            "CAST(date_part('isodow', l.t) AS INTEGER) AS w FROM "
            f"(SELECT l.*, l.published_at AT TIME ZONE %s AS t FROM ({latest_sql}) l) l) "
            "SELECT CASE WHEN GROUPING(channel_id) = 0 THEN 'c' ELSE 'p' END, COALESCE(channel_id, h), COUNT(*), "
            "SUM(eng), COUNT(eng), SUM(CASE WHEN eng IS NOT NULL THEN views END), "
            f"SUM(CASE WHEN views IS NOT NULL THEN eng END), SUM({recent}), COUNT({recent}), MAX(measured_at), w "
            "FROM x GROUP BY GROUPING SETS ((channel_id), (h, w)) "
            + top_pg
        )
        params = (str(tz), *latest_params, err_since, err_since, *latest_params, TOP_SHOWN)
    else:
        sql = (
            f"WITH x AS (SELECT l.*, {hour} AS h, {dow} AS w FROM ({latest_sql}) l) "  # noqa: S608 - fixed SQL; every value a parameter
            "SELECT 'c', channel_id, COUNT(*), SUM(eng), COUNT(eng), SUM(CASE WHEN eng IS NOT NULL THEN views END), "
            f"SUM(CASE WHEN views IS NOT NULL THEN eng END), SUM({recent}), COUNT({recent}), MAX(measured_at) "
            "FROM x GROUP BY channel_id "
            "UNION ALL SELECT 'h', h, COUNT(*), AVG(eng), NULL, NULL, NULL, NULL, NULL, NULL FROM x GROUP BY h "
            "UNION ALL SELECT 'w', w, COUNT(*), AVG(eng), NULL, NULL, NULL, NULL, NULL, NULL FROM x GROUP BY w "
            + top
        )
        params = (*hour_params, *dow_params, *latest_params, err_since, err_since, TOP_SHOWN)
    out = PublicationFigures({}, {}, {}, [])
    hour_sums: dict[int, tuple[int, int, int]] = {}
    weekday_sums: dict[int, tuple[int, int, int]] = {}
    for row in _rows(sql, params):
        section, key = row[0], row[1]
        if section == "c":
            out.per_page[int(key)] = (int(row[2]), _int(row[3]), int(row[4]), _int(row[5]), _int(row[6]),
                                      _int(row[7]), int(row[8]), row[9])
        elif section in ("h", "w") and key is not None:
            target = out.hours if section == "h" else out.weekdays
            target[int(key)] = (int(row[2]), float(row[3]) if row[3] is not None else None)
        elif section == "p":  # (hour, weekday): publications, engagement sum and count, added up below
            for target_sums, k in ((hour_sums, int(key)), (weekday_sums, int(row[10]))):
                n, eng_sum, eng_n = target_sums.get(k, (0, 0, 0))
                target_sums[k] = (n + int(row[2]), eng_sum + int(row[3] or 0), eng_n + int(row[4]))
        elif section == "t":
            out.top.append((int(key), *(_int(v) for v in row[2:8]), row[9]))
    for target, sums in ((out.hours, hour_sums), (out.weekdays, weekday_sums)):
        for k, (n, eng_sum, eng_n) in sums.items():
            target[k] = (n, eng_sum / eng_n if eng_n else None)
    out.top.sort(key=lambda r: (r[6] is None, -(r[6] or 0), r[1] is None, -(r[1] or 0), r[0]))
    return out


def _slots(found: dict[int, tuple[int, float | None]], what: str) -> list[Slot]:
    """Publications and mean engagement per local hour (0–23) or ISO weekday (1–7)."""
    keys = range(24) if what == "hour" else range(1, 8)
    out = []
    for k in keys:
        n, avg = found.get(k, (0, None))
        label = f"{k:02d}:00" if what == "hour" else weekday_label(k)
        out.append(Slot(k, label, n, round(avg, 1) if avg is not None else None))
    return out


def _top(rows: list[tuple[Any, ...]]) -> list[TopRow]:
    deliveries = Delivery.objects.select_related("post", "channel").in_bulk([r[0] for r in rows])
    return [TopRow(deliveries[r[0]], r[1], r[2], r[3], r[4], r[5], r[6], _aware(r[7]))
            for r in rows if r[0] in deliveries]


def field_labels() -> dict[str, str]:
    return {"audience": _("audience"), "views": _("views"), "likes": _("likes"), "reposts": _("reposts"),
            "comments": _("comments"), "reach": _("reach")}


def _reasons(by_network: dict[str, list[PageRow]]) -> list[tuple[str, str, str]]:
    labels = field_labels()
    out = []
    for net in by_network:
        for name, label in labels.items():
            reason = unknown_figures(net).get(name, "")
            if reason:
                out.append((registry.label(net), label, reason))
    return out
