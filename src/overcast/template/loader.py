"""Template text → :class:`AppModel`: the one entry point the rest of overcast calls.

Order of work, as SAM and CloudFormation do it: parse; read Parameters (with the
caller's overrides); parse Globals; evaluate each resource's Condition and drop
the false ones; merge Globals into each serverless resource; resolve intrinsics;
map resources to specs; create the implicit APIs SAM would create; tie events to
APIs. Outputs are not read: nothing overcast runs depends on them.
"""

from __future__ import annotations

import dataclasses
import hashlib
import uuid
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from overcast.template.auth import ApiAuth, function_name_from_arn, parse_api_auth, route_auth
from overcast.template.diagnostics import WarningLog
from overcast.template.errors import (
    InvalidTemplateError,
    UnresolvedReferenceError,
    UnsupportedFeatureError,
)
from overcast.template.globals import Globals, parse_globals
from overcast.template.intrinsics import NO_VALUE, Resolver
from overcast.template.isolation import endpoints
from overcast.template.model import (
    ApiKind,
    ApiSpec,
    AppModel,
    FunctionSpec,
    LambdaAuthorizerSpec,
    Location,
    RouteSpec,
    S3EventSpec,
    ScheduleSpec,
)
from overcast.template.parameters import (
    ParameterValue,
    parse_parameter_overrides,
    resolve_parameters,
)
from overcast.template.policies import ArnContext
from overcast.template.s3_events import (
    S3_EVENT_TYPE,
    bucket_attributes,
    bucket_reference,
    check_overlaps,
    generated_bucket_name,
    parse_s3_event,
    warn_bucket_properties,
)
from overcast.template.sam_resources import (
    API_TYPE,
    FUNCTION_PROPERTIES,
    FUNCTION_TYPE,
    HTTP_API_PROPERTIES,
    HTTP_API_TYPE,
    IMPLICIT_HTTP_API,
    IMPLICIT_REST_API,
    IMPLICIT_REST_STAGE,
    REST_API_PROPERTIES,
    EventSpec,
    api_id_for,
    build_function,
    build_http_api,
    build_rest_api,
    parse_event,
    plain,
    unsupported_properties,
    warn_unsupported,
)
from overcast.template.schedule_events import (
    RULE_TYPE,
    SCHEDULE_TYPE,
    is_schedule,
    parse_schedule_event,
    parse_schedule_resource,
)
from overcast.template.sns_topics import EVENT_TYPE as SNS_EVENT_TYPE
from overcast.template.sns_topics import KNOWN_PROPERTIES as TOPIC_PROPERTIES
from overcast.template.sns_topics import (
    SUBSCRIPTION_TYPE,
    TOPIC_TYPE,
    TopicSpec,
    sns_event,
    subscription,
    topic_arn,
    topic_attributes,
)
from overcast.template.sqs_events import is_sqs, parse_sqs_event
from overcast.template.sqs_queues import (
    KNOWN_PROPERTIES,
    QUEUE_TYPE,
    QueueSpec,
    generated_name,
    queue_arn,
    queue_attributes,
    queue_url,
)
from overcast.template.throttling import (
    check_plan_conflicts,
    route_throttle,
    rule_target,
    unused_rules,
)
from overcast.template.yaml_loader import LocatedDict, parse_yaml

__all__ = ["SAM_TRANSFORM", "load_template", "parse_parameter_overrides", "pseudo_parameters"]

SAM_TRANSFORM = "AWS::Serverless-2016-10-31"
ALARM_TYPE = "AWS::CloudWatch::Alarm"
BUDGET_TYPE = "AWS::Budgets::Budget"
BUCKET_TYPE = "AWS::S3::Bucket"
#: EFS: each access point is a persistent folder of the stage (see template.isolation)
EFS_ACCESS_POINT_TYPE = "AWS::EFS::AccessPoint"
EFS_FILE_SYSTEM_TYPE = "AWS::EFS::FileSystem"
_EFS_TYPES = {EFS_ACCESS_POINT_TYPE: "fsap", EFS_FILE_SYSTEM_TYPE: "fs"}

# https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/template-anatomy.html
_SECTIONS = frozenset(
    {
        "AWSTemplateFormatVersion", "Description", "Metadata", "Parameters", "Rules",
        "Mappings", "Conditions", "Transform", "Resources", "Outputs", "Globals",
    }
)  # fmt: skip
_API_TYPES: Mapping[str, ApiKind] = {API_TYPE: "rest", HTTP_API_TYPE: "http"}
_IMPLICIT: Mapping[ApiKind, str] = {"rest": IMPLICIT_REST_API, "http": IMPLICIT_HTTP_API}
_EVENT_KINDS: Mapping[str, ApiKind] = {"Api": "rest", "HttpApi": "http"}
_EVENT_API_KEY: Mapping[ApiKind, str] = {"rest": "RestApiId", "http": "ApiId"}
_SUPPORTED_GLOBALS: Mapping[str, frozenset[str]] = {
    "Function": FUNCTION_PROPERTIES,
    "Api": REST_API_PROPERTIES - {"StageName"},
    "HttpApi": HTTP_API_PROPERTIES,
}


def load_template(
    text: str,
    *,
    filename: str,
    base_dir: str,
    parameter_overrides: Mapping[str, str] | None = None,
    stack_name: str = "overcast",
    region: str = "us-east-1",
    account_id: str = "123456789012",
    physical_stack: str | None = None,
) -> AppModel:
    """Parse and resolve a SAM template into an :class:`AppModel`.

    ``filename`` is used in error locations (and as the model's template path);
    ``base_dir`` is the folder CodeUri paths are relative to. ``physical_stack`` is
    the stack name generated physical names (queues) derive from, ``stack_name`` when
    None: a platform gives each stage its own (on AWS each stage is its own stack, so
    a stage's queues are its own). Raises a
    :class:`~overcast.template.errors.TemplateError` subclass pointing at
    ``file:line:col`` when the template cannot run.
    """
    loader = _Loader(
        filename=filename,
        base_dir=base_dir,
        overrides=dict(parameter_overrides or {}),
        stack_name=stack_name,
        region=region,
        account_id=account_id,
        physical_stack=physical_stack,
    )
    return loader.load(text)


def pseudo_parameters(stack_name: str, region: str, account_id: str) -> dict[str, Any]:
    """CloudFormation's pseudo parameters for a stack.

    https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/pseudo-parameter-reference.html
    """
    if region.startswith("cn-"):
        partition, suffix = "aws-cn", "amazonaws.com.cn"
    elif region.startswith("us-gov-"):
        partition, suffix = "aws-us-gov", "amazonaws.com"
    else:
        partition, suffix = "aws", "amazonaws.com"
    # A stack id ends in a UUID; derive it from the name so it stays the same per stack.
    stack_uuid = uuid.uuid5(uuid.NAMESPACE_URL, f"overcast:{account_id}:{region}:{stack_name}")
    return {
        "AWS::Region": region,
        "AWS::AccountId": account_id,
        "AWS::StackName": stack_name,
        "AWS::StackId": (
            f"arn:{partition}:cloudformation:{region}:{account_id}:stack/{stack_name}/{stack_uuid}"
        ),
        "AWS::Partition": partition,
        "AWS::URLSuffix": suffix,
        "AWS::NoValue": NO_VALUE,
        "AWS::NotificationARNs": [],
    }


@dataclass(slots=True)
class _Resource:
    logical_id: str
    type: str
    body: LocatedDict
    location: Location | None
    dropped_by: str | None = None  # the false Condition that removes it

    @property
    def properties(self) -> LocatedDict:
        props = self.body.get("Properties")
        if props is None:
            return LocatedDict(location=self.properties_location)
        if not isinstance(props, LocatedDict):
            raise InvalidTemplateError(
                f"Resource '{self.logical_id}' Properties must be a mapping",
                location=self.properties_location,
            )
        return props

    @property
    def properties_location(self) -> Location | None:
        return self.body.key_location("Properties") if "Properties" in self.body else self.location


class _ResourceTable:
    """What ``Ref``/``Fn::GetAtt`` give for each resource (see intrinsics.ResourceTable)."""

    def __init__(self, loader: _Loader) -> None:
        self._loader = loader
        self._names: dict[str, str] = {}
        self._naming: set[str] = set()

    def __contains__(self, logical_id: object) -> bool:
        return logical_id in self._loader.resources or logical_id in self._loader.implicit_apis

    def names(self) -> list[str]:
        return [*self._loader.resources, *self._loader.implicit_apis]

    def _check_exists(self, logical_id: str, loc: Location | None) -> _Resource | None:
        resource = self._loader.resources.get(logical_id)
        if resource is not None and resource.dropped_by is not None:
            raise UnresolvedReferenceError(
                f"'{logical_id}' is referenced but not created: its Condition "
                f"'{resource.dropped_by}' is false",
                location=loc,
                hint="guard the reference with !If on the same condition",
            )
        return resource

    def function_name(self, logical_id: str) -> str:
        """FunctionName if set (resolved), else the logical ID, as overcast names functions."""
        if logical_id in self._names:
            return self._names[logical_id]
        resource = self._loader.resources[logical_id]
        raw = resource.properties.get("FunctionName")
        if raw is None:
            name = logical_id
        else:
            if logical_id in self._naming:
                raise UnresolvedReferenceError(
                    f"Function '{logical_id}' FunctionName refers to itself",
                    location=resource.properties.key_location("FunctionName"),
                )
            self._naming.add(logical_id)
            try:
                name = self._loader.resolver.resolve_text(
                    raw,
                    f"Function '{logical_id}' FunctionName",
                    resource.properties.key_location("FunctionName"),
                )
            finally:
                self._naming.discard(logical_id)
        self._names[logical_id] = name
        return name

    def queue_name(self, resource: _Resource) -> str:
        """QueueName if set (resolved), else CloudFormation's generated form."""
        return self._physical_name(resource, "Queue", "QueueName", generated_name)

    def bucket_name(self, resource: _Resource) -> str:
        """BucketName if set (resolved), else a stable generated lower-case name."""
        return self._physical_name(resource, "Bucket", "BucketName", generated_bucket_name)

    def topic_name(self, resource: _Resource) -> str:
        """TopicName if set (resolved), else the generated form (as a queue's)."""
        return self._physical_name(resource, "Topic", "TopicName", generated_name)

    def _physical_name(
        self,
        resource: _Resource,
        kind: str,
        key: str,
        generate: Callable[[str, str], str],
    ) -> str:
        """The name property ``key`` resolved, else ``generate(physical stack, logical
        id)``; a name that refers to itself is an error at its line."""
        raw = resource.properties.get(key)
        if raw is None:
            return generate(self._loader.physical_stack, resource.logical_id)
        if resource.logical_id in self._naming:
            raise UnresolvedReferenceError(
                f"{kind} '{resource.logical_id}' {key} refers to itself",
                location=resource.properties.key_location(key),
            )
        self._naming.add(resource.logical_id)
        try:
            return self._loader.resolver.resolve_text(
                raw,
                f"{kind} '{resource.logical_id}' {key}",
                resource.properties.key_location(key),
            )
        finally:
            self._naming.discard(resource.logical_id)

    def _efs_id(self, resource: _Resource) -> str:
        """A stable EFS id (``fsap-…``/``fs-…``) from the stack and the logical ID."""
        digest = hashlib.sha256(
            f"{self._loader.stack_name}/{resource.logical_id}".encode()
        ).hexdigest()
        return f"{_EFS_TYPES[resource.type]}-{digest[:17]}"

    def ref(self, logical_id: str, location: Location | None) -> Any:
        resource = self._check_exists(logical_id, location)
        if resource is None or resource.type in _API_TYPES:
            return api_id_for(self._loader.stack_name, logical_id)
        if resource.type == FUNCTION_TYPE:
            return self.function_name(logical_id)
        if resource.type in _EFS_TYPES:
            return self._efs_id(resource)
        if resource.type == QUEUE_TYPE:
            loader = self._loader
            return queue_url(loader.region, loader.account_id, self.queue_name(resource))
        if resource.type == BUCKET_TYPE:
            return self.bucket_name(resource)
        if resource.type == TOPIC_TYPE:
            loader = self._loader
            return topic_arn(
                loader.pseudo["AWS::Partition"], loader.region, loader.account_id,
                self.topic_name(resource),
            )  # fmt: skip
        self._loader.log.warn(
            f"Ref {logical_id}: '{logical_id}' ({resource.type}) is not run by overcast; "
            f"its Ref resolves to '{logical_id}'",
            location,
        )
        return logical_id

    def get_att(self, logical_id: str, attribute: str, location: Location | None) -> Any:
        resource = self._check_exists(logical_id, location)
        loader = self._loader
        kind = _API_TYPES.get(resource.type) if resource else loader.implicit_apis.get(logical_id)
        known: dict[str, str] = {}
        if resource is not None and resource.type == FUNCTION_TYPE:
            partition = loader.pseudo["AWS::Partition"]
            known["Arn"] = (
                f"arn:{partition}:lambda:{loader.region}:{loader.account_id}:function:"
                f"{self.function_name(logical_id)}"
            )
        elif resource is not None and resource.type in _EFS_TYPES:
            efs_id = self._efs_id(resource)
            partition = loader.pseudo["AWS::Partition"]
            kind_name = "access-point" if resource.type == EFS_ACCESS_POINT_TYPE else "file-system"
            known["Arn"] = (
                f"arn:{partition}:elasticfilesystem:{loader.region}:{loader.account_id}:"
                f"{kind_name}/{efs_id}"
            )
            known["AccessPointId" if kind_name == "access-point" else "FileSystemId"] = efs_id
        elif resource is not None and resource.type == QUEUE_TYPE:
            name = self.queue_name(resource)
            partition = loader.pseudo["AWS::Partition"]
            known["Arn"] = queue_arn(partition, loader.region, loader.account_id, name)
            known["QueueName"] = name
            known["QueueUrl"] = queue_url(loader.region, loader.account_id, name)
        elif resource is not None and resource.type == BUCKET_TYPE:
            known.update(
                bucket_attributes(
                    self.bucket_name(resource),
                    loader.pseudo["AWS::Partition"],
                    loader.region,
                    loader.pseudo["AWS::URLSuffix"],
                )
            )
        elif resource is not None and resource.type == TOPIC_TYPE:
            name = self.topic_name(resource)
            partition = loader.pseudo["AWS::Partition"]
            known["TopicArn"] = topic_arn(partition, loader.region, loader.account_id, name)
            known["TopicName"] = name
        elif kind == "rest":
            known["RootResourceId"] = api_id_for(loader.stack_name, f"{logical_id}/")
        elif kind == "http":
            api_id = api_id_for(loader.stack_name, logical_id)
            known["ApiId"] = api_id
            known["ApiEndpoint"] = (
                f"https://{api_id}.execute-api.{loader.region}.{loader.pseudo['AWS::URLSuffix']}"
            )
        elif resource is not None:
            placeholder = f"{logical_id}.{attribute}"
            loader.log.warn(
                f"Fn::GetAtt {placeholder}: '{logical_id}' ({resource.type}) is not run by "
                f"overcast; the value is the placeholder '{placeholder}'",
                location,
            )
            return placeholder
        if attribute not in known:
            raise UnresolvedReferenceError(
                f"Fn::GetAtt {logical_id}.{attribute}: '{logical_id}' has no attribute "
                f"'{attribute}'",
                location=location,
                hint="known attributes: " + ", ".join(known),
            )
        return known[attribute]


class _Loader:
    """One load: holds what the stages share (parameters, resolver, warnings)."""

    def __init__(
        self,
        *,
        filename: str,
        base_dir: str,
        overrides: dict[str, str],
        stack_name: str,
        region: str,
        account_id: str,
        physical_stack: str | None = None,
    ) -> None:
        self.filename = filename
        self.base_dir = base_dir
        self.overrides = overrides
        self.stack_name = stack_name
        #: what generated physical names (queues) derive from: see load_template
        self.physical_stack = physical_stack or stack_name
        self.region = region
        self.account_id = account_id
        self.log = WarningLog()
        self.pseudo = pseudo_parameters(stack_name, region, account_id)
        self.resources: dict[str, _Resource] = {}
        self.implicit_apis: dict[str, ApiKind] = {}
        # Authorizer names each API defines but overcast cannot run (Cognito, IAM).
        self.unsupported_authorizers: dict[str, frozenset[str]] = {}
        #: the template's Metadata: overcast: vpc: endpoints (functions with VpcConfig)
        self.vpc_endpoints: tuple[str, ...] = ()
        #: the template's Metadata: overcast: network: endpoints (every function)
        self.app_endpoints: tuple[str, ...] = ()
        self.globals = Globals()
        self.resolver = Resolver(parameters={}, pseudo_parameters=self.pseudo, region=region)

    def _top(self) -> Location:
        return Location(self.filename, 1, 1)

    # -- stages ------------------------------------------------------------------

    def load(self, text: str) -> AppModel:
        doc = parse_yaml(text, self.filename)
        if doc is None:
            raise InvalidTemplateError(
                "the template is empty",
                location=self._top(),
                hint="start from `overcast init` or a SAM template with Transform and Resources",
            )
        if not isinstance(doc, LocatedDict):
            raise InvalidTemplateError(
                "the template must be a mapping of sections (Transform, Resources, ...)",
                location=self._top(),
            )
        self._check_sections(doc)
        parameters = self._parameters(doc)
        self.globals = parse_globals(doc.get("Globals"), location=doc.key_location("Globals"))
        self._warn_globals()
        self._collect_resources(doc)
        table = _ResourceTable(self)
        self.resolver = Resolver(
            parameters=parameters,
            pseudo_parameters=self.pseudo,
            mappings=self._section(doc, "Mappings"),
            conditions=self._section(doc, "Conditions"),
            resources=table,
            region=self.region,
        )
        self._apply_conditions()
        self._find_implicit_apis()
        self.vpc_endpoints = self._template_endpoints(doc, "vpc")
        self.app_endpoints = self._template_endpoints(doc, "network")

        functions: dict[str, FunctionSpec] = {}
        events: list[tuple[str, EventSpec]] = []
        apis: dict[str, ApiSpec] = {}
        alarms: dict[str, Mapping[str, Any]] = {}
        budgets: dict[str, Mapping[str, Any]] = {}
        buckets: list[str] = []
        bucket_names: dict[str, str] = {}
        queues: dict[str, QueueSpec] = {}
        scheduled: list[_Resource] = []
        topic_resources: list[_Resource] = []
        for resource in self.resources.values():
            if resource.dropped_by is not None:
                continue
            if resource.type == FUNCTION_TYPE:
                functions[resource.logical_id] = self._function(resource, table)
                events.extend((resource.logical_id, e) for e in self._events(resource))
                schedules = self._schedules(resource)
                if schedules:
                    functions[resource.logical_id] = dataclasses.replace(
                        functions[resource.logical_id], schedules=schedules
                    )
                s3_events = self._s3_events(resource, table)
                if s3_events:
                    functions[resource.logical_id] = dataclasses.replace(
                        functions[resource.logical_id], s3_events=s3_events
                    )
            elif resource.type in _API_TYPES:
                apis[resource.logical_id] = self._api(resource)
            elif resource.type == ALARM_TYPE:
                alarms[resource.logical_id] = self._plain_properties(resource)
            elif resource.type == BUDGET_TYPE:
                budgets[resource.logical_id] = self._plain_properties(resource)
            elif resource.type == BUCKET_TYPE:
                buckets.append(resource.logical_id)
                bucket_names[resource.logical_id] = table.bucket_name(resource)
                warn_bucket_properties(self.log, resource.logical_id, resource.properties)
            elif resource.type == QUEUE_TYPE:
                queues[resource.logical_id] = self._queue(resource, table)
            elif resource.type in (TOPIC_TYPE, SUBSCRIPTION_TYPE):
                topic_resources.append(resource)
            elif resource.type in _EFS_TYPES:
                continue  # folders of the stage, made when a function mounts one
            elif resource.type in (RULE_TYPE, SCHEDULE_TYPE):
                scheduled.append(resource)
            else:
                self.log.warn(
                    f"Resource '{resource.logical_id}' ({resource.type}) is not run by "
                    "overcast; it is ignored",
                    resource.location,
                )
        for logical_id, kind in self.implicit_apis.items():
            apis[logical_id] = self._implicit_api(logical_id, kind, events)
        self._check_function_names(functions)
        check_overlaps(
            [(f"Function '{f.logical_id}'", e) for f in functions.values() for e in f.s3_events]
        )
        functions = self._attach_scheduled_resources(scheduled, functions)
        functions = self._attach_sqs_sources(functions, queues)
        topics = self._topics(topic_resources, functions, table)
        self._check_authorizer_functions(apis, functions)
        self._check_destination_functions(functions)
        apis = self._share_usage_plans(apis)
        routes = self._routes(events, apis)
        self._warn_unused_throttle_rules(apis, routes)
        return AppModel(
            template_path=self.filename,
            stack_name=self.stack_name,
            region=self.region,
            account_id=self.account_id,
            functions=functions,
            apis=apis,
            routes=routes,
            parameters={
                name: ",".join(value) if isinstance(value, list) else value
                for name, value in parameters.items()
            },
            warnings=self.log.as_tuple(),
            alarms=alarms,
            budgets=budgets,
            buckets=tuple(buckets),
            bucket_names=bucket_names,
            queues=queues,
            topics=topics,
        )

    def _check_sections(self, doc: LocatedDict) -> None:
        for key in doc:
            if key not in _SECTIONS:
                raise InvalidTemplateError(
                    f"unknown top-level section '{key}'",
                    location=doc.key_location(key),
                    hint="sections are " + ", ".join(sorted(_SECTIONS)),
                )
        transform = doc.get("Transform")
        transforms = transform if isinstance(transform, list) else [transform]
        if SAM_TRANSFORM not in transforms:
            raise InvalidTemplateError(
                f"the template does not declare the SAM transform {SAM_TRANSFORM}",
                location=doc.key_location("Transform") if transform is not None else self._top(),
                hint=f"add a top-level line `Transform: {SAM_TRANSFORM}`",
            )
        resources = doc.get("Resources")
        if not isinstance(resources, LocatedDict) or not resources:
            raise InvalidTemplateError(
                "Resources must be a mapping with at least one resource",
                location=doc.key_location("Resources") if "Resources" in doc else self._top(),
                hint="declare functions under Resources, e.g. "
                "Hello: {Type: AWS::Serverless::Function, ...}",
            )

    def _section(self, doc: LocatedDict, name: str) -> LocatedDict:
        value = doc.get(name)
        if value is None:
            return LocatedDict(location=doc.key_location(name))
        if not isinstance(value, LocatedDict):
            raise InvalidTemplateError(f"{name} must be a mapping", location=doc.key_location(name))
        return value

    def _parameters(self, doc: LocatedDict) -> dict[str, ParameterValue]:
        values, warnings = resolve_parameters(
            doc.get("Parameters"),
            self.overrides,
            filename=self.filename,
            section_location=doc.key_location("Parameters") if "Parameters" in doc else None,
        )
        self.log.extend(warnings)
        return values

    def _warn_globals(self) -> None:
        for name, section in self.globals.sections.items():
            if name not in _SUPPORTED_GLOBALS:
                self.log.warn(
                    f"Globals section '{name}' applies to resources overcast does not run; "
                    "it is ignored",
                    section.location,
                )
                continue
            for key in unsupported_properties(section, _SUPPORTED_GLOBALS[name]):
                self.log.warn(
                    f"Globals {name}: property '{key}' is not supported by overcast; it is ignored",
                    section.key_location(key),
                )

    def _collect_resources(self, doc: LocatedDict) -> None:
        section = doc["Resources"]
        for logical_id, body in section.items():
            loc = section.key_location(logical_id)
            if not isinstance(body, LocatedDict) or not isinstance(body.get("Type"), str):
                raise InvalidTemplateError(
                    f"Resource '{logical_id}' must be a mapping with a Type",
                    location=loc,
                    hint="add Type: AWS::Serverless::Function (or another resource type)",
                )
            self.resources[logical_id] = _Resource(logical_id, body["Type"], body, loc)

    def _apply_conditions(self) -> None:
        for resource in self.resources.values():
            name = resource.body.get("Condition")
            if name is None:
                continue
            loc = resource.body.key_location("Condition")
            if not isinstance(name, str):
                raise InvalidTemplateError(
                    f"Resource '{resource.logical_id}' Condition must be a condition name",
                    location=loc,
                )
            if not self.resolver.condition(name, loc):
                resource.dropped_by = name

    def _find_implicit_apis(self) -> None:
        for resource in self.resources.values():
            if resource.type != FUNCTION_TYPE or resource.dropped_by is not None:
                continue
            events = resource.properties.get("Events")
            if not isinstance(events, dict):
                continue
            for event in events.values():
                if not isinstance(event, dict):
                    continue
                kind = _EVENT_KINDS.get(event.get("Type"))  # type: ignore[arg-type]
                props = event.get("Properties")
                if kind is None or (isinstance(props, dict) and _EVENT_API_KEY[kind] in props):
                    continue
                # A template may declare ServerlessRestApi itself to configure the
                # implicit API; SAM then uses that resource instead of creating one.
                if _IMPLICIT[kind] not in self.resources:
                    self.implicit_apis.setdefault(_IMPLICIT[kind], kind)

    # -- resources ---------------------------------------------------------------

    def _merged(self, resource: _Resource) -> LocatedDict:
        return self.globals.applied(
            resource.type,
            resource.properties,
            logical_id=resource.logical_id,
            ignore_globals=resource.body.get("IgnoreGlobals"),
            location=resource.body.key_location("IgnoreGlobals"),
        )

    def _resolved(self, props: LocatedDict, skip: str = "") -> LocatedDict:
        kept = LocatedDict(
            {key: value for key, value in props.items() if key != skip},
            location=props.location,
            key_locations=props.key_locations,
        )
        resolved = self.resolver.resolve(kept, props.location)
        if not isinstance(resolved, LocatedDict):  # resolve keeps a mapping a mapping
            raise InvalidTemplateError("Properties must be a mapping", location=props.location)
        return resolved

    def _overcast_metadata(self, body: LocatedDict) -> LocatedDict | None:
        metadata = body.get("Metadata")
        overcast = metadata.get("overcast") if isinstance(metadata, LocatedDict) else None
        return overcast if isinstance(overcast, LocatedDict) else None

    def _template_endpoints(self, doc: LocatedDict, key: str) -> tuple[str, ...]:
        """The template's ``Metadata: overcast: <key>:`` endpoints (``network`` or ``vpc``)."""
        overcast = self._overcast_metadata(doc)
        if overcast is None or key not in overcast:
            return ()
        loc = overcast.key_location(key)
        value = self.resolver.resolve(overcast[key], loc)
        return endpoints(f"Metadata overcast {key}", value, loc)

    def _network(self, resource: _Resource, props: LocatedDict) -> tuple[str, ...]:
        owner = f"Function '{resource.logical_id}'"
        grants: list[str] = list(self.app_endpoints)
        overcast = self._overcast_metadata(resource.body)
        if overcast is not None and "network" in overcast:
            loc = overcast.key_location("network")
            value = self.resolver.resolve(overcast["network"], loc)
            grants.extend(endpoints(f"{owner} Metadata overcast network", value, loc))
        if props.get("VpcConfig"):
            grants.extend(self.vpc_endpoints)
        return tuple(dict.fromkeys(grants))

    def _function(self, resource: _Resource, table: _ResourceTable) -> FunctionSpec:
        owner = f"Function '{resource.logical_id}'"
        warn_unsupported(self.log, owner, resource.properties, FUNCTION_PROPERTIES | {"InlineCode"})
        props = self._resolved(self._merged(resource), skip="Events")
        return build_function(
            resource.logical_id,
            props,
            base_dir=self.base_dir,
            location=resource.location,
            properties_location=resource.properties_location,
            log=self.log,
            name=table.function_name(resource.logical_id),
            arn=ArnContext(self.pseudo["AWS::Partition"], self.region, self.account_id),
            network=self._network(resource, props),
        )

    def _queue(self, resource: _Resource, table: _ResourceTable) -> QueueSpec:
        properties = self._plain_properties(resource)
        for name in properties:
            if name not in KNOWN_PROPERTIES:
                self.log.warn(
                    f"Queue '{resource.logical_id}' {name} is not supported by overcast's "
                    "queues (standard queues only); it is ignored",
                    resource.properties.key_location(name),
                )
        return QueueSpec(
            resource.logical_id, table.queue_name(resource), queue_attributes(properties)
        )

    def _topics(
        self,
        resources: list[_Resource],
        functions: Mapping[str, FunctionSpec],
        table: _ResourceTable,
    ) -> dict[str, TopicSpec]:
        """The template's topics, each with its subscribers: its inline ``Subscription``
        list, the ``AWS::SNS::Subscription`` resources naming it, and the functions'
        ``SNS`` events. A subscription to a topic the template does not hold is refused."""
        partition = self.pseudo["AWS::Partition"]
        topics: dict[str, TopicSpec] = {}
        added: dict[str, list[Any]] = {}
        for resource in resources:
            if resource.type != TOPIC_TYPE:
                continue
            owner = f"Topic '{resource.logical_id}'"
            properties = self._plain_properties(resource)
            for name in properties:
                if name not in TOPIC_PROPERTIES:
                    self.log.warn(
                        f"{owner} {name} is not supported by overcast's topics; it is ignored",
                        resource.properties.key_location(name),
                    )
            entries = properties.get("Subscription") or []
            where = resource.properties.key_location("Subscription")
            if not isinstance(entries, list) or not all(isinstance(e, Mapping) for e in entries):
                raise InvalidTemplateError(
                    f"{owner} Subscription must be a list of {{Protocol, Endpoint}}",
                    location=where,
                )
            inline = (subscription(f"{owner} Subscription", e, where, self.log) for e in entries)
            topics[resource.logical_id] = TopicSpec(
                resource.logical_id,
                table.topic_name(resource),
                topic_attributes(properties),
                tuple(s for s in inline if s is not None),
            )
        by_arn = {
            topic_arn(partition, self.region, self.account_id, spec.name): logical_id
            for logical_id, spec in topics.items()
        }
        for resource in resources:
            if resource.type != SUBSCRIPTION_TYPE:
                continue
            owner = f"Subscription '{resource.logical_id}'"
            properties = self._plain_properties(resource)
            arn = properties.get("TopicArn")
            if not isinstance(arn, str) or arn not in by_arn:
                raise InvalidTemplateError(
                    f"{owner} TopicArn '{arn}' is not a topic of this template",
                    location=resource.properties.key_location("TopicArn") or resource.location,
                    hint="overcast runs only the template's own AWS::SNS::Topic resources",
                )
            found = subscription(owner, properties, resource.location, self.log)
            if found is not None:
                added.setdefault(by_arn[arn], []).append(found)
        for logical_id, function in functions.items():
            for name, _kind, loc, props in self._events_of(
                self.resources[logical_id],
                lambda kind: kind == SNS_EVENT_TYPE,
                "write Properties: {Topic: !Ref MyTopic}",
            ):
                arn = (
                    f"arn:{partition}:lambda:{self.region}:{self.account_id}:function:"
                    f"{function.name}"
                )
                plain_props = {str(k): plain(v) for k, v in self._resolved(props).items()}
                topic, found = sns_event(
                    f"Function '{logical_id}'",
                    name,
                    plain_props,
                    function_arn=arn,
                    topics=by_arn,
                    location=loc,
                    log=self.log,
                )
                added.setdefault(topic, []).append(found)
        return {
            logical_id: dataclasses.replace(
                spec, subscriptions=(*spec.subscriptions, *added.get(logical_id, ()))
            )
            for logical_id, spec in topics.items()
        }

    def _plain_properties(self, resource: _Resource) -> Mapping[str, Any]:
        """A resource's Properties, resolved, as plain data for the package that reads them
        (alarms: deploys and ``overcast.observe``; budgets: ``overcast.observe.budgets``)."""
        props = self._resolved(resource.properties)
        return {str(k): plain(v) for k, v in props.items()}

    def _events(self, resource: _Resource) -> list[EventSpec]:
        owner = f"Function '{resource.logical_id}'"
        events = resource.properties.get("Events")
        if events is None:
            return []
        if not isinstance(events, LocatedDict):
            raise InvalidTemplateError(
                f"{owner} Events must be a mapping of event names to events",
                location=resource.properties.key_location("Events"),
            )
        specs = []
        for name, event in events.items():
            loc = events.key_location(name)
            if not isinstance(event, LocatedDict) or not isinstance(event.get("Type"), str):
                raise InvalidTemplateError(
                    f"{owner} event '{name}' must be a mapping with a Type",
                    location=loc,
                    hint="add Type: HttpApi (or Api) and Properties: {Path: /x, Method: get}",
                )
            kind = _EVENT_KINDS.get(event["Type"])
            if (
                is_schedule(event["Type"])
                or is_sqs(event["Type"])
                or event["Type"] == S3_EVENT_TYPE
                or event["Type"] == SNS_EVENT_TYPE
            ):
                # self._schedules, self._attach_sqs_sources, self._s3_events and
                # self._topics read them
                continue
            if kind is None:
                self.log.warn(
                    f"{owner} event '{name}' of type '{event['Type']}' is not run by overcast; "
                    "it is ignored",
                    loc,
                )
                continue
            props = event.get("Properties")
            if props is None:
                props = LocatedDict(location=loc)
            if not isinstance(props, LocatedDict):
                raise InvalidTemplateError(
                    f"{owner} event '{name}' Properties must be a mapping", location=loc
                )
            api_key = _EVENT_API_KEY[kind]
            api = self._event_api(owner, name, props, api_key)
            specs.append(
                parse_event(
                    owner,
                    name,
                    kind,
                    api,
                    self._resolved(props, skip=api_key),
                    location=loc,
                    log=self.log,
                )
            )
        return specs

    def _events_of(
        self, resource: _Resource, matches: Callable[[object], bool], hint: str
    ) -> Iterator[tuple[str, Any, Location | None, LocatedDict]]:
        """A function's events whose Type ``matches``, as (name, Type, location,
        Properties). Properties that are not a mapping stop the load at the event
        (``hint``: what to write); ``_events`` checked the rest of their shape."""
        events = resource.properties.get("Events")
        if not isinstance(events, LocatedDict):
            return
        for name, event in events.items():
            if not isinstance(event, LocatedDict) or not matches(event.get("Type")):
                continue
            loc = events.key_location(name)
            props = event.get("Properties")
            if not isinstance(props, LocatedDict):
                raise InvalidTemplateError(
                    f"Function '{resource.logical_id}' event '{name}' Properties must be a mapping",
                    location=loc,
                    hint=hint,
                )
            yield name, event["Type"], loc, props

    def _schedules(self, resource: _Resource) -> tuple[ScheduleSpec, ...]:
        """The function's ``Schedule``/``ScheduleV2`` events."""
        owner = f"Function '{resource.logical_id}'"
        hint = "write Properties: {Schedule: rate(5 minutes)}"
        return tuple(
            parse_schedule_event(
                owner, name, kind, self._resolved(props), location=loc, log=self.log
            )
            for name, kind, loc, props in self._events_of(resource, is_schedule, hint)
        )

    def _s3_events(self, resource: _Resource, table: _ResourceTable) -> tuple[S3EventSpec, ...]:
        """The function's ``S3`` events."""
        owner = f"Function '{resource.logical_id}'"
        hint = "write Properties: {Bucket: !Ref MyBucket, Events: s3:ObjectCreated:*}"
        specs = []
        for name, _kind, loc, props in self._events_of(
            resource, lambda kind: kind == S3_EVENT_TYPE, hint
        ):
            logical_id = bucket_reference(owner, name, props, loc)
            bucket = self.resources.get(logical_id)
            if bucket is None or bucket.type != BUCKET_TYPE or bucket.dropped_by is not None:
                raise InvalidTemplateError(
                    f"{owner} event '{name}' Bucket: '{logical_id}' is not an AWS::S3::Bucket "
                    "of this template (SAM accepts no other bucket)",
                    location=props.key_location("Bucket"),
                )
            specs.append(
                parse_s3_event(
                    owner,
                    name,
                    self._resolved(props, skip="Bucket"),
                    bucket=logical_id,
                    bucket_name=table.bucket_name(bucket),
                    location=loc,
                    log=self.log,
                )
            )
        return tuple(specs)

    def _attach_sqs_sources(
        self, functions: dict[str, FunctionSpec], queues: Mapping[str, QueueSpec]
    ) -> dict[str, FunctionSpec]:
        """Each function's ``SQS`` events, read once every queue of the template is known
        (``_events`` checked their shape)."""
        partition = self.pseudo["AWS::Partition"]
        by_arn = {
            queue_arn(partition, self.region, self.account_id, spec.name): spec
            for spec in queues.values()
        }
        hint = "write Properties: {Queue: !GetAtt MyQueue.Arn}"
        for logical_id, spec in functions.items():
            owner = f"Function '{logical_id}'"
            sources = [
                parse_sqs_event(
                    owner, name, self._resolved(props), queues=by_arn, location=loc, log=self.log
                )
                for name, _kind, loc, props in self._events_of(
                    self.resources[logical_id], is_sqs, hint
                )
            ]
            if sources:
                functions[logical_id] = dataclasses.replace(spec, sqs_sources=tuple(sources))
        return functions

    def _attach_scheduled_resources(
        self, scheduled: list[_Resource], functions: dict[str, FunctionSpec]
    ) -> dict[str, FunctionSpec]:
        """``AWS::Events::Rule`` / ``AWS::Scheduler::Schedule`` resources that invoke a
        function of the template, added to that function's schedules."""
        by_name = {spec.name: logical_id for logical_id, spec in functions.items()}

        def function_name(arn: str) -> str | None:
            name = function_name_from_arn(arn)
            return name if name in by_name else None

        for resource in scheduled:
            found = parse_schedule_resource(
                resource.logical_id,
                resource.type,
                self._resolved(resource.properties),
                stack_name=self.stack_name,
                location=resource.location,
                log=self.log,
                function_name=function_name,
            )
            for name, spec in found:
                logical_id = by_name[name]
                owner = functions[logical_id]
                functions[logical_id] = dataclasses.replace(
                    owner, schedules=(*owner.schedules, spec)
                )
        return functions

    def _event_api(self, owner: str, event: str, props: LocatedDict, key: str) -> str | None:
        # SAM reads the API's logical ID from the Ref itself (Api.get_rest_api_id_string),
        # so this is taken before intrinsics turn the Ref into an api id.
        if key not in props:
            return None
        value = props[key]
        if isinstance(value, dict) and set(value) == {"Ref"} and isinstance(value["Ref"], str):
            return str(value["Ref"])
        if isinstance(value, str):
            return value
        raise InvalidTemplateError(
            f"{owner} event '{event}' {key} must be !Ref to an API in this template",
            location=props.key_location(key),
            hint=f"write {key}: !Ref MyApi",
        )

    def _api(self, resource: _Resource) -> ApiSpec:
        kind = _API_TYPES[resource.type]
        owner = f"{'Api' if kind == 'rest' else 'HttpApi'} '{resource.logical_id}'"
        supported = REST_API_PROPERTIES if kind == "rest" else HTTP_API_PROPERTIES
        warn_unsupported(self.log, owner, resource.properties, supported)
        props = self._resolved(self._merged(resource))
        build = build_rest_api if kind == "rest" else build_http_api
        return build(
            resource.logical_id,
            props,
            stack_name=self.stack_name,
            location=resource.location,
            properties_location=resource.properties_location,
            log=self.log,
            auth=self._api_auth(owner, resource.logical_id, kind, props),
        )

    def _api_auth(self, owner: str, logical_id: str, kind: ApiKind, props: LocatedDict) -> ApiAuth:
        auth = parse_api_auth(owner, kind, props, self.log, logical_id=logical_id)
        self.unsupported_authorizers[logical_id] = auth.unsupported
        return auth

    def _implicit_api(
        self, logical_id: str, kind: ApiKind, events: list[tuple[str, EventSpec]]
    ) -> ApiSpec:
        location = next((e.location for _, e in events if e.kind == kind and e.api is None), None)
        # SAM fixes the implicit REST API's stage to "Prod"; Globals cannot change it.
        base = LocatedDict({"StageName": IMPLICIT_REST_STAGE} if kind == "rest" else {})
        resource_type = API_TYPE if kind == "rest" else HTTP_API_TYPE
        merged = self.globals.applied(resource_type, base, logical_id=logical_id)
        props = self._resolved(merged)
        build = build_rest_api if kind == "rest" else build_http_api
        owner = f"{'Api' if kind == 'rest' else 'HttpApi'} '{logical_id}'"
        return build(
            logical_id,
            props,
            stack_name=self.stack_name,
            location=location,
            properties_location=location,
            log=self.log,
            implicit=True,
            auth=self._api_auth(owner, logical_id, kind, props),
        )

    # -- cross-checks ----------------------------------------------------------------

    def _check_function_names(self, functions: Mapping[str, FunctionSpec]) -> None:
        seen: dict[str, FunctionSpec] = {}
        for spec in functions.values():
            other = seen.get(spec.name)
            if other is not None:
                raise InvalidTemplateError(
                    f"Functions '{other.logical_id}' and '{spec.logical_id}' are both named "
                    f"'{spec.name}'",
                    location=spec.location,
                    hint="give each function its own FunctionName",
                )
            seen[spec.name] = spec

    def _check_authorizer_functions(
        self, apis: Mapping[str, ApiSpec], functions: Mapping[str, FunctionSpec]
    ) -> None:
        names = {spec.name for spec in functions.values()}
        for api in apis.values():
            for spec in api.authorizers.values():
                if isinstance(spec, LambdaAuthorizerSpec) and spec.function not in names:
                    raise UnsupportedFeatureError(
                        f"authorizer '{spec.name}' of API '{api.logical_id}' runs function "
                        f"'{spec.function}', which is not a function of this template",
                        location=spec.location,
                        hint="declare the authorizer function in the template and use "
                        "FunctionArn: !GetAtt MyAuthorizer.Arn",
                    )

    def _check_destination_functions(self, functions: Mapping[str, FunctionSpec]) -> None:
        names = {spec.name for spec in functions.values()}
        for spec in functions.values():
            config = spec.event_invoke
            targets = (config.on_success, config.on_failure) if config is not None else ()
            for target in targets:
                if target is not None and target.function not in (None, *names):
                    raise UnsupportedFeatureError(
                        f"Function '{spec.logical_id}' sends its asynchronous invocation "
                        f"records to function '{target.function}', which is not a "
                        "function of this template",
                        location=target.location,
                        hint="declare the destination function in the template and use "
                        "Destination: !GetAtt OtherFunction.Arn",
                    )

    def _share_usage_plans(self, apis: dict[str, ApiSpec]) -> dict[str, ApiSpec]:
        """APIs with ``CreateUsagePlan: SHARED`` share one plan (SAM's ServerlessUsagePlan)."""
        plans = check_plan_conflicts(
            (api.usage_plan for api in apis.values() if api.usage_plan is not None), self.log
        )
        return {
            name: (
                dataclasses.replace(api, usage_plan=plans[api.usage_plan.logical_id])
                if api.usage_plan is not None
                else api
            )
            for name, api in apis.items()
        }

    def _warn_unused_throttle_rules(
        self, apis: Mapping[str, ApiSpec], routes: tuple[RouteSpec, ...]
    ) -> None:
        for api in apis.values():
            if not api.throttle_rules:
                continue
            own = [route for route in routes if route.api == api.logical_id]
            for rule in unused_rules(api.throttle_rules, own):
                self.log.warn(
                    f"API '{api.logical_id}': throttling for {rule_target(rule, api.kind)} "
                    "matches no route of the API; it has no effect",
                    rule.location,
                )

    def _routes(
        self, events: list[tuple[str, EventSpec]], apis: Mapping[str, ApiSpec]
    ) -> tuple[RouteSpec, ...]:
        routes: list[RouteSpec] = []
        claimed: dict[tuple[str, str, str], tuple[str, EventSpec]] = {}
        for function, event in events:
            api_name = event.api or _IMPLICIT[event.kind]
            self._check_event_api(function, event, api_name, apis)
            key = (api_name, event.method, event.path)
            if key in claimed:
                other_function, other = claimed[key]
                raise InvalidTemplateError(
                    f"route {event.method} {event.path} on API '{api_name}' is claimed by "
                    f"Function '{other_function}' event '{other.name}' and by Function "
                    f"'{function}' event '{event.name}'",
                    location=event.location,
                    hint="give each route one function, or change a Path or Method",
                )
            claimed[key] = (function, event)
            authorizer, scopes = route_auth(
                f"Function '{function}' event '{event.name}'",
                event.auth,
                apis[api_name],
                self.unsupported_authorizers.get(api_name, frozenset()),
            )
            api = apis[api_name]
            key_required = api.api_key_required
            if event.auth is not None and event.auth.api_key_required is not None:
                key_required = event.auth.api_key_required
            route = RouteSpec(
                api=api_name,
                method=event.method,
                path=event.path,
                function=function,
                event_name=event.name,
                payload_format=event.payload_format,
                timeout_ms=event.timeout_ms,
                location=event.location,
                authorizer=authorizer,
                authorization_scopes=scopes,
                api_key_required=key_required,
            )
            if api.throttle_rules:
                throttle = route_throttle(
                    f"Function '{function}' event '{event.name}' throttling",
                    route,
                    api.throttle_rules,
                    self.log,
                )
                route = dataclasses.replace(route, throttle=throttle)
            routes.append(route)
        return tuple(routes)

    def _check_event_api(
        self, function: str, event: EventSpec, api_name: str, apis: Mapping[str, ApiSpec]
    ) -> None:
        what = f"Function '{function}' event '{event.name}'"
        key = _EVENT_API_KEY[event.kind]
        wanted = API_TYPE if event.kind == "rest" else HTTP_API_TYPE
        api = apis.get(api_name)
        if api is not None and api.kind == event.kind:
            return
        resource = self.resources.get(api_name)
        if resource is not None and resource.dropped_by is not None:
            raise UnresolvedReferenceError(
                f"{what} {key} refers to '{api_name}', which is not created: its Condition "
                f"'{resource.dropped_by}' is false",
                location=event.location,
            )
        if api is not None:
            other = "HttpApi" if event.kind == "rest" else "Api"
            raise InvalidTemplateError(
                f"{what} {key} refers to '{api_name}', which is a "
                f"{API_TYPE if api.kind == 'rest' else HTTP_API_TYPE}, not a {wanted}",
                location=event.location,
                hint=f"use an event of Type: {other} for it",
            )
        raise UnresolvedReferenceError(
            f"{what} {key} refers to '{api_name}', which is not a {wanted} in this template",
            location=event.location,
            hint=f"declare {api_name} with Type: {wanted}, or remove {key} to use SAM's "
            "implicit API",
        )
