"""SAM templates: text in, resolved :class:`AppModel` out.

Owns parsing (YAML with CloudFormation tags, with line numbers), SAM Globals,
Parameters, Conditions, intrinsic functions and the mapping of
``AWS::Serverless::*`` resources onto the model. Pure: no sockets, no processes,
and no file access beyond what the caller hands in. May import only
``overcast.errors`` and the standard library / PyYAML / cfn-lint / samtranslator.
"""

from overcast.template.model import (
    ApiSpec,
    AppModel,
    CorsConfig,
    FunctionSpec,
    Location,
    RouteSpec,
    TemplateWarning,
)

__all__ = [
    "ApiSpec",
    "AppModel",
    "CorsConfig",
    "FunctionSpec",
    "Location",
    "RouteSpec",
    "TemplateWarning",
]
