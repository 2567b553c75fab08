"""Vault ACL policies: parsing the HCL/JSON path form, storing them, and evaluating access.

Matching follows Vault's documented rules
(https://developer.hashicorp.com/vault/docs/concepts/policies, "Priority matching"):
``*`` is a prefix glob allowed only at the end, ``+`` matches exactly one path segment;
rules for the same pattern from several policies are merged (``deny`` wins); an exact
pattern beats any wildcard; among wildcard matches, given patterns P1 and P2, P1 has lower
priority when (1) its first ``+`` or ``*`` comes earlier, (2) it ends in ``*`` and P2 does
not, (3) it has more ``+`` segments, (4) it is shorter, (5) it sorts lower.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from functools import cached_property, lru_cache
from pathlib import Path
from typing import Any

import hcl  # type: ignore[import-untyped]
import hcl.api  # type: ignore[import-untyped]
import hcl.parser  # type: ignore[import-untyped]
import orjson

from overcast.durable_files import atomic_write, exclusive_lock
from overcast.secrets.crypto import Envelope
from overcast.secrets.errors import InvalidRequestError, PolicyParseError, SecretNotFoundError

CAPABILITIES = frozenset({"create", "read", "update", "patch", "delete", "list", "sudo", "deny"})
ROOT_POLICY = "root"
DEFAULT_POLICY = "default"

# What every non-root token may do to itself, as in Vault's built-in "default" policy.
DEFAULT_POLICY_TEXT = """
path "auth/token/lookup-self" { capabilities = ["read"] }
path "auth/token/renew-self" { capabilities = ["update"] }
path "auth/token/revoke-self" { capabilities = ["update"] }
path "sys/capabilities-self" { capabilities = ["update"] }
"""


@dataclass(frozen=True, slots=True)
class PathRule:
    """One ``path "<pattern>" { capabilities = [...] }`` block."""

    pattern: str
    capabilities: frozenset[str]


@dataclass(frozen=True, slots=True)
class Policy:
    """A named policy: its rules and the text it was written in."""

    name: str
    rules: tuple[PathRule, ...]
    text: str


class _HclReader:
    """pyhcl's parser built once: ``hcl.loads`` rebuilds its LALR tables (~40 ms) per call."""

    def __init__(self) -> None:
        self._lock = threading.Lock()  # a ply parser keeps its state on itself
        self._parser: Any = None

    def loads(self, text: str) -> Any:
        if not hcl.api.isHcl(text):
            return hcl.loads(text)  # JSON: pyhcl hands it to json.loads
        with self._lock:
            if self._parser is None:
                self._parser = hcl.parser.HclParser()
            return self._parser.parse(text)


_HCL = _HclReader()


def parse_policy(name: str, text: str) -> Policy:
    """Parse a Vault policy written in HCL or JSON (pyhcl reads both)."""
    if name == ROOT_POLICY:
        raise InvalidRequestError('cannot update the "root" policy')
    try:
        document: Any = _HCL.loads(text)
    except Exception as exc:  # pyhcl raises ValueError or ply errors, with no common base
        raise PolicyParseError(f"failed to parse policy: {exc}") from exc
    paths = document.get("path", {}) if isinstance(document, Mapping) else None
    if not isinstance(paths, Mapping):
        raise PolicyParseError('failed to parse policy: "path" blocks expected')
    rules: list[PathRule] = []
    for pattern, body in paths.items():
        rules.append(_rule(str(pattern), body))
    return Policy(name, tuple(rules), text)


def _rule(pattern: str, body: Any) -> PathRule:
    if "*" in pattern[:-1]:
        raise PolicyParseError(f"path {pattern!r}: the glob * is only allowed at the end")
    caps = body.get("capabilities") if isinstance(body, Mapping) else None
    if not isinstance(caps, list) or not all(isinstance(c, str) for c in caps):
        raise PolicyParseError(f"path {pattern!r}: capabilities must be a list of strings")
    unknown = set(caps) - CAPABILITIES
    if unknown:
        raise PolicyParseError(f"path {pattern!r}: invalid capabilities {sorted(unknown)}")
    return PathRule(pattern.lstrip("/"), frozenset(caps))


@dataclass(frozen=True, slots=True)
class _Compiled:
    pattern: str
    regex: re.Pattern[str]
    capabilities: frozenset[str]
    exact: bool
    priority: tuple[int, bool, int, int, str]


def _compile(pattern: str, capabilities: frozenset[str]) -> _Compiled:
    glob = pattern.endswith("*")
    body = pattern[:-1] if glob else pattern
    parts = [r"[^/]*" if part == "+" else re.escape(part) for part in body.split("/")]
    regex = re.compile("/".join(parts) + (".*" if glob else "") + r"\Z", re.DOTALL)
    segments = pattern.split("/")
    plus_count = sum(1 for s in segments if s == "+")
    wildcard_positions = [i for i, ch in enumerate(pattern) if ch == "*"]
    offset = 0
    for segment in segments:
        if segment == "+":
            wildcard_positions.append(offset)
        offset += len(segment) + 1
    first = min(wildcard_positions) if wildcard_positions else len(pattern)
    return _Compiled(
        pattern,
        regex,
        capabilities,
        exact=not wildcard_positions,
        priority=(first, not glob, -plus_count, len(pattern), pattern),
    )


class Acl:
    """Policies merged for one token, ready to answer capability questions."""

    def __init__(self, policies: Iterable[Policy]) -> None:
        merged: dict[str, set[str]] = {}
        self.root = False
        for policy in policies:
            if policy.name == ROOT_POLICY:
                self.root = True
            for rule in policy.rules:
                merged.setdefault(rule.pattern, set()).update(rule.capabilities)
        self._rules = [
            _compile(p, frozenset({"deny"}) if "deny" in caps else frozenset(caps))
            for p, caps in merged.items()
        ]

    def capabilities(self, path: str) -> frozenset[str]:
        """The capabilities granted on ``path`` by the highest-priority matching rule."""
        if self.root:
            return frozenset({"root"})
        path = path.lstrip("/")
        matches = [rule for rule in self._rules if rule.regex.match(path)]
        if not matches:
            return frozenset()
        exact = [rule for rule in matches if rule.exact]
        best = exact[0] if exact else max(matches, key=lambda rule: rule.priority)
        return best.capabilities

    def allows(self, path: str, capability: str) -> bool:
        """True when ``capability`` is granted on ``path`` and not denied."""
        if self.root:
            return True
        caps = self.capabilities(path)
        return "deny" not in caps and capability in caps


def evaluate(policies: Iterable[Policy], path: str, capability: str) -> bool:
    """Whether ``policies`` together grant ``capability`` on ``path`` (pure; deny by default)."""
    return Acl(policies).allows(path, capability)


@lru_cache(maxsize=1024)
def _parsed(name: str, text: str) -> Policy:
    # Every request resolves its token's policies; parse each text once.
    return parse_policy(name, text)


class PolicyStore:
    """Named policies in one sealed document; ``root`` and ``default`` are built in."""

    def __init__(self, root: Path, envelope: Envelope) -> None:
        self._file = root / "policies.rec"
        self._lock_path = root / "policies.lock"
        self._envelope = envelope
        self._default = parse_policy(DEFAULT_POLICY, DEFAULT_POLICY_TEXT)

    @cached_property
    def _root(self) -> Policy:
        return Policy(ROOT_POLICY, (), "")

    def names(self) -> list[str]:
        """Every policy name, built-ins included, sorted."""
        return sorted({*self._load(), DEFAULT_POLICY, ROOT_POLICY})

    def get(self, name: str) -> Policy:
        """The named policy, or SecretNotFoundError."""
        if name == ROOT_POLICY:
            return self._root
        stored = self._load().get(name)
        if stored is not None:
            return _parsed(name, stored)
        if name == DEFAULT_POLICY:
            return self._default
        raise SecretNotFoundError(f"no policy named {name!r}")

    def resolve(self, names: Iterable[str]) -> list[Policy]:
        """The policies for these names, skipping names that no longer exist (as Vault does)."""
        found: list[Policy] = []
        for name in names:
            try:
                found.append(self.get(name))
            except SecretNotFoundError:
                continue
        return found

    def put(self, name: str, text: str) -> Policy:
        """Create or replace a policy after checking that it parses."""
        if not re.fullmatch(r"[A-Za-z0-9_.@-]+", name):
            raise InvalidRequestError(f"invalid policy name {name!r}")
        policy = parse_policy(name, text)
        with exclusive_lock(self._lock_path):
            docs = self._load()
            docs[name] = text
            self._save(docs)
        return policy

    def delete(self, name: str) -> None:
        """Remove a policy; the built-ins cannot be removed."""
        if name in (ROOT_POLICY, DEFAULT_POLICY):
            raise InvalidRequestError(f"cannot delete {name!r} policy")
        with exclusive_lock(self._lock_path):
            docs = self._load()
            if docs.pop(name, None) is not None:
                self._save(docs)

    def _load(self) -> dict[str, str]:
        try:
            blob = self._file.read_bytes()
        except FileNotFoundError:
            return {}
        docs: dict[str, str] = orjson.loads(self._envelope.open("policies", blob))
        return docs

    def _save(self, docs: dict[str, str]) -> None:
        atomic_write(self._file, self._envelope.seal("policies", orjson.dumps(docs)))
