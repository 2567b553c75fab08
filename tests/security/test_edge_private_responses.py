"""The edge never serves one caller's private response to another caller (``overcast up``).

``overcast up`` runs tests/security/apps/private_api: every way an API knows its caller
(HTTP API JWT authorizer; Lambda authorizers of the TOKEN and REQUEST kinds, with and
without API Gateway's result cache; REST API keys; a SigV4 ``Authorization`` the
function checks; a session cookie) answers ``GET .../me`` with the caller's private data
and no ``Cache-Control``, behind four edge behaviors:

- ``optimized``: AWS's CachingOptimized and no origin request policy. As on CloudFront,
  only the cache key reaches the API: no credential does, so every caller, Alice too,
  gets the API's refusal.
- ``allviewer``: CachingOptimized with the AllViewer origin request policy. The
  ``Authorization`` header only reaches an origin through the cache key while caching
  is on; other credentials reach the API outside the cache key, so the edge neither
  answers them from its cache nor stores what the API answered them.
- ``keyed``: the credentials are the cache key (and AllViewer forwards the rest): each
  caller gets their own cached copy, nobody else's.
- ``direct``: CachingDisabled (which forwards everything, as AllViewer does).

Each case sends Alice's request first, then one without credentials, one with a wrong
credential and Bob's, then Alice's again (see ``edge_callers``).
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import pytest

from security.edge_callers import (
    API_KEYS,
    APP,
    HIT,
    KINDS,
    MODES,
    Issuer,
    Target,
    check_only_alice_reads_alice,
    credential,
    fetch,
)

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def issuer() -> Iterator[Issuer]:
    running = Issuer()
    yield running
    running.close()


@pytest.fixture(scope="module")
def app(module_running_app: Any, issuer: Issuer) -> Any:
    return module_running_app(
        APP,
        parameter_overrides=[f"Issuer={issuer.url}"],
        extra_args=[arg for who, key in API_KEYS.items() for arg in ("--api-key", f"{who}={key}")],
    )


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("kind", list(KINDS))
def test_a_private_response_reaches_no_one_but_its_owner(
    app: Any, issuer: Issuer, kind: str, mode: str
) -> None:
    check_only_alice_reads_alice(
        Target(app.base_url), issuer, kind, mode, logs=app.output()[-3000:]
    )


@pytest.mark.parametrize("kind", ["jwt", "lambda", "token", "query", "key", "session"])
def test_a_keyed_private_response_is_cached_for_its_owner_only(
    app: Any, issuer: Issuer, kind: str
) -> None:
    target = Target(app.base_url)
    path = f"/{KINDS[kind][0]}/keyed/{kind}/{uuid.uuid4().hex}"
    alice = credential(kind, "alice", issuer)
    first = fetch(target, path, kind, alice)
    second = fetch(target, path, kind, alice)
    nobody = fetch(target, path, kind, None)
    assert first.status_code == second.status_code == 200, app.output()[-3000:]
    assert second.headers["x-cache"] == HIT
    assert second.json()["user"] == "alice"
    assert nobody.headers["x-cache"] != HIT
    assert b"alice" not in nobody.content
