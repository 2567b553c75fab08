"""Errors raised while reading a template, each able to point at file:line:col.

Every error reads as ``file:line:col: what is wrong — what to do``, so a person
can jump to the spot and fix it without reading a stack trace.
"""

from __future__ import annotations

from overcast.errors import OvercastError
from overcast.template.model import Location


class TemplateError(OvercastError):
    """A template overcast cannot run; ``location`` says where, ``hint`` what to do."""

    location: Location | None = None

    def __init__(self, message: str, *, location: Location | None = None, hint: str = "") -> None:
        super().__init__(message, hint=hint)
        self.location = location

    def __str__(self) -> str:
        text = f"{self.location}: {self.message}" if self.location else self.message
        return f"{text} — {self.hint}" if self.hint else text


class TemplateSyntaxError(TemplateError):
    """The text is not well-formed YAML/JSON, or uses an unknown ``!Tag``."""


class InvalidTemplateError(TemplateError):
    """Well-formed text that is not a valid SAM template (missing or wrong values)."""


class UnsupportedFeatureError(InvalidTemplateError):
    """Valid SAM that overcast cannot run, e.g. a non-Python runtime or S3 code."""


class UnresolvedReferenceError(TemplateError):
    """A ``Ref``, ``Fn::GetAtt``, ``Fn::Sub`` variable or condition names nothing known."""


class IntrinsicFunctionError(TemplateError):
    """An intrinsic function got arguments of the wrong shape or value."""


class ParameterError(TemplateError):
    """A parameter override or value is unknown, missing or not allowed."""
