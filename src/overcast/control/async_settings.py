"""A function's asynchronous-invocation settings, from its template model, for the queue."""

from __future__ import annotations

from collections.abc import Callable, Mapping

from overcast.events import AsyncSettings, Destination, RetryConfig
from overcast.template.model import DestinationSpec, FunctionSpec


def _destination(spec: DestinationSpec | None) -> Destination | None:
    if spec is None:
        return None
    # A Lambda destination is a function of the same app, run by name.
    return Destination(spec.type, spec.function if spec.function is not None else spec.arn)


def async_settings(
    spec: FunctionSpec, *, region: str, account_id: str, default_concurrency: int
) -> AsyncSettings:
    """What the dispatcher needs of ``spec``: retries, concurrency and destinations."""
    concurrency = (
        spec.reserved_concurrency if spec.reserved_concurrency is not None else default_concurrency
    )
    config = spec.event_invoke
    return AsyncSettings(
        function_arn=f"arn:aws:lambda:{region}:{account_id}:function:{spec.name}",
        retry=(
            RetryConfig(config.maximum_retry_attempts, config.maximum_event_age_s)
            if config is not None
            else RetryConfig()
        ),
        concurrency=concurrency,
        on_success=_destination(config.on_success) if config is not None else None,
        on_failure=_destination(config.on_failure) if config is not None else None,
        dead_letter=spec.dead_letter.target_arn if spec.dead_letter is not None else None,
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
