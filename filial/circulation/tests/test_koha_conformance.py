"""The Koha emulator's answers validated against Koha's own OpenAPI definitions (an excerpt in data/), and the
adapter's requests checked against the parameters those definitions declare."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from datetime import date, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml
from jsonschema import Draft4Validator, FormatChecker

from emulators.base import ServedEmulator
from emulators.circulation.koha import KohaEmulator
from filial.circulation.adapters.koha import KohaAdapter
from filial.networks.tests.helpers import served

SPEC = yaml.safe_load((Path(__file__).parent / "data" / "koha_openapi_excerpt.yaml").read_text("utf-8"))
CLIENT = {"client_id": "conformance", "client_secret": "s3cret"}
FORMATS = FormatChecker(())


@FORMATS.checks("date-time", raises=ValueError)
def _date_time(value: object) -> bool:
    # RFC 3339 as Koha writes it: 2026-03-12T23:59:00+03:00 (a zone is required)
    return not isinstance(value, str) or (datetime.fromisoformat(value).tzinfo is not None
                                          and "T" in value)


@FORMATS.checks("date", raises=ValueError)
def _date(value: object) -> bool:
    return not isinstance(value, str) or (bool(date.fromisoformat(value)) and len(value) == 10)


def route_of(path: str) -> str:
    """The OpenAPI path template a concrete path answers to."""
    relative = path.removeprefix("/api/v1")
    for template in SPEC["paths"]:
        pattern = "^" + re.sub(r"\{[a-z_]+\}", "[^/]+", template) + "$"
        if re.match(pattern, relative):
            return str(template)
    raise AssertionError(f"{path} is not in the excerpt")


def check(response: httpx.Response) -> None:
    """The status is one the operation declares (401 comes from Koha's authentication for every operation) and
    the body validates against the declared schema."""
    template = route_of(response.request.url.path)
    operation = SPEC["paths"][template][response.request.method.lower()]
    status = str(response.status_code)
    declared = operation["responses"]
    if status == "401" and status not in declared:
        schema = {"$ref": "#/definitions/error"}
    else:
        assert status in declared, f"{response.request.method} {template} answered {status}, not declared"
        schema = declared[status]["schema"]
    validator = Draft4Validator({**schema, "definitions": SPEC["definitions"]}, format_checker=FORMATS)
    errors = sorted(validator.iter_errors(response.json()), key=str)
    assert not errors, f"{response.request.method} {template} {status}: {[e.message for e in errors]}"


@pytest.fixture
def koha() -> Iterator[tuple[KohaEmulator, ServedEmulator, dict[str, Any]]]:
    app = KohaEmulator(today=date(2026, 3, 10), utc_offset="+05:00")
    ids = app.seed(clients={CLIENT["client_id"]: CLIENT["client_secret"]}, patrons=[
        {"cardnumber": "500", "surname": "Смирнова", "firstname": "Ольга", "email": "o@example.org", "checkouts": [
            {"barcode": "C-1", "title": "Азбука", "author": "Толстой, Л. Н.", "due": "2026-03-12"},
            {"barcode": "C-2", "title": "Букварь", "due": "2026-03-14", "holds": 1},
        ]},
        {"cardnumber": "501", "surname": "Restricted", "restricted": True},
    ])
    with served(app) as server:
        yield app, server, ids


def test_every_answer_conforms(koha: tuple[KohaEmulator, ServedEmulator, dict[str, Any]]) -> None:
    app, server, ids = koha
    api = server.url + "/api/v1"
    checkout_1 = ids["500"]["checkouts"]["C-1"]
    checkout_2 = ids["500"]["checkouts"]["C-2"]
    patron = ids["500"]["patron_id"]
    with httpx.Client() as http:
        token = http.post(api + "/oauth/token", data={"grant_type": "client_credentials", **CLIENT})
        auth = {"Authorization": "Bearer " + token.json()["access_token"]}
        item_id = app.state["checkouts"][str(checkout_1)]["item_id"]
        responses = [
            token,
            http.post(api + "/oauth/token", data={"grant_type": "password", **CLIENT}),
            http.post(api + "/oauth/token", data={"grant_type": "client_credentials", "client_id": "x",
                                                  "client_secret": "y"}),
            http.get(api + "/patrons", params={"cardnumber": "500", "_match": "exact"}, headers=auth),
            http.get(api + "/patrons", params={"q": json.dumps({"cardnumber": "501"})}, headers=auth),
            http.get(api + "/patrons", params={"cardnumber": "500"}),  # no credentials
            http.get(api + "/patrons", params={"cardnumber": "500"}, headers={"Authorization": "Bearer nope"}),
            http.get(api + f"/patrons/{patron}", headers=auth),
            http.get(api + "/patrons/99999", headers=auth),
            http.get(api + "/checkouts", params={"patron_id": patron, "_page": 1, "_per_page": 1}, headers=auth),
            http.get(api + "/checkouts", params={"patron_id": "abc"}, headers=auth),
            http.get(api + "/checkouts", params={"patron_id": 99999}, headers=auth),
            http.get(api + f"/checkouts/{checkout_1}", headers=auth),
            http.get(api + "/checkouts/99999", headers=auth),
            http.get(api + f"/checkouts/{checkout_1}/allows_renewal", headers=auth),
            http.get(api + f"/checkouts/{checkout_2}/allows_renewal", headers=auth),
            http.post(api + f"/checkouts/{checkout_1}/renewal", headers=auth),
            http.post(api + f"/checkouts/{checkout_2}/renewal", headers=auth),
            http.post(api + "/checkouts/99999/renewal", headers=auth),
            http.get(api + "/items", params={"q": json.dumps({"item_id": [item_id]})},
                     headers={**auth, "x-koha-embed": "biblio"}),
            http.get(api + "/items", params={"external_id": "C-2"}, headers=auth),
            http.get(api + f"/items/{item_id}", headers=auth),
            http.get(api + f"/items/{item_id}", headers={**auth, "x-koha-embed": "biblio"}),
            http.get(api + "/items/99999", headers=auth),
        ]
        app.add_fault("listCheckouts", "http_500")
        responses.append(http.get(api + "/checkouts", params={"patron_id": patron}, headers=auth))
    statuses = [r.status_code for r in responses]
    assert statuses == [200, 400, 403, 200, 200, 401, 401, 200, 404, 200, 400, 404, 200, 404, 200, 200, 201, 403,
                        404, 200, 200, 200, 400, 404, 500]
    for response in responses:
        check(response)
    # the shapes Koha's controllers give, beyond what the schema pins down
    assert responses[1].json() == {"error": "Unimplemented grant type"}
    assert responses[2].json() == {"error": "unauthorized_client"}
    assert responses[5].json() == {"error": "Authentication failure."}
    assert responses[8].json() == {"error": "Patron not found", "error_code": "not_found"}
    assert responses[9].headers["X-Total-Count"] == "2" and len(responses[9].json()) == 1
    assert 'rel="next"' in responses[9].headers["Link"]
    assert responses[10].json()["errors"][0]["path"] == "/patron_id"
    assert responses[15].json()["allows_renewal"] is False and responses[15].json()["error"] == "on_reserve"
    assert responses[16].headers["Location"].endswith(f"/checkouts/{checkout_1}/renewal")
    assert responses[16].json()["due_date"] == "2026-03-26T23:59:00+05:00"
    assert responses[17].json() == {"error": "Renewal not authorized (on_reserve)"}
    assert responses[19].json()[0]["biblio"]["title"] == "Азбука"
    assert responses[22].json()["errors"][0]["path"] == "/x-koha-embed/0"


def test_the_adapter_sends_only_declared_parameters(koha: tuple[KohaEmulator, ServedEmulator, dict[str, Any]]) -> None:
    # parameters each operation declares in Koha's paths/*.yaml (checkouts: patron_id_qp, page, per_page, match,
    # order_by, q, checked_in; patrons: the patron fields, match, order_by, page, per_page, q; items: external_id,
    # match, order_by, page, per_page, q)
    declared = {
        "listPatrons": {"cardnumber", "surname", "firstname", "patron_id", "_match", "_order_by", "_page",
                        "_per_page", "q"},
        "listCheckouts": {"patron_id", "_page", "_per_page", "_match", "_order_by", "q", "checked_in"},
        "listItems": {"external_id", "_match", "_order_by", "_page", "_per_page", "q"},
        "allows_renewalCheckout": set(), "renewCheckout": set(), "token": set(),
    }
    app, server, _ = koha
    adapter = KohaAdapter({"base_url": server.url, **CLIENT})
    adapter.reader("500")
    adapter.renew_all("500")
    adapter.close()
    used = {r["operation"] for r in app.requests}
    assert used == set(declared)
    for request in app.requests:
        assert set(request["query"]) <= declared[request["operation"]], request
