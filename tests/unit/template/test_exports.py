"""The public surface of overcast.template: exactly what __all__ lists, all importable."""

from __future__ import annotations

import subprocess
import sys

import overcast.template as template

EXPECTED = {
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
}


def test_all_lists_the_public_api() -> None:
    assert set(template.__all__) == EXPECTED
    assert len(template.__all__) == len(EXPECTED)


def test_every_exported_name_exists() -> None:
    for name in template.__all__:
        assert getattr(template, name) is not None, name


def test_public_names_say_where_they_live() -> None:
    for name in template.__all__:
        value = getattr(template, name)
        module = getattr(value, "__module__", None)
        if module is not None and callable(value):
            assert module.startswith("overcast.template"), (name, module)


def test_package_has_a_docstring_naming_what_it_owns() -> None:
    assert template.__doc__ is not None
    assert "Pure" in template.__doc__


def test_importing_the_package_does_not_import_cfn_lint_or_samtranslator() -> None:
    code = (
        "import sys, overcast.template;"
        "bad = [m for m in sys.modules if m.split('.')[0] in ('cfnlint', 'samtranslator')];"
        "print(bad)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
