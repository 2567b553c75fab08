"""SAM templates: text in, resolved :class:`AppModel` out.

Owns parsing (YAML with CloudFormation tags, with line numbers), SAM Globals,
Parameters, Conditions, intrinsic functions and the mapping of
``AWS::Serverless::*`` resources onto the model. Pure: no sockets, no processes,
and no file access beyond what the caller hands in. May import only
``overcast.errors``, the neutral ``overcast.schedule_expression`` and
``overcast.event_filter``, and the standard library / PyYAML / cfn-lint / samtranslator
(orjson through ``event_filter``).

Entry points: :func:`load_template` (the hot path, used by ``overcast up``),
:func:`parse_parameter_overrides` (CLI ``--parameter-overrides``) and
:func:`lint_template` (cfn-lint, slow, for ``overcast validate`` only).
"""

from overcast.template.errors import (
    IntrinsicFunctionError,
    InvalidTemplateError,
    ParameterError,
    TemplateError,
    TemplateSyntaxError,
    UnresolvedReferenceError,
    UnsupportedFeatureError,
)
from overcast.template.lint import lint_template
from overcast.template.loader import SAM_TRANSFORM, load_template, parse_parameter_overrides
from overcast.template.model import (
    ApiSpec,
    AppModel,
    AuthorizerSpec,
    CorsConfig,
    FunctionSpec,
    JwtAuthorizerSpec,
    LambdaAuthorizerSpec,
    Location,
    Permission,
    RouteSpec,
    TemplateWarning,
)
from overcast.template.sam_resources import SUPPORTED_RUNTIMES

__all__ = [
    "SAM_TRANSFORM",
    "SUPPORTED_RUNTIMES",
    "ApiSpec",
    "AppModel",
    "AuthorizerSpec",
    "CorsConfig",
    "FunctionSpec",
    "IntrinsicFunctionError",
    "InvalidTemplateError",
    "JwtAuthorizerSpec",
    "LambdaAuthorizerSpec",
    "Location",
    "ParameterError",
    "Permission",
    "RouteSpec",
    "TemplateError",
    "TemplateSyntaxError",
    "TemplateWarning",
    "UnresolvedReferenceError",
    "UnsupportedFeatureError",
    "lint_template",
    "load_template",
    "parse_parameter_overrides",
]
