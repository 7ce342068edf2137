"""Login throttling: an address that keeps failing the UI login or the API key must wait."""

from __future__ import annotations

import json
import logging
import math
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

from starlette.types import ASGIApp, Message, Receive, Scope, Send

logger = logging.getLogger(__name__)

LOGIN_PATHS = ("/login", "/login/")  # Gradio's login form posts here
MAX_WAIT = 900.0  # seconds: the doubling stops at a quarter of an hour
MAX_ADDRESSES = 10_000  # forget the oldest failures past this many addresses


@dataclass
class _Failures:
    count: int = 0
    last: float = 0.0


class Throttle:
    """Failures per client address; after ``attempts`` of them each further try waits
    ``delay`` seconds, doubling with every failure; a success forgets them."""

    def __init__(
        self, attempts: int, delay: float, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.attempts, self.delay, self.clock = attempts, delay, clock
        self._failures: dict[str, _Failures] = {}
        self._lock = threading.Lock()

    def wait(self, address: str) -> float:
        """Seconds ``address`` must still wait before its next try (0: it may try now)."""
        with self._lock:
            f = self._failures.get(address)
            if f is None or f.count < self.attempts:
                return 0.0
            lasts = min(MAX_WAIT, self.delay * 2 ** (f.count - self.attempts))
            return max(0.0, f.last + lasts - self.clock())

    def failed(self, address: str) -> None:
        """Count a failed login or API key from ``address``."""
        with self._lock:
            f = self._failures.setdefault(address, _Failures())
            f.count += 1
            f.last = self.clock()
            if len(self._failures) > MAX_ADDRESSES:
                oldest = min(self._failures, key=lambda a: self._failures[a].last)
                del self._failures[oldest]
        if f.count >= self.attempts:
            logger.warning("%d failed logins from %s: throttled", f.count, address)

    def succeeded(self, address: str) -> None:
        """Forget the failures of ``address``."""
        with self._lock:
            self._failures.pop(address, None)


class LoginThrottle:
    """ASGI middleware: 429 with Retry-After while an address must wait; a failure is a wrong
    UI login (Gradio's 400 on /login) or a 401 to a request that sent an Authorization key."""

    def __init__(self, app: ASGIApp, throttle: Throttle) -> None:
        self.app, self.throttle = app, throttle

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        login = scope.get("method") == "POST" and scope["path"] in LOGIN_PATHS
        keyed = any(k.lower() == b"authorization" for k, _ in scope["headers"])
        if not (login or keyed):
            await self.app(scope, receive, send)
            return
        address = (scope.get("client") or ("unknown", 0))[0]
        wait = self.throttle.wait(address)
        if wait > 0:
            await _too_many(send, wait)
            return
        status = 0

        async def watched(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        await self.app(scope, receive, watched)
        if status == 401 or (login and status == 400):
            self.throttle.failed(address)
        elif status < 400:  # logged in, or a key that was accepted
            self.throttle.succeeded(address)


async def _too_many(send: Send, wait: float) -> None:
    seconds = math.ceil(wait)
    message = (
        f"로그인 실패가 너무 많습니다: {seconds}초 뒤에 다시 시도하세요 "
        f"(too many failed logins; retry in {seconds} s)"
    )
    body = json.dumps(
        {
            "error": {
                "message": message,
                "type": "rate_limit_error",
                "param": None,
                "code": "too_many_failed_logins",
            },
            "detail": message,
        },
        ensure_ascii=False,
    ).encode()
    headers = [
        (b"content-type", b"application/json"),
        (b"content-length", str(len(body)).encode()),
        (b"retry-after", str(seconds).encode()),
    ]
    await send({"type": "http.response.start", "status": 429, "headers": headers})
    await send({"type": "http.response.body", "body": body})
