"""Policy matching against Vault's documented examples.

Table from https://developer.hashicorp.com/vault/docs/concepts/policies (sections
"Policy syntax" and "Priority matching").
"""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from overcast.secrets import PolicyParseError, evaluate, open_secrets, parse_policy
from overcast.secrets import policy as policy_module
from overcast.secrets.policy import Acl

DOCS_POLICY = parse_policy(
    "docs",
    """
path "secret/foo" { capabilities = ["read"] }
path "secret/bar/*" { capabilities = ["create", "read", "update"] }
path "secret/zip-*" { capabilities = ["read"] }
path "secret/+/teamb" { capabilities = ["update"] }
path "secret/+/+/teamb" { capabilities = ["list"] }
path "secret/super-secret" { capabilities = ["deny"] }
path "secret/*" { capabilities = ["read"] }
path "secret/+/*" { capabilities = ["update"] }
""",
)

# (path, capability, allowed)
DOCS_TABLE = [
    ("secret/foo", "read", True),
    ("secret/foo", "update", False),
    ("secret/bar/zip", "create", True),
    ("secret/bar/zip/zap", "update", True),
    ("secret/zip-zap", "read", True),
    ("secret/zip-zap/zong", "read", True),
    ("secret/foo/teamb", "update", True),
    ("secret/bar/teamb", "update", True),
    ("secret/foo/bar/teamb", "list", True),
    ("secret/super-secret", "read", False),
    # "secret/*" beats "secret/+/*": same first wildcard, both globs, fewer "+" wins.
    ("secret/anything/else", "read", True),
    ("secret/anything/else", "update", False),
    ("sys/mounts", "read", False),
]


@pytest.mark.parametrize(("path", "capability", "allowed"), DOCS_TABLE)
def test_vault_documented_examples(path: str, capability: str, allowed: bool) -> None:
    assert evaluate([DOCS_POLICY], path, capability) is allowed


def test_deny_in_any_policy_overrides_grants_on_the_same_path() -> None:
    grant = parse_policy("g", 'path "secret/data/x" { capabilities = ["read"] }')
    deny = parse_policy("d", 'path "secret/data/x" { capabilities = ["deny"] }')
    assert evaluate([grant], "secret/data/x", "read")
    assert not evaluate([grant, deny], "secret/data/x", "read")


def test_glob_only_allowed_at_the_end() -> None:
    with pytest.raises(PolicyParseError):
        parse_policy("bad", 'path "secret/*/x" { capabilities = ["read"] }')


def test_json_policies_parse_like_hcl() -> None:
    policy = parse_policy("j", '{"path": {"secret/data/a/*": {"capabilities": ["read"]}}}')
    assert evaluate([policy], "secret/data/a/b", "read")


segment = st.text(alphabet="abcxyz-_0", min_size=1, max_size=6)


@given(st.lists(segment, min_size=1, max_size=4), st.sampled_from(["read", "list", "update"]))
def test_no_policy_grants_nothing(segments: list[str], capability: str) -> None:
    assert not evaluate([], "/".join(segments), capability)


@given(st.lists(segment, min_size=1, max_size=4), st.lists(segment, max_size=3))
def test_glob_matches_every_path_under_its_prefix(prefix: list[str], rest: list[str]) -> None:
    base = "/".join(prefix)
    policy = parse_policy("p", f'path "{base}/*" {{ capabilities = ["read"] }}')
    assert evaluate([policy], "/".join([base, *rest]) + ("" if rest else "/"), "read")
    assert not evaluate([policy], base + "x/y", "read")


@given(st.lists(segment, min_size=2, max_size=4), st.integers(min_value=0, max_value=3))
def test_plus_matches_exactly_one_segment(segments: list[str], index: int) -> None:
    index %= len(segments)
    pattern = "/".join("+" if i == index else s for i, s in enumerate(segments))
    policy = parse_policy("p", f'path "{pattern}" {{ capabilities = ["read"] }}')
    assert evaluate([policy], "/".join(segments), "read")
    assert not evaluate([policy], "/".join(segments) + "/extra", "read")


@given(st.lists(segment, min_size=1, max_size=4))
def test_exact_rule_beats_any_glob(segments: list[str]) -> None:
    path = "/".join(segments)
    acl = Acl(
        [
            parse_policy("glob", f'path "{segments[0]}*" {{ capabilities = ["update"] }}'),
            parse_policy("exact", f'path "{path}" {{ capabilities = ["read"] }}'),
        ]
    )
    assert acl.capabilities(path) == frozenset({"read"})


def test_a_stored_policy_is_parsed_once_not_on_every_request(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    service = open_secrets(tmp_path, environ={})
    service.policies.put("cached", 'path "secret/data/cached-x" { capabilities = ["read"] }')
    service.policies.get("cached")
    calls: list[str] = []
    real = policy_module.hcl.loads
    monkeypatch.setattr(policy_module.hcl, "loads", lambda text: calls.append(text) or real(text))
    for _ in range(3):
        assert service.policies.get("cached").rules[0].pattern == "secret/data/cached-x"
    assert calls == []
