"""IAM-style evaluation of function permissions, and the Vault policy they become."""

from __future__ import annotations

import orjson
from hypothesis import given
from hypothesis import strategies as st

from overcast.control.permissions import allows, vault_policy
from overcast.secrets import Policy, evaluate, parse_policy
from overcast.template import Permission

FN = "arn:aws:lambda:us-east-1:123456789012:function"
INVOKE = "lambda:InvokeFunction"


def test_nothing_is_allowed_without_a_matching_allow() -> None:
    assert not allows((), INVOKE, f"{FN}:b")
    assert not allows((Permission("Allow", (INVOKE,), (f"{FN}:b",)),), INVOKE, f"{FN}:c")


def test_sam_invoke_policy_wildcard_covers_the_function_and_its_qualifiers_only() -> None:
    policy = (Permission("Allow", (INVOKE,), (f"{FN}:b*",)),)
    assert allows(policy, INVOKE, f"{FN}:b")
    assert allows(policy, INVOKE, f"{FN}:b:live")
    assert not allows(policy, INVOKE, f"{FN}:c")
    assert not allows(policy, "lambda:GetFunction", f"{FN}:b")


def test_actions_match_case_insensitively_and_resources_case_sensitively() -> None:
    policy = (Permission("Allow", ("Lambda:invoke*",), (f"{FN}:B",)),)
    assert allows(policy, INVOKE, f"{FN}:B")
    assert not allows(policy, INVOKE, f"{FN}:b")


def test_question_mark_matches_exactly_one_character() -> None:
    policy = (Permission("Allow", ("lambda:*",), (f"{FN}:b?",)),)
    assert allows(policy, INVOKE, f"{FN}:b1")
    assert not allows(policy, INVOKE, f"{FN}:b")
    assert not allows(policy, INVOKE, f"{FN}:b12")


@given(st.text(alphabet="abcXYZ09-_:", min_size=1, max_size=20))
def test_an_explicit_deny_beats_any_allow(name: str) -> None:
    policy = (
        Permission("Allow", ("*",), ("*",)),
        Permission("Deny", (INVOKE,), (f"{FN}:{name}",)),
    )
    assert not allows(policy, INVOKE, f"{FN}:{name}")
    assert allows(policy, "lambda:GetFunction", f"{FN}:{name}")


def _vault(permissions: tuple[Permission, ...]) -> Policy:
    text = vault_policy("a", permissions)
    orjson.loads(text)  # valid JSON, which the store's HCL parser reads
    return parse_policy("fn-a", text)


def test_a_function_reads_its_own_secrets_and_no_other_functions() -> None:
    policy = _vault(())
    assert evaluate([policy], "secret/data/a", "read")
    assert evaluate([policy], "secret/data/a/db", "read")
    assert not evaluate([policy], "secret/data/a/db", "update")
    assert not evaluate([policy], "secret/data/ab", "read")
    assert not evaluate([policy], "secret/data/b/db", "read")


def test_granted_secret_arns_become_readable_paths_and_denied_ones_deny() -> None:
    arn = "arn:aws:secretsmanager:us-east-1:123456789012:secret:"
    policy = _vault(
        (
            Permission("Allow", ("secretsmanager:GetSecretValue",), (f"{arn}shared/db-??????",)),
            Permission("Allow", ("secretsmanager:*",), (f"{arn}team/*",)),
            Permission("Deny", ("secretsmanager:GetSecretValue",), (f"{arn}team/root",)),
            Permission("Allow", (INVOKE,), (f"{arn}not-a-secret-grant",)),
        )
    )
    assert evaluate([policy], "secret/data/shared/db", "read")
    assert evaluate([policy], "secret/data/team/x", "read")
    assert not evaluate([policy], "secret/data/team/root", "read")
    assert not evaluate([policy], "secret/data/not-a-secret-grant", "read")
