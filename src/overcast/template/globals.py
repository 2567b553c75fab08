"""SAM ``Globals``: properties shared by every Function, Api and HttpApi.

The rules are SAM's, from aws-sam-translator's
``samtranslator/plugins/globals/globals.py`` (``Globals`` and ``GlobalProperties``,
version 1.115): the resource's own value wins for scalars and when the two kinds
differ; mappings merge key by key, recursively; lists concatenate (global first),
except ``Function.Architectures``, which the resource replaces; an intrinsic
function counts as a scalar. An unknown section or property is an error, as in SAM.
``IgnoreGlobals`` (``"*"`` or a list of property names) is honoured.

samtranslator's own class would do the merge, but importing it pulls in boto3 and
its API model (about 0.4 s), which ``overcast up`` would pay on every start; the
rules are a few lines, and tests/unit/template/test_globals.py checks this table
and the merge against the installed samtranslator so the two cannot drift apart.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from overcast.template.errors import InvalidTemplateError
from overcast.template.intrinsics import is_intrinsic
from overcast.template.model import Location
from overcast.template.yaml_loader import LocatedDict, key_location, location_of

__all__ = ["SUPPORTED_PROPERTIES", "Globals", "parse_globals"]

_PREFIX = "AWS::Serverless::"

# Globals.supported_properties, keyed by section name (resource type minus the prefix).
SUPPORTED_PROPERTIES: Mapping[str, tuple[str, ...]] = {
    "Function": (
        "Handler", "Runtime", "CodeUri", "DeadLetterQueue", "Description", "MemorySize",
        "Timeout", "VpcConfig", "Environment", "Tags", "PropagateTags", "Tracing",
        "KmsKeyArn", "AutoPublishAlias", "AutoPublishAliasAllProperties", "Layers",
        "DeploymentPreference", "RolePath", "PermissionsBoundary",
        "ReservedConcurrentExecutions", "ProvisionedConcurrencyConfig",
        "AssumeRolePolicyDocument", "EventInvokeConfig", "FileSystemConfigs",
        "CodeSigningConfigArn", "Architectures", "SnapStart", "EphemeralStorage",
        "FunctionUrlConfig", "RuntimeManagementConfig", "LoggingConfig", "RecursiveLoop",
        "SourceKMSKeyArn", "TenancyConfig", "DurableConfig", "CapacityProviderConfig",
        "FunctionScalingConfig", "PublishToLatestPublished", "VersionDeletionPolicy",
    ),
    "Api": (
        "Auth", "Name", "DefinitionUri", "CacheClusterEnabled", "CacheClusterSize",
        "MergeDefinitions", "Variables", "EndpointConfiguration", "MethodSettings",
        "BinaryMediaTypes", "MinimumCompressionSize", "Cors", "GatewayResponses",
        "AccessLogSetting", "CanarySetting", "TracingEnabled", "OpenApiVersion", "Domain",
        "AlwaysDeploy", "PropagateTags", "SecurityPolicy", "EndpointAccessMode",
    ),
    "HttpApi": (
        "Auth", "AccessLogSettings", "StageVariables", "Tags", "CorsConfiguration",
        "DefaultRouteSettings", "Domain", "RouteSettings", "FailOnWarnings", "PropagateTags",
    ),
    "SimpleTable": ("SSESpecification",),
    "StateMachine": ("PropagateTags",),
    "LayerVersion": ("PublishLambdaVersion",),
    "CapacityProvider": (
        "VpcConfig", "OperatorRole", "Tags", "InstanceRequirements", "ScalingConfig",
        "KmsKeyArn", "PropagateTags", "LoggingConfig", "ManagedResourceTags",
    ),
    "MicrovmImage": (
        "BuildRoleArn", "BaseImageArn", "BaseImageVersion", "Logging",
        "EgressNetworkConnectors", "CpuConfigurations", "Resources",
        "AdditionalOsCapabilities", "Hooks", "EnvironmentVariables", "Tags", "PropagateTags",
    ),
    "NetworkConnector": ("OperatorRole", "Tags", "PropagateTags"),
    "WebSocketApi": (
        "AccessLogSettings", "ApiKeySelectionExpression", "DefaultRouteSettings",
        "DisableExecuteApiEndpoint", "DisableSchemaValidation", "Domain", "FailOnWarnings",
        "IpAddressType", "PropagateTags", "RouteSelectionExpression", "RouteSettings",
        "StageVariables", "Tags",
    ),
}  # fmt: skip

# CUSTOM_STRATEGIES entries with MergeOp.REPLACE that overcast's sections use.
_REPLACE: Mapping[str, frozenset[str]] = {"Function": frozenset({"Architectures"})}


@dataclass(frozen=True, slots=True)
class Globals:
    """The parsed ``Globals`` section, ready to merge into resources."""

    sections: Mapping[str, LocatedDict] = field(default_factory=dict)
    location: Location | None = None

    def section(self, resource_type: str) -> LocatedDict | None:
        """The Globals mapping for ``AWS::Serverless::X``, if the template has one."""
        return self.sections.get(resource_type.removeprefix(_PREFIX))

    def applied(
        self,
        resource_type: str,
        properties: LocatedDict,
        *,
        logical_id: str,
        ignore_globals: Any = None,
        location: Location | None = None,
    ) -> LocatedDict:
        """``properties`` with this type's globals merged in under SAM's rules."""
        section = self.section(resource_type)
        if section is None:
            return properties
        section = _without_ignored(section, logical_id, ignore_globals, location)
        replace = _REPLACE.get(resource_type.removeprefix(_PREFIX), frozenset())
        merged = _merge(section, properties, path="", replace=replace)
        if not isinstance(merged, LocatedDict):  # a non-mapping Properties stays as written
            return properties
        return merged


def parse_globals(section: Any, *, location: Location | None = None) -> Globals:
    """Check a ``Globals`` section the way SAM does and keep it for merging."""
    if section is None:
        return Globals()
    here = location_of(section) or location
    if not isinstance(section, dict) or not section:
        raise InvalidTemplateError(
            "'Globals' section is invalid. It must be a non-empty dictionary", location=here
        )
    sections: dict[str, LocatedDict] = {}
    for name, properties in section.items():
        loc = key_location(section, name, here)
        if name not in SUPPORTED_PROPERTIES:
            raise InvalidTemplateError(
                f"'Globals' section is invalid. '{name}' is not supported",
                location=loc,
                hint="use one of " + ", ".join(sorted(SUPPORTED_PROPERTIES)),
            )
        if not isinstance(properties, LocatedDict):
            raise InvalidTemplateError(
                f"'Globals' section is invalid. Value of '{name}' must be a dictionary",
                location=loc,
            )
        for key in properties:
            if key not in SUPPORTED_PROPERTIES[name]:
                raise InvalidTemplateError(
                    f"'Globals' section is invalid. '{key}' is not a supported property of "
                    f"'{name}'",
                    location=properties.key_location(key),
                    hint=_unsupported_global_hint(name, key),
                )
        sections[name] = properties
    return Globals(sections=sections, location=here)


def _unsupported_global_hint(section: str, key: str) -> str:
    if section == "Function" and key in ("FunctionName", "Events", "Role", "Policies"):
        return f"set {key} on each function instead; SAM does not allow it in Globals"
    if section == "Api" and key == "StageName":
        return "set StageName on each AWS::Serverless::Api; SAM does not allow it in Globals"
    return "supported: " + ", ".join(SUPPORTED_PROPERTIES[section])


def _without_ignored(
    section: LocatedDict, logical_id: str, ignore: Any, location: Location | None
) -> LocatedDict:
    if not ignore:
        return section
    if ignore == "*":
        return LocatedDict(location=section.location)
    if not isinstance(ignore, list):
        raise InvalidTemplateError(
            f"Resource {logical_id} has invalid resource attribute 'IgnoreGlobals'",
            location=location,
            hint="use '*' or a list of property names",
        )
    kept = LocatedDict(section, location=section.location, key_locations=section.key_locations)
    for key in ignore:
        if key not in kept:
            raise InvalidTemplateError(
                f"Resource {logical_id} has invalid resource attribute 'IgnoreGlobals' on item "
                f"'{key}'",
                location=location,
                hint="name only properties that Globals sets: " + ", ".join(section),
            )
        del kept[key]
    return kept


def _kind(value: Any) -> str:
    if isinstance(value, dict) and not is_intrinsic(value):
        return "dict"
    if isinstance(value, list):
        return "list"
    return "scalar"


def _merge(global_value: Any, local_value: Any, *, path: str, replace: frozenset[str]) -> Any:
    kind = _kind(global_value)
    if kind != _kind(local_value) or kind == "scalar" or path in replace:
        return local_value
    if kind == "list":
        return [*global_value, *local_value]
    # Start from the globals so their keys come first, then let the resource win.
    out = LocatedDict(
        global_value,
        location=location_of(local_value) or location_of(global_value),
        key_locations=getattr(global_value, "key_locations", None),
    )
    for key, value in local_value.items():
        child = f"{path}.{key}".lstrip(".")
        out[key] = (
            _merge(global_value[key], value, path=child, replace=replace)
            if key in global_value
            else value
        )
        local_loc = key_location(local_value, key)
        if local_loc is not None:
            out.key_locations[key] = local_loc
    return out
