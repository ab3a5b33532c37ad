"""A local Koha REST API (``/api/v1``): the paths, parameters, JSON shapes and error codes Filial relies on.

Faithful to Koha's published OpenAPI definitions (``api/v1/swagger/paths/{oauth,patrons,checkouts,items}.yaml`` and
``definitions/{patron,checkout,item,allows_renewal,error}.yaml`` in github.com/Koha-Community/Koha) and to the
controllers' answers (``Koha/REST/V1/{OAuth,Checkouts}.pm``):

- ``POST /api/v1/oauth/token`` (form: ``grant_type=client_credentials``, ``client_id``, ``client_secret``) →
  ``{"access_token", "token_type": "Bearer", "expires_in": 3600}``; ``400 {"error": "Unimplemented grant type"}``;
  ``403 {"error": "unauthorized_client"}``. Basic auth (``RESTBasicAuth``) with a staff user works too.
- Without valid credentials, or with an expired token: ``401 {"error": "Authentication failure."}``.
- ``GET /api/v1/patrons?cardnumber=…`` (case-insensitive search, ``_match``: contains — the default —, exact,
  starts_with, ends_with; or ``q={"cardnumber": "…"}``), ``GET /api/v1/patrons/{patron_id}``.
- ``GET /api/v1/checkouts?patron_id=…&checked_in=…`` with ``_page``/``_per_page`` (default 20, ``-1`` all) and the
  ``X-Total-Count``, ``X-Base-Total-Count`` and ``Link`` headers; ``GET /api/v1/checkouts/{checkout_id}``.
- ``GET /api/v1/checkouts/{checkout_id}/allows_renewal`` → ``{"allows_renewal", "max_renewals",
  "current_renewals", "unseen_renewals", "error"}`` with ``CanBookBeRenewed``'s codes (``on_reserve``,
  ``too_many``, ``overdue``, ``restriction``…).
- ``POST /api/v1/checkouts/{checkout_id}/renewal`` (and ``/renewals``) → ``201`` with the checkout and a
  ``Location`` header, or ``403 {"error": "Renewal not authorized (<code>)"}``.
- ``GET /api/v1/items?q={"item_id": [1, 2]}`` or ``?external_id=…`` (``x-koha-embed: biblio`` adds the record
  with its title and author), ``GET /api/v1/items/{item_id}`` (whose embed enum is only ``+strings``: asking it
  for ``biblio`` is a 400, as in Koha).
- Not found: ``404 {"error": "<Thing> not found", "error_code": "not_found"}``; a parameter of the wrong type:
  ``400 {"errors": [{"message", "path"}], "status": 400}`` as Mojolicious::Plugin::OpenAPI answers.

Faults (``/_emulator/faults`` or ``add_fault``) by operation id (``token``, ``listPatrons``, ``listCheckouts``,
``allows_renewalCheckout``, ``renewCheckout``, ``listItems``, ``getItem``…) or ``*``: ``http_500``, ``http_502``,
``timeout_before``, ``timeout_after``, ``rate_limit``, ``expire_token``, ``revoke_token``.
"""

from __future__ import annotations

import base64
import binascii
import html
import json
import secrets
import time
from datetime import UTC, date, datetime, timedelta, timezone
from typing import Any
from urllib.parse import urlencode

from emulators.base import EmulatorApp, Request, Response

API = "/api/v1"
DEFAULT_PER_PAGE = 20  # Koha's RESTdefaultPageSize
DEFAULT_RULES: dict[str, Any] = {"renewalsallowed": 2, "renewalperiod": 14, "OverduesBlockRenewing": "allow",
                                 "token_lifetime": 3600}


class ApiError(Exception):
    def __init__(self, status: int, body: dict[str, Any]) -> None:
        super().__init__(str(body))
        self.status = status
        self.body = body


def not_found(thing: str) -> ApiError:
    return ApiError(404, {"error": f"{thing} not found", "error_code": "not_found"})


def bad_type(path: str, expected: str, value: str) -> ApiError:
    got = "string" if not value.lstrip("-").isdigit() else "integer"
    return ApiError(400, {"errors": [{"message": f"Expected {expected} - got {got}.", "path": path}], "status": 400})


class KohaEmulator(EmulatorApp):
    network = "koha"
    title = "Koha REST API emulator"

    def __init__(self, *, utc_offset: str = "+03:00", today: date | None = None, **kwargs: Any) -> None:
        self.utc_offset = utc_offset  # Koha writes dates in the server's zone: 2026-03-12T23:59:00+03:00
        self.fixed_today = today
        super().__init__(**kwargs)

    # --- state -------------------------------------------------------------------------------------------------
    def reset_state(self) -> None:
        self.state = {"clients": {}, "users": {}, "tokens": {}, "patrons": {}, "biblios": {}, "items": {},
                      "checkouts": {}, "rules": dict(DEFAULT_RULES)}

    def setup_routes(self) -> None:
        self.route("POST", API + r"/oauth/token", self._token)
        self.route("GET", API + r"/patrons", lambda r: self._api(r, "listPatrons", self._list_patrons))
        self.route("GET", API + r"/patrons/(?P<patron_id>[^/]+)",
                   lambda r: self._api(r, "getPatron", self._get_patron))
        self.route("GET", API + r"/checkouts", lambda r: self._api(r, "listCheckouts", self._list_checkouts))
        self.route("GET", API + r"/checkouts/(?P<checkout_id>[^/]+)",
                   lambda r: self._api(r, "getCheckout", self._get_checkout))
        self.route("GET", API + r"/checkouts/(?P<checkout_id>[^/]+)/allows_renewal",
                   lambda r: self._api(r, "allows_renewalCheckout", self._allows_renewal))
        for name in ("renewal", "renewals"):
            self.route("POST", API + rf"/checkouts/(?P<checkout_id>[^/]+)/{name}",
                       lambda r: self._api(r, "renewCheckout", self._renew))
        self.route("GET", API + r"/items", lambda r: self._api(r, "listItems", self._list_items))
        self.route("GET", API + r"/items/(?P<item_id>[^/]+)", lambda r: self._api(r, "getItem", self._get_item))

    def today(self) -> date:
        return self.fixed_today or datetime.now(self._zone()).date()

    def _zone(self) -> timezone:
        sign = -1 if self.utc_offset.startswith("-") else 1
        hours, minutes = self.utc_offset.lstrip("+-").split(":")
        return timezone(sign * timedelta(hours=int(hours), minutes=int(minutes)))

    def _stamp(self, day: date, hour: int = 23, minute: int = 59) -> str:
        return datetime(day.year, day.month, day.day, hour, minute, tzinfo=self._zone()).isoformat()

    def seed(self, *, clients: dict[str, str] | None = None, users: dict[str, str] | None = None,
             rules: dict[str, Any] | None = None, patrons: list[dict[str, Any]] | None = None) -> dict[str, Any]:
        """Add API clients, staff users, circulation rules and patrons with their checkouts.

        A patron: ``{"cardnumber", "surname", "firstname", "restricted": False, "library_id": "CPL",
        "checkouts": [{"barcode", "title", "author", "due": "2026-03-12", "issued": "2026-02-26",
        "renewals": 0, "holds": 0}]}``. Returns the ids given (``{cardnumber: {"patron_id", "checkouts":
        {barcode: checkout_id}}}``).
        """
        ids: dict[str, Any] = {}
        with self.lock:
            self.state["clients"].update(clients or {})
            self.state["users"].update(users or {})
            self.state["rules"].update(rules or {})
            for data in patrons or []:
                patron_id = self.next_id("patron")
                self.state["patrons"][str(patron_id)] = {
                    "patron_id": patron_id, "cardnumber": str(data["cardnumber"]),
                    "surname": data.get("surname", ""), "firstname": data.get("firstname"),
                    "library_id": data.get("library_id", "CPL"), "category_id": data.get("category_id", "PT"),
                    "restricted": bool(data.get("restricted", False)), "email": data.get("email"),
                    "expiry_date": data.get("expiry_date"),
                }
                checkouts: dict[str, int] = {}
                for loan in data.get("checkouts", []):
                    checkouts[str(loan["barcode"])] = self._add_checkout(patron_id, data.get("library_id", "CPL"),
                                                                         loan)
                ids[str(data["cardnumber"])] = {"patron_id": patron_id, "checkouts": checkouts}
            self.save()
        return ids

    def _add_checkout(self, patron_id: int, library_id: str, loan: dict[str, Any]) -> int:
        biblio_id = self.next_id("biblio")
        self.state["biblios"][str(biblio_id)] = {"biblio_id": biblio_id, "title": loan.get("title", ""),
                                                 "author": loan.get("author")}
        item_id = self.next_id("item")
        self.state["items"][str(item_id)] = {"item_id": item_id, "biblio_id": biblio_id,
                                             "external_id": str(loan["barcode"]), "home_library_id": library_id,
                                             "holds": int(loan.get("holds", 0))}
        checkout_id = self.next_id("checkout")
        issued = date.fromisoformat(loan.get("issued") or (date.fromisoformat(loan["due"]) - timedelta(days=14))
                                    .isoformat())
        self.state["checkouts"][str(checkout_id)] = {
            "checkout_id": checkout_id, "patron_id": patron_id, "item_id": item_id,
            "due": loan["due"], "issued": issued.isoformat(), "library_id": library_id,
            "renewals_count": int(loan.get("renewals", 0)), "last_renewed": None, "checkin": None,
        }
        return checkout_id

    def simulate(self, action: str, data: dict[str, Any]) -> Any:
        if action == "seed":
            return self.seed(**data)
        if action == "place_hold":
            item = next(i for i in self.state["items"].values() if i["external_id"] == data["barcode"])
            item["holds"] = int(item["holds"]) + 1
            return item["holds"]
        if action == "check_in":
            checkout = self.state["checkouts"][str(data["checkout_id"])]
            checkout["checkin"] = self.today().isoformat()
            return checkout["checkout_id"]
        raise KeyError(action)

    # --- requests ----------------------------------------------------------------------------------------------
    def _record(self, request: Request, operation: str) -> None:
        with self.lock:
            self.requests.append({"operation": operation, "method": request.method, "path": request.path,
                                  "query": dict(request.query), "form": dict(request.form),
                                  "authorization": request.headers.get("authorization", "").split(" ")[0]})

    def _fault(self, operation: str) -> tuple[Response | None, bool]:
        """The answer an injected fault gives instead of the real one, and whether to stall after answering."""
        kind = self.take_fault(operation)
        if kind is None:
            return None, False
        if kind == "http_500":
            return Response.json({"error": "Something went wrong, check Koha logs for details.",
                                  "error_code": "internal_server_error"}, 500), False
        if kind == "http_502":
            return Response(502, b"<html><body>502 Bad Gateway</body></html>", "text/html"), False
        if kind == "timeout_before":
            self.sleep_for_timeout()
        elif kind == "timeout_after":
            return None, True
        elif kind == "rate_limit":
            return Response.json({"error": "Too many requests"}, 429, headers=[("Retry-After", "1")]), False
        with self.lock:
            if kind == "expire_token":
                for token in self.state["tokens"].values():
                    token["expires"] = 0
            elif kind == "revoke_token":
                self.state["tokens"].clear()
        return None, False

    def _token(self, request: Request) -> Response:
        self._record(request, "token")
        fault, stall = self._fault("token")
        if fault is not None:
            return fault
        if stall:
            self.sleep_for_timeout()
        form = request.form
        if "grant_type" not in form:
            return Response.json({"errors": [{"message": "Missing property.", "path": "/grant_type"}],
                                  "status": 400}, 400)
        if form["grant_type"] != "client_credentials":
            return Response.json({"error": "Unimplemented grant type"}, 400)
        with self.lock:
            secret = self.state["clients"].get(form.get("client_id", ""))
            if secret is None or not secrets.compare_digest(secret, form.get("client_secret", "")):
                return Response.json({"error": "unauthorized_client"}, 403)
            token = secrets.token_hex(20)
            lifetime = int(self.state["rules"]["token_lifetime"])
            self.state["tokens"][token] = {"client_id": form["client_id"], "expires": time.time() + lifetime}
            self.save()
        return Response.json({"access_token": token, "token_type": "Bearer", "expires_in": lifetime})

    def _authenticated(self, request: Request) -> bool:
        header = request.headers.get("authorization", "")
        scheme, _, value = header.partition(" ")
        with self.lock:
            if scheme.lower() == "bearer":
                token = self.state["tokens"].get(value.strip())
                return token is not None and token["expires"] > time.time()
            if scheme.lower() == "basic":
                try:
                    user, _, password = base64.b64decode(value.strip()).decode("utf-8").partition(":")
                except (binascii.Error, UnicodeDecodeError):
                    return False
                known = self.state["users"].get(user)
                return known is not None and secrets.compare_digest(known, password)
        return False

    def _api(self, request: Request, operation: str, handler: Any) -> Response:
        self._record(request, operation)
        fault, stall = self._fault(operation)
        if fault is not None:
            return fault
        if not self._authenticated(request):
            return Response.json({"error": "Authentication failure."}, 401)
        try:
            with self.lock:
                response: Response = handler(request)
        except ApiError as exc:
            return Response.json(exc.body, exc.status)
        if stall:
            self.sleep_for_timeout()  # the work is done, the answer comes too late
        return response

    # --- parameters --------------------------------------------------------------------------------------------
    @staticmethod
    def _int(request: Request, name: str, *, where: str = "query") -> int | None:
        value = (request.match if where == "path" else request.query).get(name)
        if value is None or value == "":
            return None
        try:
            return int(value)
        except ValueError:
            raise bad_type(f"/{name}", "integer", value) from None

    @staticmethod
    def _bool(request: Request, name: str) -> bool | None:
        value = request.query.get(name)
        if value is None:
            return None
        if value.lower() in ("true", "1"):
            return True
        if value.lower() in ("false", "0"):
            return False
        raise ApiError(400, {"errors": [{"message": "Expected boolean - got string.", "path": f"/{name}"}],
                             "status": 400})

    def _page(self, request: Request, rows: list[dict[str, Any]]) -> Response:
        page = self._int(request, "_page") or 1
        per_page = self._int(request, "_per_page") or DEFAULT_PER_PAGE
        if page < 1:
            raise ApiError(400, {"errors": [{"message": "1 < minimum(1)", "path": "/_page"}], "status": 400})
        total = len(rows)
        chosen = rows if per_page == -1 else rows[(page - 1) * per_page:page * per_page]
        headers = [("X-Total-Count", str(total)), ("X-Base-Total-Count", str(total))]
        if per_page != -1:
            links = []
            query = {k: v for k, v in request.query.items() if k not in ("_page", "_per_page")}
            last = max(1, -(-total // per_page))
            for rel, number in (("first", 1), ("prev", page - 1), ("next", page + 1), ("last", last)):
                if 1 <= number <= last and (rel not in ("prev", "next") or number != page):
                    params = urlencode({**query, "_page": number, "_per_page": per_page})
                    url = f"{self.base_url}{request.path}?{params}"
                    links.append(f'<{url}>; rel="{rel}"')
            headers.append(("Link", ", ".join(links)))
        return Response.json(chosen, headers=headers)

    @staticmethod
    def _matches(value: str | None, wanted: str, how: str) -> bool:
        if value is None:
            return False
        value, wanted = value.lower(), wanted.lower()
        return {"contains": wanted in value, "exact": value == wanted, "starts_with": value.startswith(wanted),
                "ends_with": value.endswith(wanted)}[how]

    # --- shapes ------------------------------------------------------------------------------------------------
    def _patron_json(self, patron: dict[str, Any]) -> dict[str, Any]:
        return {key: patron.get(key) for key in ("patron_id", "cardnumber", "surname", "firstname", "library_id",
                                                 "category_id", "restricted", "email", "expiry_date")}

    def _checkout_json(self, checkout: dict[str, Any]) -> dict[str, Any]:
        item = self.state["items"][str(checkout["item_id"])]
        return {
            "checkout_id": checkout["checkout_id"], "patron_id": checkout["patron_id"],
            "item_id": checkout["item_id"], "external_id": item["external_id"],
            "due_date": self._stamp(date.fromisoformat(checkout["due"])), "library_id": checkout["library_id"],
            "issuer_id": None, "checkin_date": self._stamp(date.fromisoformat(checkout["checkin"]), 12, 0)
            if checkout["checkin"] else None, "checkin_library_id": None,
            "last_renewed_date": checkout["last_renewed"], "renewals_count": checkout["renewals_count"],
            "unseen_renewals": 0, "auto_renew": False, "auto_renew_error": None,
            "timestamp": self._stamp(date.fromisoformat(checkout["issued"]), 10, 0),
            "checkout_date": self._stamp(date.fromisoformat(checkout["issued"]), 10, 0), "onsite_checkout": False,
            "note": None, "note_date": None, "note_seen": None,
        }

    # --- handlers ----------------------------------------------------------------------------------------------
    def _list_patrons(self, request: Request) -> Response:
        how = request.query.get("_match", "contains")
        if how not in ("contains", "exact", "starts_with", "ends_with"):
            raise ApiError(400, {"errors": [{"message": "Not in enum list: contains, exact, starts_with, "
                                             "ends_with.", "path": "/_match"}], "status": 400})
        filters = {k: v for k, v in request.query.items() if k in ("cardnumber", "surname", "firstname", "email")}
        patron_id = self._int(request, "patron_id")
        exact: dict[str, Any] = {}
        if request.query.get("q"):
            try:
                query = json.loads(request.query["q"])
            except ValueError:
                raise ApiError(400, {"error": "Invalid JSON in q", "error_code": "invalid_query"}) from None
            if not isinstance(query, dict):
                raise ApiError(400, {"error": "Invalid query", "error_code": "invalid_query"})
            exact = query
        rows = []
        for patron in sorted(self.state["patrons"].values(), key=lambda p: p["patron_id"]):
            if patron_id is not None and patron["patron_id"] != patron_id:
                continue
            if not all(self._matches(patron.get(k), v, how) for k, v in filters.items()):
                continue
            if not all(self._q_match(patron.get(k), v) for k, v in exact.items()):
                continue
            rows.append(self._patron_json(patron))
        return self._page(request, rows)

    @staticmethod
    def _q_match(value: Any, condition: Any) -> bool:
        if isinstance(condition, dict):
            if "-like" in condition:
                pattern = str(condition["-like"]).lower()
                text = str(value or "").lower()
                if pattern.startswith("%") and pattern.endswith("%"):
                    return pattern.strip("%") in text
                if pattern.endswith("%"):
                    return text.startswith(pattern.rstrip("%"))
                if pattern.startswith("%"):
                    return text.endswith(pattern.lstrip("%"))
                return text == pattern
            raise ApiError(400, {"error": "Invalid query", "error_code": "invalid_query"})
        return value == condition or (value is not None and str(value) == str(condition))

    def _get_patron(self, request: Request) -> Response:
        patron_id = self._int(request, "patron_id", where="path")
        patron = self.state["patrons"].get(str(patron_id))
        if patron is None:
            raise not_found("Patron")
        return Response.json(self._patron_json(patron))

    def _list_checkouts(self, request: Request) -> Response:
        patron_id = self._int(request, "patron_id")
        checked_in = self._bool(request, "checked_in") or False
        if patron_id is not None and str(patron_id) not in self.state["patrons"]:
            raise not_found("Patron")
        rows = [self._checkout_json(c) for c in sorted(self.state["checkouts"].values(),
                                                         key=lambda c: c["checkout_id"])
                if (patron_id is None or c["patron_id"] == patron_id) and bool(c["checkin"]) == checked_in]
        return self._page(request, rows)

    def _checkout(self, request: Request) -> dict[str, Any]:
        checkout_id = self._int(request, "checkout_id", where="path")
        checkout = self.state["checkouts"].get(str(checkout_id))
        if checkout is None or checkout["checkin"]:
            raise not_found("Checkout")
        return dict(checkout) | {"_ref": checkout}

    def _get_checkout(self, request: Request) -> Response:
        checkout = self._checkout(request)
        return Response.json(self._checkout_json(checkout))

    def _can_renew(self, checkout: dict[str, Any]) -> str:
        """CanBookBeRenewed: "" or the error code Koha gives."""
        patron = self.state["patrons"][str(checkout["patron_id"])]
        item = self.state["items"][str(checkout["item_id"])]
        rules = self.state["rules"]
        if patron.get("restricted"):
            return "restriction"
        if int(item.get("holds", 0)) > 0:
            return "on_reserve"
        if int(checkout["renewals_count"]) >= int(rules["renewalsallowed"]):
            return "too_many"
        policy = rules.get("OverduesBlockRenewing", "allow")
        today = self.today()
        if policy == "blockitem" and date.fromisoformat(checkout["due"]) < today:
            return "overdue"
        if policy == "block" and any(
                c["patron_id"] == checkout["patron_id"] and not c["checkin"] and date.fromisoformat(c["due"]) < today
                for c in self.state["checkouts"].values()):
            return "overdue"
        return ""

    def _allows_renewal(self, request: Request) -> Response:
        checkout = self._checkout(request)
        error = self._can_renew(checkout)
        return Response.json({"allows_renewal": not error, "max_renewals": int(self.state["rules"]["renewalsallowed"]),
                              "current_renewals": checkout["renewals_count"], "unseen_renewals": 0,
                              "error": error or None})

    def _renew(self, request: Request) -> Response:
        checkout = self._checkout(request)
        error = self._can_renew(checkout)
        if error:
            return Response.json({"error": f"Renewal not authorized ({error})"}, 403)
        ref = checkout["_ref"]
        ref["due"] = (date.fromisoformat(ref["due"])
                      + timedelta(days=int(self.state["rules"]["renewalperiod"]))).isoformat()
        ref["renewals_count"] = int(ref["renewals_count"]) + 1
        ref["last_renewed"] = datetime.now(UTC).astimezone(self._zone()).isoformat(timespec="seconds")
        self.save()
        return Response.json(self._checkout_json(ref), 201,
                             headers=[("Location", f"{self.base_url}{request.path}")])

    @staticmethod
    def _embeds(request: Request, allowed: tuple[str, ...]) -> set[str]:
        """``x-koha-embed`` values, checked against the operation's enum as Koha's OpenAPI validation does."""
        embeds = [e.strip() for e in request.headers.get("x-koha-embed", "").split(",") if e.strip()]
        for index, embed in enumerate(embeds):
            if embed not in allowed:
                raise ApiError(400, {"errors": [{"message": f"Not in enum list: {', '.join(allowed)}.",
                                                 "path": f"/x-koha-embed/{index}"}], "status": 400})
        return set(embeds)

    def _item_json(self, item: dict[str, Any], embeds: set[str]) -> dict[str, Any]:
        data: dict[str, Any] = {"item_id": item["item_id"], "biblio_id": item["biblio_id"],
                                "external_id": item["external_id"], "home_library_id": item["home_library_id"],
                                "holding_library_id": item["home_library_id"], "checked_out_date": None}
        checkout = next((c for c in self.state["checkouts"].values()
                         if c["item_id"] == item["item_id"] and not c["checkin"]), None)
        if checkout is not None:
            data["checked_out_date"] = checkout["issued"]
        if "biblio" in embeds:
            data["biblio"] = dict(self.state["biblios"][str(item["biblio_id"])])
        if "+strings" in embeds:
            data["_strings"] = {}
        return data

    def _get_item(self, request: Request) -> Response:
        item_id = self._int(request, "item_id", where="path")
        embeds = self._embeds(request, ("+strings",))  # getItem embeds only +strings; listItems has biblio
        item = self.state["items"].get(str(item_id))
        if item is None:
            raise not_found("Item")
        return Response.json(self._item_json(item, embeds))

    def _list_items(self, request: Request) -> Response:
        embeds = self._embeds(request, ("+strings", "biblio"))
        how = request.query.get("_match", "contains")
        barcode = request.query.get("external_id")
        query: dict[str, Any] = {}
        if request.query.get("q"):
            try:
                query = json.loads(request.query["q"])
            except ValueError:
                raise ApiError(400, {"error": "Invalid JSON in q", "error_code": "invalid_query"}) from None
            if not isinstance(query, dict) or set(query) - {"item_id", "external_id", "biblio_id"}:
                raise ApiError(400, {"error": "Invalid query", "error_code": "invalid_query"})
        rows = []
        for item in sorted(self.state["items"].values(), key=lambda i: i["item_id"]):
            if barcode is not None and not self._matches(item["external_id"], barcode, how):
                continue
            if not all(item.get(k) in v if isinstance(v, list) else self._q_match(item.get(k), v)
                       for k, v in query.items()):
                continue
            rows.append(self._item_json(item, embeds))
        return self._page(request, rows)

    def render_pages(self) -> str:
        rows = []
        for checkout in self.state["checkouts"].values():
            patron = self.state["patrons"][str(checkout["patron_id"])]
            item = self.state["items"][str(checkout["item_id"])]
            title = self.state["biblios"][str(item["biblio_id"])]["title"]
            rows.append(f"<tr><td>{html.escape(patron['cardnumber'])}</td><td>{html.escape(item['external_id'])}"
                        f"</td><td>{html.escape(title)}</td><td>{html.escape(checkout['due'])}</td>"
                        f"<td>{checkout['renewals_count']}</td></tr>")
        return ("<table><tr><th>Card</th><th>Barcode</th><th>Title</th><th>Due</th><th>Renewals</th></tr>"
                + "".join(rows) + "</table>")
