"""Fuzzing the Vault policy parser: HCL or JSON in, a Policy or PolicyParseError out.

Policies arrive over ``sys/policy`` and ``sys/policies/acl`` from any token with the
right to write them, and are parsed again on every request that resolves them. Whatever
the text, parsing gives a Policy or raises PolicyParseError (never another exception,
never a hang), and a policy that parses answers capability questions on any path
without raising.
"""

from __future__ import annotations

import orjson
from hypothesis import example, given
from hypothesis import strategies as st

from fuzz.hang_guard import no_hang
from overcast.secrets import PolicyParseError, parse_policy
from overcast.secrets.policy import CAPABILITIES, Acl

TOKENS = st.sampled_from(
    ['path', ' ', '\n', '"', '"secret/data/*"', '"secret/+/x"', '"a*b"', '"*"', '"+"', '{', '}',
     '[', ']', '=', ',', 'capabilities', '"read"', '"deny"', '"sudo"', '"bogus"', '#', '//',
     '/*', '*/', '<<EOF\n', 'EOF\n', '${x}', '1', '1.5e9', 'true', 'null', ':', '"\\u0000"',
     '\\', "'", 'path "x" {}', 'path "x" { capabilities = ["read"] }', '{"path": {}}',
     '{"path": {"x": {"capabilities": ["read"]}}}', '"\\"', 'allowed_parameters', '-', '%']
)  # fmt: skip
PATHS = st.lists(
    st.sampled_from(["secret", "data", "admin", "+", "x", "", "Admin", "*", "a*b"]), max_size=5
).map("/".join)


def _check(text: str, path: str) -> None:
    try:
        policy = parse_policy("fuzzed", text)
    except PolicyParseError:
        return
    acl = Acl([policy])
    assert acl.capabilities(path) <= CAPABILITIES
    for capability in CAPABILITIES:
        acl.allows(path, capability)


@given(text=st.lists(TOKENS, max_size=40).map("".join), path=PATHS)
@example(text='path "secret/*" { capabilities = ["read"] } path "secret/*" {}', path="secret/x")
@example(text='path "x" { capabilities = "read" }', path="x")
@example(text="path = 1", path="")
def test_policy_text_from_hcl_pieces_parses_or_is_refused(text: str, path: str) -> None:
    with no_hang(text):
        _check(text, path)


@given(text=st.text(max_size=200), path=PATHS)
def test_any_text_parses_or_is_refused(text: str, path: str) -> None:
    with no_hang(text):
        _check(text, path)


@given(
    rules=st.dictionaries(
        PATHS, st.lists(st.sampled_from(sorted(CAPABILITIES | {"nope"})), max_size=4), max_size=4
    ),
    path=PATHS,
)
def test_generated_json_policies_parse_or_are_refused(
    rules: dict[str, list[str]], path: str
) -> None:
    text = orjson.dumps({"path": {p: {"capabilities": caps} for p, caps in rules.items()}}).decode()
    with no_hang(text):
        _check(text, path)
