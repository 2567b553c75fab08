"""The resolved application model: what a SAM template means, with no intrinsics left.

Everything here is frozen data. The loader builds it from template text; the CLI,
gateway and runtime read it. Paths are absolute strings so the model stays plain data.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

from overcast.template.sqs_queues import QueueSpec

if TYPE_CHECKING:  # sns_topics reports errors at model locations: no cycle at run time
    from overcast.template.sns_topics import TopicSpec

ApiKind = Literal["rest", "http"]
PayloadFormat = Literal["1.0", "2.0"]
LambdaPayloadType = Literal["TOKEN", "REQUEST"]


@dataclass(frozen=True, slots=True)
class Location:
    """Where something sits in a template file (1-based line and column)."""

    file: str
    line: int
    column: int = 1

    def __str__(self) -> str:
        return f"{self.file}:{self.line}:{self.column}"


@dataclass(frozen=True, slots=True)
class TemplateWarning:
    """Something the template asks for that overcast does not do (yet)."""

    message: str
    location: Location | None = None

    def __str__(self) -> str:
        return f"{self.location}: {self.message}" if self.location else self.message


PolicyEffect = Literal["Allow", "Deny"]


@dataclass(frozen=True, slots=True)
class Permission:
    """One IAM statement of a function's ``Policies``, as overcast enforces it.

    ``actions`` are IAM action names (``lambda:InvokeFunction``, ``lambda:*``) and
    ``resources`` ARNs, both possibly with IAM's ``*``/``?`` wildcards; ``source``
    says where it came from (``LambdaInvokePolicy``, ``Statement``) for messages.
    """

    effect: PolicyEffect
    actions: tuple[str, ...]
    resources: tuple[str, ...]
    source: str = "Statement"


@dataclass(frozen=True, slots=True)
class FileSystemMount:
    """One of a function's ``FileSystemConfigs``: an EFS access point at a local path."""

    arn: str
    local_mount_path: str  # "/mnt/..."


DestinationType = Literal["Lambda", "SQS", "SNS", "EventBridge", "S3"]


@dataclass(frozen=True, slots=True)
class DestinationSpec:
    """An ``OnSuccess``/``OnFailure`` destination of a function's asynchronous invocations.

    ``function`` is the destination function's name when ``type`` is ``Lambda``.
    """

    type: DestinationType
    arn: str
    function: str | None = None
    location: Location | None = None


@dataclass(frozen=True, slots=True)
class EventInvokeSpec:
    """SAM ``EventInvokeConfig``: retries, maximum event age and destinations."""

    maximum_retry_attempts: int = 2
    maximum_event_age_s: int = 21_600
    on_success: DestinationSpec | None = None
    on_failure: DestinationSpec | None = None


ScheduleKind = Literal["Schedule", "ScheduleV2"]


@dataclass(frozen=True, slots=True)
class ScheduleSpec:
    """A ``Schedule`` (EventBridge rule) or ``ScheduleV2`` (EventBridge Scheduler) event.

    ``expression`` is validated (``overcast.schedule_expression`` parses it); times
    are Unix seconds; ``maximum_event_age_s`` is the RetryPolicy's, if it gives one.
    """

    event_name: str
    kind: ScheduleKind
    expression: str
    timezone: str = "UTC"
    #: the JSON text the function receives instead of the default event
    input: str | None = None
    enabled: bool = True
    #: the rule's or schedule's ``Name`` (default: made up from the function and event)
    name: str | None = None
    description: str = ""
    #: ``FlexibleTimeWindow`` ``MaximumWindowInMinutes`` (None: Mode OFF)
    flexible_window_minutes: int | None = None
    start_at: float | None = None
    end_at: float | None = None
    maximum_event_age_s: int | None = None
    maximum_retry_attempts: int | None = None
    location: Location | None = None


@dataclass(frozen=True, slots=True)
class S3EventSpec:
    """An ``S3`` event: the function runs (asynchronously) when an object of a template
    bucket changes in one of the ways ``events`` names, and its key passes the filter."""

    event_name: str
    #: the bucket's logical ID, and its name
    bucket: str
    bucket_name: str
    #: S3 event types (``s3:ObjectCreated:*``, ``s3:ObjectRemoved:Delete`` ...)
    events: tuple[str, ...]
    #: ``Filter: S3Key: Rules``: the key's prefix and suffix (None: any)
    prefix: str | None = None
    suffix: str | None = None
    location: Location | None = None


@dataclass(frozen=True, slots=True)
class SqsSourceSpec:
    """An ``SQS`` event: an event source mapping that polls a queue of the template.

    ``maximum_concurrency`` None: as many batches at once as the function may run.
    """

    event_name: str
    #: the queue's logical ID, name and ARN (the records' ``eventSourceARN``)
    queue_logical_id: str
    queue_name: str
    queue_arn: str
    batch_size: int = 10
    maximum_batching_window_s: int = 0
    #: ``FunctionResponseTypes: [ReportBatchItemFailures]``
    report_batch_item_failures: bool = False
    maximum_concurrency: int | None = None
    enabled: bool = True
    #: ``FilterCriteria``: each filter's Pattern (JSON text, checked); none: no filtering
    filter_patterns: tuple[str, ...] = ()
    location: Location | None = None


@dataclass(frozen=True, slots=True)
class DeadLetterSpec:
    """SAM ``DeadLetterQueue``: where discarded asynchronous events go (SQS or SNS)."""

    type: Literal["SQS", "SNS"]
    target_arn: str
    location: Location | None = None


@dataclass(frozen=True, slots=True)
class FunctionSpec:
    """One ``AWS::Serverless::Function`` after Globals and intrinsics are applied."""

    logical_id: str
    name: str  # FunctionName if set, else the logical ID
    handler: str  # "module.path.function"
    runtime: str  # "python3.12"
    code_dir: str  # absolute path of CodeUri
    memory_mb: int = 128
    timeout_s: float = 3.0
    environment: Mapping[str, str] = field(default_factory=dict)
    reserved_concurrency: int | None = None
    provisioned_concurrency: int = 0
    architectures: tuple[str, ...] = ("x86_64",)
    description: str = ""
    location: Location | None = None
    #: what the function's own credentials may do (from ``Policies``; empty = nothing)
    permissions: tuple[Permission, ...] = ()
    #: SAM ``AutoPublishAlias``: the alias each deploy moves to a new version
    auto_publish_alias: str | None = None
    #: SAM ``DeploymentPreference``, resolved but not interpreted (the deployer parses it)
    deployment_preference: Mapping[str, Any] | None = None
    #: ``EphemeralStorage.Size``: the function's /tmp (MB)
    ephemeral_storage_mb: int = 512
    #: ``host:port`` endpoints the function may reach (its network grants; see isolation)
    network: tuple[str, ...] = ()
    #: ``FileSystemConfigs``: persistent folders mounted into the function
    file_systems: tuple[FileSystemMount, ...] = ()
    #: ``EventInvokeConfig`` (None: Lambda's defaults, no destinations)
    event_invoke: EventInvokeSpec | None = None
    #: ``DeadLetterQueue``
    dead_letter: DeadLetterSpec | None = None
    #: ``Schedule`` and ``ScheduleV2`` events
    schedules: tuple[ScheduleSpec, ...] = ()
    #: ``S3`` events
    s3_events: tuple[S3EventSpec, ...] = ()
    #: ``SQS`` events (event source mappings)
    sqs_sources: tuple[SqsSourceSpec, ...] = ()


@dataclass(frozen=True, slots=True)
class CorsConfig:
    """CORS as API Gateway applies it (both REST ``Cors`` and HTTP ``CorsConfiguration``)."""

    allow_origins: tuple[str, ...] = ()
    allow_methods: tuple[str, ...] = ()
    allow_headers: tuple[str, ...] = ()
    expose_headers: tuple[str, ...] = ()
    max_age: int | None = None
    allow_credentials: bool = False


@dataclass(frozen=True, slots=True)
class JwtAuthorizerSpec:
    """An HTTP API JWT authorizer (SAM ``OAuth2Authorizer``).

    ``identity_source`` is the selection expression the token is read from, e.g.
    ``$request.header.Authorization``; ``authorization_scopes`` are the scopes a
    route gets when it uses this authorizer without naming its own.
    """

    name: str
    issuer: str
    audiences: tuple[str, ...]
    identity_source: str = "$request.header.Authorization"
    authorization_scopes: tuple[str, ...] = ()
    location: Location | None = None


@dataclass(frozen=True, slots=True)
class LambdaAuthorizerSpec:
    """A Lambda authorizer of a REST API (TOKEN or REQUEST) or an HTTP API (REQUEST).

    ``function`` is the FunctionName of the authorizer function (taken from its
    FunctionArn). ``identity_sources`` are normalised to HTTP API selection
    expressions for both API kinds: ``$request.header.Name``,
    ``$request.querystring.name``, ``$stageVariables.name``, ``$context.name``.
    ``payload_format`` is the HTTP API AuthorizerPayloadFormatVersion ("1.0" for
    REST). ``ttl_s`` is ReauthorizeEvery (0 disables the result cache).
    """

    name: str
    function: str
    api_kind: ApiKind
    payload_type: LambdaPayloadType = "TOKEN"
    payload_format: PayloadFormat = "1.0"
    simple_responses: bool = False
    identity_sources: tuple[str, ...] = ("$request.header.Authorization",)
    ttl_s: int = 300
    validation_expression: str | None = None  # REST TOKEN Identity.ValidationExpression
    location: Location | None = None


AuthorizerSpec = JwtAuthorizerSpec | LambdaAuthorizerSpec

QuotaPeriod = Literal["DAY", "WEEK", "MONTH"]


@dataclass(frozen=True, slots=True)
class ThrottleSettings:
    """API Gateway throttling: ``rate_limit`` requests per second, ``burst_limit`` at once.

    A zero in either blocks every request, as on API Gateway.
    https://docs.aws.amazon.com/apigateway/latest/developerguide/api-gateway-request-throttling.html
    """

    rate_limit: float
    burst_limit: int


@dataclass(frozen=True, slots=True)
class ThrottleRule:
    """One throttling entry of an API, before it is applied to routes.

    REST ``MethodSettings``: ``resource_path`` is the decoded path (``/users/{id}``)
    or ``/*`` (every resource), ``http_method`` a method or ``*``. HTTP APIs:
    ``DefaultRouteSettings`` is ``("/*", "*")`` and a ``RouteSettings`` key
    ``"GET /x"`` is ``("/x", "GET")`` (``$default`` is ``("$default", "ANY")``).
    A None limit was not written: a less specific rule supplies it.
    """

    resource_path: str
    http_method: str
    rate_limit: float | None = None
    burst_limit: int | None = None
    location: Location | None = None


@dataclass(frozen=True, slots=True)
class QuotaSettings:
    """A usage plan's quota: ``limit`` requests per calendar ``period`` (UTC).

    ``offset`` is subtracted from the limit in the first period only.
    https://docs.aws.amazon.com/apigateway/latest/api/API_QuotaSettings.html
    """

    limit: int
    period: QuotaPeriod
    offset: int = 0


@dataclass(frozen=True, slots=True)
class UsagePlanSpec:
    """The usage plan SAM creates for a REST API's ``Auth.UsagePlan``.

    ``logical_id`` is SAM's name for it: ``<Api>UsagePlan`` (PER_API) or
    ``ServerlessUsagePlan`` (SHARED, one plan for every API that says SHARED);
    ``name`` is its UsagePlanName, else the logical ID. Throttle and quota apply
    per API key.
    https://docs.aws.amazon.com/serverless-application-model/latest/developerguide/sam-property-api-apiusageplan.html
    """

    logical_id: str
    name: str
    throttle: ThrottleSettings | None = None
    quota: QuotaSettings | None = None
    location: Location | None = None


@dataclass(frozen=True, slots=True)
class ApiSpec:
    """An API: explicit ``AWS::Serverless::Api``/``HttpApi`` or SAM's implicit one.

    ``api_id`` is a stable 10-character id like API Gateway's, derived from the
    stack name and logical ID so events look real and stay the same across runs.
    """

    logical_id: str
    kind: ApiKind
    api_id: str
    stage_name: str
    cors: CorsConfig | None = None
    stage_variables: Mapping[str, str] = field(default_factory=dict)
    implicit: bool = False
    binary_media_types: tuple[str, ...] = ()  # REST API BinaryMediaTypes, e.g. "image/png", "*/*"
    location: Location | None = None
    authorizers: Mapping[str, AuthorizerSpec] = field(default_factory=dict)  # by name
    default_authorizer: str | None = None
    #: REST ``MethodSettings`` / HTTP ``DefaultRouteSettings`` and ``RouteSettings``
    #: throttling entries (already applied to each route's ``RouteSpec.throttle``)
    throttle_rules: tuple[ThrottleRule, ...] = ()
    #: REST ``Auth.ApiKeyRequired``: routes need an ``x-api-key`` unless their event says no
    api_key_required: bool = False
    #: REST ``Auth.UsagePlan`` (not NONE): per-key throttle and quota
    usage_plan: UsagePlanSpec | None = None


@dataclass(frozen=True, slots=True)
class RouteSpec:
    """One event source of type ``Api`` or ``HttpApi`` on a function.

    ``path`` is as written in the template (``/users/{id}``, ``/{proxy+}``) or
    ``$default`` for an HTTP API's catch-all; ``method`` is upper case or ``ANY``.
    """

    api: str  # logical ID of the ApiSpec
    method: str
    path: str
    function: str  # logical ID of the FunctionSpec
    event_name: str
    payload_format: PayloadFormat
    timeout_ms: int | None = None  # HttpApi TimeoutInMillis
    location: Location | None = None
    # The authorizer guarding the route (a key of its ApiSpec.authorizers), with the
    # API's DefaultAuthorizer and ``Authorizer: NONE`` already applied; None = open.
    authorizer: str | None = None
    authorization_scopes: tuple[str, ...] = ()
    #: the route's own throttle (REST MethodSettings, HTTP RouteSettings); None = none
    throttle: ThrottleSettings | None = None
    #: REST: a request needs a valid ``x-api-key`` (event Auth.ApiKeyRequired, else the API's)
    api_key_required: bool = False


@dataclass(frozen=True, slots=True)
class AppModel:
    """A whole SAM app, resolved."""

    template_path: str
    stack_name: str
    region: str
    account_id: str
    functions: Mapping[str, FunctionSpec]  # by logical ID
    apis: Mapping[str, ApiSpec]  # by logical ID
    routes: tuple[RouteSpec, ...]
    parameters: Mapping[str, str] = field(default_factory=dict)
    warnings: tuple[TemplateWarning, ...] = ()
    #: ``AWS::CloudWatch::Alarm`` resources by logical ID: their resolved Properties
    alarms: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    #: ``AWS::Budgets::Budget`` resources by logical ID: their resolved Properties
    budgets: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    #: logical IDs of ``AWS::S3::Bucket`` resources
    buckets: tuple[str, ...] = ()
    #: each ``AWS::S3::Bucket``'s name, by logical ID (created when the app starts)
    bucket_names: Mapping[str, str] = field(default_factory=dict)
    #: ``AWS::SQS::Queue`` resources by logical ID (created when the app starts)
    queues: Mapping[str, QueueSpec] = field(default_factory=dict)
    #: ``AWS::SNS::Topic`` resources by logical ID, with their subscribers (created at start)
    topics: Mapping[str, TopicSpec] = field(default_factory=dict)

    def function_by_name(self, name: str) -> FunctionSpec | None:
        """Look a function up by FunctionName or logical ID."""
        for spec in self.functions.values():
            if name in (spec.name, spec.logical_id):
                return spec
        return None
