"""Each function's own credentials: a Vault token and an overcast access key.

Issued by the node when it starts, put into the function's environment (the runtime
only sees more variables), revoked when it stops:

- ``VAULT_ADDR``/``VAULT_TOKEN``: a token whose policy ``fn-<name>`` reads
  ``secret/data/<name>`` and below, plus what the template's ``Policies`` grant
  (``permissions.vault_policy``). Tokens are re-created at every node start with a
  short TTL and renewed by the node while it runs (:meth:`FunctionCredentials.renew`),
  so a token copied out of a stopped node's function dies within :data:`TOKEN_TTL_S`.
- ``AWS_ACCESS_KEY_ID``/``AWS_SECRET_ACCESS_KEY``/``AWS_ENDPOINT_URL_LAMBDA``: a
  ``function``-role key, held in the node's memory only (never in ``keys.json``), whose
  Lambda API calls are checked against the function's permissions. botocore reads
  ``AWS_ENDPOINT_URL_<SERVICE>``:
  https://docs.aws.amazon.com/sdkref/latest/guide/feature-ss-endpoints.html

The Lambda API shows only the template's variables: these are added to the runtime
config, never to the model. Their values join the function's log redactor.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from overcast.control.access_keys import AccessKey, new_key
from overcast.control.permissions import vault_policy
from overcast.secrets import SecretsError, SecretsService, TokenInfo, TokenRequest
from overcast.template import FunctionSpec

logger = logging.getLogger(__name__)

#: lifetime of a function's Vault token; the node renews it every third of that
TOKEN_TTL_S = 3600
RENEW_EVERY_S = TOKEN_TTL_S / 3
_META_KEY = "overcast_function"


def admin_url(host: str, port: int) -> str:
    """The admin port as a function reaches it (a wildcard bind is reached on loopback)."""
    if host in ("0.0.0.0", ""):  # noqa: S104  (reading a bind address, not binding)
        host = "127.0.0.1"
    elif host == "::":
        host = "::1"
    return f"http://[{host}]:{port}" if ":" in host else f"http://{host}:{port}"


class FunctionKeys:
    """The ``function``-role access keys of one running node, in memory only."""

    def __init__(self) -> None:
        self._keys: dict[str, AccessKey] = {}

    def get(self, access_key_id: str) -> AccessKey | None:
        return self._keys.get(access_key_id)

    def secret_for(self, access_key_id: str) -> str | None:
        key = self._keys.get(access_key_id)
        return key.secret_access_key if key is not None else None

    def issue(self, spec: FunctionSpec) -> AccessKey:
        """A fresh key for ``spec``, replacing any it had."""
        self.revoke(spec.name)
        key = new_key("function", spec.name, spec.permissions)
        self._keys[key.access_key_id] = key
        return key

    def revoke(self, function: str) -> None:
        for key_id in [k for k, v in self._keys.items() if v.function == function]:
            del self._keys[key_id]

    def revoke_all(self) -> None:
        self._keys.clear()


# The token store's create() asks who creates; the node acts with the root's authority.
_NODE = TokenInfo(accessor="", policies=("root",), display_name="root", is_root=True, lookup={})


@dataclass
class FunctionCredentials:
    """Issues, renews and revokes every function's credentials for one node."""

    secrets: SecretsService
    keys: FunctionKeys
    endpoint: str
    _tokens: dict[str, str] = field(default_factory=dict)

    def issue(self, functions: Iterable[FunctionSpec]) -> dict[str, dict[str, str]]:
        """Environment variables with fresh credentials, by function name."""
        self._revoke_stale_tokens()
        out: dict[str, dict[str, str]] = {}
        for spec in functions:
            policy = f"fn-{spec.name}"
            self.secrets.policies.put(policy, vault_policy(spec.name, spec.permissions))
            token, _auth = self.secrets.tokens.create(
                _NODE,
                TokenRequest(
                    policies=(policy,),
                    ttl=TOKEN_TTL_S,
                    display_name=policy,
                    meta={_META_KEY: spec.name},
                ),
            )
            self._tokens[spec.name] = token
            key = self.keys.issue(spec)
            out[spec.name] = {
                "VAULT_ADDR": self.endpoint,
                "VAULT_TOKEN": token,
                "AWS_ACCESS_KEY_ID": key.access_key_id,
                "AWS_SECRET_ACCESS_KEY": key.secret_access_key,
                "AWS_ENDPOINT_URL_LAMBDA": self.endpoint,
            }
        return out

    def renew(self) -> None:
        """Extend every function token's TTL (called periodically while the node runs)."""
        for name, token in self._tokens.items():
            try:
                self.secrets.tokens.renew(token, TOKEN_TTL_S)
            except SecretsError as exc:
                logger.warning("could not renew function %s's Vault token: %s", name, exc)

    def revoke(self) -> None:
        """Revoke every credential this node issued (at stop)."""
        for token in self._tokens.values():
            self.secrets.tokens.revoke(token)
        self._tokens.clear()
        self.keys.revoke_all()

    def _revoke_stale_tokens(self) -> None:
        # A node that was killed could not revoke its functions' tokens; their TTL bounds
        # them, and the next start removes them at once.
        for accessor in self.secrets.tokens.accessors():
            try:
                meta: Mapping[str, str] | None = self.secrets.tokens.lookup_accessor(accessor).get(
                    "meta"
                )
            except SecretsError:
                continue
            if meta and _META_KEY in meta:
                self.secrets.tokens.revoke_accessor(accessor)


def secret_values(environment: Mapping[str, str]) -> set[str]:
    """The credential values of an environment (for the log redactor)."""
    return {environment[k] for k in ("VAULT_TOKEN", "AWS_SECRET_ACCESS_KEY") if k in environment}
