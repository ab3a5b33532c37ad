"""A real browser: upload an export → the column mapping and the preview → start → the progress bar (htmx polling)
→ the report. And the demo's circulation data."""

from __future__ import annotations

from typing import Any

import pytest
from django.utils import timezone

from filial.circulation import imports
from filial.circulation.models import ImportJob, Loan, Reader, Renewal
from filial.conftest import ARTIFACTS, PASSWORD, Net
from filial.core import taskqueue
from filial.demo.build import load_demo

CSV = ("Читательский билет;ФИО;Инв. номер;Название;Дата выдачи;Срок возврата;Дата возврата\n"
       + "".join(f"Д-{100 + i};Читатель {i};{5000 + i};Книга {i};01.10.2026;15.10.2026;\n" for i in range(30))
       ).encode("cp1251")


@pytest.mark.django_db
def test_demo_has_readers_and_overdue_loans() -> None:
    load_demo()
    assert Reader.objects.count() >= 30
    today = timezone.now().date()
    assert Loan.objects.filter(returned__isnull=True, due__lt=today).count() >= 5
    assert Renewal.objects.filter(state=Renewal.State.QUEUED).count() == 2


@pytest.mark.browser
def test_upload_mapping_preview_import_with_progress(live_server: Any, transactional_db: Any, net: Net, page: Any,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    queued: list[int] = []
    # The test plays the worker, to watch the bar move: the import is queued by name through the task queue.
    enqueue = taskqueue.enqueue

    def hold_imports(name: str, *args: Any) -> Any:
        if name != "filial.circulation.tasks.run_import":
            return enqueue(name, *args)
        queued.append(args[0])

    monkeypatch.setattr(taskqueue, "enqueue", hold_imports)
    base = live_server.url
    page.goto(f"{base}/login/")
    page.locator("#id_username").fill("ed_children")
    page.locator("#id_password").fill(PASSWORD)
    page.locator("form button[type=submit]").last.click()
    page.wait_for_url(f"{base}/")

    page.goto(f"{base}/circulation/imports/new/?unit={net.children.pk}")
    page.locator("#id_file").set_input_files({"name": "выдачи.csv", "mimeType": "text/csv", "buffer": CSV})
    page.get_by_role("button", name="Загрузить и проверить").or_(
        page.get_by_role("button", name="Upload and check")).click()
    page.wait_for_url(f"{base}/circulation/imports/*/")
    # the mapping was guessed from the Russian headers, the preview shows the first rows
    assert page.locator("#id_col_card").input_value() == "0"
    assert page.locator("#id_col_barcode").input_value() == "2"
    assert page.locator("#id_col_due").input_value() == "5"
    assert page.locator("#preview-table tbody tr").count() == 10
    assert "Читатель 0" in page.locator("#preview-table").inner_text()
    page.locator("#id_full").check()
    page.locator("form#mapping-form button.primary").click()

    page.wait_for_selector("#import-progress progress")
    assert page.locator("#import-progress progress").get_attribute("value") == "0"
    assert len(queued) == 1
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "circulation-import-waiting.png"), full_page=True)
    job = imports.import_run(queued[0])  # the worker runs it; the page polls and shows the outcome
    assert job is not None and job.state == ImportJob.State.DONE
    page.wait_for_selector("#import-report", timeout=10_000)
    assert page.locator("#import-progress progress").get_attribute("value") == "100"
    assert "30" in page.locator("#import-report").inner_text()
    assert Loan.objects.filter(unit=net.children).count() == 30
    page.goto(f"{base}/circulation/unit/{net.children.pk}/")
    assert "выдачи.csv" in page.locator("main").inner_text()
    page.screenshot(path=str(ARTIFACTS / "circulation-unit.png"), full_page=True)
    page.goto(f"{base}/circulation/readers/?q=Д-10")
    assert page.locator("main table tbody tr").count() == 10  # Д-100 … Д-109
    page.locator("main table tbody a").first.click()
    page.get_by_role("button", name="Продлить Д").or_(page.locator("main form button").first).first.click()
    page.wait_for_selector(".messages")
    page.goto(f"{base}/circulation/renewals/")
    page.screenshot(path=str(ARTIFACTS / "circulation-queue.png"), full_page=True)
    assert page.locator(".circ-request").count() == 1
