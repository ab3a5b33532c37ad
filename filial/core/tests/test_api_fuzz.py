"""The whole API fuzzed from its own published schema (Schemathesis): every operation, valid and invalid input
(random, on real objects, and the coverage phase's boundary values), as an administrator of a populated network.
No answer may be a 500, every answer's status must be one the schema documents, and every answer's body must
match the schema. A fixed seed and a bounded budget keep it repeatable (30-70 s on two shared cores)."""

from __future__ import annotations

import itertools
import time
from datetime import date, timedelta
from typing import Any

import pytest
from django.core.signals import request_finished, request_started
from django.db import close_old_connections
from django.test import Client

from filial.conftest import PASSWORD
from filial.core.tests.test_api_support import world

schemathesis = pytest.importorskip("schemathesis")
hypothesis = pytest.importorskip("hypothesis")

SEED = 20310601
EXAMPLES = {"positive": 10, "negative": 6}  # random cases per operation (42 operations), besides the coverage ones
COVERAGE_CASES = 300  # at most, per operation (about 2,400 in all today)
CHECKS = ["not_a_server_error", "status_code_conformance", "response_schema_conformance"]


def api_token(username: str) -> str:
    """A token the way a client gets one: from the token endpoint (whatever the server stores)."""
    response = Client().post("/api/v1/auth/token/", {"username": username, "password": PASSWORD},
                             content_type="application/json")
    assert response.status_code == 200, response.content
    return str(response.json()["token"])


def rich_network(net: Any) -> dict[str, list[int]]:
    """Posts in every state, an event, a photo, deliveries, a conversation, a reader with loans and an import:
    the ids a path may name, per resource (the fuzzer also tries ids that do not exist)."""
    from filial.circulation.models import ImportJob, Loan, Reader
    from filial.inbox.tests.factories import reader_message
    from filial.publishing.models import Delivery

    w = world(net)
    conversation = reader_message(net.channels["children_tg"], "Когда откроется читальный зал?")
    reader = Reader.objects.create(system=net.system, unit=net.children, card="Д-1013", name="Иванова Мария")
    today = date.today()
    loans = [Loan.objects.create(reader=reader, unit=net.children, barcode=f"200{n}", title=f"Книга {n}",
                                 issued=today - timedelta(days=30), due=today + timedelta(days=n - 5))
             for n in range(3)]
    job = ImportJob.objects.create(unit=net.children, format="csv", original_name="loans.csv")
    from filial.paid.tests.support import paid_world

    paid = paid_world(net)
    return {
        "units": [u.pk for u in (net.central, net.automation, net.children, net.branch4)],
        "channels": [c.pk for c in net.channels.values()],
        "posts": [w.draft_b4.pk, w.pending_b4.pk, w.draft_ch.pk, w.scheduled_ch.pk],
        "deliveries": list(Delivery.objects.values_list("pk", flat=True)),
        "events": [w.event_ch.pk], "media": [w.photo_ch.pk], "conversations": [conversation.pk],
        "readers": [reader.pk], "loans": [loan.pk for loan in loans], "imports": [job.pk],
        "services": [paid.service.pk], "customers": [paid.school.pk], "orders": [paid.order.pk],
    }


def fuzz(schema: Any, headers: dict[str, str], examples: dict[str, int],
         ids: dict[str, list[int]] | None = None) -> list[str]:
    """Run every operation of ``schema`` in both generation modes, and (positive) on the objects of ``ids``;
    the findings, one line each."""
    from hypothesis import HealthCheck, Phase, given, seed, settings
    from hypothesis import strategies as st
    from schemathesis import GenerationMode, checks

    chosen = [getattr(checks, name) for name in CHECKS]
    findings: list[str] = []
    for result in schema.get_all_operations():
        operation = result.ok()
        resource = operation.path.split("/")[3] if operation.path.count("/") > 3 else ""
        real = (ids or {}).get(resource, []) if "{id}" in operation.path else []
        runs: list[tuple[str, int, list[int]]] = [(name, count, []) for name, count in examples.items()]
        if real:
            runs.append(("existing", examples["positive"], real))
        for mode_name, count, existing in runs:
            mode = GenerationMode.NEGATIVE if mode_name == "negative" else GenerationMode.POSITIVE
            pick = st.sampled_from(existing) if existing else st.none()

            @seed(SEED)
            @settings(max_examples=count, deadline=None, database=None, derandomize=True,
                      phases=[Phase.explicit, Phase.generate],  # no shrinking: report, do not minimise
                      suppress_health_check=list(HealthCheck))
            @given(case=operation.as_strategy(generation_mode=mode), pk=pick)
            def run(case: Any, pk: int | None) -> None:
                if pk is not None:
                    case.path_parameters = {**(case.path_parameters or {}), "id": pk}
                case.call_and_validate(headers=headers, checks=chosen)

            try:
                run()
            except BaseException as exc:
                if isinstance(exc, KeyboardInterrupt):
                    raise
                findings.append(finding(operation, mode_name, exc))
        # Schemathesis's coverage phase: deterministic boundary and type-violating values of every parameter and
        # field (a string where a number goes, a number one past its maximum, a missing required field…).
        coverage = schema.iter_coverage_cases(
            operation, generation_modes=[GenerationMode.POSITIVE, GenerationMode.NEGATIVE],
            generation_config=schema.config.generation_for(operation=operation, phase="coverage"))
        for case in itertools.islice(coverage, COVERAGE_CASES):
            try:
                case.call_and_validate(headers=headers, checks=chosen)
            except BaseException as exc:  # a failed check group or a crash
                if isinstance(exc, KeyboardInterrupt):
                    raise
                findings.append(finding(operation, "coverage", exc))
    return findings


def finding(operation: Any, phase: str, exc: BaseException) -> str:
    lines = [line for line in str(exc).strip().splitlines()[:14] if line.strip()]
    return f"{operation.label} [{phase}]: " + " | ".join(lines)


@pytest.mark.django_db
def test_the_whole_api_survives_fuzzing_from_its_schema(net: Any, settings: Any) -> None:
    from filial.wsgi import application

    ids = rich_network(net)
    # Nothing leaves the machine: a page check or a publication meets a closed local port at once.
    for name in ("FILIAL_VK_API_URL", "FILIAL_OK_API_URL", "FILIAL_TELEGRAM_API_URL", "FILIAL_MAX_API_URL"):
        setattr(settings, name, "http://127.0.0.1:9/")
    headers = {"Authorization": f"Token {api_token(net.users['admin'].username)}"}
    # The WSGI app is called directly: keep the test's database connection (and its transaction) open across
    # requests, as Django's test client does.
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    try:
        schema = schemathesis.openapi.from_wsgi("/api/schema/", application, headers=headers)
        started = time.monotonic()
        findings = fuzz(schema, headers, EXAMPLES, ids)
        elapsed = time.monotonic() - started
    finally:
        request_started.connect(close_old_connections)
        request_finished.connect(close_old_connections)
    print(f"schemathesis: {len(list(schema.get_all_operations()))} operations in {elapsed:.1f} s")
    assert not findings, "\n".join(findings)
