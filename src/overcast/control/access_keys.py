"""Access keys that overcast issues for its admin port, and what each role may do.

Keys live in ``<state_dir>/access/keys.json`` (folder 0700, file 0600, replaced
atomically under an exclusive lock so a CLI and a running node can share it).

The secrets are stored as they are, readable by the owner only. SigV4 cannot be
verified from a hash: the server derives the signing key from the secret itself.
Encrypting them with a key kept beside them in another 0600 file would protect
against nothing that the file modes do not already (whoever reads one reads both);
it is the host account that guards them, as ``~/.aws/credentials`` is guarded.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import re
import secrets
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from overcast.durable_files import atomic_write
from overcast.errors import OvercastError
from overcast.template import Permission

Role = Literal["admin", "deployer", "viewer", "function"]
#: the roles ``overcast keys create`` issues; ``function`` keys are issued by the node
#: to each function, live in its memory only, and carry the function's permissions
ROLES: tuple[Role, ...] = ("admin", "deployer", "viewer")

ACCESS_DIR = "access"
KEYS_FILE = "keys.json"
ADMIN_CREDENTIALS_FILE = "admin-credentials"

# Access key ids look like AWS's long-term ones: AKIA + 16 of [A-Z2-7] (base32).
_ID_ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"
_STACK = re.compile(r"[A-Za-z][-A-Za-z0-9]{0,127}")
_SECRET_ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"  # noqa: S105

# Which Lambda API actions each role may call. The admin role may call every action,
# including ones added later (deploys, secrets administration).
_READ_ACTIONS = frozenset(
    {"lambda:ListFunctions", "lambda:GetFunction", "lambda:GetFunctionConfiguration"}
)
_DEPLOY_READ_ACTIONS = frozenset(
    {
        "overcast:ListDeployments",
        "overcast:GetDeployment",
        "overcast:GetBudget",
        "overcast:ListAlarms",
    }
)
# SQS: viewers look, deployers also move messages; creating, reconfiguring and
# deleting queues is for admins (and for templates, through deploys).
_QUEUE_READ_ACTIONS = frozenset({"sqs:ListQueues", "sqs:GetQueueUrl", "sqs:GetQueueAttributes"})
_QUEUE_MESSAGE_ACTIONS = frozenset(
    {
        "sqs:SendMessage",
        "sqs:ReceiveMessage",
        "sqs:DeleteMessage",
        "sqs:ChangeMessageVisibility",
        "sqs:PurgeQueue",
    }
)
# SNS likewise: viewers look, deployers also publish; topics and subscriptions are
# changed by admins (and by templates).
_TOPIC_READ_ACTIONS = frozenset(
    {
        "sns:ListTopics",
        "sns:GetTopicAttributes",
        "sns:ListSubscriptions",
        "sns:ListSubscriptionsByTopic",
        "sns:GetSubscriptionAttributes",
    }
)
_BUCKET_READ_ACTIONS = frozenset(
    {"s3:ListAllMyBuckets", "s3:ListBucket", "s3:GetBucketLocation", "s3:GetObject"}
)
_BUCKET_WRITE_ACTIONS = frozenset({"s3:PutObject", "s3:DeleteObject", "s3:AbortMultipartUpload"})
ROLE_ACTIONS: dict[Role, frozenset[str]] = {
    "viewer": _READ_ACTIONS
    | _DEPLOY_READ_ACTIONS
    | _QUEUE_READ_ACTIONS
    | _TOPIC_READ_ACTIONS
    | _BUCKET_READ_ACTIONS,
    "deployer": _READ_ACTIONS
    | _DEPLOY_READ_ACTIONS
    | _QUEUE_READ_ACTIONS
    | _QUEUE_MESSAGE_ACTIONS
    | _TOPIC_READ_ACTIONS
    | _BUCKET_READ_ACTIONS
    | _BUCKET_WRITE_ACTIONS
    | {
        "sns:Publish",
        "lambda:InvokeFunction",
        "cloudfront:CreateInvalidation",
        "overcast:UploadArtifact",
        "overcast:Deploy",
        "overcast:Rollback",
        "overcast:DeleteStack",
    },
    "admin": frozenset({"*"}),
    "function": frozenset(),  # decided per key, by its permissions
}


class AccessKeyError(OvercastError):
    """The key store cannot be read or changed as asked."""


@dataclass(frozen=True, slots=True)
class AccessKey:
    """One issued key."""

    access_key_id: str
    secret_access_key: str
    role: Role
    created: float
    #: for ``function`` keys: the function it was issued to, and what it may do
    function: str | None = None
    permissions: tuple[Permission, ...] = ()
    #: the stages this key may act on (deploy, roll back, invalidate); empty = every stage
    stages: tuple[str, ...] = ()
    #: temporary credentials (a function's): the session token every request must carry
    #: (boto3 sends AWS_SESSION_TOKEN as X-Amz-Security-Token), and when they expire
    session_token: str = ""
    expires: float | None = None
    #: the stacks (apps) this key may act on within its stages; empty = every stack
    stacks: tuple[str, ...] = ()


def role_allows(role: Role, action: str) -> bool:
    """Whether ``role`` may perform ``action`` (e.g. ``lambda:InvokeFunction``)."""
    allowed = ROLE_ACTIONS[role]
    return "*" in allowed or action in allowed


def new_key(
    role: Role,
    function: str | None = None,
    permissions: tuple[Permission, ...] = (),
    stages: tuple[str, ...] = (),
    *,
    expires: float | None = None,
    stacks: tuple[str, ...] = (),
) -> AccessKey:
    """A fresh random key pair (20-char id, 40-char secret).

    ``function`` keys name their function and carry its permissions. With ``expires``
    the key is temporary, as an execution role's credentials are: its id starts with
    ``ASIA`` and it comes with a session token.
    """
    if role not in ROLES and not (role == "function" and function):
        raise AccessKeyError(f"unknown role {role!r}", hint=f"roles: {', '.join(ROLES)}")
    prefix = "ASIA" if expires is not None else "AKIA"
    key_id = prefix + "".join(secrets.choice(_ID_ALPHABET) for _ in range(16))
    secret = "".join(secrets.choice(_SECRET_ALPHABET) for _ in range(40))
    session_token = secrets.token_urlsafe(120) if expires is not None else ""
    for stage in stages:
        if not stage.isidentifier():
            raise AccessKeyError(
                f"{stage!r} is not a stage name", hint="stage names are words like dev, qa, prod"
            )
    for stack in stacks:
        if not _STACK.fullmatch(stack):
            raise AccessKeyError(
                f"{stack!r} is not a stack name",
                hint="a letter, then letters, digits and hyphens (CloudFormation's rule)",
            )
    return AccessKey(
        key_id,
        secret,
        role,
        time.time(),
        function,
        permissions,
        tuple(stages),
        session_token,
        expires,
        tuple(stacks),
    )


class KeyStore:
    """The keys of one app's state folder; reloads when another process changes them."""

    def __init__(self, state_dir: Path) -> None:
        self.dir = state_dir / ACCESS_DIR
        self.path = self.dir / KEYS_FILE
        self._cache: dict[str, AccessKey] = {}
        self._stamp: tuple[int, int, int] | None = None

    @property
    def admin_credentials_path(self) -> Path:
        return self.dir / ADMIN_CREDENTIALS_FILE

    def exists(self) -> bool:
        return self.path.exists()

    def get(self, access_key_id: str) -> AccessKey | None:
        """The key with this id, reading the file again only when it changed."""
        try:
            stat = self.path.stat()
        except FileNotFoundError:
            self._cache, self._stamp = {}, None
            return None
        stamp = (stat.st_ino, stat.st_mtime_ns, stat.st_size)
        if stamp != self._stamp:
            self._cache = {k.access_key_id: k for k in self._read()}
            self._stamp = stamp
        return self._cache.get(access_key_id)

    def secret_for(self, access_key_id: str) -> str | None:
        key = self.get(access_key_id)
        return key.secret_access_key if key is not None else None

    def all(self) -> list[AccessKey]:
        """Every key, oldest first."""
        return sorted(self._read(), key=lambda k: k.created)

    def create(
        self, role: Role, stages: tuple[str, ...] = (), stacks: tuple[str, ...] = ()
    ) -> AccessKey:
        """Issue and store a new key (limited to ``stages`` and ``stacks`` when named)."""
        key = new_key(role, stages=stages, stacks=stacks)
        with self._locked():
            keys = self._read()
            keys.append(key)
            self._write(keys)
        return key

    def revoke(self, access_key_id: str) -> AccessKey:
        """Delete a key; raise when there is none with that id."""
        with self._locked():
            keys = self._read()
            kept = [k for k in keys if k.access_key_id != access_key_id]
            if len(kept) == len(keys):
                raise AccessKeyError(
                    f"no access key {access_key_id!r}", hint="`overcast keys list` shows them"
                )
            self._write(kept)
        return next(k for k in keys if k.access_key_id == access_key_id)

    def ensure_admin_key(self) -> AccessKey | None:
        """On the first start only: issue an admin key and write the credentials file.

        Returns the new key (to print once) or None when keys already exist.
        """
        with self._locked():
            if self.path.exists():
                return None
            key = new_key("admin")
            self._write([key])
            # The shared-credentials format, so AWS_SHARED_CREDENTIALS_FILE can point here.
            text = (
                "[default]\n"
                f"aws_access_key_id = {key.access_key_id}\n"
                f"aws_secret_access_key = {key.secret_access_key}\n"
            )
            atomic_write(self.admin_credentials_path, text.encode())
        return key

    @contextlib.contextmanager
    def _locked(self) -> Iterator[None]:
        self.dir.mkdir(parents=True, exist_ok=True, mode=0o700)
        os.chmod(self.dir, 0o700)
        fd = os.open(self.dir / ".lock", os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            yield
        finally:
            os.close(fd)

    def _read(self) -> list[AccessKey]:
        try:
            raw = json.loads(self.path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return []
        except ValueError as exc:
            raise AccessKeyError(f"{self.path} is not valid JSON: {exc}") from exc
        try:
            return [
                AccessKey(
                    k["access_key_id"],
                    k["secret_access_key"],
                    k["role"],
                    k["created"],
                    stages=tuple(k.get("stages", ())),
                    stacks=tuple(k.get("stacks", ())),
                )
                for k in raw["keys"]
                if k["role"] in ROLES
            ]
        except (KeyError, TypeError) as exc:
            raise AccessKeyError(f"{self.path} has an unexpected shape: {exc}") from exc

    def _write(self, keys: list[AccessKey]) -> None:
        data = {
            "version": 1,
            "keys": [
                {
                    "access_key_id": k.access_key_id,
                    "secret_access_key": k.secret_access_key,
                    "role": k.role,
                    "created": k.created,
                    **({"stages": list(k.stages)} if k.stages else {}),
                    **({"stacks": list(k.stacks)} if k.stacks else {}),
                }
                for k in keys
            ],
        }
        atomic_write(self.path, json.dumps(data, indent=2).encode())


def read_credentials_file(path: Path) -> tuple[str, str]:
    """(access key id, secret) from a shared-credentials file's default profile."""
    values: dict[str, str] = {}
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError as exc:
        raise AccessKeyError(
            f"no admin credentials at {path}",
            hint="start the app once with `overcast up` (it writes this file)",
        ) from exc
    for line in text.splitlines():
        name, sep, value = line.partition("=")
        if sep:
            values[name.strip()] = value.strip()
    try:
        return values["aws_access_key_id"], values["aws_secret_access_key"]
    except KeyError as exc:
        raise AccessKeyError(f"{path} lacks {exc.args[0]}") from exc
