"""Each function's own credentials: a Vault token and an overcast access key.

Issued when a node starts, or when a platform starts a deployment, put into the
function's environment (the runtime only sees more variables), revoked when it stops:

- ``VAULT_ADDR``/``VAULT_TOKEN``: a token whose policy ``fn-<name>`` reads
  ``secret/data/<name>`` and below, plus what the template's ``Policies`` grant
  (``permissions.vault_policy``); on a platform, the same below the stage's own
  ``secret/data/<stage>/`` (``fn-<stage>-<name>``). Tokens are created when the
  functions start, with a short TTL, renewed while they run
  (:meth:`FunctionCredentials.renew`) and revoked when they stop, so a token copied
  out of a function dies within :data:`TOKEN_TTL_S` of its deployment's end.
- ``AWS_ACCESS_KEY_ID``/``AWS_SECRET_ACCESS_KEY``/``AWS_SESSION_TOKEN`` and
  ``AWS_ENDPOINT_URL_LAMBDA``/``_SQS``/``_SNS``/``_S3``: temporary ``function``-role
  credentials (``ASIA…`` ids, as an execution role's are), held in memory only (never
  in ``keys.json``), expiring with the token unless renewed; their Lambda, SQS, SNS and
  S3 API calls are checked against the function's permissions and, on a platform, its
  stage. botocore reads ``AWS_ENDPOINT_URL_<SERVICE>``:
  https://docs.aws.amazon.com/sdkref/latest/guide/feature-ss-endpoints.html

The Lambda API shows only the template's variables: these are added to the runtime
config, never to the model. Their values join the function's log redactor.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace

from overcast.control.access_keys import AccessKey, new_key
from overcast.control.permissions import vault_policy
from overcast.secrets import SecretsError, SecretsService, TokenInfo, TokenRequest
from overcast.template import FunctionSpec

logger = logging.getLogger(__name__)

#: lifetime of a function's Vault token; the node renews it every third of that
TOKEN_TTL_S = 3600
RENEW_EVERY_S = TOKEN_TTL_S / 3
_META_KEY = "overcast_function"
_STAGE_KEY = "overcast_stage"


def admin_url(host: str, port: int) -> str:
    """The admin port as a function reaches it (a wildcard bind is reached on loopback)."""
    if host in ("0.0.0.0", ""):  # noqa: S104  (reading a bind address, not binding)
        host = "127.0.0.1"
    elif host == "::":
        host = "::1"
    return f"http://[{host}]:{port}" if ":" in host else f"http://{host}:{port}"


class FunctionKeys:
    """The ``function``-role access keys of one running node or platform, in memory only."""

    def __init__(self) -> None:
        self._keys: dict[str, AccessKey] = {}

    def get(self, access_key_id: str) -> AccessKey | None:
        return self._keys.get(access_key_id)

    def secret_for(self, access_key_id: str) -> str | None:
        key = self._keys.get(access_key_id)
        return key.secret_access_key if key is not None else None

    def issue(self, spec: FunctionSpec, stage: str | None, ttl_s: float) -> AccessKey:
        """Fresh temporary credentials for ``spec`` (limited to ``stage`` on a platform)."""
        key = new_key(
            "function",
            spec.name,
            spec.permissions,
            (stage,) if stage else (),
            expires=time.time() + ttl_s,
        )
        self._keys[key.access_key_id] = key
        return key

    def extend(self, access_key_ids: Iterable[str], ttl_s: float) -> None:
        """Push the expiry of these keys ``ttl_s`` into the future."""
        until = time.time() + ttl_s
        for key_id in access_key_ids:
            key = self._keys.get(key_id)
            if key is not None:
                self._keys[key_id] = replace(key, expires=until)

    def revoke(self, access_key_ids: Iterable[str]) -> None:
        for key_id in access_key_ids:
            self._keys.pop(key_id, None)

    def revoke_all(self) -> None:
        self._keys.clear()


# The token store's create() asks who creates; the node acts with the root's authority.
_NODE = TokenInfo(accessor="", policies=("root",), display_name="root", is_root=True, lookup={})


@dataclass
class FunctionCredentials:
    """Issues, renews and revokes the credentials of one set of functions.

    Under ``overcast up`` one set serves the node's life; on a platform each live
    deployment of a stage has its own (``stage`` set), revoked when it retires.
    """

    secrets: SecretsService
    keys: FunctionKeys
    endpoint: str
    stage: str | None = None
    stack: str | None = None
    _tokens: dict[str, str] = field(default_factory=dict)
    _key_ids: list[str] = field(default_factory=list)

    def issue(self, functions: Iterable[FunctionSpec]) -> dict[str, dict[str, str]]:
        """Environment variables with fresh credentials, by function name."""
        out: dict[str, dict[str, str]] = {}
        prefixes: tuple[str, ...] = ("",)
        if self.stage and self.stack:
            prefixes = (f"{self.stage}/{self.stack}/", f"{self.stage}/")
        elif self.stage:
            prefixes = (f"{self.stage}/",)
        for spec in functions:
            policy = f"fn-{self.stage}-{spec.name}" if self.stage else f"fn-{spec.name}"
            self.secrets.policies.put(
                policy, vault_policy(spec.name, spec.permissions, prefixes=prefixes)
            )
            meta = {_META_KEY: spec.name}
            if self.stage:
                meta[_STAGE_KEY] = self.stage
            token, _auth = self.secrets.tokens.create(
                _NODE,
                # Periodic, as Vault's tokens for long-lived services: renewed each hour
                # for the node's life, where the system max TTL would end them at 768h.
                TokenRequest(
                    policies=(policy,),
                    ttl=TOKEN_TTL_S,
                    period=TOKEN_TTL_S,
                    display_name=policy,
                    meta=meta,
                ),
            )
            self._tokens[spec.name] = token
            key = self.keys.issue(spec, self.stage, TOKEN_TTL_S)
            self._key_ids.append(key.access_key_id)
            out[spec.name] = {
                "VAULT_ADDR": self.endpoint,
                "VAULT_TOKEN": token,
                "AWS_ACCESS_KEY_ID": key.access_key_id,
                "AWS_SECRET_ACCESS_KEY": key.secret_access_key,
                "AWS_SESSION_TOKEN": key.session_token,
                "AWS_ENDPOINT_URL_LAMBDA": self.endpoint,
                "AWS_ENDPOINT_URL_SQS": self.endpoint,
                "AWS_ENDPOINT_URL_SNS": self.endpoint,
                "AWS_ENDPOINT_URL_S3": self.endpoint,
            }
        return out

    def renew(self) -> None:
        """Extend every token's and key's lifetime (called periodically while they serve)."""
        for name, token in self._tokens.items():
            try:
                self.secrets.tokens.renew(token, TOKEN_TTL_S)
            except SecretsError as exc:
                logger.warning("could not renew function %s's Vault token: %s", name, exc)
        self.keys.extend(self._key_ids, TOKEN_TTL_S)

    def revoke(self) -> None:
        """Revoke every credential this set issued (at stop, or when its deployment retires)."""
        for token in self._tokens.values():
            try:
                self.secrets.tokens.revoke(token)
            except SecretsError as exc:
                logger.warning("could not revoke a function's Vault token: %s", exc)
        self._tokens.clear()
        self.keys.revoke(self._key_ids)
        self._key_ids.clear()


def revoke_stale_tokens(secrets: SecretsService) -> None:
    """Revoke function tokens a killed node or platform could not revoke itself.

    Their TTL bounds them anyway; a start removes them at once.
    """
    for accessor in secrets.tokens.accessors():
        try:
            meta: Mapping[str, str] | None = secrets.tokens.lookup_accessor(accessor).get("meta")
        except SecretsError:
            continue
        if meta and _META_KEY in meta:
            secrets.tokens.revoke_accessor(accessor)


def secret_values(environment: Mapping[str, str]) -> set[str]:
    """The credential values of an environment (for the log redactor)."""
    keys = ("VAULT_TOKEN", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN")
    return {environment[k] for k in keys if k in environment}
