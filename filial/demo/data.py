"""The demo network: the libraries of Mednogorsk (see /work/shared/demo/README.md).

The 2014 pages, their names, links, start dates and audiences come from the network's own report for 2014;
everything else (staff names, the modern pages, texts and figures of today) is invented for the demo.
Demo data is the one place where Russian text lives in the code.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

DEMO_PASSWORD = "filial-demo-2014"  # noqa: S105 - printed by `filial run` and written in the README

SYSTEM_NAME = "ЦБС г. Медногорска"
SYSTEM_SHORT_NAME = "ЦБС Медногорска"
SYSTEM_TIMEZONE = "Asia/Yekaterinburg"


@dataclass(frozen=True)
class UnitSpec:
    key: str
    name: str
    short_name: str
    kind: str
    parent: str | None = None
    approval_required: bool = True


UNITS = [
    UnitSpec("central", "Центральная городская библиотека", "ЦГБ", "central"),
    # The automation department sells its work (printing, lamination, vinyl cutting); its editor publishes
    # without approval, to show the per-unit setting.
    UnitSpec("automation", "Отдел автоматизации ЦГБ", "Отдел автоматизации", "department", parent="central",
             approval_required=False),
    UnitSpec("children", "Центральная городская детская библиотека", "ЦГДБ", "children"),
    UnitSpec("branch4", "Библиотека-филиал № 4", "Филиал № 4", "branch"),
]


@dataclass(frozen=True)
class UserSpec:
    username: str
    first_name: str
    last_name: str
    role_label: str  # for the console banner (English, like the rest of the CLI)
    roles: tuple[tuple[str, str], ...]

    @property
    def display_name(self) -> str:
        return f"{self.first_name} {self.last_name}"


DEMO_USERS = [
    UserSpec("admin", "Ольга", "Смирнова", "administrator of the network", (("central", "admin"),)),
    UserSpec("metodist", "Татьяна", "Белова", "methodologist (approves posts)",
             (("central", "methodologist"), ("children", "methodologist"), ("branch4", "methodologist"))),
    UserSpec("ed_central", "Марина", "Козлова", "editor, central library", (("central", "editor"),)),
    UserSpec("ed_automation", "Алексей", "Фомин", "editor, automation department", (("automation", "editor"),)),
    UserSpec("ed_children", "Наталья", "Орлова", "editor, children's library", (("children", "editor"),)),
    UserSpec("ed_branch4", "Светлана", "Лаптева", "editor, branch No. 4", (("branch4", "editor"),)),
    UserSpec("viewer", "Елена", "Гусева", "viewer (reads everything)",
             (("central", "viewer"), ("children", "viewer"), ("branch4", "viewer"))),
]

# Who writes for which unit (authors of the demo posts and uploaders of their photos).
EDITOR_OF = {"central": "ed_central", "automation": "ed_automation", "children": "ed_children",
             "branch4": "ed_branch4"}


@dataclass(frozen=True)
class ChannelSpec:
    key: str
    unit: str
    network: str
    kind: str
    name: str
    url: str
    external_id: str
    started_on: date
    audience_now: int


CHANNELS = [
    # The pages of 2014 (names and links from the network's report).
    ChannelSpec("central_ok", "central", "ok", "profile", "Центральная библиотека Медногорска",
                "https://ok.ru/profile/561588730013", "561588730013", date(2014, 3, 3), 2870),
    ChannelSpec("children_ok", "children", "ok", "profile", "Детская библиотека",
                "", "565300004512", date(2014, 2, 10), 3650),  # no link in the report; the id is invented
    ChannelSpec("branch4_ok", "branch4", "ok", "profile", "Библиотека-филиал № 4",
                "https://ok.ru/profile/569188750053", "569188750053", date(2014, 11, 20), 380),
    ChannelSpec("automation_vk", "automation", "vk", "community", "Медногорский винил",
                "https://vk.com/vinilius", "68455123", date(2014, 5, 15), 780),  # the id is invented
    # The same network today (demo pages: names and links are invented).
    ChannelSpec("central_vk", "central", "vk", "community", "Центральная городская библиотека Медногорска",
                "https://vk.com/mednogorsk_cgb", "218450101", date(2019, 9, 2), 1940),
    ChannelSpec("central_tg", "central", "telegram", "channel", "Библиотека Медногорска",
                "https://t.me/mednogorsk_library", "-1002218450101", date(2022, 4, 11), 640),
    ChannelSpec("central_max", "central", "max", "channel", "ЦГБ Медногорска",
                "https://max.ru/mednogorsk_library", "-71845010", date(2025, 9, 1), 310),
    ChannelSpec("automation_tg", "automation", "telegram", "channel", "Медногорский винил",
                "https://t.me/mednogorsk_vinyl", "-1002218450102", date(2022, 6, 1), 150),
    ChannelSpec("children_vk", "children", "vk", "community", "Детская библиотека Медногорска",
                "https://vk.com/mednogorsk_detlib", "218450103", date(2019, 10, 14), 2310),
    ChannelSpec("children_tg", "children", "telegram", "channel", "Детская библиотека Медногорска",
                "https://t.me/mednogorsk_detlib", "-1002218450103", date(2022, 4, 18), 420),
    ChannelSpec("branch4_vk", "branch4", "vk", "community", "Библиотека-филиал № 4 (Медногорск)",
                "https://vk.com/mednogorsk_filial4", "218450104", date(2020, 2, 3), 260),
    ChannelSpec("branch4_tg", "branch4", "telegram", "channel", "Филиал № 4 — библиотека рядом",
                "https://t.me/mednogorsk_filial4", "-1002218450104", date(2023, 3, 6), 90),
]

# Audience of the 2014 pages through 2014 (the report: > 600, > 1400 and > 40 at the end of the year).
SNAPSHOTS_2014: dict[str, list[tuple[date, int]]] = {
    "central_ok": [(date(2014, 3, 31), 85), (date(2014, 4, 30), 160), (date(2014, 5, 31), 228),
                   (date(2014, 6, 30), 290), (date(2014, 7, 31), 335), (date(2014, 8, 31), 381),
                   (date(2014, 9, 30), 432), (date(2014, 10, 31), 498), (date(2014, 11, 30), 560),
                   (date(2014, 12, 31), 614)],
    "children_ok": [(date(2014, 2, 28), 120), (date(2014, 3, 31), 290), (date(2014, 4, 30), 450),
                    (date(2014, 5, 31), 610), (date(2014, 6, 30), 720), (date(2014, 7, 31), 805),
                    (date(2014, 8, 31), 910), (date(2014, 9, 30), 1060), (date(2014, 10, 31), 1190),
                    (date(2014, 11, 30), 1320), (date(2014, 12, 31), 1432)],
    "branch4_ok": [(date(2014, 11, 25), 12), (date(2014, 11, 30), 19), (date(2014, 12, 15), 31),
                   (date(2014, 12, 31), 44)],
    "automation_vk": [(date(2014, 5, 31), 24), (date(2014, 7, 31), 58), (date(2014, 9, 30), 97),
                      (date(2014, 12, 31), 152)],
}


@dataclass(frozen=True)
class PostSpec:
    """A demo post. History posts have a ``day`` and ``time``; recent ones an ``offset`` in days from today."""

    kind: str
    title: str
    text: str
    day: date | None = None
    offset: int = 0
    time: str = "10:00"  # local wall-clock time; "" for a draft without a time
    photos: int = 0
    motif: str = "books"
    palette: str = "warm"
    link: str = ""
    event: str = ""
    poll: tuple[str, tuple[str, ...]] | None = None
    channels: tuple[str, ...] = ()
    unit: str = ""
    state: str = "published"  # recent posts: published, scheduled, pending, returned, draft
    comment: str = ""  # the methodologist's comment of a returned post


def _d(y: int, m: int, d: int) -> date:
    return date(y, m, d)


# --- 2014: «Центральная библиотека Медногорска» on OK: 32 notes -------------------------------------------

CENTRAL_OK_2014 = [
    PostSpec("note", "Мы в Одноклассниках!", (
        "Здравствуйте, друзья! Центральная городская библиотека Медногорска теперь в Одноклассниках. "
        "Здесь мы будем рассказывать о наших встречах, новых книгах и интересных событиях города. "
        "Добавляйтесь в друзья, пишите, спрашивайте — нам важно ваше мнение."), day=_d(2014, 3, 3)),
    PostSpec("afisha", "Вечер «Весна. Женщина. Книга»", (
        "Дорогие читательницы! 7 марта в 15:00 приглашаем на литературно-музыкальный вечер "
        "«Весна. Женщина. Книга». Стихи о любви, романсы под гитару и чай с пирогами. Вход свободный."),
        day=_d(2014, 3, 4), event="women_day_2014"),
    PostSpec("photo_report", "Как прошёл вечер «Весна. Женщина. Книга»", (
        "Спасибо всем, кто пришёл к нам в пятницу! Звучали стихи Ахматовой и Цветаевой, романсы под гитару, "
        "а пироги закончились раньше, чем стихи. Делимся фотографиями — узнаёте себя?"),
        day=_d(2014, 3, 11), photos=3, motif="confetti", palette="spring", event="women_day_2014"),
    PostSpec("book_fact", "А вы знали?", (
        "Роман «Мастер и Маргарита» впервые напечатали в журнале «Москва» в 1966–1967 годах — через четверть "
        "века после смерти Булгакова, да ещё и с сокращениями. Полный текст ждёт вас на абонементе."),
        day=_d(2014, 3, 18)),
    PostSpec("new_arrivals", "Новые книги марта", (
        "Пополнение на абонементе:\n"
        "— Евгений Водолазкин. «Лавр»\n— Людмила Улицкая. «Зелёный шатёр»\n"
        "— Алексей Иванов. «Географ глобус пропил»\n— Владимир Сорокин. «Теллурия»\n"
        "— «Огород без хлопот»: советы садоводам к новому сезону.\nПриходите, пока не разобрали!"),
        day=_d(2014, 3, 25)),
    PostSpec("contest", "Конкурс «Читаем всей семьёй»", (
        "Объявляем конкурс семейных фотографий с книгой! Сфотографируйтесь всей семьёй за чтением и принесите "
        "снимок в библиотеку или пришлите нам сообщением до 30 апреля. Лучшие фото покажем на выставке, "
        "а победителей ждут книжные призы."), day=_d(2014, 4, 1)),
    PostSpec("book_fact", "205 лет Гоголю", (
        "1 апреля исполнилось 205 лет со дня рождения Николая Васильевича Гоголя. Знаете ли вы, что "
        "«Вечера на хуторе близ Диканьки» Гоголь выпустил под именем пасичника Рудого Панька? "
        "Перечитать «Вечера» можно в нашем читальном зале."), day=_d(2014, 4, 8)),
    PostSpec("afisha", "Библионочь-2014", (
        "25 апреля с 18:00 до 22:00 — «Библионочь» в Центральной городской библиотеке! Квест по книжным залам, "
        "мастер-классы, буккроссинг и ночная экскурсия в книгохранилище. Приходите с друзьями!"),
        day=_d(2014, 4, 15), event="biblionight_2014"),
    PostSpec("photo_report", "Библионочь: спасибо, что были с нами!", (
        "В этом году на «Библионочь» пришли больше ста человек. Команды прошли квест, самые смелые спустились "
        "в книгохранилище, а в буккроссинге поменяли хозяев сорок книг. Фотографии — в этой заметке."),
        day=_d(2014, 4, 28), photos=3, motif="balloons", palette="bright", event="biblionight_2014"),
    PostSpec("afisha", "Читаем стихи о войне", (
        "9 мая в 11:00 у библиотеки — акция «Читаем стихи о войне». Присоединяйтесь: можно прочитать своё "
        "любимое стихотворение или просто постоять рядом и послушать."),
        day=_d(2014, 5, 6), event="victory_day_2014"),
    PostSpec("photo_report", "Акция «Читаем стихи о войне»", (
        "Стихи Твардовского, Симонова, Друниной читали школьники, ветераны и библиотекари. "
        "Спасибо всем, кто остановился послушать. С Днём Победы!"),
        day=_d(2014, 5, 12), photos=2, motif="sun", palette="spring", event="victory_day_2014"),
    PostSpec("afisha", "27 мая — Общероссийский день библиотек", (
        "В наш профессиональный праздник — день открытых дверей: экскурсии по библиотеке, "
        "знакомство с электронным каталогом, а для тех, кто задержал книги, — амнистия: возвращайте без пени "
        "и неловких разговоров. Ждём с 10:00 до 18:00."), day=_d(2014, 5, 22), event="library_day_2014"),
    PostSpec("poll", "Опрос о здоровом образе жизни", (
        "Друзья, 31 мая — Всемирный день без табака. Нам интересно ваше мнение: как вы относитесь к здоровому "
        "образу жизни? Ответьте в опросе, а в читальном зале вас ждёт выставка «Здоровье — это здорово»."),
        day=_d(2014, 5, 30), poll=("Как вы относитесь к здоровому образу жизни?", (
            "Стараюсь придерживаться каждый день", "Иногда делаю зарядку и слежу за питанием",
            "Хотел(а) бы, но не хватает времени", "Меня это не интересует"))),
    PostSpec("afisha", "Пушкинский день", (
        "6 июня — Пушкинский день России. В 12:00 в сквере у библиотеки читаем Пушкина вслух: сказки для "
        "малышей, стихи для взрослых. Приносите любимые строки!"), day=_d(2014, 6, 3), event="pushkin_day_2014"),
    PostSpec("photo_report", "Читали Пушкина под открытым небом", (
        "Погода не подвела: в сквере собрались и дети, и взрослые. Самой юной чтице пять лет — она без запинки "
        "прочитала «У лукоморья дуб зелёный». Смотрите фотографии!"),
        day=_d(2014, 6, 10), photos=3, motif="sun", palette="warm", event="pushkin_day_2014"),
    PostSpec("new_arrivals", "Новинки лета", (
        "Что почитать в отпуске:\n— Захар Прилепин. «Обитель»\n— Дина Рубина. «Синдром Петрушки»\n"
        "— Виктор Пелевин. «Бэтман Аполло»\n— Татьяна Устинова. Новые детективы\n"
        "— Путеводитель «Оренбуржье: куда поехать на выходные»."), day=_d(2014, 6, 19)),
    PostSpec("product", "Сделано в библиотеке: буклеты и закладки", (
        "Показываем, что делаем сами: буклеты к юбилеям писателей, закладки, информационные листки. "
        "Образцы можно посмотреть и взять в читальном зале. Нужен такой же буклет для вашей организации? "
        "Спрашивайте об услугах вёрстки и печати."), day=_d(2014, 7, 2), photos=2, motif="books",
        palette="autumn"),
    PostSpec("afisha", "День семьи, любви и верности", (
        "8 июля в 16:00 — вечер «Ромашковое настроение»: истории Петра и Февронии, семейные игры "
        "и фотозона с ромашками. Приходите парами и всей семьёй!"), day=_d(2014, 7, 7), event="family_day_2014"),
    PostSpec("book_fact", "Соавтор Дюма", (
        "«Три мушкетёра» Александр Дюма писал не один: над романом вместе с ним работал Огюст Маке. "
        "На обложке, правда, осталось одно имя. А вы знали?"), day=_d(2014, 7, 22)),
    PostSpec("contest", "Фотоконкурс «Мой любимый город»", (
        "Любите Медногорск? Покажите его нам! Присылайте фотографии любимых мест города до 31 августа. "
        "Лучшие работы покажем на выставке в библиотеке, авторов ждут призы."), day=_d(2014, 8, 5)),
    PostSpec("afisha", "Книжный развал «Бери книгу — дари книгу»", (
        "С 25 по 31 августа в фойе библиотеки — книжный развал: забирайте книги бесплатно и приносите свои, "
        "которые уже прочитаны. Пусть книги путешествуют!"), day=_d(2014, 8, 22)),
    PostSpec("photo_report", "Итоги фотоконкурса «Мой любимый город»", (
        "Нам прислали 47 фотографий! Победители — Анна К., Сергей М. и семья Тимофеевых. "
        "Выставка работ открыта в читальном зале до конца сентября. Вот несколько снимков."),
        day=_d(2014, 9, 9), photos=3, motif="sun", palette="autumn"),
    PostSpec("new_arrivals", "Новые книги сентября", (
        "На полках абонемента:\n— Захар Прилепин. «Восьмёрка»\n"
        "— Евгений Водолазкин. «Соловьёв и Ларионов»\n— Михаил Шишкин. «Письмовник»\n"
        "— Сборник «Лермонтов: к 200-летию со дня рождения»\n— Справочник огородника «Заготовки на зиму»."),
        day=_d(2014, 9, 16)),
    PostSpec("book_fact", "200 лет Лермонтову", (
        "15 октября исполняется 200 лет со дня рождения Михаила Юрьевича Лермонтова. Первая его напечатанная "
        "поэма — «Хаджи Абрек» — вышла в 1835 году без ведома автора: рукопись отнёс в журнал друг."),
        day=_d(2014, 9, 30)),
    PostSpec("afisha", "Лермонтовские чтения", (
        "15 октября в 14:00 — Лермонтовские чтения к 200-летию поэта. Читают школьники и все желающие, "
        "звучат романсы на стихи Лермонтова. Ждём вас в читальном зале!"),
        day=_d(2014, 10, 13), event="lermontov_2014"),
    PostSpec("photo_report", "Лермонтовские чтения: фотографии", (
        "Спасибо участникам: прозвучало 26 стихотворений, а «Парус» прочитали трижды — и каждый раз по-своему. "
        "Фотографии с чтений — здесь."), day=_d(2014, 10, 20), photos=2, motif="books", palette="autumn",
        event="lermontov_2014"),
    PostSpec("product", "Календари на 2015 год", (
        "Отдел автоматизации печатает календари с вашими фотографиями: настенные и карманные. "
        "Хороший подарок к Новому году! Образцы — на фото, заказы принимаем в библиотеке."),
        day=_d(2014, 10, 28), photos=2, motif="confetti", palette="winter"),
    PostSpec("afisha", "Ночь искусств", (
        "3 ноября с 18:00 — «Ночь искусств» в библиотеке: выставка работ местных художников, живая музыка "
        "и мастер-класс по каллиграфии. Вход свободный."), day=_d(2014, 10, 31), event="art_night_2014"),
    PostSpec("new_arrivals", "Новинки ноября", (
        "Свежие поступления:\n— Виктор Пелевин. «Любовь к трём цукербринам»\n"
        "— Людмила Улицкая. «Священный мусор»\n— Дмитрий Быков. «Сигналы»\n"
        "— Детские энциклопедии серии «Хочу всё знать»."), day=_d(2014, 11, 18)),
    PostSpec("contest", "Акция «Подари книгу библиотеке»", (
        "Дорогие читатели! До 20 декабря проходит акция «Подари книгу библиотеке». Новые и хорошие книги "
        "пополнят фонд, а имена дарителей мы напишем на памятных закладках."), day=_d(2014, 11, 27)),
    PostSpec("book_fact", "2015 — Год литературы", (
        "Знаете ли вы, что 2015 год объявлен в России Годом литературы? А уходящий 2014-й был Годом культуры. "
        "Что вы хотите увидеть в библиотеке в Год литературы? Пишите в комментариях!"), day=_d(2014, 12, 9)),
    PostSpec("service_info", "Работа в новогодние праздники", (
        "График работы библиотеки: 31 декабря — до 16:00, 1–4 января — выходные, с 5 января работаем как "
        "обычно. Книги на праздники можно взять заранее — продлим срок возврата до 12 января. "
        "С наступающим Новым годом!"), day=_d(2014, 12, 23)),
]

CHILDREN_OK_2014 = [
    PostSpec("note", "Привет!", (
        "Привет! Это страничка Центральной городской детской библиотеки. Здесь — наши праздники, "
        "новые книги, конкурсы и фотографии. Добавляйтесь в друзья и зовите родителей!"), day=_d(2014, 2, 10)),
    PostSpec("afisha", "Неделя детской книги", (
        "С 24 по 30 марта — Неделя детской книги! Каждый день в 11:00: громкие чтения, викторины, "
        "встреча с книжными героями и мастер-класс «Книжка-малышка». Ждём ребят и родителей!"),
        day=_d(2014, 3, 20), event="children_book_week_2014"),
    PostSpec("photo_report", "Неделя детской книги: как это было", (
        "Семь дней праздника, больше трёхсот гостей и сорок книжек-малышек, сделанных своими руками. "
        "Спасибо ребятам и учителям!"), day=_d(2014, 3, 31), photos=3, motif="balloons", palette="bright",
        event="children_book_week_2014"),
    PostSpec("exhibition", "Виртуальная выставка «Книги-юбиляры 2014»", (
        "2 апреля — Международный день детской книги. Открываем виртуальную выставку «Книги-юбиляры 2014»: "
        "«Конёк-Горбунок» (190 лет), «Приключения Тома Сойера», «Приключения Незнайки и его друзей» "
        "и другие. Листайте фотографии — и приходите за книгами!"), day=_d(2014, 4, 2), photos=2,
        motif="books", palette="bright"),
    PostSpec("links", "Полезные ссылки для школьников", (
        "Где найти книги и материалы для уроков:\n— Президентская библиотека: prlib.ru\n"
        "— Национальная электронная детская библиотека: arch.rgdb.ru\n"
        "— Наш электронный каталог — спрашивайте у библиотекаря, как им пользоваться."),
        day=_d(2014, 4, 16), link="https://www.prlib.ru/"),
    PostSpec("service_info", "Пора вернуть книги", (
        "Дорогие читатели! Если вы брали книги до 20 апреля, пора их вернуть или продлить. Продлить можно "
        "прямо здесь: напишите нам сообщение с фамилией и номером читательского билета."), day=_d(2014, 5, 20)),
    PostSpec("photo_report", "Здравствуй, лето!", (
        "1 июня отметили День защиты детей: рисовали на асфальте, отгадывали загадки и получили "
        "«летние читательские билеты». Смотрите, как было весело!"), day=_d(2014, 6, 2), photos=3,
        motif="sun", palette="bright", event="children_day_2014"),
    PostSpec("afisha", "Летние чтения «Лето с книгой»", (
        "Всё лето по вторникам и четвергам в 11:00 — «Лето с книгой»: читаем вслух, играем, мастерим. "
        "Запишитесь в летний читательский клуб и получите дневник чтения!"), day=_d(2014, 6, 16)),
    PostSpec("exhibition", "Виртуальная выставка «Книги о приключениях»", (
        "Куда отправиться летом, не выходя из дома? Конечно, в книгу! На виртуальной выставке — "
        "«Остров сокровищ», «Таинственный остров», «Дети капитана Гранта» и другие приключения."),
        day=_d(2014, 7, 15), photos=2, motif="books", palette="spring"),
    PostSpec("service_info", "Каникулы заканчиваются", (
        "Каникулы подходят к концу — самое время вернуть книги, взятые на лето. Не успеваете? "
        "Напишите нам сообщение с фамилией и номером билета — продлим срок."), day=_d(2014, 8, 20)),
    PostSpec("photo_report", "День знаний в библиотеке", (
        "1 сентября к нам пришли первоклассники — на экскурсию «Книжкин дом». Теперь у них есть свои "
        "читательские билеты!"), day=_d(2014, 9, 2), photos=2, motif="balloons", palette="autumn",
        event="knowledge_day_2014"),
    PostSpec("links", "Готовимся к олимпиадам", (
        "Подборка полезных сайтов для подготовки к школьным олимпиадам и конкурсам чтецов. "
        "Начните с Национальной электронной детской библиотеки — там много книг, которые можно читать онлайн."),
        day=_d(2014, 10, 7), link="https://arch.rgdb.ru/"),
    PostSpec("exhibition", "Виртуальная выставка «Мамы добрые глаза»", (
        "30 ноября — День матери. Собрали для вас книги о мамах: стихи Агнии Барто и Елены Благининой, "
        "рассказы Виктора Драгунского и Николая Носова. Листайте выставку и поздравляйте мам!"),
        day=_d(2014, 11, 24), photos=2, motif="sun", palette="warm"),
    PostSpec("afisha", "Новогодняя ёлка в библиотеке", (
        "26 декабря в 11:00 — новогодний праздник у библиотечной ёлки: Дед Мороз, игры и сказка-спектакль. "
        "Вход по читательским билетам, ребят без билета тоже запишем!"), day=_d(2014, 12, 15),
        event="new_year_children_2014"),
    PostSpec("service_info", "Сдайте книги до Нового года", (
        "Напоминаем: книги, срок которых истекает в декабре, лучше вернуть до 30 декабря. "
        "Или продлите их на каникулы — напишите нам, это займёт минуту."), day=_d(2014, 12, 22)),
]

BRANCH4_OK_2014 = [
    PostSpec("note", "Библиотека-филиал № 4 в Одноклассниках", (
        "Здравствуйте, соседи! Библиотека-филиал № 4 открыла свою страницу. Здесь — наши мероприятия, "
        "услуги и новости. Подписывайтесь и заходите в гости!"), day=_d(2014, 11, 21)),
    PostSpec("afisha", "Вечер «Тепло маминых рук»", (
        "29 ноября в 15:00 приглашаем на вечер ко Дню матери «Тепло маминых рук»: стихи, песни, "
        "выставка рукоделия наших читательниц."), day=_d(2014, 11, 25), event="mother_day_2014"),
    PostSpec("photo_report", "«Тепло маминых рук»: фотографии", (
        "Спасибо мамам и бабушкам, которые принесли на выставку вязаные салфетки, вышивки и игрушки. "
        "Вечер получился очень тёплым!"), day=_d(2014, 12, 2), photos=2, motif="confetti", palette="warm",
        event="mother_day_2014"),
    PostSpec("service_info", "Наши услуги", (
        "В филиале можно: взять книги и журналы, распечатать и отсканировать документы, "
        "получить помощь с портала Госуслуг. Работаем со вторника по субботу с 10:00 до 18:00."),
        day=_d(2014, 12, 10)),
    PostSpec("afisha", "Новогодние посиделки", (
        "27 декабря в 16:00 — новогодние посиделки: чай, загадки, лото и немного волшебства. Ждём всех!"),
        day=_d(2014, 12, 22), event="new_year_branch4_2014"),
]

AUTOMATION_VK_2014 = [
    PostSpec("note", "Что такое «Медногорский винил»", (
        "Это страница отдела автоматизации Центральной городской библиотеки. Мы режем надписи и наклейки "
        "из плёнки, печатаем, ламинируем и брошюруем. Здесь показываем наши лучшие работы."),
        day=_d(2014, 5, 15), photos=1, motif="vinyl", palette="bright"),
    PostSpec("product", "Надписи на стекло", (
        "Оформили входную группу детского сада: режим работы и весёлые буквы на стекле. "
        "Плёнка выдерживает и мороз, и мытьё окон."), day=_d(2014, 6, 11), photos=2, motif="vinyl",
        palette="spring"),
    PostSpec("product", "Таблички для школы", (
        "Сделали для школы комплект табличек на кабинеты: печать, ламинирование, крепление. "
        "Заказы от учреждений принимаем по договору."), day=_d(2014, 8, 19), photos=2, motif="vinyl",
        palette="autumn"),
    PostSpec("product", "Стенд для Совета депутатов", (
        "Информационный стенд для Совета депутатов: макет, печать и плоттерная резка заголовков. "
        "Спасибо за доверие!"), day=_d(2014, 10, 8), photos=1, motif="vinyl", palette="warm"),
    PostSpec("product", "Новогоднее оформление окон", (
        "Снежинки, ёлки и надписи «С Новым годом!» из плёнки — оформим окна офиса, магазина или класса. "
        "Примеры работ — на фото."), day=_d(2014, 12, 5), photos=2, motif="confetti", palette="winter"),
]

# The healthy-lifestyle poll's results as the page showed them (historic: entered by hand, marked ``manual``), in
# the order of its answers. The report's figures are invented for the demo; the poll itself is in the report.
POLL_RESULTS_2014: dict[str, tuple[int, ...]] = {
    "Как вы относитесь к здоровому образу жизни?": (57, 41, 23, 6),
}

# The children's library's debtor work in 2014 (due-date notices and renewals through its OK page): readers
# (card, loans) reminded on a day; ``renewed`` loans renewed at the reader's message, ``returned`` loans brought
# back after the reminder (days after it).
@dataclass(frozen=True)
class DebtorSpec:
    card: str
    reminded: date
    loans: int
    renewed: int = 0
    returned_after: int | None = None


DEBTORS_2014 = [
    DebtorSpec("Д-2014-01", date(2014, 5, 21), 2, renewed=1, returned_after=4),
    DebtorSpec("Д-2014-02", date(2014, 5, 21), 1, returned_after=2),
    DebtorSpec("Д-2014-03", date(2014, 8, 21), 3, renewed=3),
    DebtorSpec("Д-2014-04", date(2014, 8, 22), 1, returned_after=6),
    DebtorSpec("Д-2014-05", date(2014, 12, 22), 2, renewed=2),
    DebtorSpec("Д-2014-06", date(2014, 12, 23), 1, returned_after=5),
]

HISTORY_2014: dict[str, list[PostSpec]] = {
    "central_ok": CENTRAL_OK_2014,
    "children_ok": CHILDREN_OK_2014,
    "branch4_ok": BRANCH4_OK_2014,
    "automation_vk": AUTOMATION_VK_2014,
}


@dataclass(frozen=True)
class EventSpec:
    key: str
    unit: str
    title: str
    description: str = ""
    scope: str = "library"
    day: date | None = None
    offset: int = 0
    time: str = "11:00"
    hours: float = 2
    place: str = ""


EVENTS_2014 = [
    EventSpec("women_day_2014", "central", "Вечер «Весна. Женщина. Книга»",
              "Литературно-музыкальный вечер к 8 Марта.", day=_d(2014, 3, 7), time="15:00", place="Читальный зал ЦГБ"),
    EventSpec("children_book_week_2014", "children", "Неделя детской книги",
              "Громкие чтения, викторины, мастер-классы.", day=_d(2014, 3, 24), time="11:00",
              hours=24 * 6 + 4, place="ЦГДБ"),
    EventSpec("biblionight_2014", "central", "Библионочь-2014",
              "Квест, мастер-классы, экскурсия в книгохранилище.", day=_d(2014, 4, 25), time="18:00",
              hours=4, place="ЦГБ"),
    EventSpec("victory_day_2014", "central", "Акция «Читаем стихи о войне»", "Ко Дню Победы.",
              day=_d(2014, 5, 9), time="11:00", hours=1, place="У входа в библиотеку"),
    EventSpec("victory_parade_2014", "central", "День Победы: городской праздник", scope="city",
              day=_d(2014, 5, 9), time="10:00", hours=6, place="Центр города"),
    EventSpec("library_day_2014", "central", "Общероссийский день библиотек: день открытых дверей",
              "Экскурсии, электронный каталог, амнистия для должников.", day=_d(2014, 5, 27), time="10:00",
              hours=8, place="ЦГБ"),
    EventSpec("children_day_2014", "children", "Праздник «Здравствуй, лето!»", "День защиты детей.",
              day=_d(2014, 6, 1), time="11:00", hours=2, place="Площадка у ЦГДБ"),
    EventSpec("pushkin_day_2014", "central", "Пушкинский день: читаем вслух", day=_d(2014, 6, 6), time="12:00",
              hours=1.5, place="Сквер у библиотеки"),
    EventSpec("family_day_2014", "central", "Вечер «Ромашковое настроение»", "День семьи, любви и верности.",
              day=_d(2014, 7, 8), time="16:00", place="Читальный зал ЦГБ"),
    EventSpec("knowledge_day_2014", "children", "День знаний: экскурсия «Книжкин дом»", day=_d(2014, 9, 1),
              time="10:00", hours=3, place="ЦГДБ"),
    EventSpec("lermontov_2014", "central", "Лермонтовские чтения: 200 лет поэту", day=_d(2014, 10, 15),
              time="14:00", place="Читальный зал ЦГБ"),
    EventSpec("art_night_2014", "central", "Ночь искусств", "Выставка художников, музыка, каллиграфия.",
              day=_d(2014, 11, 3), time="18:00", hours=3, place="ЦГБ"),
    EventSpec("mother_day_2014", "branch4", "Вечер «Тепло маминых рук»", "Ко Дню матери.", day=_d(2014, 11, 29),
              time="15:00", place="Филиал № 4"),
    EventSpec("new_year_children_2014", "children", "Новогодняя ёлка в библиотеке", day=_d(2014, 12, 26),
              time="11:00", place="ЦГДБ"),
    EventSpec("new_year_branch4_2014", "branch4", "Новогодние посиделки", day=_d(2014, 12, 27), time="16:00",
              place="Филиал № 4"),
]

# Events around today (offset in days from today, in the network's time zone).
RECENT_EVENTS = [
    EventSpec("reading_marathon", "children", "Читательский марафон «Сказки народов России»",
              "Читаем вслух сказки разных народов; для учеников 2–4 классов.", offset=-10, time="11:00",
              place="ЦГДБ"),
    EventSpec("local_history", "central", "Час краеведения «Медногорск: история в лицах»",
              "Рассказ о первых строителях города и медно-серном комбинате, старые фотографии.", offset=-6,
              time="15:00", hours=1.5, place="Читальный зал ЦГБ"),
    EventSpec("branch4_lawyer", "branch4", "День правовой информации: консультация юриста",
              "Бесплатные консультации по вопросам ЖКХ и пенсий.", offset=-3, time="14:00", hours=3,
              place="Филиал № 4"),
    EventSpec("book_club", "central", "Книжный клуб «Читаем вместе»", "Обсуждаем прочитанное за чаем.",
              offset=3, time="17:00", hours=1.5, place="Читальный зал ЦГБ"),
    EventSpec("masterclass_bookmark", "children", "Мастер-класс «Закладка своими руками»",
              "Для детей от 6 лет; материалы дадим.", offset=5, time="14:00", hours=1, place="ЦГДБ"),
    EventSpec("vinyl_open_day", "automation", "День открытых дверей отдела автоматизации",
              "Покажем, как работают плоттер, ламинатор и переплётная машина.", offset=6, time="12:00", hours=4,
              place="ЦГБ, отдел автоматизации"),
    EventSpec("internet_course", "central", "Курсы «Азбука интернета»: Госуслуги без очереди",
              "Для старшего поколения; приходите с телефоном.", offset=8, time="11:00", hours=1.5,
              place="Компьютерный класс ЦГБ"),
    EventSpec("branch4_tea", "branch4", "Литературные посиделки «За чашкой чая»", offset=10, time="15:00",
              place="Филиал № 4"),
    EventSpec("puppet_show", "children", "Кукольный спектакль «Теремок»", "Для малышей 3–6 лет.", offset=14,
              time="11:00", hours=1, place="ЦГДБ"),
]

# Library and city holidays with fixed dates: the ones that fall near today become city events.
HOLIDAYS: list[tuple[int, int, str]] = [
    (1, 25, "Татьянин день — День студентов"),
    (2, 8, "День российской науки"),
    (2, 21, "Международный день родного языка"),
    (2, 23, "День защитника Отечества"),
    (3, 8, "Международный женский день"),
    (3, 21, "Всемирный день поэзии"),
    (4, 2, "Международный день детской книги"),
    (4, 12, "День космонавтики"),
    (5, 9, "День Победы"),
    (5, 24, "День славянской письменности и культуры"),
    (5, 27, "Общероссийский день библиотек"),
    (6, 1, "День защиты детей"),
    (6, 6, "Пушкинский день России"),
    (6, 12, "День России"),
    (7, 8, "День семьи, любви и верности"),
    (8, 22, "День Государственного флага России"),
    (9, 1, "День знаний"),
    (9, 8, "Международный день грамотности"),
    (10, 1, "Международный день пожилых людей"),
    (10, 5, "День учителя"),
    (11, 4, "День народного единства"),
    (12, 3, "Международный день инвалидов"),
    (12, 12, "День Конституции Российской Федерации"),
    (12, 31, "Новый год"),
]

# A few weeks of posts around today. ``offset`` is days from today; states other than "published" go
# through the services (create, submit, approve, return), so they need future times.
RECENT_POSTS = [
    PostSpec("new_arrivals", "Новые книги на абонементе", (
        "Свежие поступления:\n— Евгений Водолазкин. «Чагин»\n— Алексей Иванов. «Бронепароходы»\n"
        "— Гузель Яхина. «Эшелон на Самарканд»\n— Дина Рубина. «Наполеонов обоз»\n"
        "Записывайтесь в очередь у библиотекаря или по телефону."),
        offset=-18, time="12:00", unit="central", channels=("central_vk", "central_tg", "central_max", "central_ok")),
    PostSpec("product", "Таблички для школы № 7", (
        "Новый комплект табличек на кабинеты: печать, ламинирование и крепление. Делаем для школ, "
        "детских садов и учреждений культуры."), offset=-12, time="11:00", unit="automation",
        channels=("automation_vk", "automation_tg"), photos=2, motif="vinyl", palette="autumn"),
    PostSpec("afisha", "Консультация юриста в филиале № 4", (
        "Приходите с вопросами про ЖКХ, пенсии и льготы: юрист ответит бесплатно. Запись не нужна."),
        offset=-11, time="10:00", unit="branch4", channels=("branch4_vk", "branch4_tg", "branch4_ok"),
        event="branch4_lawyer"),
    PostSpec("photo_report", "Читательский марафон: сказки народов России", (
        "Ребята из школы № 1 прочитали вслух двенадцать сказок — от бурятской до карельской — и нарисовали "
        "любимых героев. Спасибо учителям и родителям!"), offset=-9, time="16:00", unit="children",
        channels=("children_vk", "children_tg", "children_ok"), photos=3, motif="balloons", palette="bright",
        event="reading_marathon"),
    PostSpec("book_fact", "Почему «Алые паруса» — феерия", (
        "Александр Грин назвал «Алые паруса» не повестью, а феерией — то есть волшебным зрелищем. "
        "А придумал он её, когда увидел в витрине игрушечную лодку с белым парусом. Перечитаем?"),
        offset=-8, time="13:00", unit="central", channels=("central_vk", "central_tg")),
    PostSpec("service_info", "Срок возврата книг", (
        "Дорогие читатели! У кого срок возврата книг на этой неделе — можно продлить прямо здесь: напишите "
        "фамилию и номер читательского билета, и мы ответим."), offset=-7, time="10:00", unit="children",
        channels=("children_vk", "children_tg")),
    PostSpec("photo_report", "Медногорск: история в лицах", (
        "На часе краеведения вспоминали первых строителей города и смотрели старые фотографии комбината. "
        "Спасибо гостям, которые принесли снимки из семейных альбомов!"), offset=-5, time="17:00",
        unit="central", channels=("central_vk", "central_ok", "central_max"), photos=3, motif="sun",
        palette="autumn", event="local_history"),
    PostSpec("links", "Электронные библиотеки для школьников", (
        "Книги к урокам можно читать онлайн: Национальная электронная библиотека, Президентская библиотека "
        "и Национальная электронная детская библиотека. Нужна помощь с доступом — приходите, покажем."),
        offset=-4, time="15:00", unit="children", channels=("children_vk", "children_tg"),
        link="https://rusneb.ru/"),
    PostSpec("photo_report", "Юрист ответил на вопросы", (
        "За три часа юрист проконсультировал двадцать человек. Следующая консультация — через месяц, "
        "следите за новостями."), offset=-2, time="12:00", unit="branch4",
        channels=("branch4_vk", "branch4_ok"), photos=1, motif="books", palette="spring", event="branch4_lawyer"),
    PostSpec("afisha", "Книжный клуб «Читаем вместе»", (
        "В четверг в 17:00 обсуждаем «Чагина» Евгения Водолазкина. Не успели дочитать — всё равно "
        "приходите: будет чай и хорошая компания."), offset=-1, time="18:00", unit="central",
        channels=("central_vk", "central_tg", "central_max"), event="book_club"),
    # Future: approved and waiting in the calendar.
    PostSpec("afisha", "Азбука интернета: Госуслуги без очереди", (
        "Приглашаем на занятие для старшего поколения: покажем, как записаться к врачу и оплатить услуги "
        "через Госуслуги. Приходите с телефоном, всё объясним по шагам."), offset=1, time="10:00",
        unit="central", channels=("central_vk", "central_tg", "central_max", "central_ok"),
        event="internet_course", state="scheduled"),
    PostSpec("afisha", "Мастер-класс «Закладка своими руками»", (
        "Ребята, ждём вас на мастер-класс: сделаем закладки из цветной бумаги и ленточек. "
        "Для детей от 6 лет, материалы дадим."), offset=2, time="11:00", unit="children",
        channels=("children_vk", "children_tg", "children_ok"), photos=1, motif="confetti", palette="bright",
        event="masterclass_bookmark", state="scheduled"),
    PostSpec("product", "Наклейки для окон и витрин", (
        "Режем наклейки любой формы: буквы, логотипы, праздничные узоры. Покажем образцы в день открытых "
        "дверей, а примеры работ — уже на фото."), offset=3, time="12:00", unit="automation",
        channels=("automation_vk", "automation_tg"), photos=2, motif="vinyl", palette="winter",
        event="vinyl_open_day", state="scheduled"),
    PostSpec("poll", "Что читаем в книжном клубе?", (
        "Выбираем книгу для следующей встречи книжного клуба. Голосуйте — и приходите обсудить!"),
        offset=4, time="18:00", unit="central", channels=("central_vk", "central_tg"),
        poll=("Какую книгу обсудим в следующий раз?", (
            "«Лавр» Евгения Водолазкина", "«Бронепароходы» Алексея Иванова", "«Обитель» Захара Прилепина",
            "Предложу свою в комментариях")), state="scheduled"),
    PostSpec("afisha", "Посиделки «За чашкой чая»", (
        "Соседи, приходите на литературные посиделки: почитаем любимые стихи, поговорим о книгах, "
        "попьём чаю с вареньем."), offset=7, time="10:00", unit="branch4",
        channels=("branch4_vk", "branch4_tg", "branch4_ok"), event="branch4_tea", state="scheduled"),
    PostSpec("exhibition", "Виртуальная выставка «Сказки народов России»", (
        "Продолжаем сказочную тему: собрали для вас сказки народов России с яркими иллюстрациями. "
        "Все книги с выставки можно взять домой."), offset=9, time="12:00", unit="children",
        channels=("children_vk", "children_tg"), photos=2, motif="books", palette="bright", state="scheduled"),
    # Waiting for the methodologist.
    PostSpec("contest", "Конкурс чтецов «Живое слово»", (
        "Объявляем конкурс чтецов для всех возрастов! Выберите стихотворение, запишите видео или приходите "
        "прочитать его в библиотеке до конца месяца. Победителей ждут книги в подарок."),
        offset=6, time="11:00", unit="central", channels=("central_vk", "central_tg"), state="pending"),
    PostSpec("afisha", "Кукольный спектакль «Теремок»", (
        "Для самых маленьких читателей — кукольный спектакль «Теремок». Приходите с мамами и папами!"),
        offset=11, time="10:00", unit="children", channels=("children_vk", "children_tg", "children_ok"),
        event="puppet_show", state="pending"),
    PostSpec("service_info", "Сканирование и печать в филиале № 4", (
        "Теперь в филиале можно отсканировать документы и распечатать их в цвете. "
        "Работаем со вторника по субботу с 10:00 до 18:00."), offset=5, time="13:00", unit="branch4",
        channels=("branch4_vk", "branch4_ok"), state="pending"),
    # Returned with a comment.
    PostSpec("report", "Итоги месяца в ЦГБ", (
        "За месяц у нас прошло 14 мероприятий, пришло 40 новых читателей, а книжный клуб прочитал три книги. "
        "Спасибо всем, кто был с нами!"), offset=8, time="16:00", unit="central",
        channels=("central_vk", "central_tg", "central_max"), state="returned",
        comment="Добавьте, пожалуйста, пару фотографий и разбейте текст на абзацы — так легче читать."),
    # Drafts.
    PostSpec("book_fact", "Сколько лет «Трём мушкетёрам»?", (
        "Черновик: найти дату первой публикации и добавить картинку обложки."), unit="central",
        channels=("central_vk",), state="draft", time=""),
    PostSpec("note", "Каникулы в библиотеке", (
        "На каникулах библиотека работает каждый день, кроме понедельника. Приходите играть, читать "
        "и мастерить!"), offset=15, time="10:00", unit="children", channels=("children_vk", "children_tg"),
        state="draft"),
    PostSpec("new_arrivals", "Новинки филиала", (
        "Список новых книг — дополнить после разбора поступления."), unit="branch4",
        channels=("branch4_vk", "branch4_ok"), state="draft", time=""),
]


@dataclass
class DemoSummary:
    system_id: int = 0
    units: int = 0
    users: int = 0
    channels: int = 0
    posts: int = 0
    events: int = 0
    photos: int = 0
    emulated: int = 0  # pages pointed at the built-in emulators
    notes: list[str] = field(default_factory=list)
