"""The real Redis at 127.0.0.1:6379 for the cluster tests, and a proxy that can cut it off.

Every test gets its own random key prefix and deletes its keys afterwards: Redis is
shared with other users of the machine, so never FLUSHALL/FLUSHDB here.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterator

import pytest
import redis
from redis_helpers import REDIS_HOST, REDIS_PORT, RedisProxy


@pytest.fixture(scope="session")
def redis_available() -> None:
    """Skip (saying why) when no Redis answers on 127.0.0.1:6379."""
    client = redis.Redis(host=REDIS_HOST, port=REDIS_PORT, socket_connect_timeout=1)
    try:
        client.ping()
    except redis.RedisError as exc:
        pytest.skip(
            f"Redis is not reachable at {REDIS_HOST}:{REDIS_PORT} ({exc}); start redis-server"
        )
    finally:
        client.close()


@pytest.fixture
def prefix(redis_available: None) -> Iterator[str]:
    """A key prefix of this test's own; its keys are deleted after the test."""
    name = f"overcast-test:{secrets.token_hex(6)}:"
    yield name
    client = redis.Redis(host=REDIS_HOST, port=REDIS_PORT)
    try:
        keys = list(client.scan_iter(match=f"{name}*"))
        if keys:
            client.delete(*keys)
    finally:
        client.close()


@pytest.fixture
def redis_proxy(redis_available: None) -> RedisProxy:
    """A relay to Redis, not yet listening: start and stop it inside the test's event loop."""
    return RedisProxy()
