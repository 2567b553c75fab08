"""The SQS event source mappings a running app polls, from its template model."""

from __future__ import annotations

from overcast.events.sqs_poller import MappingTarget
from overcast.template.model import AppModel


def mapping_targets(
    model: AppModel, *, scope: str, qualifier: str, default_concurrency: int
) -> list[MappingTarget]:
    """Every enabled ``SQS`` event of ``model``, polling the queue its spec names.

    ``scope`` (stage and stack) keeps two stages' mappings of one function apart. Without
    ``ScalingConfig.MaximumConcurrency`` a mapping runs as many batches at once as the
    function may run (its reserved concurrency, else ``default_concurrency``).
    """
    targets: list[MappingTarget] = []
    for function in model.functions.values():
        for spec in function.sqs_sources:
            concurrency = spec.maximum_concurrency or (
                function.reserved_concurrency
                if function.reserved_concurrency is not None
                else default_concurrency
            )
            if not spec.enabled or concurrency < 1:
                continue  # reserved concurrency 0: Lambda would throttle every batch
            targets.append(
                MappingTarget(
                    mapping_id=f"{scope}/{function.name}/{spec.event_name}",
                    function=function.name,
                    qualifier=qualifier,
                    queue_name=spec.queue_name,
                    queue_arn=spec.queue_arn,
                    region=model.region,
                    batch_size=spec.batch_size,
                    batching_window_s=float(spec.maximum_batching_window_s),
                    report_batch_item_failures=spec.report_batch_item_failures,
                    maximum_concurrency=concurrency,
                    filter_patterns=spec.filter_patterns,
                )
            )
    return targets
