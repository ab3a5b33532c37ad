"""Test helpers shared by the network packages: serve an emulator on loopback, find the specs."""

from __future__ import annotations

import json
import random
import socket
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings

from emulators.base import EmulatorApp, ServedEmulator


@contextmanager
def served(app: EmulatorApp, *, conformance: bool = True) -> Iterator[ServedEmulator]:
    """``app`` on a loopback port while the block runs. When the block ends without an error, every request a
    Filial connector sent to it is checked against the network's official spec (``tests/conformance.py``)."""
    server = ServedEmulator(app).start()
    try:
        yield server
    finally:
        server.stop()
    if conformance:
        from filial.networks.tests.conformance import assert_conforms

        assert_conforms(app)


def free_port_block(count: int = 4, tries: int = 50) -> int:
    """The first of ``count`` consecutive free loopback ports (for ``FILIAL_EMULATOR_PORT_BASE`` in tests)."""
    for _ in range(tries):
        base = random.randint(20000, 60000)
        sockets: list[socket.socket] = []
        try:
            for port in range(base, base + count):
                sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
                sockets.append(sock)
                sock.bind(("127.0.0.1", port))
            return base
        except OSError:
            continue
        finally:
            for sock in sockets:
                sock.close()
    raise RuntimeError("no block of free ports found")


def spec_path(*parts: str) -> Path:
    """A file under ../shared/specs/, or a clear skip where that folder is absent."""
    path = Path(settings.FILIAL_SPECS_DIR, *parts)
    if not path.exists():
        pytest.skip(f"network API spec not found at {path} (set FILIAL_SPECS_DIR or provide ../shared/specs)")
    return path


def load_json_spec(*parts: str) -> Any:
    return json.loads(spec_path(*parts).read_text("utf-8"))


class Listener:
    """A loopback TCP server that records every connection and what was sent on it, and answers each with a fixed
    HTTP response (tests that nothing reaches an address: ``assert not listener.connections``)."""

    def __init__(self, answer: bytes = b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
                                      b"Content-Length: 2\r\nConnection: close\r\n\r\n{}") -> None:
        import threading

        self.answer = answer
        self.connections: list[bytes] = []
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(16)
        self.sock.settimeout(0.2)
        self.port = int(self.sock.getsockname()[1])
        self.running = True
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def _serve(self) -> None:
        while self.running:
            try:
                conn, _addr = self.sock.accept()
            except OSError:
                continue
            with conn:
                conn.settimeout(1.0)
                data = b""
                try:
                    while b"\r\n\r\n" not in data:
                        chunk = conn.recv(65536)
                        if not chunk:
                            break
                        data += chunk
                    self.connections.append(data)
                    conn.sendall(self.answer)
                except OSError:
                    self.connections.append(data)

    def close(self) -> None:
        self.running = False
        self.thread.join(2)
        self.sock.close()


@contextmanager
def listening(answer: bytes | None = None) -> Iterator[Listener]:
    listener = Listener(answer) if answer is not None else Listener()
    try:
        yield listener
    finally:
        listener.close()
