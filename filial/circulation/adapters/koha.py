"""The Koha adapter: loans and renewals through Koha's REST API (``/api/v1``), over httpx.

Settings: ``base_url`` (the staff interface's address, e.g. ``https://koha-intra.example.org``; ``/api/v1`` is
added when missing), and either ``client_id`` + ``client_secret`` (OAuth2 client credentials, the
``RESTOAuth2ClientCredentials`` preference) or ``user`` + ``password`` (basic auth, ``RESTBasicAuth``); optional
``timeout`` (seconds, default 10) and ``page_size`` (default 50).

``reader(card)``: ``GET /patrons?cardnumber=…&_match=exact`` (Koha's default match is "contains": card 12 would
find 123), then every page of ``GET /checkouts?patron_id=…`` and ``GET /items?q={"item_id": [...]}`` with the
record embedded (``x-koha-embed: biblio``) for the barcodes and titles. ``renew``:
``GET /checkouts/{id}/allows_renewal``, then ``POST /checkouts/{id}/renewal``. The OAuth token is cached until
shortly before it expires and fetched again once when Koha answers 401 (revoked, expired early, restarted).
"""

from __future__ import annotations

import json
import logging
import re
import threading
import time
from datetime import date, datetime
from typing import Any, ClassVar

import httpx

from filial.circulation.adapters.base import (
    Adapter,
    AdapterError,
    LoanRecord,
    ReaderRecord,
    RenewalResult,
    UnknownReader,
)
from filial.networks import egress

log = logging.getLogger("filial.circulation")

# CanBookBeRenewed's error codes (C4/Circulation.pm) → Filial's reason codes
KOHA_REASONS = {
    "on_reserve": "reserved", "recalled": "reserved", "on_hold": "reserved",
    "too_many": "too_many", "too_unseen": "too_many", "auto_too_late": "too_many",
    "overdue": "overdue_blocked", "restriction": "overdue_blocked", "debarred": "overdue_blocked",
    "too_much_oweing": "overdue_blocked", "auto_too_much_oweing": "overdue_blocked",
    "auto_account_expired": "overdue_blocked", "card_expired": "overdue_blocked",
    "no_checkout": "not_on_loan", "no_item": "not_on_loan",
}
TOKEN_MARGIN = 30.0  # fetch a new token this many seconds before the old one expires


def koha_code(error: str) -> str:
    """Koha's own reason code in ``error`` if it is one Filial knows ("" otherwise: free text is never kept)."""
    match = re.search(r"\(([a-z_]+)\)", error)
    code = match.group(1) if match else error.strip()
    return code if code in KOHA_REASONS else ""


def reason_code(error: str) -> str:
    match = re.search(r"\(([a-z_]+)\)", error)
    code = match.group(1) if match else error.strip()
    return KOHA_REASONS.get(code, "unknown")


def koha_date(value: str | None) -> date | None:
    """The calendar date of a Koha date-time (``2026-03-12T23:59:00+03:00``) in Koha's own zone, or of a date."""
    if not value:
        return None
    try:
        return datetime.fromisoformat(value.replace("Z", "+00:00")).date()
    except ValueError:
        try:
            return date.fromisoformat(value[:10])
        except ValueError:
            return None


class KohaClient:
    """Authenticated JSON calls to one Koha; thread-safe token cache."""

    def __init__(self, base_url: str, *, client_id: str = "", client_secret: str = "", user: str = "",
                 password: str = "", timeout: float = 10.0, page_size: int = 50,
                 http: httpx.Client | None = None) -> None:
        base = base_url.rstrip("/")
        self.api = base if base.endswith("/api/v1") else base + "/api/v1"
        self.client_id, self.client_secret = client_id, client_secret
        self.user, self.password = user, password
        if not (client_id and client_secret) and not (user and password):
            raise AdapterError("Koha settings need client_id and client_secret, or user and password",
                               permanent=True, code="config")
        self.page_size = page_size
        # Connections go only to addresses a library system may have (resolved and checked, then connected to:
        # never link-local / cloud metadata; with FILIAL_LIBRARY_SYSTEM_PUBLIC_ONLY never private or loopback).
        self.http = http or egress.guarded_client(lambda _host, address: egress.library_address_allowed(address),
                                                  timeout=timeout)
        self.timeout = timeout
        self._token: str = ""
        self._expires = 0.0
        self._lock = threading.Lock()
        self.tokens_fetched = 0
        self.clock = time.monotonic  # tests move time forward

    @property
    def oauth(self) -> bool:
        return bool(self.client_id and self.client_secret)

    def close(self) -> None:
        self.http.close()

    # --- auth ----------------------------------------------------------------------------------------------------
    def _send(self, method: str, url: str, **kwargs: Any) -> httpx.Response:
        try:
            return self.http.request(method, url, **kwargs)
        except httpx.TimeoutException as exc:
            raise AdapterError(f"Koha did not answer within {self.timeout:g} s ({method} {url})",
                               code="timeout") from exc
        except httpx.HTTPError as exc:
            raise AdapterError(f"cannot reach Koha at {self.api} ({type(exc).__name__})", code="connect") from exc

    def token(self, *, fresh: bool = False) -> str:
        with self._lock:
            if not fresh and self._token and self.clock() < self._expires - TOKEN_MARGIN:
                return self._token
            response = self._send("POST", self.api + "/oauth/token",
                                  data={"grant_type": "client_credentials", "client_id": self.client_id,
                                        "client_secret": self.client_secret})
            if response.status_code != 200:
                _log_answer("POST /oauth/token", response)
                raise AdapterError(f"Koha refused the API client credentials (HTTP {response.status_code})",
                                   permanent=response.status_code in (400, 401, 403), code="auth")
            data = response.json()
            self._token = str(data["access_token"])
            self._expires = self.clock() + float(data.get("expires_in") or 3600)
            self.tokens_fetched += 1
            return self._token

    def _auth(self) -> httpx.Auth | None:
        return None if self.oauth else httpx.BasicAuth(self.user, self.password)

    def _headers(self, extra: dict[str, str] | None, *, fresh: bool = False) -> dict[str, str]:
        headers = {"Accept": "application/json", **(extra or {})}
        if self.oauth:
            headers["Authorization"] = f"Bearer {self.token(fresh=fresh)}"
        return headers

    # --- calls ---------------------------------------------------------------------------------------------------
    def call(self, method: str, path: str, *, params: dict[str, Any] | None = None,
             headers: dict[str, str] | None = None, ok: tuple[int, ...] = (200,)) -> httpx.Response:
        """One API call; a 401 with OAuth fetches a new token and tries once more. Other answers not in ``ok``
        (and not 403/404, which callers read) raise :class:`AdapterError`."""
        url = self.api + path
        response = self._send(method, url, params=params, headers=self._headers(headers), auth=self._auth())
        if response.status_code == 401 and self.oauth:
            response = self._send(method, url, params=params, headers=self._headers(headers, fresh=True))
        if response.status_code in ok or response.status_code in (403, 404):
            return response
        _log_answer(f"{method} {path}", response)
        if response.status_code == 401:
            raise AdapterError("Koha refused the credentials (HTTP 401)", permanent=True, code="auth")
        if response.status_code == 400:
            raise AdapterError(f"Koha rejected the request {method} {path} (HTTP 400)", permanent=True,
                               code="bad_request")
        raise AdapterError(f"Koha answered {response.status_code} to {method} {path}",
                           code=f"http_{response.status_code}")

    def get(self, path: str, params: dict[str, Any] | None = None, headers: dict[str, str] | None = None) -> Any:
        response = self.call("GET", path, params=params, headers=headers)
        if response.status_code != 200:
            _log_answer(f"GET {path}", response)
            raise AdapterError(f"Koha answered {response.status_code} to GET {path}",
                               code=f"http_{response.status_code}", permanent=response.status_code == 404)
        return response.json()

    def all_pages(self, path: str, params: dict[str, Any],
                  headers: dict[str, str] | None = None) -> list[dict[str, Any]]:
        """Every row of a paginated list (``_page``/``_per_page``, total from ``X-Total-Count``)."""
        rows: list[dict[str, Any]] = []
        page = 1
        while True:
            response = self.call("GET", path, params={**params, "_page": page, "_per_page": self.page_size},
                                 headers=headers)
            if response.status_code != 200:
                _log_answer(f"GET {path}", response)
                raise AdapterError(f"Koha answered {response.status_code} to GET {path}",
                                   code=f"http_{response.status_code}", permanent=response.status_code == 404)
            batch = response.json()
            rows.extend(batch)
            total_header = response.headers.get("X-Total-Count", "")
            total = int(total_header) if total_header.isdigit() else None
            if not batch or (total is not None and len(rows) >= total) or (total is None
                                                                           and len(batch) < self.page_size):
                return rows
            page += 1
            if page > 10_000:
                raise AdapterError(f"Koha keeps paging {path}: stopped after 10,000 pages", code="paging")


def _log_answer(what: str, response: httpx.Response) -> None:
    """Koha's own answer to a failed call, for the server log only (never shown: it may carry anything)."""
    log.warning("Koha answered %s to %s: %s", response.status_code, what, _error_text(response))


def _error_text(response: httpx.Response) -> str:
    try:
        data = response.json()
    except ValueError:
        return response.text[:200] or response.reason_phrase
    if isinstance(data, dict):
        if data.get("error"):
            return str(data["error"])
        if data.get("errors"):
            return "; ".join(f"{e.get('path', '')}: {e.get('message', '')}" for e in data["errors"]
                             if isinstance(e, dict))
    return str(data)[:200]


class KohaAdapter(Adapter):
    name: ClassVar[str] = "koha"

    def __init__(self, settings: dict[str, Any], *, http: httpx.Client | None = None) -> None:
        super().__init__(settings)
        if not settings.get("base_url"):
            raise AdapterError("Koha settings lack base_url", permanent=True, code="config")
        self.client = KohaClient(
            str(settings["base_url"]), client_id=str(settings.get("client_id") or ""),
            client_secret=str(settings.get("client_secret") or ""), user=str(settings.get("user") or ""),
            password=str(settings.get("password") or ""), timeout=float(settings.get("timeout") or 10),
            page_size=int(settings.get("page_size") or 50), http=http,
        )
        self._items: dict[int, dict[str, Any]] = {}

    def close(self) -> None:
        self.client.close()

    def _patron(self, card: str) -> dict[str, Any]:
        rows = self.client.get("/patrons", {"cardnumber": card, "_match": "exact"})
        for row in rows if isinstance(rows, list) else []:
            if str(row.get("cardnumber", "")).lower() == card.lower():
                return dict(row)
        raise UnknownReader(card)

    def _checkouts(self, patron_id: int) -> list[dict[str, Any]]:
        checkouts = self.client.all_pages("/checkouts", {"patron_id": patron_id})
        self._fetch_items(checkouts)
        return checkouts

    def _fetch_items(self, checkouts: list[dict[str, Any]]) -> None:
        """Items (barcode) with their records (title) for these checkouts, one list call per page of ids.

        ``GET /items/{id}`` embeds only ``+strings`` in Koha; ``GET /items`` embeds ``biblio``.
        """
        wanted = sorted({int(c["item_id"]) for c in checkouts if c.get("item_id") is not None} - set(self._items))
        for start in range(0, len(wanted), self.client.page_size):
            ids = wanted[start:start + self.client.page_size]
            rows = self.client.all_pages("/items", {"q": json.dumps({"item_id": ids})},
                                         headers={"x-koha-embed": "biblio"})
            for row in rows:
                self._items[int(row["item_id"])] = dict(row)

    def _loan(self, checkout: dict[str, Any]) -> LoanRecord:
        item = self._items.get(int(checkout["item_id"]), {}) if checkout.get("item_id") is not None else {}
        biblio = item.get("biblio") or {}
        barcode = str(item.get("external_id") or checkout.get("external_id") or checkout.get("item_id") or "")
        title = ", ".join(str(part) for part in (biblio.get("author"), biblio.get("title")) if part)
        due = koha_date(checkout.get("due_date"))
        if due is None:
            raise AdapterError(f"Koha checkout {checkout.get('checkout_id')} has no readable due date "
                               f"({checkout.get('due_date')!r})", code="bad_data")
        return LoanRecord(barcode=barcode, title=title, issued=koha_date(checkout.get("checkout_date")), due=due,
                          returned=koha_date(checkout.get("checkin_date")),
                          renewals=int(checkout.get("renewals_count") or 0),
                          external_id=str(checkout["checkout_id"]), due_raw=str(checkout.get("due_date") or ""))

    def reader(self, card: str) -> ReaderRecord:
        patron = self._patron(card)
        loans = [self._loan(c) for c in self._checkouts(int(patron["patron_id"]))]
        name = " ".join(str(part) for part in (patron.get("firstname"), patron.get("surname")) if part)
        blocked = "restricted" if patron.get("restricted") else ""
        return ReaderRecord(card=card, name=name, loans=loans, blocked_reason=blocked)

    def _renew_checkout(self, barcode: str, checkout_id: int) -> RenewalResult:
        check = self.client.call("GET", f"/checkouts/{checkout_id}/allows_renewal")
        if check.status_code == 404:
            _log_answer("GET allows_renewal", check)
            return RenewalResult(barcode=barcode, renewed=False, reason_code="not_on_loan")
        if check.status_code != 200:
            _log_answer("GET allows_renewal", check)
            raise AdapterError(f"Koha answered {check.status_code} to allows_renewal",
                               code=f"http_{check.status_code}")
        verdict = check.json()
        if not verdict.get("allows_renewal"):
            error = str(verdict.get("error") or "")
            # Koha's reason is a code (CanBookBeRenewed): the reader is told the known ones in plain words, the
            # rest as "the library system refused" — a free text from the server is never passed on.
            return RenewalResult(barcode=barcode, renewed=False, reason=koha_code(error),
                                 reason_code=reason_code(error))
        response = self.client.call("POST", f"/checkouts/{checkout_id}/renewal", ok=(201, 200))
        if response.status_code in (200, 201):
            data = response.json()
            return RenewalResult(barcode=barcode, renewed=True, due=koha_date(data.get("due_date")),
                                 due_raw=str(data.get("due_date") or ""))
        error = _error_text(response)
        _log_answer("POST renewal", response)
        code = reason_code(error) if response.status_code == 403 else "not_on_loan"
        return RenewalResult(barcode=barcode, renewed=False, reason=koha_code(error), reason_code=code)

    def renew(self, card: str, barcode: str) -> RenewalResult:
        patron = self._patron(card)
        for checkout in self._checkouts(int(patron["patron_id"])):
            if self._loan(checkout).barcode == barcode:
                return self._renew_checkout(barcode, int(checkout["checkout_id"]))
        return RenewalResult(barcode=barcode, renewed=False, reason="no_checkout", reason_code="not_on_loan")

    def renew_all(self, card: str) -> list[RenewalResult]:
        patron = self._patron(card)
        return [self._renew_checkout(self._loan(c).barcode, int(c["checkout_id"]))
                for c in self._checkouts(int(patron["patron_id"]))]
