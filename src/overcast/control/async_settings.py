"""A function's asynchronous-invocation settings, from its template model, for the queue."""

from __future__ import annotations

from collections.abc import Callable, Mapping

from overcast.events import AsyncSettings, RetryConfig
from overcast.template.model import FunctionSpec


def async_settings(
    spec: FunctionSpec, *, region: str, account_id: str, default_concurrency: int
) -> AsyncSettings:
    """What the dispatcher needs of ``spec``: retries, concurrency and destinations."""
    concurrency = (
        spec.reserved_concurrency if spec.reserved_concurrency is not None else default_concurrency
    )
    return AsyncSettings(
        function_arn=f"arn:aws:lambda:{region}:{account_id}:function:{spec.name}",
        retry=RetryConfig(),
        concurrency=concurrency,
    )


def settings_lookup(
    functions: Callable[[str], Mapping[str, FunctionSpec]],
    *,
    region: str,
    account_id: str,
    default_concurrency: int,
) -> Callable[[str, str], AsyncSettings | None]:
    """(name, qualifier) → settings, over ``functions(qualifier)`` (by name)."""

    def lookup(name: str, qualifier: str) -> AsyncSettings | None:
        spec = functions(qualifier).get(name)
        if spec is None:
            return None
        return async_settings(
            spec, region=region, account_id=account_id, default_concurrency=default_concurrency
        )

    return lookup
