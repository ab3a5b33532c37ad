"""The demo's inbox: a few dozen readers' comments and messages on the Mednogorsk pages (invented), ingested
through the real pipeline, some answered, some waiting and overdue; quick replies and opening hours."""

from __future__ import annotations

from datetime import datetime, time, timedelta
from typing import Any

from django.db.models import F

from filial.accounts.selectors import access_for
from filial.channels.models import Channel
from filial.inbox import pipeline
from filial.inbox.models import Conversation, InboxItem, Note, OpeningHours, ReplyTemplate
from filial.networks.base import InboundItem
from filial.publishing.models import Delivery

# (page, kind, person, name, hours ago, text, what staff did: "" | "answered:<reply>" | "closed" | "assigned")
DIALOGUES: list[tuple[str, str, str, float, str, str]] = [
    ("central_vk", "5101", "Ольга Журавлёва", 2.5, "Здравствуйте! Можно ли продлить книги через сообщение?", ""),
    ("central_vk", "5102", "Сергей Малахов", 30, "Работает ли библиотека 4 ноября?",
     "answered:Добрый день! 4 ноября библиотека закрыта, ждём вас 5 ноября с 9:00."),
    ("central_vk", "5103", "Анна Кравец", 52, "Срочно: потеряла читательский билет, что делать?", "assigned"),
    ("central_vk", "5104", "Иван Петров", 5, "Есть ли у вас «Тихий Дон» в крупном шрифте?", ""),
    ("central_tg", "6101", "Марина", 1, "Добрый вечер, подскажите, до скольки вы работаете в субботу?", ""),
    ("central_tg", "6102", "Пётр Ш.", 75, "Хочу подарить библиотеке книги, куда их принести?",
     "answered:Спасибо! Приносите в абонемент ЦГБ, ул. Советская, 7, в часы работы."),
    ("central_max", "7101", "Галина Сергеевна", 20, "Можно записать внука в кружок робототехники?", "assigned"),
    ("central_max", "7102", "Виктор", 3, "Где посмотреть афишу на декабрь?", ""),
    ("children_vk", "5201", "Светлана (мама Кати)", 8, "Во сколько начинается утренник в воскресенье?", ""),
    ("children_vk", "5202", "Елена Н.", 98, "Спасибо за конкурс рисунков! Когда итоги?", "closed"),
    ("children_tg", "6201", "Даша, 12 лет", 26, "А можно взять «Гарри Поттера» на две недели?",
     "answered:Конечно! Приходи с мамой или папой, оформим билет."),
    ("children_tg", "6202", "Наталья", 4, "Жалоба: в читальном зале было очень холодно.", ""),
    ("branch4_vk", "5301", "Николай Ильич", 49, "Будет ли встреча клуба «Краевед» в этом месяце?", ""),
    ("branch4_vk", "5302", "Людмила", 6, "Принимаете ли вы журналы в дар?", ""),
    ("branch4_tg", "6301", "Юрий", 28, "Здравствуйте, у вас есть доступ к НЭБ?",
     "answered:Да, в филиале есть компьютер с доступом к НЭБ, приходите."),
    ("automation_vk", "5401", "Винил-клуб", 12, "Когда следующее прослушивание пластинок?", ""),
    ("automation_tg", "6401", "Артём", 55, "Можно оцифровать у вас кассеты?", "assigned"),
    ("central_ok", "580000000101", "Тамара Васильевна", 7, "Я в ОК пишу: какие новые книги пришли?", ""),
]
# (page, author, name, hours ago, text) — comments under each page's newest published post.
COMMENTS: list[tuple[str, str, str, float, str]] = [
    ("central_vk", "5111", "Ирина Белова", 3, "Спасибо за подборку! Возьму «Лето Господне»."),
    ("central_vk", "5112", "Алексей", 2, "А электронные версии будут?"),
    ("central_vk", "5113", "Зоя", 27, "Приду на встречу, очень жду!"),
    ("central_tg", "6111", "Олег", 9, "Отличный пост, поделился с друзьями"),
    ("central_tg", "6112", "Вера", 50, "А в каком зале будет выставка?"),
    ("children_vk", "5211", "Папа Миши", 4, "Сколько лет участникам конкурса?"),
    ("children_vk", "5212", "Оксана", 31, "Подскажите, нужна ли запись?"),
    ("children_tg", "6211", "Ксюша", 1.5, "Ура, мы придём!"),
    ("branch4_vk", "5311", "Николай Ильич", 53, "Фото с прошлой встречи будут?"),
    ("branch4_tg", "6311", "Светлана", 10, "Здорово, что вы рядом с домом!"),
    ("automation_vk", "5411", "Меломан", 22, "Какие пластинки будут в следующий раз?"),
    ("automation_vk", "5412", "Денис", 70, "Спасибо за вечер!"),
    ("central_ok", "580000000111", "Людмила Ивановна", 14, "Хорошее дело делаете"),
    ("children_ok", "580000000211", "Галина", 33, "А в детской библиотеке есть кружок вязания?"),
    ("branch4_ok", "580000000311", "Анатолий", 46, "Когда будет встреча ветеранов?"),
    ("central_max", "7111", "Мария", 6, "Хочу на экскурсию по библиотеке с классом"),
]
TEMPLATES = [
    ("central", "Часы работы", "Центральная библиотека открыта вт–сб с 9:00 до 18:00, воскресенье и понедельник — "
                               "выходные. Ждём вас!"),
    ("central", "Продление книг", "Продлить книги можно по телефону, на сайте или в этом чате: напишите номер "
                                  "читательского билета."),
    ("children", "Запись в кружок", "Записаться можно на абонементе детской библиотеки или по телефону."),
    ("branch4", "Спасибо за отзыв", "Спасибо за добрые слова! Передадим коллегам."),
]


def build(*, units: dict[str, Any], users: dict[str, Any], channels: dict[str, Channel], now: datetime) -> int:
    """Load the demo inbox; returns how many conversations it made."""
    for unit_key, title, text in TEMPLATES:
        ReplyTemplate.objects.create(unit=units[unit_key], title=title, text=text)
    OpeningHours.objects.bulk_create([OpeningHours(unit=units["central"], weekday=d, opens=time(9), closes=time(18))
                                      for d in (1, 2, 3, 4, 5)])
    OpeningHours.objects.bulk_create([OpeningHours(unit=units["branch4"], weekday=d, opens=time(10), closes=time(19))
                                      for d in (0, 1, 2, 3, 4)])
    made: set[int] = set()
    for n, (page, person, name, hours, text, done) in enumerate(DIALOGUES):
        channel = Channel.objects.select_related("unit__system").get(pk=channels[page].pk)
        at = now - timedelta(hours=hours)
        item = InboundItem(kind="message", external_id=f"demo-m{n}", thread_id=person, author_id=person,
                           author_name=name, text=text, at=at)
        report = pipeline.ingest(channel, [item])
        made |= report.conversations
        conversation = Conversation.objects.get(channel=channel, kind="dialogue", thread_key=person)
        editor = _writer(users, channel)
        if done.startswith("answered:"):
            InboxItem.objects.create(conversation=conversation, channel=channel, direction=InboxItem.Direction.OUT,
                                     kind="message", external_id=f"demo-r{n}", thread_id=person, reply_to=f"demo-m{n}",
                                     author_user=editor, author_name=editor.username, text=done.split(":", 1)[1],
                                     at=at + timedelta(minutes=35))
            Conversation.objects.filter(pk=conversation.pk).update(
                state=Conversation.State.ANSWERED, waiting_since=None, due_at=None, assignee=editor,
                items_count=F("items_count") + 1, last_item_at=at + timedelta(minutes=35))
        elif done == "closed":
            Conversation.objects.filter(pk=conversation.pk).update(state=Conversation.State.CLOSED, waiting_since=None,
                                                                   due_at=None)
        elif done == "assigned":
            Conversation.objects.filter(pk=conversation.pk).update(state=Conversation.State.IN_PROGRESS,
                                                                   assignee=editor)
            Note.objects.create(conversation=conversation, author=editor, text="Уточняю у коллег, отвечу сегодня.",
                                created_at=at + timedelta(minutes=20))
    for n, (page, author, name, hours, text) in enumerate(COMMENTS):
        channel = Channel.objects.select_related("unit__system").get(pk=channels[page].pk)
        delivery = (Delivery.objects.filter(channel=channel, state=Delivery.State.PUBLISHED)
                    .order_by("-published_at").first())
        post = delivery.external_id if delivery is not None else f"demo-post-{page}"
        item = InboundItem(kind="comment", external_id=f"demo-c{n}", thread_id=post, author_id=author,
                           author_name=name, text=text, at=now - timedelta(hours=hours), post_external_id=post)
        made |= pipeline.ingest(channel, [item]).conversations
    return len(made)


def _writer(users: dict[str, Any], channel: Channel) -> Any:
    for user in users.values():
        access = access_for(user)
        if access.can_write(channel.unit_id) and not access.is_admin:
            return user
    return next(iter(users.values()))
