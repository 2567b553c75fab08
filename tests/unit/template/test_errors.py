"""Template errors read as file:line:col: message — hint, and sit under OvercastError."""

from __future__ import annotations

from overcast.errors import OvercastError
from overcast.template import (
    InvalidTemplateError,
    Location,
    ParameterError,
    TemplateError,
    TemplateSyntaxError,
    UnresolvedReferenceError,
    UnsupportedFeatureError,
)


def test_error_text_with_location_and_hint() -> None:
    error = InvalidTemplateError(
        "Function 'Hello' has no Handler",
        location=Location("template.yaml", 12, 5),
        hint="add Handler: app.handler (module.function)",
    )
    assert str(error) == (
        "template.yaml:12:5: Function 'Hello' has no Handler — "
        "add Handler: app.handler (module.function)"
    )
    assert error.message == "Function 'Hello' has no Handler"


def test_error_text_without_location_or_hint() -> None:
    assert str(ParameterError("bad")) == "bad"
    assert str(ParameterError("bad", hint="fix it")) == "bad — fix it"
    assert str(ParameterError("bad", location=Location("t.yaml", 1))) == "t.yaml:1:1: bad"


def test_hierarchy() -> None:
    for cls in (
        TemplateSyntaxError,
        InvalidTemplateError,
        UnsupportedFeatureError,
        UnresolvedReferenceError,
        ParameterError,
    ):
        assert issubclass(cls, TemplateError)
    assert issubclass(TemplateError, OvercastError)
    assert issubclass(UnsupportedFeatureError, InvalidTemplateError)
