"""``overcast validate``'s second opinion: cfn-lint's findings as TemplateWarnings.

cfn-lint checks a template against AWS's resource schemas (and SAM's), which
overcast's loader does not attempt. It takes about a second and imports a lot, so
it is imported here lazily and used only by ``overcast validate``, never when an
app starts. It works offline: schemas ship inside the cfn-lint package and are
fetched only by ``cfn-lint --update-specs``, which this never asks for. cfn-lint
does read a ``.cfnlintrc`` from the home or working directory if one exists.
"""

from __future__ import annotations

from typing import Any

from overcast.template.model import Location, TemplateWarning

__all__ = ["lint_template"]

# cfn-lint checks one region unless told otherwise; overcast's default region.
_REGIONS = ["us-east-1"]


def lint_template(text: str, filename: str) -> list[TemplateWarning]:
    """Run cfn-lint on template ``text``; each finding becomes a located warning.

    Messages start with cfn-lint's rule id (``E…`` errors, ``W…`` warnings,
    ``I…`` informational), e.g. ``E3034 5 is less than the minimum of 128``.
    """
    from cfnlint.api import lint  # noqa: PLC0415 - slow import, only for validate
    from cfnlint.config import ManualArgs  # noqa: PLC0415

    matches: list[Any] = lint(text, config=ManualArgs(regions=_REGIONS))
    warnings = []
    for match in matches:
        rule_id = getattr(match.rule, "id", "")
        line = max(int(match.linenumber or 1), 1)
        column = max(int(match.columnnumber or 1), 1)
        warnings.append(
            TemplateWarning(f"{rule_id} {match.message}".strip(), Location(filename, line, column))
        )
    return warnings
