"""Login throttling on a live server: wrong UI passwords or API keys from one address make it
wait (429, Retry-After, doubling), other addresses are unaffected, a success forgets."""

from __future__ import annotations

import time
from collections.abc import Callable

import httpx

from assistant.throttle import Throttle
from tests.service.conftest import Live

DELAY = 0.6


def _login(client: httpx.Client, password: str) -> httpx.Response:
    return client.post("/login", data={"username": "kim", "password": password})


def test_wrong_passwords_make_the_address_wait_then_doubling(start: Callable[..., Live]) -> None:
    live = start(auth_user="kim", auth_password="s3cret", login_attempts=3, login_delay=DELAY)
    assert [_login(live.client, "nope").status_code for _ in range(3)] == [400, 400, 400]
    refused = _login(live.client, "s3cret")  # even the right password waits
    assert refused.status_code == 429
    assert refused.headers["retry-after"] == "1"
    assert "로그인 실패가 너무 많습니다" in refused.json()["detail"]
    other = httpx.Client(
        base_url=live.url, transport=httpx.HTTPTransport(local_address="127.0.0.2")
    )
    with other:
        assert _login(other, "s3cret").status_code == 200  # another address is not held
    time.sleep(DELAY + 0.1)
    assert _login(live.client, "nope").status_code == 400  # one more try, failed
    time.sleep(DELAY + 0.1)
    assert _login(live.client, "s3cret").status_code == 429  # the wait doubled
    time.sleep(DELAY + 0.1)
    assert _login(live.client, "s3cret").status_code == 200
    assert _login(live.client, "nope").status_code == 400  # the success forgot the failures


def test_wrong_api_keys_are_throttled_too(start: Callable[..., Live]) -> None:
    live = start(api_keys="k", login_attempts=2, login_delay=DELAY)
    wrong = {"Authorization": "Bearer guess"}
    right = {"Authorization": "Bearer k"}
    assert live.client.get("/v1/models", headers=right).status_code == 200
    assert [live.client.get("/v1/models", headers=wrong).status_code for _ in range(2)] == [
        401,
        401,
    ]
    refused = live.client.get("/v1/models", headers=right)
    assert refused.status_code == 429
    assert refused.json()["error"]["code"] == "too_many_failed_logins"
    assert live.client.get("/v1/health").status_code == 200  # no key sent: not throttled
    time.sleep(DELAY + 0.1)
    assert live.client.get("/v1/models", headers=right).status_code == 200
    assert live.client.get("/v1/models", headers=wrong).status_code == 401  # counts from 0


def test_thirty_fast_guesses_cost_minutes() -> None:
    now = [0.0]
    throttle = Throttle(5, 1.0, clock=lambda: now[0])
    tried = 0
    while tried < 30:
        wait = throttle.wait("10.0.0.9")
        now[0] += wait
        throttle.failed("10.0.0.9")
        tried += 1
    assert now[0] == 1023 + 15 * 900  # 30 guesses take 4 hours (0.22 s before)
    assert throttle.wait("10.0.0.8") == 0
