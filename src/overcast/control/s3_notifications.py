"""A running app's S3 notifications: which functions a bucket's changes invoke, and the
hook that queues those invocations (through the Dispatcher, durably, with retries).

S3 invokes a function asynchronously (``InvocationType: Event``) with one record per
change; a notification's ``configurationId`` is the id of its entry in the bucket's
notification configuration, which SAM leaves to CloudFormation: overcast names it
after the function and the event (``<LogicalId>-<EventName>``).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass

from overcast.control.s3_buckets import BucketStore
from overcast.control.s3_xml import S3Error
from overcast.errors import OvercastError
from overcast.events import Dispatcher
from overcast.events.s3_event import ObjectChange, s3_event_payload, wanted
from overcast.invoke import InvokeRequest
from overcast.template.model import AppModel


class TemplateBucketError(OvercastError):
    """A template's bucket cannot be created (its BucketName breaks S3's rules)."""


@dataclass(frozen=True, slots=True)
class S3Target:
    """One function an ``S3`` event of the template subscribes to a bucket."""

    function: str
    qualifier: str
    configuration_id: str
    events: tuple[str, ...]
    prefix: str | None = None
    suffix: str | None = None


def s3_targets(model: AppModel, *, qualifier: str) -> dict[str, list[S3Target]]:
    """Every ``S3`` event of ``model``, by bucket name."""
    targets: dict[str, list[S3Target]] = {}
    for function in model.functions.values():
        for spec in function.s3_events:
            targets.setdefault(spec.bucket_name, []).append(
                S3Target(
                    function=function.name,
                    qualifier=qualifier,
                    configuration_id=f"{function.logical_id}-{spec.event_name}",
                    events=spec.events,
                    prefix=spec.prefix,
                    suffix=spec.suffix,
                )
            )
    return targets


def create_template_buckets(store: BucketStore, buckets: Mapping[str, str]) -> None:
    """Create each ``AWS::S3::Bucket`` (logical ID → name) that does not exist yet."""
    for logical_id, name in buckets.items():
        try:
            store.create(name)
        except S3Error as exc:
            raise TemplateBucketError(
                f"Bucket '{logical_id}' ({name}): {exc.message}",
                hint="bucket names are 3-63 characters: lower-case letters, digits, '.' and '-'",
            ) from None


class S3Notifier:
    """The S3 API's change hook: queues an Event invocation per matching notification."""

    def __init__(
        self,
        events: Dispatcher,
        targets: Callable[[], Mapping[str, Sequence[S3Target]]],
        *,
        region: str,
        owner: str,
    ) -> None:
        self._events = events
        self._targets = targets
        self._region = region
        self._owner = owner

    def matching(self, change: ObjectChange) -> Iterable[S3Target]:
        """The notifications that want ``change``."""
        for target in self._targets().get(change.bucket, ()):
            if wanted(target.events, target.prefix, target.suffix, change):
                yield target

    async def __call__(self, change: ObjectChange) -> None:
        for target in self.matching(change):
            payload = s3_event_payload(
                change,
                region=self._region,
                configuration_id=target.configuration_id,
                owner=self._owner,
            )
            await self._events.submit(
                InvokeRequest(target.function, payload, qualifier=target.qualifier)
            )
