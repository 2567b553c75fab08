"""Evaluating a function's template permissions, and turning them into a Vault policy.

IAM's evaluation logic, reduced to what overcast enforces
(https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_evaluation-logic.html):
a request is denied unless some statement allows it, and an explicit ``Deny`` beats any
``Allow``. Actions match case-insensitively, resources case-sensitively; both may use
``*`` (any run of characters) and ``?`` (one character)
(https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_action.html,
https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_resource.html).
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable
from functools import lru_cache

import orjson

from overcast.template import Permission

logger = logging.getLogger(__name__)

GET_SECRET_VALUE = "secretsmanager:GetSecretValue"  # noqa: S105  (an action name)
_SECRET_ARN = re.compile(r"arn:[^:]*:secretsmanager:[^:]*:[^:]*:secret:(?P<name>.+)")
# Secrets Manager appends "-" and 6 random characters to a secret's ARN; policies often
# match it with "-??????". The embedded store has no suffixes.
_RANDOM_SUFFIX = "-??????"


@lru_cache(maxsize=1024)
def _glob(pattern: str, ignore_case: bool) -> re.Pattern[str]:
    parts = (".*" if c == "*" else "." if c == "?" else re.escape(c) for c in pattern)
    return re.compile("".join(parts), re.IGNORECASE | re.DOTALL if ignore_case else re.DOTALL)


def _matches(pattern: str, value: str, ignore_case: bool) -> bool:
    return _glob(pattern, ignore_case).fullmatch(value) is not None


def _applies(permission: Permission, action: str, resource: str) -> bool:
    return any(_matches(a, action, True) for a in permission.actions) and any(
        _matches(r, resource, False) for r in permission.resources
    )


def allows(permissions: Iterable[Permission], action: str, resource: str) -> bool:
    """Whether ``permissions`` allow ``action`` on ``resource`` (deny by default)."""
    allowed = False
    for permission in permissions:
        if _applies(permission, action, resource):
            if permission.effect == "Deny":
                return False
            allowed = True
    return allowed


def _vault_pattern(resource: str, prefix: str = "") -> str | None:
    """The KV v2 path pattern for a secret ARN pattern, or None when Vault cannot say it."""
    if resource == "*":
        return f"secret/data/{prefix}*"
    match = _SECRET_ARN.fullmatch(resource)
    if match is None:
        return None
    name = match.group("name")
    if name.endswith(_RANDOM_SUFFIX):
        name = name[: -len(_RANDOM_SUFFIX)]
    # Vault globs only with a trailing "*"; "?" or an inner "*" has no Vault spelling.
    stem = name[:-1] if name.endswith("*") else name
    if (not stem and not name.endswith("*")) or "*" in stem or "?" in stem:
        return None
    return f"secret/data/{prefix}{name}"


def vault_policy(
    function_name: str, permissions: Iterable[Permission], *, prefixes: tuple[str, ...] = ("",)
) -> str:
    """The Vault policy (JSON form) a function's token carries.

    Read on its own ``secret/data/<name>`` and everything under it, plus the secrets
    that ``secretsmanager:GetSecretValue`` statements grant; denied ones get Vault's
    ``deny``, which wins there as an IAM Deny does. Each of ``prefixes`` (on a platform
    ``dev/auth/`` and ``dev/``: the stack's own secrets and the stage's shared ones)
    puts every path below it, as ``{{resolve:secretsmanager:NAME}}`` reads there.
    """
    paths: dict[str, list[str]] = {}
    for prefix in prefixes:
        paths[f"secret/data/{prefix}{function_name}"] = ["read"]
        paths[f"secret/data/{prefix}{function_name}/*"] = ["read"]
    for permission in permissions:
        if not any(_matches(a, GET_SECRET_VALUE, True) for a in permission.actions):
            continue
        for resource in permission.resources:
            for prefix in prefixes:
                pattern = _vault_pattern(resource, prefix)
                if pattern is None:
                    logger.warning(
                        "function %s: secret resource %r has no Vault path form; %s",
                        function_name,
                        resource,
                        "it is ignored" if permission.effect == "Allow" else "denying every secret",
                    )
                    if permission.effect == "Deny":
                        paths = {pattern: ["deny"] for pattern in paths}
                        paths[f"secret/data/{prefix}*"] = ["deny"]
                    continue
                if paths.get(pattern) != ["deny"]:
                    paths[pattern] = ["deny"] if permission.effect == "Deny" else ["read"]
    return orjson.dumps({"path": {p: {"capabilities": c} for p, c in paths.items()}}).decode()
