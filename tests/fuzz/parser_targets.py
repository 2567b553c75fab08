"""The parsers of outside input as byte-fed fuzz targets (used by atheris_run.py).

Each target feeds its bytes to one parser and lets only that parser's documented error
through; anything else escaping is a crash.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from urllib.parse import parse_qs

from overcast.control.lambda_api import (
    LambdaApi,
    LambdaApiError,
    LambdaApiSettings,
    StaticCatalog,
    invoke_parameters,
    qualified,
)
from overcast.control.sigv4 import (
    SignatureError,
    canonical_query,
    canonical_uri,
    declared_payload_hash,
    parse_authorization,
)
from overcast.edge.config import parse_edge_config
from overcast.edge.errors import EdgeConfigError
from overcast.secrets.errors import PolicyParseError
from overcast.secrets.policy import Acl, parse_policy
from overcast.secrets.request_path import resolve
from overcast.template.errors import TemplateError
from overcast.template.loader import load_template
from overcast.template.yaml_loader import parse_yaml

Target = Callable[[bytes], None]


def _text(data: bytes) -> str:
    return data.decode("utf-8", "replace")


def template(data: bytes) -> None:
    with contextlib.suppress(TemplateError):
        load_template(_text(data), filename="template.yaml", base_dir="/nonexistent")


def vault_policy(data: bytes) -> None:
    with contextlib.suppress(PolicyParseError):
        Acl([parse_policy("fuzzed", _text(data))]).capabilities("secret/data/x")


def vault_path(data: bytes) -> None:
    # The resolver documents no error: every input is a path, a redirect or a refusal.
    raw_path, _, query = data.partition(b"?")
    resolve(raw_path, query)


def edge_config(data: bytes) -> None:
    with contextlib.suppress(EdgeConfigError, TemplateError):
        parse_edge_config(parse_yaml(_text(data), "template.yaml"))


def sigv4_authorization(data: bytes) -> None:
    with contextlib.suppress(SignatureError):
        parse_authorization(_text(data))


def sigv4_canonical(data: bytes) -> None:
    path, _, query = _text(data).partition("?")
    canonical_uri(path)
    canonical_query(query)


def sigv4_payload_hash(data: bytes) -> None:
    with contextlib.suppress(SignatureError):
        declared_payload_hash({"x-amz-content-sha256": _text(data)})


_INVOKE_HEADERS = ("x-amz-invocation-type", "x-amz-client-context", "x-amz-log-type")


def lambda_invoke(data: bytes) -> None:
    """Up to three header lines (type, client context, log type), then the body."""
    lines = data.split(b"\n", 3)
    body = lines.pop() if len(lines) == 4 else b""
    headers = {
        name: line.decode("latin-1") for name, line in zip(_INVOKE_HEADERS, lines, strict=False)
    }
    with contextlib.suppress(LambdaApiError):
        invoke_parameters(headers, body)


_ACTIONS = LambdaApi(
    None,  # type: ignore[arg-type]  (action() never invokes)
    StaticCatalog({}),
    LambdaApiSettings("us-east-1", "123456789012"),
)


def lambda_path(data: bytes) -> None:
    """A Lambda API path and query: the operation and resource a request names."""
    path, _, query = data.decode("latin-1").partition("?")
    _ACTIONS.action("POST", "/2015-03-31/functions/" + path, query)
    ref = path.split("/", 1)[0]
    qualified(ref, parse_qs(query))


TARGETS: dict[str, Target] = {
    "template": template,
    "vault-policy": vault_policy,
    "vault-path": vault_path,
    "edge-config": edge_config,
    "sigv4-authorization": sigv4_authorization,
    "sigv4-canonical": sigv4_canonical,
    "sigv4-payload-hash": sigv4_payload_hash,
    "lambda-invoke": lambda_invoke,
    "lambda-path": lambda_path,
}
