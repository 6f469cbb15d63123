"""A real HTTP server that impersonates the WhatsApp Cloud API (Meta's Graph API), for tests
and benchmarks, plus helpers that build and POST signed webhooks as Meta does.

    with FakeWhatsApp() as graph:
        config = WhatsAppConfig(graph.token, graph.phone_number_id, APP_SECRET,
                                api_url=graph.api_url)
        post_webhook(url, text_message("5215512345678", "hola"))
        graph.wait_for_sends("5215512345678", 1)

What it checks, like the real API: the bearer token (401, code 190), the version segment and the
phone number id in the path, the sends' shape (text up to 4,096 characters, at most 3 reply
buttons with titles up to 20 characters, at most 10 list rows with titles up to 24), so an
adapter that oversteps gets a 400 (code 100). Faults can be queued: a 429 with code 130429 and
``Retry-After``, a 5xx, or any status and code.
"""

from __future__ import annotations

import email.parser
import email.policy
import hashlib
import hmac
import itertools
import json
import re
import threading
import time
import urllib.error
import urllib.request
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any, Self

JSON = dict[str, Any]
DEFAULT_TOKEN = "EAAPuenteFakeAccessToken0123456789"
PHONE_NUMBER_ID = "105550000000001"
APP_SECRET = "puente-test-app-secret"
VERIFY_TOKEN = "puente-verify"
_VERSION = re.compile(r"^v\d+\.\d+$")


@dataclass
class Sent:
    to: str
    type: str
    body: JSON
    wamid: str
    at: float = field(default_factory=time.monotonic)

    @property
    def text(self) -> str:
        if self.type == "text":
            return str(self.body.get("body", ""))
        if self.type == "interactive":
            return str(self.body.get("body", {}).get("text", ""))
        return ""


@dataclass(frozen=True)
class Fault:
    status: int
    code: int
    retry_after: float | None = None


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, fake: FakeWhatsApp) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.fake = fake


class _Handler(BaseHTTPRequestHandler):
    server: _Server
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def do_GET(self) -> None:
        self._answer(*self.server.fake.handle("GET", self.path, self.headers, b""))

    def do_POST(self) -> None:
        length = int(self.headers.get("content-length") or 0)
        body = self.rfile.read(length)
        self._answer(*self.server.fake.handle("POST", self.path, self.headers, body))

    def _answer(self, status: int, body: bytes, headers: dict[str, str]) -> None:
        self.send_response(status)
        for name, value in {"Content-Type": "application/json", **headers}.items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


def _error(status: int, code: int, message: str) -> tuple[int, bytes, dict[str, str]]:
    body = {"error": {"message": message, "type": "OAuthException", "code": code}}
    return status, json.dumps(body).encode(), {}


class FakeWhatsApp:
    def __init__(self, token: str = DEFAULT_TOKEN, phone_number_id: str = PHONE_NUMBER_ID):
        self.token = token
        self.phone_number_id = phone_number_id
        self.sends: list[Sent] = []
        self.reads: list[str] = []
        self.uploads: dict[str, tuple[bytes, str]] = {}
        self.media: dict[str, tuple[bytes, str]] = {}
        self.faults: deque[Fault] = deque()
        self.refused = 0
        self.every: tuple[int, Fault] | None = None
        self._attempts = 0
        self._ids = itertools.count(1)
        self._lock = threading.Condition()
        self._server = _Server(self)
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    # -- lifecycle -----------------------------------------------------------------------

    def start(self) -> Self:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *_: type[BaseException] | BaseException | TracebackType | None) -> None:
        self.stop()

    @property
    def api_url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    # -- what tests arrange and read --------------------------------------------------------

    def fail_next(self, *faults: Fault) -> None:
        """The next sends (not read receipts) answer with these faults, in order."""
        with self._lock:
            self.faults.extend(faults)

    def fail_every(self, count: int, fault: Fault) -> None:
        """Every ``count``-th send attempt answers with ``fault`` (benchmarks under pressure)."""
        self.every = (count, fault)

    def add_media(self, data: bytes, mime: str) -> str:
        media_id = f"media{next(self._ids)}"
        self.media[media_id] = (data, mime)
        return media_id

    def sends_to(self, to: str) -> list[Sent]:
        with self._lock:
            return [s for s in self.sends if s.to == to]

    def wait_for_sends(self, to: str, count: int, timeout: float = 10.0) -> list[Sent]:
        deadline = time.monotonic() + timeout
        with self._lock:
            while len(found := [s for s in self.sends if s.to == to]) < count:
                left = deadline - time.monotonic()
                if left <= 0:
                    raise AssertionError(f"{len(found)} of {count} messages reached {to}")
                self._lock.wait(left)
            return found

    # -- the API ---------------------------------------------------------------------------

    def handle(self, method: str, path: str, headers: Any, body: bytes) -> Any:
        parts = path.split("?", 1)[0].strip("/").split("/")
        if parts[0] == "media" and method == "GET":
            return self._serve_media(parts, headers)
        if headers.get("authorization") != f"Bearer {self.token}":
            return _error(401, 190, "Invalid OAuth access token")
        if not parts or not _VERSION.match(parts[0]):
            return _error(400, 2500, "Unknown path components")
        if method == "GET" and len(parts) == 2:
            return self._media_meta(parts[1])
        if len(parts) != 3 or parts[1] != self.phone_number_id or method != "POST":
            return _error(400, 100, "Unsupported request")
        if parts[2] == "media":
            return self._upload(headers, body)
        if parts[2] == "messages":
            return self._message(json.loads(body or b"{}"))
        return _error(400, 100, "Unsupported request")

    def _message(self, payload: JSON) -> Any:
        if payload.get("status") == "read":
            with self._lock:
                self.reads.append(str(payload.get("message_id")))
                self._lock.notify_all()
            return 200, b'{"success": true}', {}
        with self._lock:
            fault = self.faults.popleft() if self.faults else None
            self._attempts += 1
            if fault is None and self.every and self._attempts % self.every[0] == 0:
                fault = self.every[1]
        if fault is not None:
            self.refused += 1
            status, body, headers = _error(fault.status, fault.code, "fault")
            if fault.retry_after is not None:
                headers = {"Retry-After": str(fault.retry_after)}
            return status, body, headers
        problem = _shape_problem(payload)
        if problem:
            return _error(400, 100, problem)
        wamid = f"wamid.FAKE{next(self._ids):08d}"
        kind = str(payload["type"])
        with self._lock:
            self.sends.append(Sent(str(payload["to"]), kind, payload[kind], wamid))
            self._lock.notify_all()
        answer = {"messaging_product": "whatsapp", "messages": [{"id": wamid}],
                  "contacts": [{"input": payload["to"], "wa_id": payload["to"]}]}  # fmt: skip
        return 200, json.dumps(answer).encode(), {}

    def _upload(self, headers: Any, body: bytes) -> Any:
        raw = b"Content-Type: " + headers.get("content-type", "").encode() + b"\r\n\r\n" + body
        message = email.parser.BytesParser(policy=email.policy.default).parsebytes(raw)
        for part in message.iter_parts() if message.is_multipart() else []:
            if part.get_param("name", header="content-disposition") == "file":
                media_id = f"upload{next(self._ids)}"
                data = part.get_payload(decode=True) or b""
                self.uploads[media_id] = (bytes(data), part.get_content_type())
                return 200, json.dumps({"id": media_id}).encode(), {}
        return _error(400, 100, "no file")

    def _media_meta(self, media_id: str) -> Any:
        if media_id not in self.media:
            return _error(404, 100, "Unknown media")
        data, mime = self.media[media_id]
        meta = {"id": media_id, "url": f"{self.api_url}/media/{media_id}",
                "mime_type": mime, "file_size": len(data)}  # fmt: skip
        return 200, json.dumps(meta).encode(), {}

    def _serve_media(self, parts: list[str], headers: Any) -> Any:
        if headers.get("authorization") != f"Bearer {self.token}":
            return _error(401, 190, "Invalid OAuth access token")
        found = self.media.get(parts[1] if len(parts) > 1 else "")
        if found is None:
            return _error(404, 100, "Unknown media")
        return 200, found[0], {"Content-Type": found[1]}


def _shape_problem(payload: JSON) -> str | None:
    """What the real API refuses with code 100 (a subset: the limits the adapter must keep)."""
    kind = payload.get("type")
    if payload.get("messaging_product") != "whatsapp" or not payload.get("to"):
        return "messaging_product and to are required"
    body = payload.get(str(kind))
    if not isinstance(body, dict):
        return f"{kind} object is required"
    if kind == "text" and not 0 < len(str(body.get("body", ""))) <= 4096:
        return "text body must be 1 to 4096 characters"
    if kind == "interactive":
        return _interactive_problem(body)
    if kind == "template" and not body.get("name"):
        return "template name is required"
    return None


def _interactive_problem(body: JSON) -> str | None:
    if not 0 < len(str(body.get("body", {}).get("text", ""))) <= 1024:
        return "interactive body must be 1 to 1024 characters"
    action = body.get("action", {})
    if body.get("type") == "button":
        buttons = action.get("buttons", [])
        if not 0 < len(buttons) <= 3:
            return "1 to 3 buttons"
        if any(not 0 < len(b["reply"]["title"]) <= 20 for b in buttons):
            return "button titles are 1 to 20 characters"
        return None
    rows = [r for s in action.get("sections", []) for r in s.get("rows", [])]
    if not 0 < len(rows) <= 10 or not 0 < len(str(action.get("button", ""))) <= 20:
        return "1 to 10 rows and a button label of 1 to 20 characters"
    if any(not 0 < len(r["title"]) <= 24 or len(r.get("description", "")) > 72 for r in rows):
        return "row titles are 1 to 24 characters, descriptions up to 72"
    return None


# -- webhooks, as Meta sends them --------------------------------------------------------

_wamids = itertools.count(1)


def envelope(
    *, messages: Sequence[JSON] = (), statuses: Sequence[JSON] = (), name: str = "Creadora"
) -> JSON:
    value: JSON = {"messaging_product": "whatsapp",
                   "metadata": {"display_phone_number": "15550000000",
                                "phone_number_id": PHONE_NUMBER_ID}}  # fmt: skip
    if messages:
        senders = dict.fromkeys(str(m["from"]) for m in messages)
        value["contacts"] = [{"profile": {"name": name}, "wa_id": s} for s in senders]
        value["messages"] = list(messages)
    if statuses:
        value["statuses"] = list(statuses)
    change = {"field": "messages", "value": value}
    return {"object": "whatsapp_business_account", "entry": [{"id": "WABA1", "changes": [change]}]}


def message(sender: str, kind: str, body: JSON, wamid: str | None = None) -> JSON:
    wamid = wamid or f"wamid.IN{next(_wamids):08d}"
    return {
        "from": sender,
        "id": wamid,
        "timestamp": str(int(time.time())),
        "type": kind,
        kind: body,
    }


def text_message(sender: str, text: str, wamid: str | None = None) -> JSON:
    return message(sender, "text", {"body": text}, wamid)


def button_reply(sender: str, reply_id: str, title: str) -> JSON:
    reply = {"type": "button_reply", "button_reply": {"id": reply_id, "title": title}}
    return message(sender, "interactive", reply)


def list_reply(sender: str, reply_id: str, title: str) -> JSON:
    reply = {"type": "list_reply", "list_reply": {"id": reply_id, "title": title}}
    return message(sender, "interactive", reply)


def status(wamid: str, recipient: str, state: str, error_code: int | None = None) -> JSON:
    found: JSON = {"id": wamid, "recipient_id": recipient, "status": state,
                   "timestamp": str(int(time.time()))}  # fmt: skip
    if error_code is not None:
        found["errors"] = [{"code": error_code, "title": "Message undeliverable"}]
    return found


def signature(body: bytes, secret: str = APP_SECRET) -> str:
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def post_webhook(
    url: str, payload: JSON | bytes, *, secret: str = APP_SECRET, signed: str | None = None
) -> int:
    """POST a webhook signed as Meta signs it (``signed`` overrides the header, "" drops it)."""
    body = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
    request = urllib.request.Request(url, data=body, method="POST")
    request.add_header("Content-Type", "application/json")
    header = signature(body, secret) if signed is None else signed
    if header:
        request.add_header("X-Hub-Signature-256", header)
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return int(response.status)
    except urllib.error.HTTPError as error:
        return int(error.code)
