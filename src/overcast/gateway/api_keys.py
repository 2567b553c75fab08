"""API keys as REST APIs check them: where a key's value leads (its id and usage plan).

The gateway only asks an :class:`ApiKeyStore`; the control plane decides where keys
live (a persistent store, ``overcast up --api-key``). A lookup runs on the data
path for every request to a route with ``ApiKeyRequired``, so a store answers
from memory: no I/O, no lock.

A client sends its key in the ``x-api-key`` header (API Gateway's HEADER key source).
https://docs.aws.amazon.com/apigateway/latest/developerguide/api-gateway-api-key-source.html
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Final, Protocol

from overcast.gateway.errors import InvalidApiKeyOptionError

__all__ = ["API_KEY_HEADER", "ApiKey", "ApiKeyStore", "InMemoryApiKeyStore", "parse_api_key"]

#: the header a client sends its key in (HTTP header names arrive lower case)
API_KEY_HEADER: Final = "x-api-key"


@dataclass(frozen=True, slots=True)
class ApiKey:
    """A known key: its id (never its value: ids are safe to log) and its usage plan.

    ``usage_plan`` names a plan by logical ID (``MyApiUsagePlan``,
    ``ServerlessUsagePlan``) or UsagePlanName. None: the key is accepted by every
    API that requires a key, under that API's own plan (a convenience for local
    runs; on AWS a key must be added to the plan).
    """

    key_id: str
    usage_plan: str | None = None


class ApiKeyStore(Protocol):
    """Key value → :class:`ApiKey`; answers from memory (it runs per request)."""

    def lookup(self, value: str) -> ApiKey | None:
        """The key whose value is ``value``, or None if there is none."""
        ...


class InMemoryApiKeyStore:
    """A fixed set of keys (tests, ``overcast up --api-key``)."""

    __slots__ = ("_keys",)

    def __init__(self, keys: Mapping[str, ApiKey] | Iterable[tuple[str, ApiKey]] = ()) -> None:
        self._keys: dict[str, ApiKey] = dict(keys)

    def lookup(self, value: str) -> ApiKey | None:
        """The key whose value is ``value``, or None."""
        return self._keys.get(value)

    def add(self, value: str, key: ApiKey) -> None:
        """Accept ``value`` as ``key`` from now on."""
        self._keys[value] = key

    def __len__(self) -> int:
        return len(self._keys)


def parse_api_key(text: str) -> tuple[str, ApiKey]:
    """``NAME=VALUE[:PLAN]`` (``overcast up --api-key``) → (value, key).

    NAME is the key's id (it shows in logs; the value never does). PLAN names a
    usage plan by logical ID or UsagePlanName; without it the key is accepted on
    every API that requires one, under that API's plan. VALUE cannot hold ':'.
    """
    name, equals, rest = text.partition("=")
    value, _, plan = rest.partition(":")
    if not equals or not name.strip() or not value:
        # The text may hold a key value: it is not echoed.
        raise InvalidApiKeyOptionError(
            "an API key must be given as NAME=VALUE[:PLAN]",
            hint="e.g. --api-key ci=0123456789abcdefghij or "
            "--api-key ci=0123456789abcdefghij:MyApiUsagePlan",
        )
    return value, ApiKey(name.strip(), plan.strip() or None)
