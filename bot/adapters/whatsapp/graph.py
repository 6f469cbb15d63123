"""The few Graph API calls the adapter makes, over httpx (pywa's base URL is fixed: see
docs/whatsapp.md)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import httpx

# Graph error codes meaning "too many messages, try later" (throughput, per-pair rate) and
# "outside the 24-hour customer-service window".
RATE_LIMIT_CODES = frozenset({4, 80007, 130429, 131056})
WINDOW_CLOSED_CODES = frozenset({131047})
MAX_MEDIA_BYTES = 100 * 1024 * 1024


class GraphError(Exception):
    """A refused call: ``retryable`` for 429s, rate-limit codes and 5xx, else final."""

    def __init__(self, status: int, code: int | None, retry_after: float | None) -> None:
        super().__init__(f"graph {status} code {code}")
        self.status = status
        self.code = code
        self.retry_after = retry_after

    @property
    def rate_limited(self) -> bool:
        return self.status == 429 or self.code in RATE_LIMIT_CODES

    @property
    def retryable(self) -> bool:
        return self.rate_limited or self.status >= 500

    @property
    def window_closed(self) -> bool:
        return self.code in WINDOW_CLOSED_CODES


@dataclass(frozen=True, slots=True)
class GraphTarget:
    api_url: str
    api_version: str
    phone_number_id: str
    access_token: str

    @property
    def root(self) -> str:
        return f"{self.api_url.rstrip('/')}/{self.api_version}"


class GraphClient:
    def __init__(self, target: GraphTarget, *, timeout: float = 30.0) -> None:
        self.target = target
        self.http = httpx.AsyncClient(
            headers={"Authorization": f"Bearer {target.access_token}"}, timeout=timeout
        )

    async def close(self) -> None:
        await self.http.aclose()

    async def send(self, to: str, kind: str, body: dict[str, Any]) -> str:
        """One message (``kind``: text, interactive, template, image, document…); its wamid."""
        payload = {"messaging_product": "whatsapp", "recipient_type": "individual", "to": to}
        payload |= {"type": kind, kind: body}
        answer = await self._post(f"{self.target.phone_number_id}/messages", json=payload)
        return str(answer["messages"][0]["id"])

    async def mark_read(self, message_id: str) -> None:
        payload = {"messaging_product": "whatsapp", "status": "read", "message_id": message_id}
        await self._post(f"{self.target.phone_number_id}/messages", json=payload)

    async def upload(self, data: bytes, *, mime: str, name: str) -> str:
        """A file for sending; the media id."""
        answer = await self._post(
            f"{self.target.phone_number_id}/media",
            data={"messaging_product": "whatsapp", "type": mime},
            files={"file": (name, data, mime)},
        )
        return str(answer["id"])

    async def download(self, media_id: str) -> bytes | None:
        """A creator's file: its URL from the Graph API, then the bytes (None if too big)."""
        meta = await self._call("GET", media_id)
        if int(meta.get("file_size") or 0) > MAX_MEDIA_BYTES:
            return None
        response = await self.http.get(str(meta["url"]))
        _raise_for(response)
        return response.content

    async def _post(self, path: str, **kwargs: Any) -> dict[str, Any]:
        return await self._call("POST", path, **kwargs)

    async def _call(self, method: str, path: str, **kwargs: Any) -> dict[str, Any]:
        response = await self.http.request(method, f"{self.target.root}/{path}", **kwargs)
        _raise_for(response)
        answer = response.json()
        if not isinstance(answer, dict):
            raise GraphError(response.status_code, None, None)
        return answer


def _raise_for(response: httpx.Response) -> None:
    if response.status_code < 400:
        return
    code: int | None = None
    try:
        error = response.json().get("error", {})
        code = int(error.get("code")) if error.get("code") is not None else None
    except (ValueError, AttributeError, TypeError):
        pass
    raise GraphError(response.status_code, code, _retry_after(response))


def _retry_after(response: httpx.Response) -> float | None:
    try:
        return max(float(response.headers.get("retry-after", "")), 0.0)
    except ValueError:
        return None
