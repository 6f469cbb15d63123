"""A local stand-in for Slack's Socket Mode WebSocket (RFC 6455, plain ``ws://``).

:class:`FakeSocketMode` attaches to a :class:`~tests.fakes.slack_api.FakeSlack`: the Web API's
``apps.connections.open`` (called with the app-level token) answers with this server's URL, as
Slack answers with a ``wss://`` one. Each connection gets Slack's ``hello``; the test pushes
envelopes (``events_api``, ``interactive``, ``slash_commands``) and reads the app's acks, and
can drop every connection (Slack's ``disconnect`` with a refresh) to see the app reconnect.
Only what a Socket Mode client uses is spoken: text frames, ping/pong and close.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import itertools
import json
import socket
import struct
import threading
import time
from dataclasses import dataclass
from typing import Any, Self

from tests.fakes.slack_api import FakeSlack

FAKE_APP_TOKEN = "xapp-1-A0FAKEAPP-1-" + "f" * 64
_GUID = b"258EAFA5-E914-47DA-95CA-C5AB0DC85B11"
TEXT, CLOSE, PING, PONG = 0x1, 0x8, 0x9, 0xA


@dataclass(frozen=True, slots=True)
class Ack:
    envelope_id: str
    payload: dict[str, Any] | None
    at: float


class _Connection:
    def __init__(self, sock: socket.socket) -> None:
        self.sock = sock
        self.lock = threading.Lock()
        self.open = True

    def send(self, opcode: int, data: bytes) -> None:
        header = bytes([0x80 | opcode])
        size = len(data)
        if size < 126:
            header += bytes([size])
        elif size < 1 << 16:
            header += bytes([126]) + struct.pack("!H", size)
        else:
            header += bytes([127]) + struct.pack("!Q", size)
        with self.lock:
            if self.open:
                self.sock.sendall(header + data)

    def receive(self) -> tuple[int, bytes]:
        first, second = self._exactly(2)
        size = second & 0x7F
        if size == 126:
            size = struct.unpack("!H", self._exactly(2))[0]
        elif size == 127:
            size = struct.unpack("!Q", self._exactly(8))[0]
        mask = self._exactly(4) if second & 0x80 else b"\0\0\0\0"
        data = bytes(b ^ mask[i % 4] for i, b in enumerate(self._exactly(size)))
        return first & 0x0F, data

    def close(self) -> None:
        with self.lock:
            self.open = False
        with contextlib.suppress(OSError):
            self.sock.shutdown(socket.SHUT_RDWR)
        self.sock.close()

    def _exactly(self, count: int) -> bytes:
        chunks = b""
        while len(chunks) < count:
            chunk = self.sock.recv(count - len(chunks))
            if not chunk:
                raise ConnectionError("closed")
            chunks += chunk
        return chunks


class FakeSocketMode:
    def __init__(self, slack: FakeSlack, app_token: str = FAKE_APP_TOKEN) -> None:
        self.slack = slack
        self.app_token = app_token
        self._cond = threading.Condition()
        self._listener: socket.socket | None = None
        self._connections: list[_Connection] = []
        self._acks: list[Ack] = []
        self._ids = itertools.count(1)
        self.connected_total = 0
        self.pings = 0

    # -- lifecycle --------------------------------------------------------------------------

    def start(self) -> Self:
        listener = socket.socket()
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(("127.0.0.1", 0))
        listener.listen(8)
        self._listener = listener
        threading.Thread(target=self._accept_forever, daemon=True).start()
        self.slack.tokens.add(self.app_token)
        self.slack.socket_mode_url = self.url
        return self

    def stop(self) -> None:
        if self._listener is not None:
            self._listener.close()
        self.drop_connections()

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    @property
    def url(self) -> str:
        assert self._listener is not None
        return f"ws://127.0.0.1:{self._listener.getsockname()[1]}/link/?ticket=fake"

    # -- what a test does -------------------------------------------------------------------

    @property
    def connections(self) -> int:
        with self._cond:
            return sum(1 for c in self._connections if c.open)

    def wait_connected(self, count: int = 1, timeout: float = 15.0) -> None:
        """Wait until ``count`` connections were opened in all (reconnects count)."""
        with self._cond:
            if not self._cond.wait_for(lambda: self.connected_total >= count, timeout):
                raise AssertionError(f"{self.connected_total} Socket Mode connection(s)")

    def push(
        self,
        payload: dict[str, Any],
        kind: str = "events_api",
        *,
        envelope_id: str | None = None,
        retry_attempt: int = 0,
    ) -> str:
        """Send one envelope on the newest open connection; its id, for :meth:`wait_ack`."""
        envelope_id = envelope_id or f"env-{next(self._ids)}"
        envelope = {
            "envelope_id": envelope_id,
            "type": kind,
            "payload": payload,
            "accepts_response_payload": kind != "events_api",
            "retry_attempt": retry_attempt,
            "retry_reason": "timeout" if retry_attempt else "",
        }
        with self._cond:
            live = [c for c in self._connections if c.open]
        if not live:
            raise AssertionError("no Socket Mode connection is open")
        live[-1].send(TEXT, json.dumps(envelope).encode())
        return envelope_id

    def wait_ack(self, envelope_id: str, timeout: float = 10.0) -> Ack:
        with self._cond:
            found = self._cond.wait_for(
                lambda: next((a for a in self._acks if a.envelope_id == envelope_id), None),
                timeout,
            )
        if found is None:
            raise AssertionError(f"envelope {envelope_id} was never acknowledged")
        return found

    @property
    def acks(self) -> list[Ack]:
        with self._cond:
            return list(self._acks)

    def drop_connections(self, *, warn: bool = True) -> None:
        """Slack refreshing its connections: a ``disconnect`` message, then the socket closes."""
        with self._cond:
            connections, self._connections = self._connections, []
        for connection in connections:
            if warn:
                notice = {"type": "disconnect", "reason": "refresh_requested"}
                with contextlib.suppress(OSError):
                    connection.send(TEXT, json.dumps(notice).encode())
            connection.close()

    # -- server -----------------------------------------------------------------------------

    def _accept_forever(self) -> None:
        assert self._listener is not None
        while True:
            try:
                sock, _ = self._listener.accept()
            except OSError:
                return
            threading.Thread(target=self._serve, args=(sock,), daemon=True).start()

    def _serve(self, sock: socket.socket) -> None:
        try:
            connection = self._handshake(sock)
        except (OSError, ValueError):
            sock.close()
            return
        with self._cond:
            self._connections.append(connection)
            self.connected_total += 1
            self._cond.notify_all()
        hello = {"type": "hello", "num_connections": 1, "connection_info": {"app_id": "A0FAKE"}}
        connection.send(TEXT, json.dumps(hello).encode())
        try:
            self._read_forever(connection)
        except (OSError, ConnectionError):
            pass
        finally:
            connection.close()

    def _handshake(self, sock: socket.socket) -> _Connection:
        request = b""
        while b"\r\n\r\n" not in request:
            chunk = sock.recv(4096)
            if not chunk:
                raise ValueError("closed during the handshake")
            request += chunk
        headers = {}
        for line in request.split(b"\r\n")[1:]:
            name, _, value = line.decode("latin-1").partition(":")
            headers[name.strip().lower()] = value.strip()
        key = headers.get("sec-websocket-key")
        if not key:
            raise ValueError("not a WebSocket upgrade")
        accept = base64.b64encode(hashlib.sha1(key.encode() + _GUID).digest()).decode()
        sock.sendall(
            (
                "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n"
                f"Connection: Upgrade\r\nSec-WebSocket-Accept: {accept}\r\n\r\n"
            ).encode()
        )
        return _Connection(sock)

    def _read_forever(self, connection: _Connection) -> None:
        while connection.open:
            opcode, data = connection.receive()
            if opcode == PING:
                with self._cond:
                    self.pings += 1
                connection.send(PONG, data)
            elif opcode == CLOSE:
                connection.send(CLOSE, data[:2])
                return
            elif opcode == TEXT:
                self._record_ack(json.loads(data))

    def _record_ack(self, message: dict[str, Any]) -> None:
        envelope_id = message.get("envelope_id")
        if not envelope_id:
            return
        with self._cond:
            self._acks.append(Ack(str(envelope_id), message.get("payload"), time.monotonic()))
            self._cond.notify_all()
