"""A small WSGI toolkit the network emulators are built on.

An emulator is a protocol-faithful local server of one network: the same paths, parameters, envelopes and
error codes. This module gives each of them request parsing (query, form, multipart, JSON), routing,
per-token rate limiting, fault injection, a lock around the in-memory state, optional persistence to a
JSON file, and the control API under ``/_emulator/``:

- ``GET  /_emulator/``                         an HTML view of the emulated pages
- ``POST /_emulator/faults`` {"method", "kind", "times"}   inject faults (kinds: ``FAULT_KINDS``)
- ``POST /_emulator/reset``                    forget all state
- ``GET  /_emulator/state``                    the state as JSON (tests)
- ``POST /_emulator/simulate/<action>``        reader actions defined by each emulator
"""

from __future__ import annotations

import html
import ipaddress
import json
import re
import socket
import threading
import time
from collections import defaultdict, deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from email.parser import BytesParser
from email.policy import HTTP
from pathlib import Path
from socketserver import ThreadingMixIn
from typing import Any
from urllib.parse import parse_qsl
from wsgiref.simple_server import ServerHandler, WSGIRequestHandler, WSGIServer, make_server

FAULT_KINDS = ("http_500", "http_502", "timeout_before", "timeout_after", "rate_limit", "captcha",
               "revoke_token", "expire_token")


@dataclass
class UploadedFile:
    filename: str
    content_type: str
    content: bytes


@dataclass
class Request:
    method: str
    path: str
    query: dict[str, str]
    form: dict[str, str]
    files: dict[str, UploadedFile]
    headers: dict[str, str]
    body: bytes
    match: dict[str, str] = field(default_factory=dict)

    @property
    def params(self) -> dict[str, str]:
        """Query and form parameters together (form wins), as VK and OK read them."""
        return {**self.query, **self.form}

    def json(self) -> Any:
        if not self.body:
            return None
        return json.loads(self.body.decode("utf-8"))


@dataclass
class Response:
    status: int = 200
    body: bytes = b""
    content_type: str = "application/json; charset=utf-8"
    headers: list[tuple[str, str]] = field(default_factory=list)

    @classmethod
    def json(cls, data: Any, status: int = 200, headers: list[tuple[str, str]] | None = None) -> Response:
        return cls(status, json.dumps(data, ensure_ascii=False).encode("utf-8"), headers=headers or [])

    @classmethod
    def html(cls, text: str, status: int = 200) -> Response:
        return cls(status, text.encode("utf-8"), "text/html; charset=utf-8")


class Fault(Exception):
    """Raised by ``EmulatorApp.take_fault`` users to answer with the network's own error envelope."""

    def __init__(self, kind: str) -> None:
        super().__init__(kind)
        self.kind = kind


class RateLimiter:
    """Sliding-window counters per key: ``hit(key, limit, per)`` says whether the call is over the limit."""

    def __init__(self) -> None:
        self._calls: dict[str, deque[float]] = defaultdict(deque)
        self._lock = threading.Lock()
        self.clock: Callable[[], float] = time.monotonic  # a test may stop it: requests then meet in one instant

    def hit(self, key: str, limit: int, per: float) -> bool:
        now = self.clock()
        with self._lock:
            calls = self._calls[key]
            while calls and calls[0] <= now - per:
                calls.popleft()
            if len(calls) >= limit:
                return True
            calls.append(now)
            return False

    def reset(self) -> None:
        with self._lock:
            self._calls.clear()


Handler = Callable[[Request], Response]
STATUS_TEXT = {200: "OK", 201: "Created", 204: "No Content", 302: "Found", 400: "Bad Request",
               401: "Unauthorized", 403: "Forbidden", 404: "Not Found", 405: "Method Not Allowed",
               409: "Conflict", 413: "Payload Too Large", 429: "Too Many Requests",
               500: "Internal Server Error", 502: "Bad Gateway", 503: "Service Unavailable", 504: "Gateway Timeout"}


def is_loopback(host: str) -> bool:
    """True for 127.0.0.0/8, ::1 (and an IPv4-mapped loopback) and "localhost"."""
    if host == "localhost":
        return True
    try:
        address = ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        return False
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    return address.is_loopback


class _CutShort(Exception):
    """A request whose body ended before its Content-Length."""


class EmulatorApp:
    """Base of every emulator. Subclasses add routes in ``setup_routes`` and keep their data in ``self.state``."""

    network = "base"
    title = "Emulator"

    def __init__(self, *, state_file: Path | None = None, fault_delay: float = 25.0,
                 rate_limits: bool = True) -> None:
        self.lock = threading.RLock()
        self.state: dict[str, Any] = {}
        self.faults: dict[str, list[str]] = defaultdict(list)
        self.fault_delay = fault_delay
        self.rate_limits_enabled = rate_limits
        self.limiter = RateLimiter()
        self.state_file = state_file
        self.requests: list[dict[str, Any]] = []  # what clients sent (tests check conformance against specs)
        self.blobs: dict[str, tuple[bytes, str]] = {}  # uploaded photos: key -> file, content type (not persisted)
        # Tests check every request a Filial client sent against the network's spec when the server stops
        # (``testing.served``); a test that sends malformed requests on purpose through a Filial client says so
        # here, with its reason.
        self.conformance_exempt = ""
        self._routes: list[tuple[str, re.Pattern[str], Handler]] = []
        self.base_url = ""  # set by whoever serves the app; used to build upload URLs
        self.reset_state()
        if state_file is not None and state_file.exists():
            self.state = json.loads(state_file.read_text("utf-8"))
        self.route("GET", r"/_emulator/?", self._control_view)
        self.route("POST", r"/_emulator/faults", self._control_faults)
        self.route("POST", r"/_emulator/reset", self._control_reset)
        self.route("GET", r"/_emulator/state", lambda r: Response.json(self.state))
        self.route("POST", r"/_emulator/simulate/(?P<action>[a-z_]+)", self._control_simulate)
        self.setup_routes()

    # --- to be provided by each emulator ---------------------------------------------------------------
    def reset_state(self) -> None:
        self.state = {}

    def setup_routes(self) -> None:
        raise NotImplementedError

    def simulate(self, action: str, data: dict[str, Any]) -> Any:
        raise KeyError(action)

    def render_pages(self) -> str:
        """HTML body of the emulator's page view (escaped by the emulator)."""
        return "<pre>" + html.escape(json.dumps(self.state, ensure_ascii=False, indent=2)[:20000]) + "</pre>"

    # --- helpers for emulators ------------------------------------------------------------------------
    def route(self, method: str, pattern: str, handler: Handler) -> None:
        self._routes.append((method, re.compile(pattern + r"\Z"), handler))

    def add_fault(self, method: str, kind: str, times: int = 1) -> None:
        if kind not in FAULT_KINDS:
            raise ValueError(f"unknown fault kind {kind!r}; known: {', '.join(FAULT_KINDS)}")
        with self.lock:
            self.faults[method].extend([kind] * times)

    def take_fault(self, method: str) -> str | None:
        """The next injected fault for this API method (or for "*"), consumed."""
        with self.lock:
            for key in (method, "*"):
                if self.faults.get(key):
                    return self.faults[key].pop(0)
        return None

    def log_request(self, record: dict[str, Any], request: Request) -> dict[str, Any]:
        """Keep what a client sent, with its User-Agent: Filial's connectors name themselves, so that tests can
        tell their requests (held to the network's spec) from the raw ones tests send on purpose."""
        record["agent"] = request.headers.get("user-agent", "")
        with self.lock:
            self.requests.append(record)
        return record

    def over_limit(self, key: str, limit: int, per: float) -> bool:
        return self.rate_limits_enabled and self.limiter.hit(key, limit, per)

    def next_id(self, name: str) -> int:
        with self.lock:
            counters = self.state.setdefault("_ids", {})
            counters[name] = counters.get(name, 0) + 1
            return int(counters[name])

    def save(self) -> None:
        if self.state_file is not None:
            tmp = self.state_file.with_suffix(".tmp")
            tmp.write_text(json.dumps(self.state, ensure_ascii=False), "utf-8")
            tmp.replace(self.state_file)

    def sleep_for_timeout(self) -> None:
        time.sleep(self.fault_delay)

    # --- WSGI -----------------------------------------------------------------------------------------
    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        remote = str(environ.get("REMOTE_ADDR") or "127.0.0.1")  # in-process WSGI calls give none
        if not is_loopback(remote):
            # The emulators (their pages' tokens, the state and control endpoints) are for this machine only.
            body = b'{"error": "the emulator answers only on this machine (loopback)"}'
            start_response("403 Forbidden", [("Content-Type", "application/json"), ("Content-Length", str(len(body)))])
            return [body]
        try:
            request = self._parse(environ)
        except _CutShort:
            # The client went away before its body arrived (a worker killed mid-request): like a real API server,
            # act on nothing and record nothing; nobody reads the answer.
            start_response("400 Bad Request", [("Content-Length", "0")])
            return [b""]
        response = self.dispatch(request)
        reason = STATUS_TEXT.get(response.status, "Unknown")
        headers = [("Content-Type", response.content_type), ("Content-Length", str(len(response.body))),
                   *response.headers]
        start_response(f"{response.status} {reason}", headers)
        return [response.body]

    def dispatch(self, request: Request) -> Response:
        allowed = False
        for method, pattern, handler in self._routes:
            match = pattern.match(request.path)
            if match is None:
                continue
            allowed = True
            if method != request.method:
                continue
            request.match = match.groupdict()
            return handler(request)
        if allowed:
            return Response.json({"error": "method not allowed"}, 405)
        return Response.json({"error": "not found"}, 404)

    @staticmethod
    def _parse(environ: dict[str, Any]) -> Request:
        length = int(environ.get("CONTENT_LENGTH") or 0)
        body = environ["wsgi.input"].read(length) if length else b""
        if len(body) < length:
            raise _CutShort
        headers = {k[5:].replace("_", "-").lower(): v for k, v in environ.items() if k.startswith("HTTP_")}
        content_type = environ.get("CONTENT_TYPE", "")
        if content_type:
            headers["content-type"] = content_type
        query = dict(parse_qsl(environ.get("QUERY_STRING", ""), keep_blank_values=True))
        form: dict[str, str] = {}
        files: dict[str, UploadedFile] = {}
        if content_type.startswith("application/x-www-form-urlencoded"):
            form = dict(parse_qsl(body.decode("utf-8"), keep_blank_values=True))
        elif content_type.startswith("multipart/form-data"):
            message = BytesParser(policy=HTTP).parsebytes(
                f"Content-Type: {content_type}\r\n\r\n".encode() + body
            )
            for part in message.iter_parts():
                name = part.get_param("name", header="content-disposition")
                if not name:
                    continue
                decoded = part.get_payload(decode=True)
                payload = decoded if isinstance(decoded, bytes) else b""
                filename = part.get_filename()
                if filename is not None:
                    files[str(name)] = UploadedFile(filename, part.get_content_type(), payload)
                else:
                    form[str(name)] = payload.decode(part.get_content_charset() or "utf-8")
        return Request(environ["REQUEST_METHOD"], environ.get("PATH_INFO", "/"), query, form, files, headers, body)

    # --- control API ----------------------------------------------------------------------------------
    def _control_view(self, request: Request) -> Response:
        faults = {k: v for k, v in self.faults.items() if v}
        page = (
            f"<!doctype html><html lang='ru'><head><meta charset='utf-8'><title>{html.escape(self.title)}</title>"
            "</head><body>"
            f"<h1>{html.escape(self.title)}</h1><p>Local emulator; nothing here reaches the real network.</p>"
            f"<p>Pending faults: {html.escape(json.dumps(faults, ensure_ascii=False))}</p>"
            f"{self.render_pages()}</body></html>"
        )
        return Response.html(page)

    def _control_faults(self, request: Request) -> Response:
        data = request.json() or {}
        try:
            self.add_fault(str(data.get("method", "*")), str(data.get("kind")), int(data.get("times", 1)))
        except ValueError as exc:
            return Response.json({"ok": False, "error": str(exc)}, 400)
        return Response.json({"ok": True})

    def _control_reset(self, request: Request) -> Response:
        with self.lock:
            self.reset_state()
            self.faults.clear()
            self.limiter.reset()
            self.requests.clear()
            self.save()
        return Response.json({"ok": True})

    def _photo_file(self, request: Request) -> Response:
        """An uploaded photo (``blobs[match["key"]]``) as the page view shows it."""
        with self.lock:
            blob = self.blobs.get(request.match["key"])
        if blob is None:
            return Response.json({"error": "not found"}, 404)
        return Response(200, blob[0], blob[1])

    def _control_simulate(self, request: Request) -> Response:
        try:
            with self.lock:
                result = self.simulate(request.match["action"], request.json() or {})
                self.save()
        except KeyError as exc:
            return Response.json({"ok": False, "error": f"unknown action or object: {exc}"}, 404)
        except ValueError as exc:
            return Response.json({"ok": False, "error": str(exc)}, 400)
        return Response.json({"ok": True, "result": result})


class _KeepAliveServerHandler(ServerHandler):
    """Answers in HTTP/1.1, so that a client keeps its connection as it does with the real networks; a response
    whose length is not known closes the connection."""

    http_version = "1.1"

    def cleanup_headers(self) -> None:
        super().cleanup_headers()
        headers: Any = getattr(self, "headers")  # noqa: B009 - set by start_response; untyped in typeshed
        if "Content-Length" not in headers:
            headers["Connection"] = "close"
            self.request_handler.close_connection = True  # type: ignore[attr-defined]


class _QuietHandler(WSGIRequestHandler):
    """The stdlib's WSGI handler, serving several requests per connection (keep-alive) like a real API server:
    a new TCP connection and server thread per call would cost more CPU than the call itself."""

    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True  # headers and body are separate writes: no 40 ms delayed-ACK stall per call

    def handle(self) -> None:
        self.close_connection = True
        self.handle_one_request()
        while not self.close_connection:
            self.handle_one_request()

    def handle_one_request(self) -> None:
        self.raw_requestline = self.rfile.readline(65537)
        if not self.raw_requestline or len(self.raw_requestline) > 65536:
            self.close_connection = True
            return
        if not self.parse_request():  # sets close_connection from the version and the Connection header
            return
        handler = _KeepAliveServerHandler(self.rfile, self.wfile, self.get_stderr(),  # type: ignore[arg-type]
                                          self.get_environ(), multithread=True)
        handler.request_handler = self  # type: ignore[attr-defined]
        handler.run(self.server.get_app())  # type: ignore[attr-defined]

    def log_message(self, format: str, *args: Any) -> None:
        pass


class _ThreadingWSGIServer(ThreadingMixIn, WSGIServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 128

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.open_connections: set[socket.socket] = set()
        self.connections_lock = threading.Lock()

    def process_request(self, request: Any, client_address: Any) -> None:
        with self.connections_lock:
            self.open_connections.add(request)
        super().process_request(request, client_address)

    def shutdown_request(self, request: Any) -> None:
        with self.connections_lock:
            self.open_connections.discard(request)
        super().shutdown_request(request)

    def close_connections(self) -> None:
        """Stopping: end the kept-alive connections too, so no request reaches this emulator any more."""
        with self.connections_lock:
            connections = list(self.open_connections)
        for sock in connections:
            try:
                sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass


class ServedEmulator:
    """An emulator served over real HTTP on loopback in a background thread (tests, the demo).

    The stdlib's threading WSGI server is used because it shuts down cleanly from another thread.
    """

    def __init__(self, app: EmulatorApp, host: str = "127.0.0.1", port: int = 0) -> None:
        if not is_loopback(host):
            raise ValueError(f"an emulator listens only on a loopback address, not {host!r}")
        self.app = app
        self.server = make_server(host, port, app, server_class=_ThreadingWSGIServer, handler_class=_QuietHandler)
        self.port = int(self.server.server_port)
        self.url = f"http://{host}:{self.port}"
        app.base_url = self.url
        self.thread = threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.1},
                                       name=f"emulator-{app.network}", daemon=True)

    def start(self) -> ServedEmulator:
        self.thread.start()
        return self

    def stop(self) -> None:
        self.server.shutdown()
        self.server.close_connections()
        self.server.server_close()
        self.thread.join(timeout=5)
