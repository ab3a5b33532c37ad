"""The report's text, written from its figures: one list of blocks (headings, paragraphs, tables, charts, notes)
that the DOCX (``docx.py``) and the HTML preview render alike.

The report is a Russian document (the library's account to its founder), so its sentences are Russian here, the
way the demo's texts are; the pages around it (forms, buttons, messages) are translated with gettext as usual.
Russian plural forms come from :func:`plural`; counts a report rounds («более 600 друзей») from :func:`about`;
how a network names a page's audience and its publications is the network's rule (``Connector.audience_noun``,
``Connector.post_noun``).
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from django.utils import translation

from filial.channels.models import Network
from filial.networks import registry
from filial.publishing.models import Post

# --- words ----------------------------------------------------------------------------------------------


def plural(n: int, one: str, few: str, many: str) -> str:
    """The Russian form for ``n``: 1, 21, 101 → ``one``; 2–4, 22–24 → ``few``; 0, 5–20, 25–30, 111–114 → ``many``."""
    n = abs(n)
    if n % 10 == 1 and n % 100 != 11:
        return one
    if 2 <= n % 10 <= 4 and not 12 <= n % 100 <= 14:
        return few
    return many


# Word forms of the networks' codes (``audience_noun``, ``post_noun``): nominative and instrumental, each
# (one, few, many).
NOUNS: dict[str, dict[str, tuple[str, str, str]]] = {
    "friends": {"nom": ("друг", "друга", "друзей"), "ins": ("другом", "друзьями", "друзьями")},
    "members": {"nom": ("участник", "участника", "участников"), "ins": ("участником", "участниками", "участниками")},
    "subscribers": {"nom": ("подписчик", "подписчика", "подписчиков"),
                    "ins": ("подписчиком", "подписчиками", "подписчиками")},
    "notes": {"nom": ("заметка", "заметки", "заметок"), "ins": ("заметкой", "заметками", "заметками")},
    "posts": {"nom": ("запись", "записи", "записей"), "ins": ("записью", "записями", "записями")},
    "publications": {"nom": ("публикация", "публикации", "публикаций"),
                     "ins": ("публикацией", "публикациями", "публикациями")},
}


def noun(code: str, n: int, case: str = "nom") -> str:
    forms = NOUNS.get(code, NOUNS["publications"])[case]
    return plural(n, *forms)


def number(n: int) -> str:
    """A count as a report writes it: 1432, 12 500 (a no-break space from five digits on)."""
    text = str(n)
    if abs(n) < 10_000:
        return text
    return f"{n:,}".replace(",", "\u00a0")


def money(amount: str) -> str:
    """A sum in roubles as a report writes it: "39625.00" → «39 625,00» (a decimal comma, groups from five digits)."""
    whole, _dot, kopecks = amount.partition(".")
    return f"{number(int(whole))},{kopecks or '00'}"


def round_down(n: int) -> int:
    """The roundest number not above ``n`` within 10 % of it (fewest significant digits): 614 → 600, 1432 → 1400,
    44 → 40, 114 → 110; below 20 the count itself (19 → 19)."""
    if n < 20:
        return n
    digits = len(str(n))
    for keep in range(1, digits + 1):
        step = 10 ** (digits - keep)
        candidate = n // step * step
        if candidate * 10 >= n * 9:  # candidate ≥ 90 % of n
            return candidate
    return n


def about(n: int) -> str:
    """«более 600» for 614, «1400» for exactly 1400, «7» for 7: the rounding a report uses for large counts."""
    rounded = round_down(n)
    return number(n) if rounded == n else f"более {number(rounded)}"


def about_with(n: int, code: str) -> str:
    """«более 600 друзей» (614), «21 друг», «более 40 подписчиков» (44): the noun agrees with the number shown."""
    rounded = round_down(n)
    return f"{about(n)} {noun(code, rounded)}"


def day_text(iso: str | None) -> str:
    if not iso:
        return "—"
    d = date.fromisoformat(iso)
    return d.strftime("%d.%m.%Y")


def duration(minutes: int | None) -> str:
    if minutes is None:
        return "неизвестно"
    hours, mins = divmod(minutes, 60)
    days, hours = divmod(hours, 24)
    parts = []
    if days:
        parts.append(f"{days} {plural(days, 'день', 'дня', 'дней')}")
    if hours:
        parts.append(f"{hours} ч")
    if mins or not parts:
        parts.append(f"{mins} мин")
    return " ".join(parts)


def unknown(value: Any, suffix: str = "") -> str:
    return "—" if value is None else f"{number(value) if isinstance(value, int) else value}{suffix}"


MONTHS = ("январь", "февраль", "март", "апрель", "май", "июнь", "июль", "август", "сентябрь", "октябрь",
          "ноябрь", "декабрь")
MONTHS_GEN = ("января", "февраля", "марта", "апреля", "мая", "июня", "июля", "августа", "сентября", "октября",
              "ноября", "декабря")
QUARTERS = ("I", "II", "III", "IV")
MESSAGES = ("сообщение или комментарий", "сообщения или комментария", "сообщений и комментариев")


def period_title(kind: str, start: date, end: date) -> str:
    """«за 2014 год», «за I квартал 2015 года», «за март 2015 года», or «за период с … по …»."""
    if kind == "annual" and start == date(start.year, 1, 1) and end == date(start.year, 12, 31):
        return f"за {start.year} год"
    if kind == "quarterly" and start.day == 1 and start.month in (1, 4, 7, 10) and end.year == start.year:
        return f"за {QUARTERS[(start.month - 1) // 3]} квартал {start.year} года"
    if kind == "monthly" and start.day == 1 and end.month == start.month and end.year == start.year:
        return f"за {MONTHS[start.month - 1]} {start.year} года"
    return f"за период с {start.strftime('%d.%m.%Y')} по {end.strftime('%d.%m.%Y')}"


def since_text(iso: str | None, start: date, end: date) -> str:
    if not iso:
        return "дата регистрации неизвестна"
    since = date.fromisoformat(iso)
    days = (end - since).days
    if since >= start and 0 <= days <= 62:
        months = max(days // 30, 1)
        span = "месяц" if months == 1 else f"{months} {plural(months, 'месяц', 'месяца', 'месяцев')}"
        ahead = f"чуть более чем за {span}" if days > 30 * months else f"за {span}"
        return f"создана {since.day} {MONTHS_GEN[since.month - 1]} {since.year} года, {ahead} до конца периода"
    return f"существует с {since.year} года"


# --- the document ---------------------------------------------------------------------------------------


@dataclass
class Block:
    kind: str  # heading, para, table, chart, note, list
    text: str = ""
    level: int = 1
    number: str = ""
    caption: str = ""
    headers: list[str] = field(default_factory=list)
    rows: list[list[str]] = field(default_factory=list)
    items: list[str] = field(default_factory=list)
    points: list[list[Any]] = field(default_factory=list)  # a chart's [day, value]


@dataclass
class Document:
    requisites: list[str]
    title: str
    subtitle: str
    blocks: list[Block]
    generated: str


@functools.lru_cache(maxsize=64)
def kind_label(kind: str) -> str:
    """A post kind's Russian label (cached: a network's report asks it for every row of 1,500 pages' tables, and
    building the choices each time cost a second)."""
    with translation.override("ru"):
        return str(dict(Post.Kind.choices).get(kind, kind))


def network_label(network: str) -> str:
    """The network's full name as the report writes it («Одноклассники»), else its short label."""
    with translation.override("ru"):
        return str(dict(Network.choices).get(network) or registry.label(network))


class _Numbering:
    def __init__(self) -> None:
        self.counts = [0, 0, 0]

    def next(self, level: int) -> str:
        self.counts[level - 1] += 1
        for i in range(level, len(self.counts)):
            self.counts[i] = 0
        return ".".join(str(c) for c in self.counts[:level])


def build(figures: dict[str, Any], *, kind: str, conclusions: str, generated: datetime | None,
          published: bool = False) -> Document:
    """The report's blocks from its figures (the same figures give the same text)."""
    start = date.fromisoformat(figures["period"]["from"])
    end = date.fromisoformat(figures["period"]["to"])
    system = figures["system"]
    scope = figures["scope"]
    numbering = _Numbering()
    blocks: list[Block] = []

    def heading(text: str, level: int = 1) -> None:
        blocks.append(Block("heading", text=text, level=level, number=numbering.next(level)))

    def para(text: str) -> None:
        blocks.append(Block("para", text=text))

    requisites = [system["name"]]
    if scope["id"] is not None and scope["name"] != system["name"]:
        requisites.append(scope["name"])
    title = "Отчёт о работе библиотек в социальных сетях"
    subtitle = period_title(kind, start, end)

    # 1. Pages
    pages = figures["pages"]
    totals = figures["totals"]
    heading("Страницы в социальных сетях")
    if pages:
        nets = [network_label(n) for n in totals["networks"]]
        para(f"{subtitle[0].upper()}{subtitle[1:]} библиотеки были представлены в {len(nets)} "
             f"{plural(len(nets), 'социальной сети', 'социальных сетях', 'социальных сетях')} "
             f"({', '.join('«' + n + '»' for n in nets)}) {number(len(pages))} "
             f"{plural(len(pages), 'страницей', 'страницами', 'страницами')}. За период опубликовано "
             f"{number(totals['published'])} {plural(totals['published'], 'материал', 'материала', 'материалов')}.")
        blocks.append(Block(
            "table", caption="Таблица 1 — Страницы библиотек",
            headers=["Страница", "Сеть", "Подразделение", "С какого времени", "Публикаций",
                     "Аудитория на конец периода"],
            rows=[[p["name"], network_label(p["network"]), p["unit"]["name"], day_text(p["since"]),
                   number(p["published"]), unknown(p["audience_end"])] for p in pages],
        ))
    else:
        para("В этот период у библиотек не было страниц в социальных сетях.")
    for p in pages:
        _page(p, start, end, heading, para, blocks)

    # 2. Inbox
    inbox = figures["inbox"]
    heading("Обращения читателей на страницах")
    if inbox["items"]:
        para(f"Читатели написали {number(inbox['items'])} "
             f"{plural(inbox['items'], *MESSAGES)}"
             f", ответ получили {number(inbox['answered'])}. Половина ответов дана быстрее чем за "
             f"{duration(inbox['median_minutes'])} (медиана). В срок ({inbox['deadline_hours']} рабочих ч) "
             f"дано {number(inbox['within_deadline'])} {plural(inbox['within_deadline'], 'ответ', 'ответа', 'ответов')}"
             f" — {unknown(inbox['within_deadline_share'], ' %')} отвеченных.")
    else:
        para("Обращений читателей на страницах в этот период не было.")
    blocks.append(Block("table", caption="Таблица 2 — Обращения читателей",
                        headers=["Показатель", "Значение"],
                        rows=[["Сообщений и комментариев", number(inbox["items"])],
                              ["Из них получили ответ", number(inbox["answered"])],
                              ["Медиана времени ответа", duration(inbox["median_minutes"])],
                              ["Доля ответов в срок", unknown(inbox["within_deadline_share"], " %")]]))

    # 3. Debtors
    debtors = figures["debtors"]
    heading("Работа с должниками")
    if debtors["reminders"] or debtors["renewals"]:
        para(f"Через страницы отправлено {number(debtors['reminders'])} "
             f"{plural(debtors['reminders'], 'напоминание', 'напоминания', 'напоминаний')} о сроке возврата книг "
             f"({number(debtors['readers_reminded'])} "
             f"{plural(debtors['readers_reminded'], 'читателю', 'читателям', 'читателям')}), "
             f"принято {number(debtors['renewals'])} "
             f"{plural(debtors['renewals'], 'просьба о продлении', 'просьбы о продлении', 'просьб о продлении')}, "
             f"продлено {number(debtors['renewals_granted'])}. После напоминания возвращено "
             f"{number(debtors['returned_after_reminder'])} "
             f"{plural(debtors['returned_after_reminder'], 'книга', 'книги', 'книг')}.")
    else:
        para("Напоминаний о сроке возврата и продлений через страницы в этот период не было.")

    # 4. Paid services
    paid = figures["paid"]
    heading("Платные услуги")
    if paid["categories"]:
        groups = [f"{c['category']} ({number(c['customers'])})" for c in paid["categories"] if not c["is_individual"]]
        people = sum(c["customers"] for c in paid["categories"] if c["is_individual"])
        who = ", ".join(groups)
        if people:
            person = plural(round_down(people), "физическое лицо", "физических лица", "физических лиц")
            individuals = f"{about(people)} {person}"
            who = f"{who}, а также {individuals}" if who else individuals
        para(f"Пользователями платных услуг стали: {who}. Заказов — {number(paid['orders'])} на сумму "
             f"{money(paid['total'])} руб.")
        blocks.append(Block("table", caption="Таблица 3 — Заказчики платных услуг по категориям",
                            headers=["Категория", "Заказчиков", "Заказов", "Сумма, руб."],
                            rows=[[c["category"], number(c["customers"]), number(c["orders"]), money(c["total"])]
                                  for c in paid["categories"]]))
        blocks.append(Block("table", caption="Таблица 4 — Откуда узнали об услугах",
                            headers=["Страница", "Заказчиков", "Заказов", "Сумма, руб."],
                            rows=[[f"{s['channel']} ({network_label(s['network'])})" if s["channel_id"] else
                                   "не указано", number(s["customers"]), number(s["orders"]), money(s["total"])]
                                  for s in paid["sources"]]))
    else:
        para("Заказов платных услуг в этот период не записано.")

    # 5. Remote users
    remote = figures["remote"]
    heading("Удалённые пользователи (форма 6-НК, раздел 4)")
    para(f"Удалённых пользователей, обслуженных через страницы: {number(remote['users'])}; их обращений: "
         f"{number(remote['requests'])}. Правило подсчёта — в примечаниях.")

    # 6. Conclusions
    heading("Выводы")
    text = conclusions.strip()
    if text:
        for chunk in [c.strip() for c in text.split("\n") if c.strip()]:
            para(chunk)
    else:
        para("Выводы ещё не написаны.")

    # Notes
    blocks.append(Block("heading", text="Примечания", level=1, number=""))
    blocks.append(Block("list", items=[
        "Числа вычислены по данным Filial и при повторном формировании отчёта за тот же период не меняются: "
        "аудитория — по сохранённым ежедневным замерам страниц, публикации — по вышедшим материалам.",
        "Большие числа в тексте округлены вниз до «круглого» значения, отличающегося не более чем на 10 % "
        "(614 — «более 600»); в таблицах — точные значения.",
        "«—» означает, что сеть не сообщила показатель или замера не было; это не ноль.",
        "Результаты опросов, отмеченные «внесены вручную», перенесены со страницы сотрудником.",
        remote["rule"],
    ]))
    stamp = generated.strftime("%d.%m.%Y") if generated else ""
    return Document(requisites=requisites, title=title, subtitle=subtitle, blocks=blocks,
                    generated=(f"Отчёт сформирован {stamp}" if stamp else "")
                    + (" (утверждён, изменения не вносятся)" if published else ""))


def _page(p: dict[str, Any], start: date, end: date, heading: Any, para: Any, blocks: list[Block]) -> None:
    net = network_label(p["network"])
    heading(f"Страница «{p['name']}» ({net})", 2)
    address = f" ({p['url']})" if p["url"] else ""
    para(f"Страница «{p['name']}»{address} в социальной сети «{net}» ведёт {p['unit']['name']}; "
         f"{since_text(p['since'], start, end)}.")
    sentence = []
    if p["audience_end"] is not None:
        sentence.append(f"собрала {about_with(p['audience_end'], p['audience_noun'])}")
    if p["published"]:
        sentence.append(f"пополнилась {number(p['published'])} {noun(p['post_noun'], p['published'], 'ins')}")
    if sentence:
        para(f"За период страница {' и '.join(sentence)}.")
    if p["audience_end"] is None:
        para("Аудитория страницы на конец периода неизвестна: замеров нет.")
    else:
        growth = p["growth"]
        growth_text = "рост за период неизвестен (нет замера на начало)" if growth is None else \
            f"рост за период: {'+' if growth >= 0 else '−'}{number(abs(growth))}"
        para(f"На {day_text(p['audience_end_day'])} у страницы {number(p['audience_end'])} "
             f"{noun(p['audience_noun'], p['audience_end'])}; {growth_text}.")
    if len(p["audience_series"]) >= 2:
        blocks.append(Block("chart", caption=f"Рисунок — Аудитория страницы «{p['name']}»",
                            points=p["audience_series"]))
    if p["by_kind"]:
        blocks.append(Block("table", caption=f"Что публикуется на странице «{p['name']}»",
                            headers=["Вид публикации", "Количество"],
                            rows=[[kind_label(k["kind"]), number(k["count"])] for k in p["by_kind"]]))
    for poll in p["polls"]:
        manual = " (результаты внесены вручную по данным страницы)" if poll["manual"] else ""
        para(f"Опрос «{poll['question']}» ({day_text(poll['published'])}){manual}:")
        if poll["total_voters"] is None:
            blocks.append(Block("list", items=["результаты неизвестны: голоса не подсчитаны"]))
        else:
            total = poll["total_voters"]
            items = []
            for a in poll["answers"]:
                votes = a["votes"]
                share = f" ({round(100 * votes / total)} %)" if votes is not None and total else ""
                items.append(f"{a['text']} — {unknown(votes)}{share}")
            items.append(f"всего {plural(total, 'проголосовал', 'проголосовали', 'проголосовали')} "
                         f"{number(total)} {plural(total, 'человек', 'человека', 'человек')}")
            blocks.append(Block("list", items=items))
    if p["events"]:
        reports = sum(1 for e in p["events"] if e["photo_reports"])
        para(f"Страница освещала {number(len(p['events']))} "
             f"{plural(len(p['events']), 'мероприятие', 'мероприятия', 'мероприятий')}, к {number(reports)} из них "
             f"{plural(reports, 'опубликован фотоотчёт', 'опубликованы фотоотчёты', 'опубликованы фотоотчёты')}:")
        blocks.append(Block("list", items=[
            f"{e['title']} ({day_text(e['day'])}){' — фотоотчёт' if e['photo_reports'] else ''}" for e in p["events"]
        ]))
